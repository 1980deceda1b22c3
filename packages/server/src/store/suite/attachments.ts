/**
 * The conformance suite, part six: files attached by appendMessage, in the append's own
 * transaction, and carried on the message wherever the store reads it.
 */
import { describe, expect, it } from 'vitest';
import { BLOB_DELETION_WAIT_MS, type NewFile } from '../store.js';
import type { SuiteKit } from './helpers.js';
import { T0, expectCode } from './helpers.js';

export function describeAttachmentTests(kit: SuiteKit): void {
  const upload = (uploaderId: string, extra: Partial<NewFile> = {}) =>
    kit.store.createFile(kit.file(uploaderId, extra));

  describe('attachments on appendMessage', () => {
    it('attaches in the append and carries the files on the message everywhere it is read', async () => {
      const [ann, bob] = await kit.users(2);
      const group = await kit.group(ann!, [bob!]);
      const photo = await upload(ann!.id);
      const doc = await upload(ann!.id, {
        name: 'notes.pdf',
        mime: 'application/pdf',
        width: null,
        height: null,
        thumbSha256: null,
        thumbhash: null,
      });
      const { message } = await kit.send(group, ann!, '', T0, {
        attachments: [doc.id, photo.id],
      });
      const expected = [
        {
          id: doc.id,
          name: 'notes.pdf',
          size: 1000,
          mime: 'application/pdf',
          url: `/api/files/${doc.id}`,
        },
        {
          id: photo.id,
          name: 'photo.jpg',
          size: 1000,
          mime: 'image/jpeg',
          width: 640,
          height: 480,
          thumbhash: 'AAAA',
          url: `/api/files/${photo.id}`,
          thumbnailUrl: `/api/files/${photo.id}/thumbnail`,
        },
      ];
      expect(message.body).toBe('');
      expect(message.attachments).toEqual(expected);
      expect(await kit.store.getFile(photo.id)).toMatchObject({
        conversationId: group,
        seq: message.seq,
      });
      const page = await kit.store.history(group, bob!.id, { limit: 10 });
      expect(page!.messages.at(-1)!.attachments).toEqual(expected);
      expect((await kit.store.getMessage(group, message.seq))!.attachments).toEqual(expected);
      const [view] = await kit.store.listConversations(bob!.id, { limit: 5 });
      expect(view!.lastMessage!.attachments).toEqual(expected);
      const [sent] = await kit.store.sentMessages(ann!.id, { limit: 5 });
      expect(sent!.attachments).toEqual(expected);
    });

    it('refuses a file that is not the sender’s or already attached, storing nothing', async () => {
      const [ann, bob] = await kit.users(2);
      const conversation = await kit.direct(ann!, bob!);
      const mine = await upload(ann!.id);
      const theirs = await upload(bob!.id);
      await expectCode(
        kit.send(conversation, ann!, 'x', T0, { attachments: [mine.id, theirs.id] }),
        'not_found',
      );
      await expectCode(
        kit.send(conversation, ann!, 'x', T0, { attachments: [kit.id('f')] }),
        'not_found',
      );
      // Nothing stored: no message (no seq taken), the file still unattached.
      expect((await kit.store.getConversation(conversation, ann!.id))!.lastSeq).toBe(0);
      expect((await kit.store.getFile(mine.id))!.conversationId).toBeNull();

      const first = await kit.send(conversation, ann!, 'x', T0, {
        clientMsgId: 'cm-once',
        attachments: [mine.id],
      });
      // The same clientMsgId again is the original, files and all, not a refused re-attach.
      const repeat = await kit.send(conversation, ann!, 'x', T0, {
        clientMsgId: 'cm-once',
        attachments: [mine.id],
      });
      expect(repeat.created).toBe(false);
      expect(repeat.message).toEqual(first.message);
      expect(repeat.message.attachments.map((a) => a.id)).toEqual([mine.id]);
      // Another message cannot take it.
      await expectCode(
        kit.send(conversation, ann!, 'x', T0, { attachments: [mine.id] }),
        'not_found',
      );
      expect((await kit.store.getConversation(conversation, ann!.id))!.lastSeq).toBe(1);
    });

    it('a deleted message loses its attachments', async () => {
      const [ann, bob] = await kit.users(2);
      const conversation = await kit.direct(ann!, bob!);
      const photo = await upload(ann!.id);
      const { message } = await kit.send(conversation, ann!, 'look', T0, {
        attachments: [photo.id],
      });
      const change = await kit.store.deleteMessage({
        conversationId: conversation,
        seq: message.seq,
        userId: ann!.id,
        now: T0 + 1,
      });
      expect(change.message.attachments).toEqual([]);
      const page = await kit.store.history(conversation, bob!.id, { limit: 10 });
      expect(page!.messages[0]!.attachments).toEqual([]);
    });
  });

  describe('blob deletions', () => {
    it('marks only blobs no file names, refuses uploads naming them until the deletion ends', async () => {
      const ann = await kit.user();
      const shared = 'c'.repeat(64);
      const lonely = 'd'.repeat(64);
      await upload(ann.id, { sha256: shared, thumbSha256: null });
      const started = await kit.store.startBlobDeletions([shared, lonely], T0);
      expect(started).toEqual([lonely]);
      // An upload naming the blob being deleted waits (unavailable), as its thumbnail too.
      await expectCode(upload(ann.id, { sha256: lonely, thumbSha256: null }), 'unavailable');
      await expectCode(upload(ann.id, { sha256: shared, thumbSha256: lonely }), 'unavailable');
      // A deletion its deleter never ended (a crash) stops holding uploads back after a while.
      await upload(ann.id, {
        sha256: lonely,
        thumbSha256: null,
        createdAt: T0 + BLOB_DELETION_WAIT_MS + 1,
      });
      // The sweeper finds it, and ends it once a deleter took it up again.
      const stale = T0 + BLOB_DELETION_WAIT_MS;
      expect(await kit.store.staleBlobDeletions(stale, 10)).toContain(lonely);
      expect(await kit.store.staleBlobDeletions(T0, 10)).not.toContain(lonely);
      await kit.store.endBlobDeletions([lonely]);
      expect(await kit.store.staleBlobDeletions(stale, 10)).not.toContain(lonely);
      expect(await kit.store.startBlobDeletions([lonely], T0)).toEqual([]);
      await kit.store.endBlobDeletions([]);
    });
  });
}
