import { useEffect, useMemo, useRef, useState } from 'react';
import type { Conversation, Receipt, User } from '@letter/protocol';
import type { ChatMessage, Presence } from '../app/model';
import { peerOf } from '../app/model';
import { ChatMediaContext } from './attachments/media-context';
import { useChatAttachments } from './attachments/useChatAttachments';
import { ChatHeader } from './ChatHeader';
import { Composer } from './Composer';
import { ErrorBar } from './ErrorBar';
import type { MessageActions } from './MessageBubble';
import { MessageInfo } from './MessageInfo';
import { MessageList } from './MessageList';
import { ReplyTarget } from './ReplyPreview';

export interface ChatViewProps {
  conversation: Conversation;
  meId: string;
  messages: readonly ChatMessage[];
  hasMore: boolean;
  loadingOlder: boolean;
  presence: Readonly<Record<string, Presence>>;
  typingUserIds: readonly string[];
  onLoadOlder: () => void;
  /** `replyToSeq`: the message this one answers, when the reader chose Reply. */
  onSend: (body: string, replyToSeq?: number | null) => void;
  onTyping?: (() => void) | undefined;
  onSeen?: ((seq: number) => void) | undefined;
  onRetry?: ((key: string) => void) | undefined;
  /** Sends files (photos, documents, a voice note) as one message with the caption as its text. */
  onSendFiles?: ((caption: string, files: readonly File[]) => void) | undefined;
  /** Drops an unsent message: cancels its upload. */
  onDiscard?: ((key: string) => void) | undefined;
  onBack: () => void;
  draft?: string | undefined;
  onDraftChange?: ((text: string) => void) | undefined;
  now?: Date | undefined;
  onEdit?: ((seq: number, body: string) => Promise<unknown>) | undefined;
  onDelete?: ((seq: number) => Promise<unknown>) | undefined;
  onReact?: ((seq: number, emoji: string | null) => Promise<unknown>) | undefined;
  onLoadReceipts?: ((seq: number) => Promise<readonly Receipt[]>) | undefined;
  /** Names people who are no longer members (left, removed, deleted their account). */
  lookupUser?: ((userId: string) => Promise<User>) | undefined;
}

export function ChatView(props: ChatViewProps) {
  const { conversation, meId, messages } = props;
  const peer = conversation.kind === 'direct' ? peerOf(conversation.members, meId) : undefined;
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [editing, setEditing] = useState<ChatMessage | null>(null);
  const [deleting, setDeleting] = useState<ChatMessage | null>(null);
  const [infoSeq, setInfoSeq] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const names = useFormerMembers(conversation, messages, props.lookupUser);
  const files = useChatAttachments({
    messages,
    onSendFiles: props.onSendFiles,
    onCancelUpload: props.onDiscard,
  });

  const nameOf = (id: string) =>
    conversation.members.find((m) => m.user.id === id)?.user.displayName ?? names[id] ?? 'Someone';
  const senderName = (m: ChatMessage | null) =>
    !m?.senderId ? '' : m.senderId === meId ? 'yourself' : nameOf(m.senderId);

  const fail = (what: string) => (e: unknown) => {
    console.warn(`letter: ${what} failed`, e);
    setError(`Could not ${what}. Try again.`);
  };

  const me = conversation.members.find((m) => m.user.id === meId);
  const actions: MessageActions = {
    onReply: (m) => {
      setEditing(null);
      setReplyTo(m);
    },
    onEdit:
      props.onEdit &&
      ((m) => {
        setReplyTo(null);
        setEditing(m);
      }),
    onDelete: props.onDelete && ((m) => setDeleting(m)),
    onReact:
      props.onReact &&
      ((m, emoji) => {
        if (m.seq !== null) props.onReact?.(m.seq, emoji).catch(fail('react'));
      }),
    onInfo: props.onLoadReceipts && ((m) => setInfoSeq(m.seq)),
    canDeleteOthers: conversation.kind === 'group' && me?.role === 'admin',
  };

  // The message being answered or edited may change (edit elsewhere, delete): show it current.
  const current = (m: ChatMessage | null) => m && (messages.find((x) => x.key === m.key) ?? m);

  const context = editing ? (
    <ReplyTarget
      mode="edit"
      original={current(editing) ?? undefined}
      senderName=""
      onCancel={() => setEditing(null)}
    />
  ) : replyTo ? (
    <ReplyTarget
      mode="reply"
      original={current(replyTo) ?? undefined}
      senderName={senderName(replyTo)}
      onCancel={() => setReplyTo(null)}
    />
  ) : null;

  return (
    <section
      className="chat-view"
      aria-label={`Chat with ${conversation.title}`}
      {...files.dropProps}
    >
      <ChatHeader
        conversation={conversation}
        meId={meId}
        peerPresence={peer ? props.presence[peer.id] : undefined}
        typingUserIds={props.typingUserIds}
        onBack={props.onBack}
        now={props.now}
      />
      <ChatMediaContext.Provider value={files.media}>
        <MessageList
          // A fresh list per chat: scroll memory must not leak from one conversation to the next.
          key={conversation.id}
          messages={messages}
          members={conversation.members}
          meId={meId}
          kind={conversation.kind}
          hasMore={props.hasMore}
          loadingOlder={props.loadingOlder}
          onLoadOlder={props.onLoadOlder}
          onSeen={props.onSeen}
          onRetry={props.onRetry}
          now={props.now}
          actions={actions}
          nameOf={nameOf}
        />
      </ChatMediaContext.Provider>
      {files.overlay}
      {error && <ErrorBar message={error} onDismiss={() => setError(null)} />}
      {deleting && (
        <div className="confirm-bar" role="alertdialog" aria-label="Delete message">
          <span>Delete this message for everyone?</span>
          <button type="button" className="link-button" onClick={() => setDeleting(null)}>
            Cancel
          </button>
          <button
            type="button"
            className="danger-button"
            autoFocus
            onClick={() => {
              const seq = deleting.seq;
              setDeleting(null);
              if (seq !== null) props.onDelete?.(seq).catch(fail('delete the message'));
            }}
          >
            Delete
          </button>
        </div>
      )}
      {infoSeq !== null && props.onLoadReceipts && (
        <MessageInfo
          key={infoSeq}
          seq={infoSeq}
          load={props.onLoadReceipts}
          nameOf={nameOf}
          onClose={() => setInfoSeq(null)}
        />
      )}
      {files.panel ??
        (editing && editing.seq !== null ? (
          <Composer
            key={`edit-${editing.key}`}
            mode="edit"
            draft={editing.body}
            context={context}
            onCancel={() => setEditing(null)}
            onSend={(body) => {
              const seq = editing.seq!;
              setEditing(null);
              if (body !== editing.body) props.onEdit?.(seq, body).catch(fail('edit the message'));
            }}
          />
        ) : (
          <Composer
            key={`composer-${conversation.id}`}
            onSend={(body) => {
              props.onSend(body, replyTo?.seq ?? null);
              setReplyTo(null);
            }}
            onTyping={props.onTyping}
            draft={props.draft}
            onDraftChange={props.onDraftChange}
            context={context}
            onCancel={replyTo ? () => setReplyTo(null) : undefined}
            before={files.attachButton}
            after={files.micButton}
            onPasteFiles={files.addFiles}
            mentionCandidates={
              conversation.kind === 'group'
                ? conversation.members.filter((m) => m.user.id !== meId).map((m) => m.user)
                : undefined
            }
          />
        ))}
    </section>
  );
}

/**
 * Names of people in the messages who are no longer members (they left, were removed or
 * deleted their account), fetched once each.
 */
function useFormerMembers(
  conversation: Conversation,
  messages: readonly ChatMessage[],
  lookupUser: ((userId: string) => Promise<User>) | undefined,
): Readonly<Record<string, string>> {
  const [names, setNames] = useState<Record<string, string>>({});
  const asked = useRef(new Set<string>());
  const missing = useMemo(() => {
    const members = new Set(conversation.members.map((m) => m.user.id));
    const ids = new Set<string>();
    const add = (id: string | null | undefined) => {
      if (id && !members.has(id)) ids.add(id);
    };
    for (const m of messages) {
      add(m.senderId);
      if (m.system) {
        add(m.system.actorId);
        m.system.userIds.forEach(add);
      }
      for (const users of Object.values(m.reactions ?? {})) users.forEach(add);
    }
    return [...ids].sort().join(',');
  }, [conversation.members, messages]);

  useEffect(() => {
    if (!lookupUser || !missing) return;
    for (const id of missing.split(',')) {
      if (asked.current.has(id)) continue;
      asked.current.add(id);
      lookupUser(id).then(
        (user) => setNames((n) => ({ ...n, [id]: user.displayName })),
        () => undefined,
      );
    }
  }, [missing, lookupUser]);
  return names;
}
