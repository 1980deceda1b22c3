/** signedJson: one serialization, each viewer's URLs spliced in, identical to signMessage's. */
import { describe, expect, it } from 'vitest';
import type { Message } from '@letter/protocol';
import { ManualClock } from '../util/clock.js';
import { timeOrderedIds } from '../util/ids.js';
import type { BlobStore } from './blob-store.js';
import type { Store } from '../store/store.js';
import { FileService } from './service.js';
import { UrlSigner } from './signed-urls.js';

const files = new FileService({
  store: {} as Store,
  blobs: {} as BlobStore,
  signer: new UrlSigner(Buffer.alloc(32, 7)),
  clock: new ManualClock(),
  ids: timeOrderedIds(),
  maxUploadBytes: 1,
  userQuotaBytes: 1,
});

const message: Message = {
  id: 'm1',
  conversationId: 'c1',
  seq: 4,
  senderId: 'u_ann',
  clientMsgId: 'x',
  // Content that looks like the splice points must stay content.
  body: 'a ?0 "url" \\ /api/files/f_1?',
  createdAt: '2026-01-01T00:00:00.000Z',
  editedAt: null,
  deletedAt: null,
  replyToSeq: null,
  attachments: [
    {
      id: 'f_1',
      name: 'photo?0.png',
      size: 3,
      mime: 'image/png',
      width: 2,
      height: 1,
      url: '/api/files/f_1',
      thumbnailUrl: '/api/files/f_1/thumbnail',
    },
    { id: 'f/2', name: 'b.pdf', size: 5, mime: 'application/pdf', url: '/api/files/f%2F2' },
  ],
  reactions: {},
};

describe('FileService.signedJson', () => {
  it('gives each viewer what signMessage gives them, from one serialization', () => {
    const frameFor = files.signedJson(message, (m) =>
      JSON.stringify({ type: 'message', message: m }),
    );
    for (const viewer of ['u_ben', 'u_cat']) {
      const frame = JSON.parse(frameFor(viewer)) as { type: string; message: Message };
      expect(frame).toEqual({ type: 'message', message: files.signMessage(message, viewer) });
      for (const file of frame.message.attachments)
        expect(new URL(file.url, 'http://x').searchParams.get('u')).toBe(viewer);
    }
    expect(frameFor('u_ben')).not.toBe(frameFor('u_cat'));
  });
});
