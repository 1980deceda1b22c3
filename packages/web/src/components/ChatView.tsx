import type { Conversation } from '@letter/protocol';
import type { ChatMessage, Presence } from '../app/model';
import { peerOf } from '../app/model';
import { ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { MessageList } from './MessageList';

export interface ChatViewProps {
  conversation: Conversation;
  meId: string;
  messages: readonly ChatMessage[];
  hasMore: boolean;
  loadingOlder: boolean;
  presence: Readonly<Record<string, Presence>>;
  typingUserIds: readonly string[];
  onLoadOlder: () => void;
  onSend: (body: string) => void;
  onTyping?: (() => void) | undefined;
  onSeen?: ((seq: number) => void) | undefined;
  onRetry?: ((key: string) => void) | undefined;
  onBack: () => void;
  draft?: string | undefined;
  onDraftChange?: ((text: string) => void) | undefined;
  now?: Date | undefined;
}

export function ChatView(props: ChatViewProps) {
  const { conversation, meId } = props;
  const peer = conversation.kind === 'direct' ? peerOf(conversation.members, meId) : undefined;
  return (
    <section className="chat-view" aria-label={`Chat with ${conversation.title}`}>
      <ChatHeader
        conversation={conversation}
        meId={meId}
        peerPresence={peer ? props.presence[peer.id] : undefined}
        typingUserIds={props.typingUserIds}
        onBack={props.onBack}
        now={props.now}
      />
      <MessageList
        // A fresh list per chat: scroll memory must not leak from one conversation to the next.
        key={conversation.id}
        messages={props.messages}
        members={conversation.members}
        meId={meId}
        kind={conversation.kind}
        hasMore={props.hasMore}
        loadingOlder={props.loadingOlder}
        onLoadOlder={props.onLoadOlder}
        onSeen={props.onSeen}
        onRetry={props.onRetry}
        now={props.now}
      />
      <Composer
        key={`composer-${conversation.id}`}
        onSend={props.onSend}
        onTyping={props.onTyping}
        draft={props.draft}
        onDraftChange={props.onDraftChange}
      />
    </section>
  );
}
