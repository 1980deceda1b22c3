/**
 * LetterPort over @letter/sdk. The sdk owns the truth (session, socket, outbox, timelines); this
 * file only reshapes its immutable state for the screens, memoized on the sdk's object identity
 * so useSyncExternalStore sees a new snapshot exactly when something changed, and remembers the
 * little the screens need that the sdk does not track (which chats are fetching older pages).
 */
import type { Message } from '@letter/protocol';
import {
  hasOlder,
  isComplete,
  selectConversations,
  selectPending,
  selectTyping,
} from '@letter/sdk';
import type { ClientState, LetterClient, PendingMessage, Timeline } from '@letter/sdk';
import type { ChatMessage } from './model';
import type { AppSnapshot, AuthStatus, LetterPort, Thread } from './port';
import { createConversationPort } from './sdk-conversation-port';
import { createMessagePort } from './sdk-message-port';
import { createPushPort } from './sdk-push-port';

/** Own messages are keyed by clientMsgId so the pending echo and the stored copy share a node. */
const OWN = 'c:';
const OTHER = 'm:';

export function createSdkPort(client: LetterClient): LetterPort {
  const listeners = new Set<() => void>();
  const loading = new Set<string>();
  const opened = new Set<string>();
  let resumeFailed = false;
  let localVersion = 0;
  let cache: { state: ClientState; version: number; snapshot: AppSnapshot } | null = null;

  const messageViews = new WeakMap<Message | PendingMessage, ChatMessage>();
  const threadViews = new Map<
    string,
    { timeline: Timeline; pending: readonly PendingMessage[]; loading: boolean; thread: Thread }
  >();
  let lastTyping: { typing: ClientState['typing']; view: AppSnapshot['typing'] } | null = null;
  let lastThreads: {
    timelines: ClientState['timelines'];
    pending: ClientState['pending'];
    version: number;
    view: AppSnapshot['threads'];
  } | null = null;

  function changed() {
    localVersion++;
    for (const listener of [...listeners]) listener();
  }

  client.subscribe(() => {
    for (const listener of [...listeners]) listener();
  });

  // Network loss (the browser's offline/online events) is handled inside the sdk: it drops the
  // socket at once and reconnects and syncs when the network is back.

  function viewOfMessage(message: Message, meId: string | null): ChatMessage {
    let view = messageViews.get(message);
    if (!view) {
      const own = message.senderId !== null && message.senderId === meId && message.clientMsgId;
      view = {
        key: own ? OWN + message.clientMsgId : OTHER + message.id,
        seq: message.seq,
        senderId: message.senderId,
        body: message.body,
        createdAt: message.createdAt,
        editedAt: message.editedAt,
        deletedAt: message.deletedAt,
        system: message.system,
        replyToSeq: message.replyToSeq,
        reactions: message.reactions,
        mentions: message.mentions,
        ...(message.attachments.length > 0 && {
          attachments: message.attachments.map((a) => ({ ...a, key: a.id })),
        }),
      };
      messageViews.set(message, view);
    }
    return view;
  }

  function viewOfPending(pending: PendingMessage): ChatMessage {
    let view = messageViews.get(pending);
    if (!view) {
      view = {
        key: OWN + pending.clientMsgId,
        seq: null,
        senderId: pending.senderId,
        body: pending.body,
        createdAt: pending.createdAt,
        editedAt: null,
        deletedAt: null,
        replyToSeq: pending.replyToSeq,
        outbox: pending.status === 'failed' ? 'failed' : 'sending',
        error: pending.error,
        ...(pending.attachments && {
          attachments: pending.attachments.map((a) => ({
            key: a.localId,
            name: a.name,
            size: a.size,
            mime: a.mime,
            blob: a.blob,
            progress: a.size === 0 ? 1 : a.uploadedBytes / a.size,
          })),
        }),
      };
      messageViews.set(pending, view);
    }
    return view;
  }

  function threadOf(
    id: string,
    timeline: Timeline,
    pending: readonly PendingMessage[],
    meId: string | null,
  ): Thread {
    const isLoading = loading.has(id);
    const cached = threadViews.get(id);
    if (
      cached &&
      cached.timeline === timeline &&
      cached.pending === pending &&
      cached.loading === isLoading
    ) {
      return cached.thread;
    }
    const thread: Thread = {
      messages: [
        ...timeline.messages.map((m) => viewOfMessage(m, meId)),
        ...pending.map(viewOfPending),
      ],
      hasMore: hasOlder(timeline),
      loadingOlder: isLoading,
    };
    threadViews.set(id, { timeline, pending, loading: isLoading, thread });
    return thread;
  }

  function build(state: ClientState): AppSnapshot {
    if (!lastTyping || lastTyping.typing !== state.typing) {
      const view: Record<string, string[]> = {};
      for (const id of Object.keys(state.typing)) view[id] = selectTyping(state, id);
      lastTyping = { typing: state.typing, view };
    }
    if (
      !lastThreads ||
      lastThreads.timelines !== state.timelines ||
      lastThreads.pending !== state.pending ||
      lastThreads.version !== localVersion
    ) {
      const view: Record<string, Thread> = {};
      const meId = state.me?.id ?? null;
      for (const [id, timeline] of Object.entries(state.timelines)) {
        view[id] = threadOf(id, timeline, selectPending(state, id), meId);
      }
      lastThreads = {
        timelines: state.timelines,
        pending: state.pending,
        version: localVersion,
        view,
      };
    }
    let status: AuthStatus = state.session;
    // Could not reach the server to resume: offer the sign-in form rather than a spinner forever.
    if (status === 'unknown' && resumeFailed) status = 'signedOut';
    return {
      auth: { status, user: state.me },
      connection: state.connection,
      // The same array while no conversation changed (the sdk memoizes it).
      conversations: selectConversations(state),
      contacts: state.contacts ?? [],
      presence: state.presence,
      typing: lastTyping.view,
      threads: lastThreads.view,
    };
  }

  function loadOlder(id: string) {
    if (loading.has(id)) return;
    const timeline = client.getSnapshot().timelines[id];
    if (!timeline || !hasOlder(timeline)) return;
    loading.add(id);
    changed();
    client
      .loadOlder(id)
      .catch((error: unknown) => console.warn('letter: loading older messages failed', error))
      .finally(() => {
        loading.delete(id);
        changed();
      });
  }

  async function afterSignIn<T>(work: Promise<T>): Promise<T> {
    const result = await work;
    // Contacts also seed presence for the chat list's online dots.
    client.loadContacts().catch(() => undefined);
    return result;
  }

  return {
    // Group management, search, mute/archive, settings: see sdk-conversation-port.ts.
    ...createConversationPort(client),
    // Edit, delete, reactions, receipts, user lookups: see sdk-message-port.ts.
    ...createMessagePort(client),
    // The VAPID key, this browser's subscription, the preview setting: see sdk-push-port.ts.
    ...createPushPort(client),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSnapshot() {
      const state = client.getSnapshot();
      if (cache && cache.state === state && cache.version === localVersion) return cache.snapshot;
      cache = { state, version: localVersion, snapshot: build(state) };
      return cache.snapshot;
    },
    async resume() {
      try {
        return await afterSignIn(client.resume());
      } catch (error) {
        resumeFailed = true;
        changed();
        throw error;
      }
    },
    login: (username, password) => afterSignIn(client.login(username, password)),
    register: (username, password, displayName) =>
      afterSignIn(
        client.register(displayName ? { username, password, displayName } : { username, password }),
      ),
    async logout() {
      opened.clear();
      threadViews.clear();
      await client.logout();
    },
    searchUsers: (prefix) => client.api.searchUsers(prefix),
    addContact: (username) => client.addContact(username),
    openDirect: (userId) => client.openDirect(userId),
    createGroup: (title, memberIds) => client.createGroup(title, memberIds),
    openThread(id) {
      // The list carries a preview of a group's members: an open chat needs them all (names,
      // ticks), once; deltas keep them whole from then on.
      const conversation = client.getSnapshot().conversations[id];
      if (conversation && !isComplete(conversation)) {
        client.loadMembers(id).catch((error: unknown) => {
          console.warn('letter: members not loaded', error);
        });
      }
      // The first open fetches the latest page; later ones have live messages already.
      if (opened.has(id)) return;
      const timeline = client.getSnapshot().timelines[id];
      if (!timeline) return;
      opened.add(id);
      loadOlder(id);
    },
    loadOlder,
    send(id, body, replyToSeq, files) {
      try {
        client.send(id, body, { replyToSeq: replyToSeq ?? null, ...(files && { files }) });
      } catch (error) {
        console.warn('letter: send refused', error);
      }
    },
    retry(_id, key) {
      if (key.startsWith(OWN)) client.retrySend(key.slice(OWN.length));
    },
    discard(_id, key) {
      if (key.startsWith(OWN)) client.discardSend(key.slice(OWN.length));
    },
    typing: (id) => client.sendTyping(id),
    markRead: (id) => client.markRead(id),
  };
}
