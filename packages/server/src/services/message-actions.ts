/**
 * Edits, deletes for everyone, reactions, receipts and search. The store checks who may act in
 * the transaction that writes and returns the members at that commit who may see the message,
 * so `message.updated` reaches exactly them, on every node, whatever the member cache holds: a
 * member who joined after the message never receives it through an edit, delete or reaction.
 */
import {
  LetterError,
  type Message,
  type Receipt,
  type SearchQuery,
  type SearchResult,
} from '@letter/protocol';
import type { MessageChange, MessageTarget } from '../store/store.js';
import type { ChatDeps } from './deps.js';
import { takeSendToken } from './send-limit.js';

export class MessageActions {
  constructor(private readonly deps: ChatDeps) {}

  async edit(userId: string, conversationId: string, seq: number, body: string): Promise<Message> {
    const change = await this.deps.store.editMessage({
      ...this.target(userId, conversationId, seq),
      body,
    });
    return this.announce(change, userId);
  }

  async delete(userId: string, conversationId: string, seq: number): Promise<void> {
    this.announce(
      await this.deps.store.deleteMessage(this.target(userId, conversationId, seq)),
      userId,
    );
    // Its files go with it. Also when the message was deleted already: a retry after a failed
    // removal finishes the job.
    await this.deps.files.remove({ kind: 'message', conversationId, seq });
  }

  async react(
    userId: string,
    conversationId: string,
    seq: number,
    emoji: string,
  ): Promise<Message> {
    const change = await this.deps.store.setReaction({
      ...this.target(userId, conversationId, seq),
      emoji,
    });
    return this.announce(change, userId);
  }

  async unreact(userId: string, conversationId: string, seq: number): Promise<Message> {
    return this.announce(
      await this.deps.store.removeReaction(this.target(userId, conversationId, seq)),
      userId,
    );
  }

  async receipts(userId: string, conversationId: string, seq: number): Promise<Receipt[]> {
    const receipts = await this.deps.store.receipts(conversationId, seq, userId);
    if (!receipts) throw new LetterError('not_found');
    return receipts;
  }

  async search(userId: string, query: SearchQuery): Promise<SearchResult[]> {
    const retryAfter = this.deps.searchLimiter.take(userId);
    if (retryAfter > 0) throw new LetterError('rate_limited', 'Searching too often.', retryAfter);
    const results = await this.deps.store.search(userId, {
      text: query.q,
      conversationId: query.conversationId,
      limit: query.limit,
    });
    if (!results) throw new LetterError('not_found');
    const { files } = this.deps;
    return results.map((result) => ({
      ...result,
      message: files.signMessage(result.message, userId),
    }));
  }

  /**
   * `message.updated` to who may see the message: one frame for all of them, or, when it has
   * files, one each with the URLs signed for that member. Returns the actor's own view.
   */
  private announce(change: MessageChange, actorId: string): Message {
    const { hub, files } = this.deps;
    const { message } = change;
    if (change.changed && message.attachments.length === 0) {
      hub.deliver(change.memberIds, { type: 'message.updated', message });
    } else if (change.changed) {
      const frameFor = files.signedJson(message, (m) =>
        JSON.stringify({ type: 'message.updated', message: m }),
      );
      for (const userId of change.memberIds) hub.deliverJson([userId], frameFor(userId));
    }
    return files.signMessage(message, actorId);
  }

  private target(userId: string, conversationId: string, seq: number): MessageTarget {
    takeSendToken(this.deps.sendLimiter, userId);
    return { conversationId, seq, userId, now: this.deps.clock.now() };
  }
}
