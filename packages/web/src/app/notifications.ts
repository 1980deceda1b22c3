/**
 * In-tab notifications: while the tab is hidden, a message from someone else in a chat that is
 * not muted shows a system notification — the sender (and the group), the text or "New
 * message" — one per conversation (`tag`), and a click focuses the tab and opens the chat.
 * The tab being closed is the service worker's part (web push, sw/sw.js).
 */
import { useEffect, useRef, useState } from 'react';
import type { Conversation, Message } from '@letter/protocol';
import { getPrefs } from '../lib/notify-prefs';
import { attachmentPreview } from './attachments';
import { playMessageSound } from '../lib/sound';

export interface NotificationText {
  title: string;
  body: string;
}

/** What a notification says; `preview: false` keeps the message text off the lock screen. */
export function notificationText(
  conversation: Conversation,
  message: Message,
  preview: boolean,
): NotificationText {
  const sender = conversation.members.find((m) => m.user.id === message.senderId)?.user.displayName;
  const title =
    conversation.kind === 'group'
      ? sender
        ? `${sender} in ${conversation.title}`
        : conversation.title
      : conversation.title;
  // A photo or a voice note says so ("📷 Photo", "🎤 0:12"), as the chat list does.
  const text = (attachmentPreview(message.attachments, message.body) ?? message.body).trim();
  const body =
    preview && text && !message.deletedAt
      ? text.length > 160
        ? `${text.slice(0, 159)}…`
        : text
      : 'New message';
  return { title, body };
}

/**
 * Watches the chat list for messages newer than the last one seen. Returns true once a message
 * arrived or went out during this visit: the sensible moment to offer notifications. A message
 * from someone else in a chat that is not muted chimes (sound on) when the tab is hidden or
 * another chat is open.
 */
export function useMessageNotifications(
  conversations: readonly Conversation[],
  meId: string,
  onOpen: (conversationId: string) => void,
  openId: string | null = null,
): boolean {
  const seen = useRef<Map<string, number> | null>(null);
  const [engaged, setEngaged] = useState(false);
  const open = useRef(onOpen);
  // Read, not watched: opening a chat is no news.
  const openChat = useRef(openId);
  useEffect(() => {
    open.current = onOpen;
    openChat.current = openId;
  }, [onOpen, openId]);

  useEffect(() => {
    const first = seen.current === null;
    const last = (seen.current ??= new Map());
    let fresh = false;
    let chime = false;
    for (const conversation of conversations) {
      const message = conversation.lastMessage;
      const before = last.get(conversation.id);
      last.set(conversation.id, Math.max(before ?? 0, message?.seq ?? 0));
      // Whatever the list held when the app started (or a chat first seen) is not news.
      if (first || before === undefined || !message || message.seq <= before) continue;
      fresh = true;
      if (message.senderId === null || message.senderId === meId || conversation.muted) continue;
      notify(conversation, message, () => open.current(conversation.id));
      if (document.visibilityState === 'hidden' || conversation.id !== openChat.current)
        chime = true;
    }
    const prefs = getPrefs();
    if (chime && prefs.enabled && prefs.sound) playMessageSound();
    // After this commit, not within it: the banner is news for the next render.
    if (fresh) queueMicrotask(() => setEngaged(true));
  }, [conversations, meId]);
  return engaged;
}

function notify(conversation: Conversation, message: Message, onClick: () => void): void {
  const prefs = getPrefs();
  if (!prefs.enabled || typeof Notification === 'undefined') return;
  if (Notification.permission !== 'granted' || document.visibilityState !== 'hidden') return;
  const { title, body } = notificationText(conversation, message, prefs.preview);
  try {
    const shown = new Notification(title, {
      body,
      tag: conversation.id,
      icon: '/icons/icon-192.png',
      // The page's own chime plays (or not) instead: one sound, the same in every browser.
      silent: true,
    });
    shown.onclick = () => {
      window.focus();
      onClick();
      shown.close();
    };
  } catch {
    // Android Chrome allows notifications only from a service worker: the push covers it.
  }
}
