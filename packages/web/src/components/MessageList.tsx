import type { ReactNode } from 'react';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ConversationKind, Member } from '@letter/protocol';
import type { ChatMessage } from '../app/model';
import { describeSystem, tickOf } from '../app/model';
import { dayKey, formatDayLabel } from '../lib/format';
import { MessageBubble } from './MessageBubble';
import type { MessageActions } from './MessageBubble';
import '../styles/message-actions.css';

export interface MessageListProps {
  /** Ascending by seq; outbox messages last. */
  messages: readonly ChatMessage[];
  members: readonly Member[];
  meId: string;
  kind: ConversationKind;
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  /** The newest stored message is on screen: the container may mark it read. */
  onSeen?: ((seq: number) => void) | undefined;
  onRetry?: ((key: string) => void) | undefined;
  now?: Date | undefined;
  /** Reply, edit, delete, react, info; without it the bubbles have no menu. */
  actions?: MessageActions | undefined;
  /** Names anyone by id (also people no longer members); defaults to the member list. */
  nameOf?: ((userId: string) => string) | undefined;
}

/** How long a message jumped to (from a reply quote) stays highlighted. */
const HIGHLIGHT_MS = 2000;

/** Within this many pixels of the end counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** Start fetching the previous page this close to the top, so it usually arrives unseen. */
const TOP_PRELOAD = 400;

interface ScrollMemo {
  mounted: boolean;
  firstKey: string | null;
  lastKey: string | null;
  scrollHeight: number;
  scrollTop: number;
  atBottom: boolean;
}

export function MessageList(props: MessageListProps) {
  const { messages, members, meId, kind, hasMore, loadingOlder, onLoadOlder, onSeen, onRetry } =
    props;
  const usernames = useMemo(
    () => new Map(members.map((m) => [m.user.id, m.user.username.toLowerCase()])),
    [members],
  );
  const scrollerRef = useRef<HTMLDivElement>(null);
  const memo = useRef<ScrollMemo>({
    mounted: false,
    firstKey: null,
    lastKey: null,
    scrollHeight: 0,
    scrollTop: 0,
    atBottom: true,
  });
  const lastKey = messages.at(-1)?.key ?? null;
  const [atBottom, setAtBottom] = useState(true);
  // The newest message the reader has seen at the bottom; later ones from others count as new.
  const [seenKey, setSeenKey] = useState<string | null>(lastKey);

  // Runs after every render, before paint: the only moment to correct scrollTop without a jump.
  useLayoutEffect(() => {
    const el = scrollerRef.current;
    if (!el) return;
    const prev = memo.current;
    const firstKey = messages[0]?.key ?? null;
    if (!prev.mounted) {
      el.scrollTop = el.scrollHeight;
    } else {
      const prepended =
        firstKey !== prev.firstKey &&
        prev.firstKey !== null &&
        messages.some((m) => m.key === prev.firstKey);
      // Older messages went in above: move down by exactly their height so the text stays put.
      if (prepended) el.scrollTop = prev.scrollTop + (el.scrollHeight - prev.scrollHeight);
      if (lastKey !== prev.lastKey) {
        const newest = messages.at(-1);
        const mineJustSent = newest?.senderId === meId && newest.outbox !== undefined;
        if (prev.atBottom || mineJustSent) el.scrollTop = el.scrollHeight;
      }
    }
    memo.current = {
      mounted: true,
      firstKey,
      lastKey,
      scrollHeight: el.scrollHeight,
      scrollTop: el.scrollTop,
      atBottom: prev.mounted ? isAtBottom(el) || prev.atBottom : true,
    };
    // A short first page may not fill the view, so no scroll would ever ask for more.
    if (hasMore && !loadingOlder && el.scrollHeight > 0 && el.scrollHeight <= el.clientHeight) {
      onLoadOlder();
    }
  });

  const newestSeq = lastStoredSeq(messages);
  useEffect(() => {
    if (atBottom && newestSeq !== null) onSeen?.(newestSeq);
  }, [atBottom, newestSeq, onSeen]);

  function handleScroll() {
    const el = scrollerRef.current;
    if (!el) return;
    const bottom = isAtBottom(el);
    memo.current.scrollTop = el.scrollTop;
    memo.current.scrollHeight = el.scrollHeight;
    memo.current.atBottom = bottom;
    if (bottom !== atBottom) setAtBottom(bottom);
    // Whatever arrived while the reader sat at the bottom was seen, even without a scroll event.
    if ((bottom || atBottom) && seenKey !== lastKey) setSeenKey(lastKey);
    if (el.scrollTop < TOP_PRELOAD && hasMore && !loadingOlder) onLoadOlder();
  }

  function jumpToLatest() {
    const el = scrollerRef.current;
    if (!el) return;
    el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
    setAtBottom(true);
    setSeenKey(lastKey);
  }

  // A reply quote was clicked: load older pages until the original is there, then show it
  // (scrolled into view and briefly highlighted, as plain DOM work).
  const [jump, setJump] = useState<{ seq: number; n: number } | null>(null);
  const handledJump = useRef(0);
  useEffect(() => {
    if (!jump || handledJump.current === jump.n) return;
    const node = scrollerRef.current?.querySelector<HTMLElement>(`[data-seq="${jump.seq}"]`);
    if (node) {
      handledJump.current = jump.n;
      node.scrollIntoView?.({ block: 'center' });
      node.classList.add('highlighted');
      setTimeout(() => node.classList.remove('highlighted'), HIGHLIGHT_MS);
      return;
    }
    const oldest = messages.find((m) => m.seq !== null)?.seq ?? null;
    if (hasMore && (oldest === null || oldest > jump.seq)) {
      if (!loadingOlder) onLoadOlder();
    } else {
      handledJump.current = jump.n; // not in this conversation's history
    }
  }, [jump, messages, hasMore, loadingOlder, onLoadOlder]);
  const jumpTo = (seq: number) => setJump((j) => ({ seq, n: (j?.n ?? 0) + 1 }));

  const unseen = atBottom ? 0 : countNewFromOthers(messages, seenKey, meId);
  const nameOf =
    props.nameOf ??
    ((id: string) => members.find((m) => m.user.id === id)?.user.displayName ?? 'Someone');

  return (
    <div className="message-list-wrap">
      <div
        className="message-list"
        ref={scrollerRef}
        onScroll={handleScroll}
        role="log"
        aria-label="Messages"
        // Focusable so keyboard users can scroll the history with the arrow keys.
        tabIndex={0}
      >
        {hasMore ? (
          <p className="history-status" aria-live="polite">
            {loadingOlder ? 'Loading older messages…' : ''}
          </p>
        ) : (
          messages.length > 0 && <p className="history-status">Start of the conversation</p>
        )}
        <ol className="messages">
          {renderRows(messages, {
            meId,
            kind,
            members,
            usernames,
            nameOf,
            onRetry,
            now: props.now,
            actions: props.actions,
            onJumpTo: jumpTo,
          })}
        </ol>
      </div>
      {!atBottom && (
        <button
          type="button"
          className="jump-button"
          onClick={jumpToLatest}
          aria-label={
            unseen > 0
              ? `${unseen} new message${unseen === 1 ? '' : 's'}, jump to latest`
              : 'Jump to latest'
          }
        >
          {unseen > 0 && <span className="unread-badge">{unseen}</span>}
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
            <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
      )}
    </div>
  );
}

interface RowContext {
  meId: string;
  kind: ConversationKind;
  members: readonly Member[];
  /** Lower-cased usernames by user id, for mentions. */
  usernames: ReadonlyMap<string, string>;
  nameOf: (id: string) => string;
  onRetry: ((key: string) => void) | undefined;
  now: Date | undefined;
  actions: MessageActions | undefined;
  onJumpTo: (seq: number) => void;
}

function mentionNames(
  message: ChatMessage,
  usernames: ReadonlyMap<string, string>,
): ReadonlySet<string> | undefined {
  if (!message.mentions?.length) return undefined;
  const names = new Set<string>();
  for (const id of message.mentions) {
    const name = usernames.get(id);
    if (name) names.add(name);
  }
  return names;
}

function renderRows(messages: readonly ChatMessage[], ctx: RowContext) {
  const rows: ReactNode[] = [];
  const bySeq = new Map<number, ChatMessage>();
  for (const m of messages) if (m.seq !== null) bySeq.set(m.seq, m);
  let previous: ChatMessage | undefined;
  for (const message of messages) {
    const day = dayKey(message.createdAt);
    const newDay = !previous || dayKey(previous.createdAt) !== day;
    if (newDay) {
      rows.push(
        <li key={`day-${day}`} className="day-separator">
          <span>{formatDayLabel(message.createdAt, ctx.now)}</span>
        </li>,
      );
    }
    if (message.system) {
      rows.push(
        <li key={message.key} className="system-message" data-seq={message.seq ?? undefined}>
          <span>{describeSystem(message.system, ctx.nameOf, ctx.meId)}</span>
        </li>,
      );
    } else {
      const mine = message.senderId === ctx.meId;
      const continued = !newDay && !previous?.system && previous?.senderId === message.senderId;
      const original = message.replyToSeq ? bySeq.get(message.replyToSeq) : undefined;
      const quote = message.replyToSeq
        ? {
            original,
            senderName:
              original?.senderId === ctx.meId
                ? 'You'
                : original?.senderId
                  ? ctx.nameOf(original.senderId)
                  : '',
          }
        : undefined;
      rows.push(
        <MessageBubble
          key={message.key}
          message={message}
          mine={mine}
          senderName={message.senderId ? ctx.nameOf(message.senderId) : ''}
          showSender={ctx.kind === 'group' && !mine && !continued}
          continued={continued}
          tick={mine ? tickOf(message, ctx.members, ctx.meId) : null}
          onRetry={ctx.onRetry}
          meId={ctx.meId}
          quote={quote}
          onJumpToQuote={ctx.onJumpTo}
          nameOf={ctx.nameOf}
          actions={ctx.actions}
          mentionNames={mentionNames(message, ctx.usernames)}
          meUsername={ctx.usernames.get(ctx.meId)}
        />,
      );
    }
    previous = message;
  }
  return rows;
}

function isAtBottom(el: HTMLElement): boolean {
  return el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK;
}

function lastStoredSeq(messages: readonly ChatMessage[]): number | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const seq = messages[i]?.seq;
    if (seq !== null && seq !== undefined) return seq;
  }
  return null;
}

function countNewFromOthers(
  messages: readonly ChatMessage[],
  seenKey: string | null,
  meId: string,
): number {
  const seenAt = seenKey === null ? -1 : messages.findIndex((m) => m.key === seenKey);
  if (seenKey !== null && seenAt < 0) return 0;
  return messages.slice(seenAt + 1).filter((m) => m.senderId !== meId && !m.system).length;
}
