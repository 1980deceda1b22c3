/** MessagePort over @letter/sdk: message actions go straight to the client. */
import type { LetterClient } from '@letter/sdk';
import type { MessagePort } from './message-port';

export function createMessagePort(client: LetterClient): MessagePort {
  return {
    editMessage: (id, seq, body) => client.editMessage(id, seq, body),
    deleteMessage: (id, seq) => client.deleteMessage(id, seq),
    react: (id, seq, emoji) => client.react(id, seq, emoji),
    receipts: (id, seq) => client.receipts(id, seq),
    lookupUser: (userId) => client.getUser(userId),
  };
}
