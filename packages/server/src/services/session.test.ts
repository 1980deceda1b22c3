import { describe, expect, it } from 'vitest';
import { LetterError } from '@letter/protocol';
import type { Connection, Hub } from '../hub/hub.js';
import type { Presence } from '../presence/presence.js';
import type { UserRecord } from '../store/store.js';
import type { FrameContext, FrameRouter } from './frames.js';
import { Session, type SessionDeps } from './session.js';

const user: UserRecord = {
  id: 'u_1',
  username: 'ann',
  displayName: 'Ann',
  passwordHash: 'hash',
  lastSeenAt: null,
  deletedAt: null,
} as UserRecord;

function fixture() {
  const sent: string[] = [];
  const closes: number[] = [];
  const handled: string[] = [];
  const events: string[] = [];
  const socket: Connection = {
    id: 'c1',
    userId: 'u_1',
    sessionId: 's_1',
    send: (frame: Buffer) => void sent.push(frame.toString()),
    close: (code: number) => void closes.push(code),
  };
  const deps: SessionDeps = {
    hub: {
      attach: () => void events.push('attach'),
      detach: () => void events.push('detach'),
    } as unknown as Hub,
    presence: {
      connect: () => void events.push('online'),
      disconnect: () => void events.push('offline'),
    } as unknown as Presence,
    router: {
      handle: (context: FrameContext, text: string) => {
        handled.push(text);
        context.reply({ type: 'ok', text });
        return Promise.resolve();
      },
    } as unknown as FrameRouter,
    log: { warn() {}, error() {} },
  };
  return { socket, deps, sent, closes, handled, events };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Session', () => {
  it('sends ready first, then runs the frames that came before it, in order', async () => {
    const f = fixture();
    let resolveUser!: (u: UserRecord) => void;
    const session = new Session(f.socket, f.deps).start(
      new Promise<UserRecord>((r) => (resolveUser = r)),
    );
    const first = session.onText('one');
    const second = session.onText('two');
    expect(f.handled).toEqual([]);
    resolveUser(user);
    await Promise.all([first, second]);
    expect(f.sent.map((s) => JSON.parse(s).type)).toEqual(['ready', 'ok', 'ok']);
    expect(JSON.parse(f.sent[0]!)).toEqual({
      type: 'ready',
      user: { id: 'u_1', username: 'ann', displayName: 'Ann' },
      sessionId: 's_1',
    });
    expect(f.handled).toEqual(['one', 'two']);
    expect(f.events).toEqual(['attach', 'online']);
    await session.onText('three');
    expect(f.handled).toEqual(['one', 'two', 'three']);
  });

  it('aborts its signal on close, whether it was asked for before or after', async () => {
    const f = fixture();
    const early = new Session(f.socket, f.deps).start(Promise.resolve(user));
    await settle();
    const signal = early.signal;
    expect(signal.aborted).toBe(false);
    expect(early.signal).toBe(signal);
    early.onClose();
    expect(signal.aborted).toBe(true);
    expect(f.events).toEqual(['attach', 'online', 'detach', 'offline']);

    // A signal first asked for after the close (a frame handled late) is aborted already.
    const late = new Session(f.socket, f.deps).start(Promise.resolve(user));
    await settle();
    late.onClose();
    expect(late.signal.aborted).toBe(true);
  });

  it('closed before ready: no ready, not attached, waiting frames released unrun', async () => {
    const f = fixture();
    let resolveUser!: (u: UserRecord) => void;
    const session = new Session(f.socket, f.deps).start(
      new Promise<UserRecord>((r) => (resolveUser = r)),
    );
    const waiting = session.onText('early');
    session.onClose();
    await waiting;
    resolveUser(user);
    await settle();
    expect(f.sent).toEqual([]);
    expect(f.handled).toEqual([]);
    expect(f.events).toEqual([]);
  });

  it('closes with 4401 when the user is gone, and 1011 or 1013 when the lookup fails', async () => {
    const f = fixture();
    new Session(f.socket, f.deps).start(Promise.resolve(null));
    await settle();
    new Session(f.socket, f.deps).start(Promise.reject(new Error('disk on fire')));
    await settle();
    new Session(f.socket, f.deps).start(Promise.reject(new LetterError('unavailable')));
    await settle();
    expect(f.closes).toEqual([4401, 1011, 1013]);
    expect(f.sent).toEqual([]);
    expect(f.events).toEqual([]);
  });
});
