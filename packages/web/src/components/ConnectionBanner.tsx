import type { ConnectionStatus } from '../app/model';

const TEXT: Record<Exclude<ConnectionStatus, 'online'>, string> = {
  connecting: 'Connecting…',
  reconnecting: 'Reconnecting… Messages you send will go out when the connection is back.',
  offline: 'You are offline. Messages you send will go out when you are back online.',
};

/** A thin strip above the chats while the live connection is not up; nothing when it is. */
export function ConnectionBanner({ status }: { status: ConnectionStatus }) {
  return (
    <div className="connection-banner-slot" role="status" aria-live="polite">
      {status !== 'online' && (
        <div className={`connection-banner banner-${status}`}>{TEXT[status]}</div>
      )}
    </div>
  );
}
