/**
 * Catching up: what runs after every `ready`, and the REST paging that fills holes.
 *
 * After `ready`: load the conversation list (every time: `sync` replays messages but not
 * receipts, so read positions, unread counts and members that changed while we were away only
 * show in a fresh list; one request per reconnect buys that), send `sync` with the cursor
 * of every known conversation (the server replays what was missed as `message` frames, then
 * answers with every conversation's lastSeq and the ones it `truncated`), drop conversations
 * that are no longer listed, fetch the ones we do not know, and page the rest of every
 * conversation still behind (the truncated ones, and any hole seen during the replay) with
 * REST history `after=cursor`.
 */
import type { Conversation, ConversationChange, Message, SyncResult } from '@letter/protocol';
import type { LetterApi } from './api.js';
import { LetterError } from './errors.js';
import { hasOlder, oldestSeq } from './state/timeline.js';
import type { ClientState, StateEvent } from './state/types.js';

export interface CatchupDeps {
  api: Pick<LetterApi, 'conversations' | 'conversation' | 'history' | 'members'>;
  sync(cursors: Record<string, number>): Promise<SyncResult>;
  getState(): ClientState;
  dispatch(event: StateEvent): void;
  /** A conversation is gone for us: state, outbox, positions. */
  removeConversation(conversationId: string): void;
  /** Messages arrived over REST: acknowledge own ones in the outbox, report delivery. */
  received(conversationId: string, messages: readonly Message[]): void;
  /** Page size when catching up (REST max is 200). */
  pageSize: number;
}

/** More unknown conversations than this after a sync: reload the list instead of one by one. */
const fetchOneByOneMax = 10;

export class Catchup {
  private readonly conversationFetches = new Map<string, Promise<Conversation | null>>();
  private readonly gapFills = new Map<string, Promise<void>>();
  private readonly olderLoads = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: CatchupDeps) {}

  /** The post-`ready` sequence; `isCurrent` turns false when a newer connection took over. */
  async resume(isCurrent: () => boolean): Promise<void> {
    const { deps } = this;
    const list = await deps.api.conversations();
    if (!isCurrent()) return;
    this.replaceList(list);
    const before = deps.getState();
    const cursors: Record<string, number> = {};
    for (const id of Object.keys(before.conversations)) {
      cursors[id] = before.timelines[id]?.cursor ?? before.conversations[id]!.lastSeq;
    }
    const result = await deps.sync(cursors);
    if (!isCurrent()) return;
    const listed = new Map(result.conversations.map((c) => [c.id, c.lastSeq]));
    // Only conversations known before the sync: one created meanwhile may be missing from a list
    // the server computed a moment earlier.
    for (const id of Object.keys(cursors)) {
      if (!listed.has(id) && deps.getState().conversations[id]) deps.removeConversation(id);
    }
    const unknown = [...listed.keys()].filter((id) => !deps.getState().conversations[id]);
    if (unknown.length > fetchOneByOneMax) {
      const again = await deps.api.conversations();
      if (!isCurrent()) return;
      this.replaceList(again);
    } else {
      await Promise.all(unknown.map((id) => this.fetchConversation(id)));
      if (!isCurrent()) return;
    }
    // One conversation at a time: after an outage every client does this at once.
    for (const [id, lastSeq] of listed) {
      if (!isCurrent()) return;
      await this.fillGap(id, lastSeq);
    }
  }

  /** The full list is the truth: what it lacks is gone (with its unsent messages). */
  private replaceList(list: readonly Conversation[]): void {
    const listed = new Set(list.map((c) => c.id));
    for (const id of Object.keys(this.deps.getState().conversations)) {
      if (!listed.has(id)) this.deps.removeConversation(id);
    }
    this.deps.dispatch({ type: 'conversations.loaded', conversations: list });
  }

  /** Loads a conversation we do not know (a message or sync named it); null when not allowed. */
  /**
   * A group change: applied on top when it follows the version held here; a conversation not
   * known here, or a version jump (a change missed), is fetched whole instead.
   */
  async applyChange(change: ConversationChange): Promise<void> {
    const known = this.deps.getState().conversations[change.conversationId];
    if (known && change.membersVersion <= known.membersVersion + 1) {
      this.deps.dispatch({ type: 'conversation.changed', change });
    } else {
      await this.fetchConversation(change.conversationId);
    }
  }

  /** Every member into the state (list entries carry a preview); the conversation after it. */
  async loadMembers(id: string): Promise<Conversation | undefined> {
    const { members, memberCount, membersVersion } = await this.deps.api.members(id);
    this.deps.dispatch({
      type: 'members',
      conversationId: id,
      members,
      memberCount,
      membersVersion,
    });
    return this.deps.getState().conversations[id];
  }

  fetchConversation(id: string): Promise<Conversation | null> {
    let fetch = this.conversationFetches.get(id);
    if (fetch) return fetch;
    fetch = this.deps.api
      .conversation(id)
      .then(
        (conversation) => {
          this.deps.dispatch({ type: 'conversation', conversation });
          return conversation;
        },
        (error: unknown) => {
          if (error instanceof LetterError && error.code === 'not_found') {
            this.deps.removeConversation(id);
            return null;
          }
          throw error;
        },
      )
      .finally(() => this.conversationFetches.delete(id));
    this.conversationFetches.set(id, fetch);
    return fetch;
  }

  /** True when a conversation holds messages but misses some between its cursor and lastSeq. */
  needsFill(id: string, target = 0): boolean {
    const state = this.deps.getState();
    const conversation = state.conversations[id];
    const timeline = state.timelines[id];
    if (!conversation || !timeline) return false;
    return (
      timeline.cursor < Math.max(target, conversation.lastSeq, timeline.messages.at(-1)?.seq ?? 0)
    );
  }

  /** Pages REST history forward from the cursor until nothing is missing up to `target`. */
  fillGap(id: string, target = 0): Promise<void> {
    const running = this.gapFills.get(id);
    if (running) return running;
    if (!this.needsFill(id, target)) return Promise.resolve();
    const fill = (async () => {
      while (this.needsFill(id, target)) {
        const cursor = this.deps.getState().timelines[id]!.cursor;
        const page = await this.deps.api.history(id, { after: cursor, limit: this.deps.pageSize });
        this.apply(id, page.messages);
        const moved = (this.deps.getState().timelines[id]?.cursor ?? cursor) > cursor;
        // No progress or nothing more: stop rather than spin (the next sync will retry).
        if (!page.hasMore || !moved) return;
      }
    })().finally(() => this.gapFills.delete(id));
    this.gapFills.set(id, fill);
    return fill;
  }

  /** The page before the oldest held message (the latest page when nothing is held). */
  loadOlder(id: string, limit: number): Promise<boolean> {
    const running = this.olderLoads.get(id);
    if (running) return running;
    const timeline = this.deps.getState().timelines[id];
    if (!timeline) return Promise.reject(new LetterError('not_found', 'unknown conversation'));
    if (!hasOlder(timeline)) return Promise.resolve(false);
    const load = this.deps.api
      .history(id, { before: oldestSeq(timeline), limit })
      .then((page) => {
        this.apply(id, page.messages);
        return page.hasMore;
      })
      .finally(() => this.olderLoads.delete(id));
    this.olderLoads.set(id, load);
    return load;
  }

  private apply(id: string, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    this.deps.received(id, messages);
    this.deps.dispatch({ type: 'messages.page', conversationId: id, messages });
  }
}
