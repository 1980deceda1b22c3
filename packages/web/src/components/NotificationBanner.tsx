import { useState } from 'react';
import {
  notificationPermission,
  permissionChanged,
  setPrefs,
  useNotifyPrefs,
} from '../lib/notify-prefs';
import type { Permission } from '../lib/notify-prefs';

/**
 * Asks for permission to notify, in the chat list, once the person is using Letter (the
 * Messenger shows it after the first message of a visit, never on first load). Gone for good
 * once answered either way, or after "Not now".
 */
export function NotificationBanner(props: { requestPermission?: () => Promise<Permission> }) {
  const prefs = useNotifyPrefs();
  const [permission, setPermission] = useState<Permission>(notificationPermission);
  if (permission !== 'default' || !prefs.enabled || prefs.bannerDismissed) return null;
  const ask =
    props.requestPermission ?? (() => Notification.requestPermission() as Promise<Permission>);
  return (
    <div className="notify-banner" role="region" aria-label="Notifications">
      <p>Get a notification when a message arrives while Letter is in the background.</p>
      <div className="notify-banner-actions">
        <button
          type="button"
          className="primary-button"
          onClick={() => {
            ask().then(
              (answer) => {
                setPermission(answer);
                permissionChanged();
              },
              () => setPermission('denied'),
            );
          }}
        >
          Turn on notifications
        </button>
        <button
          type="button"
          className="secondary-button"
          onClick={() => setPrefs({ bannerDismissed: true })}
        >
          Not now
        </button>
      </div>
    </div>
  );
}
