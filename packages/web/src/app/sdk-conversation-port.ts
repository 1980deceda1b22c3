/**
 * ConversationPort over @letter/sdk. Where the client has a method that also updates its state
 * (group changes, display name) that method is used; the rest go straight to `client.api`.
 */
import type { Conversation, SearchResult } from '@letter/protocol';
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
    // The sdk has no method for this route (yet): the answer is not adopted here, but the
    // server sends the same view as a `conversation` event to all of the caller's sessions,
    // this one included, and the sdk's state takes it from there.
    setChatSettings: (id, settings) =>
      client.api.request<{ conversation: Conversation }>({
        method: 'PATCH',
        path: `/api/conversations/${encodeURIComponent(id)}/settings`,
        body: settings,
      }),
    searchMessages: (q, conversationId) =>
      // The sdk's result type predates `highlights`; the server always sends them.
      client.api
        .request<{ results: SearchResult[] }>({
          method: 'GET',
          path: '/api/search',
          query: { q, conversationId, limit: 50 },
        })
        .then((res) => res.results),
    blockedUsers: () => client.api.blocks(),
    block: (userId) => client.api.block(userId),
    unblock: (userId) => client.api.unblock(userId),
    updateDisplayName: (displayName) => client.updateMe(displayName),
    changePassword: (current, next) => client.api.changePassword(current, next),
    exportData: () => client.api.exportMe(),
    deleteAccount: (password) => client.api.deleteMe(password),
  };
}
