/** PushPort over the sdk's typed push calls (never `client.api.request`). */
import type { LetterClient } from '@letter/sdk';
import type { PushPort } from './push-port';

export function createPushPort(client: LetterClient): PushPort {
  return {
    pushKey: () => client.api.pushKey(),
    addPushSubscription: (subscription) => client.api.addPushSubscription(subscription),
    removePushSubscription: (endpoint) => client.api.removePushSubscription(endpoint),
    pushPreview: async () => (await client.api.pushSettings()).preview,
    setPushPreview: (preview) => client.api.updatePushSettings({ preview }),
  };
}
