/** A user's data: the export document, and deleting the account with everything it implies. */
import { LetterError, type ExportDocument } from '@letter/protocol';
import { iso } from '../util/clock.js';
import type { ChatDeps, ChatService } from './chat.js';

export class AccountService {
  constructor(
    private readonly chat: ChatService,
    private readonly deps: ChatDeps,
  ) {}

  /** Everything Letter keeps about the user, as they may see it. */
  async export(userId: string): Promise<ExportDocument> {
    const { store, clock } = this.deps;
    const [user, contacts, blocks, conversations, messages] = await Promise.all([
      store.getUser(userId),
      store.listContacts(userId),
      store.listBlocked(userId),
      store.listConversations(userId),
      store.sentMessages(userId),
    ]);
    if (!user || user.deletedAt !== null) throw new LetterError('unauthorized');
    return {
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
      conversations,
      messages,
    };
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
    for (const change of deletion.groupChanges) this.chat.groups.announce(change, userId);
    await Promise.all(
      deletion.directConversationIds.map(async (conversationId) => {
        const peers = (await store.memberIds(conversationId)).filter((id) => id !== userId);
        this.chat.deliverViews(await store.conversationViews(conversationId, peers));
      }),
    );
  }
}
