/**
 * The Store's methods by name, for the implementations that forward calls (the SQLite worker's
 * RPC, the PostgreSQL store's close-aware wrapper). Checked complete by the type: a new Store
 * method missing here fails to compile.
 */
import type { Store } from '../store.js';

/** Every Store method but the lifecycle ones each implementation handles itself. */
export type StoreMethod = Exclude<keyof Store, 'close' | 'stats'>;

/**
 * `read`: the method only reads, so the SQLite worker may run it without a savepoint, and a
 * batch of nothing else without a write transaction; such a batch runs with
 * `PRAGMA query_only`, so a write behind a `read` label fails loudly instead of slipping by.
 * `search` is a read: every committed row is in the search index already (the worker indexes a
 * batch before its COMMIT), so it has nothing to catch up (ARCHITECTURE.md, Durability).
 */
export type MethodAccess = 'read' | 'write';

export const storeMethods: Record<StoreMethod, MethodAccess> = {
  migrate: 'write',
  ping: 'read',
  createUser: 'write',
  getUserByUsername: 'read',
  getUser: 'read',
  getUsers: 'read',
  searchUsers: 'read',
  updateDisplayName: 'write',
  updatePasswordHash: 'write',
  setLastSeen: 'write',
  deleteUser: 'write',
  sentMessages: 'read',
  prune: 'write',
  createFile: 'write',
  getFile: 'read',
  fileForViewer: 'read',
  attachFiles: 'write',
  uploadedBytes: 'read',
  removeFiles: 'write',
  startBlobDeletions: 'write',
  endBlobDeletions: 'write',
  staleBlobDeletions: 'read',
  createSession: 'write',
  getSession: 'read',
  rotateRefreshToken: 'write',
  revokeSession: 'write',
  revokeUserSessions: 'write',
  addContact: 'write',
  removeContact: 'write',
  listContacts: 'read',
  block: 'write',
  unblock: 'write',
  listBlocked: 'read',
  isBlockedEitherWay: 'read',
  presenceAudience: 'read',
  canSeePresence: 'read',
  blockPeers: 'read',
  openDirect: 'write',
  findDirect: 'read',
  createGroup: 'write',
  getConversation: 'read',
  listConversations: 'read',
  listConversationSummaries: 'read',
  memberIds: 'read',
  memberSet: 'read',
  isMember: 'read',
  conversationViews: 'read',
  updateSettings: 'write',
  renameGroup: 'write',
  addMembers: 'write',
  removeMember: 'write',
  setMemberRole: 'write',
  appendMessage: 'write',
  history: 'read',
  getMessage: 'read',
  editMessage: 'write',
  deleteMessage: 'write',
  setReaction: 'write',
  removeReaction: 'write',
  search: 'read',
  advancePosition: 'write',
  receipts: 'read',
  addPushSubscription: 'write',
  removePushSubscription: 'write',
  deletePushEndpoint: 'write',
  pushSubscriptions: 'read',
  pushPreview: 'read',
  setPushPreview: 'write',
};

export const isStoreMethod = (name: unknown): name is StoreMethod =>
  typeof name === 'string' && Object.hasOwn(storeMethods, name);

export const isReadOnly = (name: StoreMethod): boolean => storeMethods[name] === 'read';
