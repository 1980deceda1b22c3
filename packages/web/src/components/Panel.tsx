import type { ReactNode } from 'react';

/** A sidebar screen that slides over the chat list (new chat, new group), with a way back. */
export function Panel({
  title,
  onClose,
  children,
  className,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Extra class, e.g. `side-panel` for the info panel over the chat. */
  className?: string | undefined;
}) {
  return (
    <section
      className={className ? `panel ${className}` : 'panel'}
      aria-label={title}
      // Escape backs out, like closing a drawer.
      onKeyDown={(event) => {
        if (event.key === 'Escape') onClose();
      }}
    >
      <header className="panel-header">
        <button type="button" className="icon-button" aria-label="Back" onClick={onClose}>
          <svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true">
            <path d="M15 5l-7 7 7 7" fill="none" stroke="currentColor" strokeWidth="2" />
          </svg>
        </button>
        <h2>{title}</h2>
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
