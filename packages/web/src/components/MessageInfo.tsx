import { useEffect, useRef, useState } from 'react';
import type { Receipt } from '@letter/protocol';
import { formatClock } from '../lib/format';

export interface MessageInfoProps {
  seq: number;
  load: (seq: number) => Promise<readonly Receipt[]>;
  nameOf: (userId: string) => string;
  onClose: () => void;
}

type Loaded =
  { status: 'loading' } | { status: 'error' } | { status: 'done'; receipts: readonly Receipt[] };

function when(iso: string): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today ? formatClock(iso) : `${date.toLocaleDateString()} ${formatClock(iso)}`;
}

/** Who one of my messages reached and who read it, with times (`GET …/receipts`). */
export function MessageInfo({ seq, load, nameOf, onClose }: MessageInfoProps) {
  const [state, setState] = useState<Loaded>({ status: 'loading' });
  const closeRef = useRef<HTMLButtonElement>(null);

  // One request per opened info (the parent keys this component by seq).
  const [request] = useState(() => load(seq));
  useEffect(() => {
    let live = true;
    request.then(
      (receipts) => live && setState({ status: 'done', receipts }),
      () => live && setState({ status: 'error' }),
    );
    return () => {
      live = false;
    };
  }, [request]);

  useEffect(() => closeRef.current?.focus(), []);

  const receipts = state.status === 'done' ? state.receipts : [];
  const read = receipts.filter((r) => r.readAt !== null);
  const delivered = receipts.filter((r) => r.readAt === null && r.deliveredAt !== null);
  const waiting = receipts.filter((r) => r.readAt === null && r.deliveredAt === null);

  return (
    <div
      className="message-info"
      role="dialog"
      aria-label="Message info"
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
    >
      <header className="message-info-header">
        <h3>Message info</h3>
        <button
          ref={closeRef}
          type="button"
          className="icon-button"
          onClick={onClose}
          aria-label="Close message info"
        >
          ×
        </button>
      </header>
      {state.status === 'loading' && <p className="muted">Loading…</p>}
      {state.status === 'error' && <p className="muted">Could not load the message info.</p>}
      {state.status === 'done' && (
        <>
          <Section title="Read by" receipts={read} time={(r) => r.readAt} nameOf={nameOf} />
          <Section
            title="Delivered to"
            receipts={delivered}
            time={(r) => r.deliveredAt}
            nameOf={nameOf}
          />
          {waiting.length > 0 && (
            <Section
              title="Not delivered yet"
              receipts={waiting}
              time={() => null}
              nameOf={nameOf}
            />
          )}
        </>
      )}
    </div>
  );
}

function Section({
  title,
  receipts,
  time,
  nameOf,
}: {
  title: string;
  receipts: readonly Receipt[];
  time: (r: Receipt) => string | null;
  nameOf: (userId: string) => string;
}) {
  return (
    <section className="message-info-section" aria-label={title}>
      <h4>{title}</h4>
      {receipts.length === 0 ? (
        <p className="muted">Nobody yet</p>
      ) : (
        <ul>
          {receipts.map((r) => {
            const at = time(r);
            return (
              <li key={r.userId}>
                <span className="message-info-name">{nameOf(r.userId)}</span>
                {at && <time dateTime={at}>{when(at)}</time>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
