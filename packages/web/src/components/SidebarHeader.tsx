import type { User } from '@letter/protocol';
import { Avatar } from './Avatar';

export interface SidebarHeaderProps {
  me: User;
  onNewChat: () => void;
  onNewGroup: () => void;
  onLogout: () => void;
  onSearch?: (() => void) | undefined;
  onSettings?: (() => void) | undefined;
}

export function SidebarHeader({
  me,
  onNewChat,
  onNewGroup,
  onLogout,
  onSearch,
  onSettings,
}: SidebarHeaderProps) {
  return (
    <header className="sidebar-header">
      <div className="me">
        <Avatar name={me.displayName} colorKey={me.id} size="small" />
        <span className="me-name" title={`@${me.username}`}>
          {me.displayName}
        </span>
      </div>
      {onSearch && <IconButton label="Search messages" path={ICONS.search} onClick={onSearch} />}
      <IconButton label="New chat" path={ICONS.newChat} onClick={onNewChat} />
      <IconButton label="New group" path={ICONS.newGroup} onClick={onNewGroup} />
      {onSettings && <IconButton label="Settings" path={ICONS.settings} onClick={onSettings} />}
      <IconButton label="Log out" path={ICONS.logOut} onClick={onLogout} />
    </header>
  );
}

/** Outline icons drawn on a 24-unit grid. */
const ICONS = {
  search: 'M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.3 15.3L20 20',
  newChat: 'M4 19.5V6a2 2 0 0 1 2-2h12a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2H7.5zM12 7.5v6M9 10.5h6',
  newGroup:
    'M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zm7 0a3 3 0 1 0 0-6M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6M17 14c2.7.3 4.5 2.6 4.5 6',
  settings:
    'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM12 2.5v3M12 18.5v3M2.5 12h3M18.5 12h3M5.3 5.3l2.1 2.1M16.6 16.6l2.1 2.1M5.3 18.7l2.1-2.1M16.6 7.4l2.1-2.1',
  logOut: 'M14 4H6a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h8M10 12h10M16.5 8.5L20 12l-3.5 3.5',
};

function IconButton({
  label,
  path,
  onClick,
}: {
  label: string;
  path: string;
  onClick: () => void;
}) {
  return (
    <button
      type="button"
      className="icon-button"
      aria-label={label}
      title={label}
      onClick={onClick}
    >
      <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
        <path d={path} fill="none" stroke="currentColor" strokeWidth="1.8" />
      </svg>
    </button>
  );
}
