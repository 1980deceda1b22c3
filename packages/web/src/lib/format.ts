/** Dates and times as a chat shows them. Every function takes `now` so tests are deterministic. */

const DAY_MS = 86_400_000;

function startOfDay(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** Whole calendar days between two instants in local time (0 = same day). */
export function daysBetween(earlier: Date, later: Date): number {
  return Math.round((startOfDay(later) - startOfDay(earlier)) / DAY_MS);
}

/**
 * `toLocale…String(undefined, options)` builds a new Intl formatter on every call, which costs
 * more than everything else a message row does: each format is made once and kept.
 */
const formats = new Map<string, Intl.DateTimeFormat>();
function formatter(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, options);
    formats.set(key, format);
  }
  return format;
}

export function formatClock(iso: string): string {
  return formatter({ hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

/** The chat list's time column: a clock today, "Yesterday", a weekday this week, else a date. */
export function formatListTime(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  const days = daysBetween(date, now);
  if (days <= 0) return formatClock(iso);
  if (days === 1) return 'Yesterday';
  if (days < 7) return formatter({ weekday: 'long' }).format(date);
  return formatter({ year: '2-digit', month: '2-digit', day: '2-digit' }).format(date);
}

/** A day separator's label in the message list. */
export function formatDayLabel(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  const days = daysBetween(date, now);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 7) return formatter({ weekday: 'long' }).format(date);
  return formatter({
    year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric',
    month: 'long',
    day: 'numeric',
  }).format(date);
}

/** A stable key for the local calendar day of an instant. */
export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** The header's presence line: "online", "last seen today at 14:02", … */
export function formatPresence(
  online: boolean,
  lastSeenAt: string | null,
  now: Date = new Date(),
): string {
  if (online) return 'online';
  if (!lastSeenAt) return '';
  const days = daysBetween(new Date(lastSeenAt), now);
  const clock = formatClock(lastSeenAt);
  if (days <= 0) return `last seen today at ${clock}`;
  if (days === 1) return `last seen yesterday at ${clock}`;
  return `last seen ${formatter({
    month: 'short',
    day: 'numeric',
  }).format(new Date(lastSeenAt))} at ${clock}`;
}

/** Up to two initials from a display name, for avatars. */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = words[0];
  if (!first) return '?';
  const last = words.length > 1 ? words[words.length - 1] : undefined;
  const letter = (word: string | undefined) => (word ? ([...word][0] ?? '') : '');
  return (letter(first) + letter(last)).toUpperCase();
}

/** A hue from a string, so a person's avatar keeps its colour everywhere. */
export function hueOf(key: string): number {
  let hash = 0;
  for (const ch of key) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}
