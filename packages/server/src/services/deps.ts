/**
 * What the services (chat.ts and its parts: groups, message actions, accounts) are given, and
 * the little the parts need of the chat service. The parts import this, never chat.ts, so no
 * service imports the one that imports it.
 */
import type { Conversation, Message } from '@letter/protocol';
import type { FileSelector, MemberChange, MemberView, Store } from '../store/store.js';
import type { Clock } from '../util/clock.js';
import type { Ids } from '../util/ids.js';
import type { RateLimiter } from '../util/rate.js';
import type { Hub } from '../hub/hub.js';
import type { Presence } from '../presence/presence.js';

export interface ChatDeps {
  store: Store;
  hub: Hub;
  presence: Presence;
  clock: Clock;
  ids: Ids;
  sendLimiter: RateLimiter;
  /** Searches per user (message-actions.ts): each one reads the index. */
  searchLimiter: RateLimiter;
  /** Exports per user (accounts.ts): each one reads all the user's messages. */
  exportLimiter: RateLimiter;
  /** Group creation and group changes, per actor (takeGroupToken). */
  groupLimiter: RateLimiter;
  /** A message this node committed, with the members it went to (web push starts here). */
  onMessage?: (message: Message, memberIds: string[]) => void;
  /** A user's read position moved (web push closes the chat's notifications on their devices). */
  onRead?: (userId: string, conversationId: string, seq: number) => void;
  /**
   * Files (files/service.ts): deletes file rows and their bytes (a deleted message's, a deleted
   * user's), and signs a message's attachment URLs for the one viewer it goes to.
   */
  files: {
    remove(selector: FileSelector): Promise<unknown>;
    signMessage(message: Message, viewerId: string, ttlSeconds?: number): Message;
    signConversation(conversation: Conversation, viewerId: string): Conversation;
    signedJson(
      message: Message,
      serialize: (message: Message) => string,
    ): (viewerId: string) => string;
  };
  /** Where background work that failed (presence announcements) is reported. */
  log?: { warn(details: object, message: string): void };
}

/** What group changes need of the chat service: its member cache and view delivery. */
export interface MemberAnnouncer {
  /** Drops the cached member list here and tells the other nodes to drop theirs. */
  membersChanged(conversationId: string): void;
  deliverViews(views: MemberView[]): void;
}

/** What account deletion needs: group changes announced as GroupService does, views delivered. */
export interface AccountAnnouncer {
  deliverViews(views: MemberView[]): void;
  readonly groups: {
    announce(change: MemberChange, viewerId: string): Conversation | undefined;
  };
}
