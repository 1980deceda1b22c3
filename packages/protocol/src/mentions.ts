/**
 * `@username` in a message body (usernames are [a-z0-9_.], matched case-insensitively): group 1
 * is what precedes the `@`, group 2 the name. Clients mark mentions with the same pattern.
 */
export const MENTION_PATTERN = /(^|[^A-Za-z0-9_.@])@([A-Za-z0-9_.]{1,64})/g;

/** At most this many distinct names of one body are looked up. */
export const MAX_MENTIONS = 20;

/** The lower-cased usernames a body mentions, each once, a trailing dot left out. */
export function mentionedUsernames(body: string): Set<string> {
  const names = new Set<string>();
  for (const match of body.matchAll(MENTION_PATTERN))
    names.add(match[2]!.replace(/\.+$/, '').toLowerCase());
  names.delete('');
  return new Set([...names].slice(0, MAX_MENTIONS));
}
