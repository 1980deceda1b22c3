/**
 * The conversation-level screens wired to the port: the info panel beside a chat, message
 * search and settings in the sidebar, and scrolling to a found message. Messenger places them;
 * the components themselves stay props-only.
 */
import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import type { Conversation, User } from '@letter/protocol';
import { ChatHeaderActionsContext } from '../components/ChatMenu';
import type { ChatHeaderActions } from '../components/ChatMenu';
import { Panel } from '../components/Panel';
import { downloadJson } from '../lib/download';
import { setPrefs } from '../lib/notify-prefs';
import { usePort } from './hooks';
import { peerOf } from './model';
import type { AppSnapshot, Thread } from './port';

// Not needed for the first screen: each comes in its own chunk when first opened.
const ContactInfo = lazy(() =>
  import('../components/ContactInfo').then((m) => ({ default: m.ContactInfo })),
);
const GroupInfo = lazy(() =>
  import('../components/GroupInfo').then((m) => ({ default: m.GroupInfo })),
);
const SearchPanel = lazy(() =>
  import('../components/SearchPanel').then((m) => ({ default: m.SearchPanel })),
);
const SettingsPanel = lazy(() =>
  import('../components/SettingsPanel').then((m) => ({ default: m.SettingsPanel })),
);

/** What a panel shows while its chunk loads (a moment, or until the connection is back). */
export function Loading({ children }: { children: ReactNode }) {
  return <Suspense fallback={<p className="muted panel-loading">Loading…</p>}>{children}</Suspense>;
}

/** The page title counts unread messages of chats that are not muted. */
export function unreadForTitle(conversations: readonly Conversation[]): number {
  return conversations.reduce((sum, c) => sum + (c.muted ? 0 : c.unreadCount), 0);
}

export function InfoPane(props: {
  conversation: Conversation;
  me: User;
  snapshot: AppSnapshot;
  onClose: () => void;
}) {
  const { conversation, me, snapshot, onClose } = props;
  const port = usePort();
  const peer = conversation.kind === 'direct' ? peerOf(conversation.members, me.id) : undefined;
  const [blocked, setBlocked] = useState<boolean | null>(null);
  const peerId = peer?.id;

  useEffect(() => {
    if (!peerId) return;
    let live = true;
    port.blockedUsers().then(
      (users) => live && setBlocked(users.some((u) => u.id === peerId)),
      () => live && setBlocked(false),
    );
    return () => {
      live = false;
    };
  }, [port, peerId]);

  const id = conversation.id;
  // Stable per chat: the group panel fetches members when this or its completeness changes.
  const loadMembers = useCallback(() => port.loadMembers(id), [port, id]);
  return (
    <Panel
      title={conversation.kind === 'group' ? 'Group info' : 'Contact info'}
      onClose={onClose}
      className="side-panel"
    >
      <Loading>
        {conversation.kind === 'group' ? (
          <GroupInfo
            conversation={conversation}
            meId={me.id}
            presence={snapshot.presence}
            contacts={snapshot.contacts}
            onRename={(title) => port.renameGroup(id, title)}
            onAddMembers={(userIds) => port.addMembers(id, userIds)}
            onRemove={(userId) => port.removeMember(id, userId)}
            onSetRole={(userId, role) => port.setMemberRole(id, userId, role)}
            onLoadMembers={loadMembers}
            onLeave={() => port.leaveGroup(id)}
          />
        ) : peer ? (
          <ContactInfo
            user={peer}
            presence={snapshot.presence[peer.id]}
            blocked={blocked}
            onBlock={() => port.block(peer.id).then(() => setBlocked(true))}
            onUnblock={() => port.unblock(peer.id).then(() => setBlocked(false))}
          />
        ) : null}
      </Loading>
    </Panel>
  );
}

export function SearchPane(props: {
  snapshot: AppSnapshot;
  me: User;
  onOpen: (conversationId: string, seq: number) => void;
  onClose: () => void;
}) {
  const port = usePort();
  const onSearch = useCallback((q: string) => port.searchMessages(q), [port]);
  return (
    <Panel title="Search messages" onClose={props.onClose}>
      <Loading>
        <SearchPanel
          conversations={props.snapshot.conversations}
          meId={props.me.id}
          onSearch={onSearch}
          onOpen={props.onOpen}
        />
      </Loading>
    </Panel>
  );
}

export function SettingsPane(props: { me: User; onClose: () => void; onLogout: () => void }) {
  const port = usePort();
  const { me, onLogout } = props;
  const loadBlocked = useCallback(() => port.blockedUsers(), [port]);
  return (
    <Panel title="Settings" onClose={props.onClose}>
      <Loading>
        <SettingsPanel
          me={me}
          onRename={(name) => port.updateDisplayName(name)}
          onChangePassword={(current, next) => port.changePassword(current, next)}
          onExport={async () =>
            downloadJson(await port.exportData(), `letter-export-${me.username}.json`)
          }
          onDeleteAccount={async (password) => {
            await port.deleteAccount(password);
            // The server has already ended every session; this clears the local state.
            onLogout();
          }}
          loadBlocked={loadBlocked}
          onUnblock={(userId) => port.unblock(userId)}
          onLogout={onLogout}
          onPushPreview={(preview) => {
            // Not saved on the server: the switch goes back, so it says what pushes do.
            port.setPushPreview(preview).catch(() => setPrefs({ preview: !preview }));
          }}
        />
      </Loading>
    </Panel>
  );
}

/**
 * Brings a found message into view: loads older pages until its seq is in the thread, then
 * scrolls its bubble (`data-seq`) to the middle and marks it for a moment. Done here, from
 * outside the message list, because the list has no scroll-to-seq of its own yet.
 */
export function useScrollToSeq(
  focus: { id: string; seq: number } | null,
  selectedId: string | null,
  thread: Thread,
  onDone: () => void,
) {
  const port = usePort();
  useEffect(() => {
    if (!focus || focus.id !== selectedId) return;
    const oldest = thread.messages.find((m) => m.seq !== null)?.seq ?? null;
    const present = thread.messages.some((m) => m.seq === focus.seq);
    if (!present) {
      if (oldest !== null && oldest < focus.seq) return onDone(); // not in the thread at all
      if (thread.hasMore && !thread.loadingOlder) port.loadOlder(focus.id);
      if (!thread.hasMore) onDone();
      return;
    }
    // After the list's own layout effects (which may pin it to the bottom) have run.
    const timer = setTimeout(() => {
      const node = document.querySelector<HTMLElement>(`.main [data-seq="${focus.seq}"]`);
      if (node) {
        node.scrollIntoView({ block: 'center' });
        node.classList.add('search-hit');
        setTimeout(() => node.classList.remove('search-hit'), 2500);
      }
      onDone();
    }, 50);
    return () => clearTimeout(timer);
  }, [focus, selectedId, thread, port, onDone]);
}

/** The chat pane, giving the chat header its menu actions (info, mute, archive) by context. */
export function MainPane({
  actions,
  children,
}: {
  actions: ChatHeaderActions;
  children: ReactNode;
}) {
  return (
    <main className="main">
      <ChatHeaderActionsContext value={actions}>{children}</ChatHeaderActionsContext>
    </main>
  );
}
