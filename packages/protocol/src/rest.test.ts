import { describe, expect, it } from 'vitest';
import { clientFrame } from './frames.js';
import {
  createConversationBody,
  messageBody,
  patchMeBody,
  searchQuery,
  sendMessageBody,
} from './rest.js';

describe('text fields', () => {
  it('trim message bodies and count code points, not UTF-16 units', () => {
    expect(messageBody.parse('  hi  ')).toBe('hi');
    expect(messageBody.safeParse('   ').success).toBe(false);
    expect(messageBody.safeParse('😀'.repeat(4000)).success).toBe(true);
    expect(messageBody.safeParse('😀'.repeat(4001)).success).toBe(false);
  });

  it('refuse U+0000 everywhere a person writes text, so every store stores the same', () => {
    const nul = 'a\u0000b';
    expect(sendMessageBody.safeParse({ clientMsgId: 'x', body: nul }).success).toBe(false);
    expect(sendMessageBody.safeParse({ clientMsgId: nul, body: 'ok' }).success).toBe(false);
    expect(patchMeBody.safeParse({ displayName: nul }).success).toBe(false);
    expect(
      createConversationBody.safeParse({ kind: 'group', title: nul, memberIds: [] }).success,
    ).toBe(false);
    expect(searchQuery.safeParse({ q: nul }).success).toBe(false);
    expect(sendMessageBody.safeParse({ clientMsgId: 'x', body: 'fine' }).success).toBe(true);
  });
});

describe('attachments on a send', () => {
  it('let the body be empty only when files come with it, at most 10', () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);
    expect(sendMessageBody.safeParse({ clientMsgId: 'x', body: '  ' }).success).toBe(false);
    expect(sendMessageBody.safeParse({ clientMsgId: 'x', body: '', attachments: [] }).success).toBe(
      false,
    );
    expect(
      sendMessageBody.safeParse({ clientMsgId: 'x', body: '', attachments: ids(1) }).success,
    ).toBe(true);
    expect(
      sendMessageBody.safeParse({ clientMsgId: 'x', body: 'hi', attachments: ids(10) }).success,
    ).toBe(true);
    expect(
      sendMessageBody.safeParse({ clientMsgId: 'x', body: 'hi', attachments: ids(11) }).success,
    ).toBe(false);
    expect(
      clientFrame.safeParse({
        type: 'send',
        conversationId: 'c',
        clientMsgId: 'x',
        body: '',
        attachments: ids(2),
      }).success,
    ).toBe(true);
    expect(
      clientFrame.safeParse({ type: 'send', conversationId: 'c', clientMsgId: 'x', body: ' ' })
        .success,
    ).toBe(false);
  });
});
