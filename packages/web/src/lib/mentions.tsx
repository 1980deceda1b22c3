import type { ReactNode } from 'react';
import { MENTION_PATTERN } from '@letter/protocol';
import { Linkified, splitLinks } from './linkify';

/**
 * Message text with its mentions marked: each `@username` the server resolved for the message
 * (`mentions`, given here as usernames) is a `.mention`, the reader's own `.mention-me`. Links
 * are split first, so an `@` inside a URL stays part of the link. React escapes every string.
 */

export function Mentioned(props: {
  text: string;
  /** Lower-cased usernames this message mentions. */
  names: ReadonlySet<string>;
  /** The reader's username, lower-cased. */
  me: string | undefined;
}): ReactNode {
  if (props.names.size === 0) return <Linkified text={props.text} />;
  return splitLinks(props.text).map((part, i) =>
    part.href ? (
      <a key={i} href={part.href} target="_blank" rel="noopener noreferrer">
        {part.text}
      </a>
    ) : (
      markMentions(part.text, props.names, props.me, i)
    ),
  );
}

function markMentions(
  text: string,
  names: ReadonlySet<string>,
  me: string | undefined,
  partKey: number,
): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION_PATTERN)) {
    const name = match[2]!.replace(/\.+$/, '');
    if (!names.has(name.toLowerCase())) continue;
    const start = match.index + match[1]!.length;
    if (start > last) out.push(text.slice(last, start));
    const own = name.toLowerCase() === me;
    out.push(
      <span key={`${partKey}-${start}`} className={own ? 'mention mention-me' : 'mention'}>
        @{name}
      </span>,
    );
    last = start + 1 + name.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
