/** A user's data: the export document, and deleting the account with everything it implies. */
import { LetterError, type ExportDocument, type Message } from '@letter/protocol';
import { iso } from '../util/clock.js';
import type { AccountAnnouncer, ChatDeps } from './deps.js';

/** Conversations, then messages, read per store call while the export streams out. */
export const EXPORT_CONVERSATIONS_PAGE = 200;
export const EXPORT_MESSAGES_PAGE = 500;
/** Attachment links in an export live a day: the longest a signed URL may (contract "Files"). */
export const EXPORT_URL_SECONDS = 24 * 3600;

export interface ExportStream {
  username: string;
  /** The export document (`ExportDocument`) as JSON text, a page at a time. */
  chunks: AsyncIterable<string>;
}

export class AccountService {
  constructor(
    private readonly chat: AccountAnnouncer,
    private readonly deps: ChatDeps,
  ) {}

  /**
   * Everything Letter keeps about the user, as they may see it: one `ExportDocument`, streamed.
   * The profile, contacts and blocks (small) are read before the first byte, so a refusal is
   * still a clean error; conversations and messages follow page by page, each page read when
   * the client has taken the previous one, so neither the server's memory nor one store call
   * grows with the account. Pages are separate reads: a message sent meanwhile may be in it
   * or not. A few per hour per user (`exportLimiter`).
   */
  async export(userId: string): Promise<ExportStream> {
    const { store, clock } = this.deps;
    const retryAfter = this.deps.exportLimiter.take(userId);
    if (retryAfter > 0) {
      throw new LetterError('rate_limited', 'Exported too often; try again later.', retryAfter);
    }
    const [user, contacts, blocks] = await Promise.all([
      store.getUser(userId),
      store.listContacts(userId),
      store.listBlocked(userId),
    ]);
    if (!user || user.deletedAt !== null) throw new LetterError('unauthorized');
    const head: Omit<ExportDocument, 'conversations' | 'messages'> = {
      format: 'letter-export/1',
      exportedAt: iso(clock.now()),
      user: {
        id: user.id,
        username: user.username,
        displayName: user.displayName,
        createdAt: iso(user.createdAt),
      },
      contacts: contacts.map((contact) => contact.user),
      blocks,
    };
    return { username: user.username, chunks: this.exportChunks(userId, head) };
  }

  private async *exportChunks(
    userId: string,
    head: Omit<ExportDocument, 'conversations' | 'messages'>,
  ): AsyncGenerator<string> {
    const { store, files } = this.deps;
    // The head's JSON without its closing brace; the two arrays follow.
    yield `${JSON.stringify(head).slice(0, -1)},"conversations":[`;
    let comma = '';
    for (let after: { activityAt: number; id: string } | undefined; ;) {
      const page = await store.listConversations(userId, {
        limit: EXPORT_CONVERSATIONS_PAGE,
        after,
      });
      const own = page.map((c) => JSON.stringify(files.signConversation(c, userId)));
      if (page.length > 0) yield comma + own.join(',');
      comma = ',';
      const last = page.at(-1);
      if (!last || page.length < EXPORT_CONVERSATIONS_PAGE) break;
      after = { activityAt: Date.parse(last.lastActivityAt), id: last.id };
    }
    yield '],"messages":[';
    comma = '';
    for (let after: Pick<Message, 'conversationId' | 'seq'> | undefined; ;) {
      const page = await store.sentMessages(userId, { limit: EXPORT_MESSAGES_PAGE, after });
      // Files as links signed for a day (the longest the contract allows), not their bytes.
      const own = page.map((m) => JSON.stringify(files.signMessage(m, userId, EXPORT_URL_SECONDS)));
      if (page.length > 0) yield comma + own.join(',');
      comma = ',';
      const last = page.at(-1);
      if (!last || page.length < EXPORT_MESSAGES_PAGE) break;
      after = { conversationId: last.conversationId, seq: last.seq };
    }
    yield ']}';
  }

  /**
   * Deletes the account (see Store.deleteUser), then: its sessions end through
   * `endSessions` (auth's revocation path: sockets close with 4401 on every node), every group
   * it left hears of it like any leave, and each direct peer gets their updated view ("Deleted
   * account").
   */
  async delete(userId: string, endSessions: (sessionIds: string[]) => void): Promise<void> {
    const { store, clock, ids } = this.deps;
    const deletion = await store.deleteUser({
      userId,
      now: clock.now(),
      messageIdPrefix: ids.next('m'),
    });
    endSessions(deletion.revokedSessionIds);
    try {
      await this.deps.files.remove({ kind: 'uploader', userId });
    } catch (error) {
      // The account is gone already; its files are unreachable to others' new messages but
      // stay attached where they were. Logged for the operator.
      this.deps.log?.warn({ err: error, userId }, 'deleting the files of a deleted account failed');
    }
    for (const change of deletion.groupChanges) this.chat.groups.announce(change, userId);
    await Promise.all(
      deletion.directConversationIds.map(async (conversationId) => {
        const peers = (await store.memberIds(conversationId)).filter((id) => id !== userId);
        this.chat.deliverViews(await store.conversationViews(conversationId, peers));
      }),
    );
  }
}
