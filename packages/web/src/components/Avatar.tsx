import type { CSSProperties } from 'react';
import { hueOf, initials } from '../lib/format';

interface AvatarProps {
  name: string;
  /** Colours by id so two people named alike still differ. */
  colorKey: string;
  online?: boolean;
  size?: 'small' | 'medium';
}

export function Avatar({ name, colorKey, online = false, size = 'medium' }: AvatarProps) {
  return (
    <span className={`avatar avatar-${size}`} aria-hidden="true">
      <span className="avatar-face" style={{ '--hue': hueOf(colorKey) } as CSSProperties}>
        {initials(name)}
      </span>
      {online && <span className="online-dot" />}
    </span>
  );
}
