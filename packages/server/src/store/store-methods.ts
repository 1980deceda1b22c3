/**
 * The Store's methods by name, for the implementations that forward calls (the SQLite worker's
 * RPC, the PostgreSQL store's close-aware wrapper). Checked complete by the type: a new Store
 * method missing here fails to compile.
 */
import type { Store } from './store.js';

/** Every Store method but the lifecycle ones each implementation handles itself. */
export type StoreMethod = Exclude<keyof Store, 'close' | 'stats'>;

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
