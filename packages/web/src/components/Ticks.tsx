import type { Tick } from '../app/model';

const LABELS: Record<Tick, string> = {
  pending: 'Sending',
  failed: 'Not sent',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
};

/** The delivery mark beside my messages: clock, ✓, ✓✓, coloured ✓✓, or a warning. */
export function Ticks({ tick }: { tick: Tick }) {
  return (
    <span
      className={`ticks ticks-${tick}`}
      role="img"
      aria-label={LABELS[tick]}
      title={LABELS[tick]}
    >
      {tick === 'pending' && (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.5" />
        </svg>
      )}
      {tick === 'failed' && (
        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
          <circle cx="8" cy="8" r="6.5" fill="currentColor" />
          <path d="M8 4.5v4.5M8 11v.5" stroke="var(--bubble-bg, #fff)" strokeWidth="1.6" />
        </svg>
      )}
      {tick === 'sent' && (
        <svg viewBox="0 0 16 16" width="16" height="14" aria-hidden="true">
          <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.6" />
        </svg>
      )}
      {(tick === 'delivered' || tick === 'read') && (
        <svg viewBox="0 0 20 16" width="19" height="14" aria-hidden="true">
          <path d="M1.5 8.5l3 3 7-7" fill="none" stroke="currentColor" strokeWidth="1.6" />
          <path d="M8 10l1.5 1.5 7-7" fill="none" stroke="currentColor" strokeWidth="1.6" />
        </svg>
      )}
    </span>
  );
}
