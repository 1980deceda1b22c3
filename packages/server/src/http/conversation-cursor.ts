/**
 * The `cursor` of `GET /api/conversations`: where the next page starts, as the last conversation
 * of a page (its activity time and id), base64url-encoded so clients treat it as opaque. A
 * cursor this server did not make is `bad_request`, never a crash or a silently empty page.
 */
import { LetterError, type Conversation } from '@letter/protocol';
import type { ConversationCursor } from '../store/store.js';

const SHAPE = /^(\d{1,15}):(.{1,64})$/su;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursor(last: Conversation): string {
  const activityAt = Date.parse(last.lastActivityAt);
  return Buffer.from(`${activityAt}:${last.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): ConversationCursor {
  const match = BASE64URL.test(cursor)
    ? SHAPE.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
    : null;
  if (!match) {
    throw new LetterError(
      'bad_request',
      'cursor: not a cursor this server gave; start over without one.',
    );
  }
  return { activityAt: Number(match[1]), id: match[2]! };
}
