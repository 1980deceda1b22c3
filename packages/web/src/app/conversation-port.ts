/**
 * What the conversation-level screens (group info, contact info, search, mute/archive, settings)
 * need from a client. Kept apart from port.ts so the two halves of the port can grow without
 * touching each other; `LetterPort` extends it and `sdk-conversation-port.ts` implements it.
 */
import type { ConversationSettingsBody, Role, SearchResult, User } from '@letter/protocol';

/** The caller's own flags on a conversation (muted, archived); other members never see them. */
export type ChatSettings = ConversationSettingsBody;

export interface ConversationPort {
  renameGroup(conversationId: string, title: string): Promise<unknown>;
  addMembers(conversationId: string, userIds: string[]): Promise<unknown>;
  /** Admins only; to leave, use `leaveGroup`. */
  removeMember(conversationId: string, userId: string): Promise<unknown>;
  setMemberRole(conversationId: string, userId: string, role: Role): Promise<unknown>;
  /** Every member into the state: a chat list entry carries only a preview of them. */
  loadMembers(conversationId: string): Promise<unknown>;
  /** The chat is dropped from the list once this resolves. */
  leaveGroup(conversationId: string): Promise<unknown>;
  setChatSettings(conversationId: string, settings: ChatSettings): Promise<unknown>;

  /** Message search over the caller's chats, or one chat. */
  searchMessages(query: string, conversationId?: string): Promise<readonly SearchResult[]>;

  blockedUsers(): Promise<readonly User[]>;
  block(userId: string): Promise<unknown>;
  unblock(userId: string): Promise<unknown>;

  updateDisplayName(displayName: string): Promise<unknown>;
  changePassword(currentPassword: string, newPassword: string): Promise<unknown>;
  /** The `GET /api/me/export` document, parsed. */
  exportData(): Promise<unknown>;
  /** Deletes the account on the server; the caller then signs out locally. */
  deleteAccount(password: string): Promise<unknown>;
}
