/** Shared pieces of the store conformance suite (suite/suite.ts). */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { LetterError, type ErrorCode, type User } from '@letter/protocol';
import type { NewFile, Store } from '../store.js';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export const T0 = Date.UTC(2026, 0, 1);
/** One page large enough for every conversation a suite test makes. */
export const ALL = { limit: 1000 } as const;

/**
 * One store serves the whole suite, so every test makes its own users with names unique to the
 * run: tests stay independent without paying for a fresh database each.
 */
export class SuiteKit {
  private readonly run = randomBytes(3).toString('hex');
  private counter = 0;
  private current: Store | null = null;

  set store(store: Store) {
    this.current = store;
  }

  get store(): Store {
    if (!this.current) throw new Error('the store is not open');
    return this.current;
  }

  /** An uploaded photo's row (a JPEG with a thumbnail), with `extra` changed. */
  file(uploaderId: string, extra: Partial<NewFile> = {}): NewFile {
    return {
      id: this.id('f'),
      uploaderId,
      name: 'photo.jpg',
      size: 1000,
      mime: 'image/jpeg',
      width: 640,
      height: 480,
      sha256: '1'.padStart(64, '0'),
      thumbSha256: '2'.padStart(64, '0'),
      thumbhash: 'AAAA',
      createdAt: T0,
      ...extra,
    };
  }

  /** A fresh id with the given kind prefix. */
  id(prefix: string): string {
    return `${prefix}_${this.run}_${++this.counter}`;
  }

  /** A username no other test uses: lower-case, starting with `prefix`. */
  username(prefix = 'user'): string {
    return `${prefix}${this.run}_${++this.counter}`;
  }

  async user(displayName = 'Someone'): Promise<User> {
    return this.store.createUser({
      id: this.id('u'),
      username: this.username(),
      displayName,
      passwordHash: 'hash',
      createdAt: T0,
    });
  }

  async users(count: number): Promise<User[]> {
    const users: User[] = [];
    for (let i = 0; i < count; i++) users.push(await this.user(`Person ${i + 1}`));
    return users;
  }

  async direct(a: User, b: User, now = T0): Promise<string> {
    return (await this.store.openDirect(this.id('c'), a.id, b.id, now)).conversation.id;
  }

  async group(creator: User, others: User[], now = T0, title = 'Group'): Promise<string> {
    const conversation = await this.store.createGroup({
      id: this.id('c'),
      title,
      creatorId: creator.id,
      memberIds: others.map((u) => u.id),
      createdAt: now,
      systemMessageId: this.id('m'),
    });
    return conversation.id;
  }

  async send(
    conversationId: string,
    sender: User,
    body = 'hello',
    createdAt = T0,
    extra: {
      clientMsgId?: string;
      replyToSeq?: number;
      mentions?: string[];
      attachments?: string[];
    } = {},
  ) {
    return this.store.appendMessage({
      id: this.id('m'),
      conversationId,
      senderId: sender.id,
      clientMsgId: extra.clientMsgId ?? this.id('cm'),
      body,
      replyToSeq: extra.replyToSeq ?? null,
      createdAt,
      ...(extra.mentions && { mentions: extra.mentions }),
      ...(extra.attachments && { attachments: extra.attachments }),
    });
  }
}

/** Awaits a promise that must fail with a LetterError of this code. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error, `expected a LetterError '${code}'`).toBeInstanceOf(LetterError);
  expect((error as LetterError).code).toBe(code);
}

export const iso = (ms: number): string => new Date(ms).toISOString();

export const sorted = <T>(values: T[]): T[] => [...values].sort();

export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
