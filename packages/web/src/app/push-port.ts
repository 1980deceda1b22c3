/**
 * What web push needs from a client: the server's VAPID key, this browser's subscription for
 * the session, and the per-user "message text in notifications" setting. Kept apart from
 * port.ts like conversation-port.ts; `LetterPort` extends it and `sdk-push-port.ts` implements it.
 */
export interface PushSubscriptionInfo {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface PushPort {
  /** base64url P-256 public key: the `applicationServerKey`. */
  pushKey(): Promise<string>;
  addPushSubscription(subscription: PushSubscriptionInfo): Promise<unknown>;
  removePushSubscription(endpoint: string): Promise<unknown>;
  /** Whether pushes carry the message text (the server's setting, on every device). */
  pushPreview(): Promise<boolean>;
  setPushPreview(preview: boolean): Promise<unknown>;
}
