/**
 * The messages between worker-store.ts (main thread) and sqlite-worker.ts. Kept free of
 * better-sqlite3 so the main thread never loads the native module.
 */
import type { StoreStats } from './store.js';
import type { StoreMethod } from './sqlite.js';

/** Every forwarded method, checked complete by the type: a new Store method fails to compile. */
export const storeMethods: Record<StoreMethod, true> = {
  migrate: true,
  ping: true,
  createUser: true,
  getUserByUsername: true,
  getUser: true,
  getUsers: true,
  searchUsers: true,
  updateDisplayName: true,
  updatePasswordHash: true,
  setLastSeen: true,
  deleteUser: true,
  sentMessages: true,
  createSession: true,
  getSession: true,
  rotateRefreshToken: true,
  revokeSession: true,
  revokeUserSessions: true,
  addContact: true,
  removeContact: true,
  listContacts: true,
  block: true,
  unblock: true,
  listBlocked: true,
  isBlockedEitherWay: true,
  presenceAudience: true,
  openDirect: true,
  findDirect: true,
  createGroup: true,
  getConversation: true,
  listConversations: true,
  listConversationSummaries: true,
  memberIds: true,
  memberSet: true,
  isMember: true,
  conversationViews: true,
  updateSettings: true,
  renameGroup: true,
  addMembers: true,
  removeMember: true,
  setMemberRole: true,
  appendMessage: true,
  history: true,
  getMessage: true,
  editMessage: true,
  deleteMessage: true,
  setReaction: true,
  removeReaction: true,
  search: true,
  advancePosition: true,
  receipts: true,
};

export const isStoreMethod = (name: unknown): name is StoreMethod =>
  typeof name === 'string' && Object.hasOwn(storeMethods, name);

export interface WorkerOptions {
  file: string;
  busyTimeoutMs?: number | undefined;
}

export interface Call {
  id: number;
  method: StoreMethod;
  args: unknown[];
}

export type ToWorker =
  /** Every call made in one tick of the main thread, posted as one message. */
  | { type: 'calls'; calls: Call[] }
  /** Answer everything queued before this, close the database, then answer `closed`. */
  | { type: 'close' };

export interface SerializedError {
  /** A LetterError code, or undefined for anything else (a bug, an I/O error). */
  code?: string;
  message: string;
  stack?: string;
}

export type Reply = { id: number; value: unknown } | { id: number; error: SerializedError };

export type FromWorker =
  | { type: 'ready' }
  /** One message per committed batch, sent after COMMIT returned. */
  | { type: 'replies'; replies: Reply[]; stats: StoreStats }
  | { type: 'closed'; stats: StoreStats };
