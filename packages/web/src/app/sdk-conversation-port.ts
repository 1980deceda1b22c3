/**
 * ConversationPort over @letter/sdk. Where the client has a method that also updates its state
 * (group changes, settings, display name) that method is used; the rest go straight to the
 * sdk's typed `client.api` methods. Never `client.api.request`: no hand-built paths here.
 */
import type { LetterClient } from '@letter/sdk';
import type { ConversationPort } from './conversation-port';

export function createConversationPort(client: LetterClient): ConversationPort {
  return {
    renameGroup: (id, title) => client.renameConversation(id, title),
    addMembers: (id, userIds) => client.addMembers(id, userIds),
    removeMember: (id, userId) => client.removeMember(id, userId),
    setMemberRole: (id, userId, role) => client.setMemberRole(id, userId, role),
    loadMembers: (id) => client.loadMembers(id),
    leaveGroup: (id) => client.leaveConversation(id),
    // The sdk applies the answer at once; the server's `conversation` event tells other tabs.
    setChatSettings: (id, settings) => client.updateSettings(id, settings),
    searchMessages: (q, conversationId) =>
      client.search(q, conversationId ? { conversationId, limit: 50 } : { limit: 50 }),
    blockedUsers: () => client.api.blocks(),
    block: (userId) => client.api.block(userId),
    unblock: (userId) => client.api.unblock(userId),
    updateDisplayName: (displayName) => client.updateMe(displayName),
    changePassword: (current, next) => client.api.changePassword(current, next),
    exportData: () => client.exportMyData(),
    deleteAccount: (password) => client.api.deleteMe(password),
  };
}
