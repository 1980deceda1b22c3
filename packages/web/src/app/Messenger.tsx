import { useCallback, useEffect, useRef, useState } from 'react';
import type { User } from '@letter/protocol';
import { ChatList } from '../components/ChatList';
import { ChatView } from '../components/ChatView';
import { ConnectionBanner } from '../components/ConnectionBanner';
import { Contacts } from '../components/Contacts';
import { NewGroup } from '../components/NewGroup';
import { NotificationBanner } from '../components/NotificationBanner';
import { Panel } from '../components/Panel';
import { SidebarHeader } from '../components/SidebarHeader';
import { usePort, useSelectedChat, useSnapshot } from './hooks';
import { useMessageNotifications } from './notifications';
import { dropWebPush, notifyRead, WebPush } from './web-push';
import {
  InfoPane,
  MainPane,
  SearchPane,
  SettingsPane,
  unreadForTitle,
  useScrollToSeq,
} from './panels';

type SidebarPanel = 'chats' | 'newChat' | 'newGroup' | 'search' | 'settings' | 'archived';

const EMPTY_THREAD = { messages: [], hasMore: true, loadingOlder: false } as const;

/** The signed-in app: chat list on the left, the open chat on the right (one at a time on phones). */
export function Messenger({ me }: { me: User }) {
  const port = usePort();
  const snapshot = useSnapshot();
  const [selectedId, select] = useSelectedChat();
  const [panel, setPanel] = useState<SidebarPanel>('chats');
  // Unsent text per chat; a plain map because typing must not re-render the whole app.
  const [drafts] = useState(() => new Map<string, string>());
  const conversation = snapshot.conversations.find((c) => c.id === selectedId) ?? null;
  const thread = (selectedId && snapshot.threads[selectedId]) || EMPTY_THREAD;

  useUnreadTitle(unreadForTitle(snapshot.conversations));
  const engaged = useMessageNotifications(
    snapshot.conversations,
    me.id,
    (id) => {
      setPanel('chats');
      select(id);
    },
    selectedId,
  );

  // Group/contact info beside the open chat, and a search hit to scroll to.
  const [infoFor, setInfoFor] = useState<string | null>(null);
  const [focus, setFocus] = useState<{ id: string; seq: number } | null>(null);
  const clearFocus = useCallback(() => setFocus(null), []);
  useScrollToSeq(focus, selectedId, thread, clearFocus);
  // A new object per render is fine: the header re-renders with the Messenger anyway.
  const headerActions = {
    onOpenInfo: (id: string) => setInfoFor(id),
    onSetSettings: (id: string, settings: { muted?: boolean; archived?: boolean }) => {
      port
        .setChatSettings(id, settings)
        .catch((error: unknown) => console.warn('letter: could not change the chat', error));
    },
  };
  const signOut = () => {
    // The next person to sign in on this tab should not land in this chat.
    select(null);
    setPanel('chats');
    // The push subscription goes first, while the session can still delete it on the server.
    void dropWebPush(port).then(() => port.logout());
  };

  useEffect(() => {
    if (selectedId) port.openThread(selectedId);
  }, [port, selectedId]);

  // Read receipts go out only while the page is really in front of the person.
  const seenRef = useRef<{ id: string; seq: number } | null>(null);
  const onSeen = useCallback(
    (seq: number) => {
      if (!selectedId) return;
      seenRef.current = { id: selectedId, seq };
      if (document.visibilityState === 'visible') {
        port.markRead(selectedId, seq);
        notifyRead(selectedId, seq);
      }
    },
    [port, selectedId],
  );
  useEffect(() => {
    const onVisible = () => {
      const seen = seenRef.current;
      if (document.visibilityState === 'visible' && seen) port.markRead(seen.id, seen.seq);
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [port]);

  const startChat = (userId: string) => {
    port.openDirect(userId).then(
      (direct) => {
        setPanel('chats');
        select(direct.id);
      },
      (error: unknown) => console.warn('letter: could not open the chat', error),
    );
  };

  return (
    <div className="app" data-screen={conversation ? 'chat' : 'list'}>
      <h1 className="visually-hidden">Letter</h1>
      <WebPush port={port} />
      <ConnectionBanner status={snapshot.connection} />
      <aside className="sidebar" aria-label="Chats and contacts">
        {panel === 'chats' && (
          <>
            <SidebarHeader
              me={me}
              onNewChat={() => setPanel('newChat')}
              onNewGroup={() => setPanel('newGroup')}
              onLogout={signOut}
              onSearch={() => setPanel('search')}
              onSettings={() => setPanel('settings')}
            />
            {engaged && <NotificationBanner />}
            <ChatList
              conversations={snapshot.conversations}
              meId={me.id}
              presence={snapshot.presence}
              typing={snapshot.typing}
              selectedId={selectedId}
              onSelect={select}
              onShowArchived={() => setPanel('archived')}
            />
          </>
        )}
        {panel === 'archived' && (
          <Panel title="Archived" onClose={() => setPanel('chats')}>
            <ChatList
              conversations={snapshot.conversations}
              meId={me.id}
              presence={snapshot.presence}
              typing={snapshot.typing}
              selectedId={selectedId}
              onSelect={select}
              archived
            />
          </Panel>
        )}
        {panel === 'search' && (
          <SearchPane
            snapshot={snapshot}
            me={me}
            onClose={() => setPanel('chats')}
            onOpen={(id, seq) => {
              setFocus({ id, seq });
              select(id);
            }}
          />
        )}
        {panel === 'settings' && (
          <SettingsPane me={me} onClose={() => setPanel('chats')} onLogout={signOut} />
        )}
        {panel === 'newChat' && (
          <Panel title="New chat" onClose={() => setPanel('chats')}>
            <Contacts
              contacts={snapshot.contacts}
              meId={me.id}
              onSearch={port.searchUsers}
              onAddContact={port.addContact}
              onStartChat={startChat}
              onNewGroup={() => setPanel('newGroup')}
            />
          </Panel>
        )}
        {panel === 'newGroup' && (
          <Panel title="New group" onClose={() => setPanel('chats')}>
            <NewGroup
              contacts={snapshot.contacts}
              onCreate={async (title, memberIds) => {
                const group = await port.createGroup(title, memberIds);
                setPanel('chats');
                select(group.id);
              }}
            />
          </Panel>
        )}
      </aside>
      <MainPane actions={headerActions}>
        {conversation ? (
          <ChatView
            key={conversation.id}
            conversation={conversation}
            meId={me.id}
            messages={thread.messages}
            hasMore={thread.hasMore}
            loadingOlder={thread.loadingOlder}
            presence={snapshot.presence}
            typingUserIds={snapshot.typing[conversation.id] ?? []}
            onLoadOlder={() => port.loadOlder(conversation.id)}
            onSend={(body, replyToSeq) => port.send(conversation.id, body, replyToSeq)}
            onTyping={() => port.typing(conversation.id)}
            onSeen={onSeen}
            onRetry={(key) => port.retry(conversation.id, key)}
            onSendFiles={(caption, files) => port.send(conversation.id, caption, null, files)}
            onDiscard={(key) => port.discard(conversation.id, key)}
            onBack={() => select(null)}
            draft={drafts.get(conversation.id)}
            onDraftChange={(text) => drafts.set(conversation.id, text)}
            onEdit={(seq, body) => port.editMessage(conversation.id, seq, body)}
            onDelete={(seq) => port.deleteMessage(conversation.id, seq)}
            onReact={(seq, emoji) => port.react(conversation.id, seq, emoji)}
            onLoadReceipts={(seq) => port.receipts(conversation.id, seq)}
            lookupUser={port.lookupUser}
          />
        ) : (
          <div className="welcome">
            <h2>Letter</h2>
            <p>Pick a chat on the left, or start a new one.</p>
            <p className="muted">Messages are kept on your own server.</p>
          </div>
        )}
        {conversation && infoFor === conversation.id && (
          <InfoPane
            conversation={conversation}
            me={me}
            snapshot={snapshot}
            onClose={() => setInfoFor(null)}
          />
        )}
      </MainPane>
    </div>
  );
}

/** "(3) Letter" while anything is unread, so a background tab still says so. */
function useUnreadTitle(unread: number) {
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) Letter` : 'Letter';
  }, [unread]);
  useEffect(() => () => void (document.title = 'Letter'), []);
}
