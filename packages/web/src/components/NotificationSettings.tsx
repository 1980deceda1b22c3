import { useId } from 'react';
import {
  notificationPermission,
  permissionChanged,
  setPrefs,
  useNotifyPrefs,
} from '../lib/notify-prefs';
import type { NotifyPrefs } from '../lib/notify-prefs';

const PERMISSION_TEXT = {
  granted: null,
  default: 'Your browser will ask for permission the first time.',
  denied: 'Notifications are blocked for this site in your browser settings.',
  unsupported: 'This browser cannot show notifications.',
} as const;

/**
 * Notifications on/off and sound are kept in this browser; message text in notifications is
 * the account's setting on the server too (`onPreviewChange`), so pushes to every device follow it.
 */
export function NotificationSettings(props: {
  onPreviewChange?: ((preview: boolean) => void) | undefined;
}) {
  const prefs = useNotifyPrefs();
  const permission = notificationPermission();
  const note = PERMISSION_TEXT[permission];
  return (
    <div className="notify-settings">
      <Toggle name="enabled" label="Show notifications" prefs={prefs} />
      <Toggle
        name="preview"
        label="Show message text in notifications"
        prefs={prefs}
        disabled={!prefs.enabled}
        onPreviewChange={props.onPreviewChange}
      />
      <Toggle name="sound" label="Play a sound" prefs={prefs} disabled={!prefs.enabled} />
      {note && <p className="muted">{note}</p>}
      <p className="muted">
        Notifications and sound are set for this browser; message text for all your devices.
      </p>
    </div>
  );
}

function Toggle(props: {
  name: 'enabled' | 'preview' | 'sound';
  onPreviewChange?: ((preview: boolean) => void) | undefined;
  label: string;
  prefs: NotifyPrefs;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div className="toggle-row">
      <input
        id={id}
        type="checkbox"
        checked={props.prefs[props.name]}
        disabled={props.disabled}
        onChange={(event) => {
          const checked = event.currentTarget.checked;
          setPrefs({ [props.name]: checked });
          if (props.name === 'enabled' && checked && notificationPermission() === 'default')
            void Notification.requestPermission().then(permissionChanged);
          if (props.name === 'preview') props.onPreviewChange?.(checked);
        }}
      />
      <label htmlFor={id}>{props.label}</label>
    </div>
  );
}
