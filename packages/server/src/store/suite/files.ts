/** The conformance suite, part five: file metadata (Store createFile … removeFiles). */
import { describe, expect, it } from 'vitest';
import type { NewFile } from '../store.js';
import type { SuiteKit } from './helpers.js';
import { T0, expectCode, sorted } from './helpers.js';

const HOUR = 3600 * 1000;

export function describeFileTests(kit: SuiteKit): void {
  const blob = (n: number) => n.toString(16).padStart(64, '0');
  const file = (uploaderId: string, extra: Partial<NewFile> = {}) => kit.file(uploaderId, extra);

  describe('files', () => {
    it('stores a file and reads it back, unattached', async () => {
      const ann = await kit.user();
      const created = await kit.store.createFile(file(ann.id, { size: 3_000_000_000 }));
      expect(created).toMatchObject({ size: 3_000_000_000, conversationId: null, seq: null });
      expect(await kit.store.getFile(created.id)).toEqual(created);
      expect(await kit.store.getFile(kit.id('f'))).toBeNull();
    });

    it('lets only the uploader attach a file, once, all or none', async () => {
      const [ann, bob] = await kit.users(2);
      const conversation = await kit.direct(ann!, bob!);
      const mine = await kit.store.createFile(file(ann!.id));
      const theirs = await kit.store.createFile(file(bob!.id));
      const { message } = await kit.send(conversation, ann!);
      const target = { conversationId: conversation, seq: message.seq };
      await expectCode(
        kit.store.attachFiles({ ...target, uploaderId: ann!.id, fileIds: [mine.id, theirs.id] }),
        'not_found',
      );
      // All or none: the refused call attached nothing.
      expect((await kit.store.getFile(mine.id))!.conversationId).toBeNull();
      const attached = await kit.store.attachFiles({
        ...target,
        uploaderId: ann!.id,
        fileIds: [mine.id],
      });
      expect(attached).toEqual([{ ...mine, conversationId: conversation, seq: message.seq }]);
      await expectCode(
        kit.store.attachFiles({ ...target, uploaderId: ann!.id, fileIds: [mine.id] }),
        'not_found',
      );
      await expectCode(
        kit.store.attachFiles({ ...target, uploaderId: ann!.id, fileIds: [kit.id('f')] }),
        'not_found',
      );
    });

    it('shows a file to its uploader and to members who may see its message only', async () => {
      const [ann, bob, carl, dora] = await kit.users(4);
      const group = await kit.group(ann!, [bob!, carl!]);
      const photo = await kit.store.createFile(file(ann!.id));
      // Before it is attached, only the uploader.
      expect(await kit.store.fileForViewer(photo.id, ann!.id)).toEqual(photo);
      expect(await kit.store.fileForViewer(photo.id, bob!.id)).toBeNull();
      const { message } = await kit.send(group, ann!);
      await kit.store.attachFiles({
        fileIds: [photo.id],
        uploaderId: ann!.id,
        conversationId: group,
        seq: message.seq,
      });
      expect(await kit.store.fileForViewer(photo.id, bob!.id)).toMatchObject({ id: photo.id });
      expect(await kit.store.fileForViewer(photo.id, dora!.id)).toBeNull();
      // A removed member loses access at once.
      await kit.store.removeMember({
        conversationId: group,
        actorId: ann!.id,
        userId: carl!.id,
        now: T0 + 1,
        messageIds: [kit.id('m'), kit.id('m')],
      });
      expect(await kit.store.fileForViewer(photo.id, carl!.id)).toBeNull();
      // Someone added later does not see what was sent before they joined.
      await kit.store.addMembers({
        conversationId: group,
        actorId: ann!.id,
        userIds: [dora!.id],
        now: T0 + 2,
        messageIds: [kit.id('m'), kit.id('m')],
      });
      expect(await kit.store.fileForViewer(photo.id, dora!.id)).toBeNull();
      expect(await kit.store.fileForViewer(kit.id('f'), ann!.id)).toBeNull();
    });

    it('counts the bytes a user uploaded', async () => {
      const ann = await kit.user();
      expect(await kit.store.uploadedBytes(ann.id)).toBe(0);
      await kit.store.createFile(file(ann.id, { size: 100 }));
      await kit.store.createFile(file(ann.id, { size: 23 }));
      expect(await kit.store.uploadedBytes(ann.id)).toBe(123);
    });

    it('removes files by message, by uploader and unattached by age; a shared blob stays', async () => {
      const [ann, bob] = await kit.users(2);
      const conversation = await kit.direct(ann!, bob!);
      const own = (n: number, extra: Partial<NewFile> = {}) =>
        kit.store.createFile(
          file(ann!.id, { sha256: blob(1000 + n), thumbSha256: null, ...extra }),
        );
      const attached = await own(1);
      const alsoAttached = await own(2, { sha256: blob(1001) });
      const { message } = await kit.send(conversation, ann!);
      await kit.store.attachFiles({
        fileIds: [attached.id],
        uploaderId: ann!.id,
        conversationId: conversation,
        seq: message.seq,
      });
      // The same bytes elsewhere keep their blob.
      expect(
        await kit.store.removeFiles({
          kind: 'message',
          conversationId: conversation,
          seq: message.seq,
        }),
      ).toEqual({ ids: [attached.id], orphanedBlobs: [] });
      expect(await kit.store.getFile(attached.id)).toBeNull();

      const old = await own(3, { createdAt: T0 - 25 * HOUR });
      const fresh = await own(4, { createdAt: T0 });
      const cutoff = { kind: 'unattached', before: T0 - 24 * HOUR, limit: 1000 } as const;
      const swept = await kit.store.removeFiles(cutoff);
      expect(swept.ids).toContain(old.id);
      expect(swept.ids).not.toContain(fresh.id);
      expect(swept.orphanedBlobs).toContain(blob(1003));

      const gone = await kit.store.removeFiles({ kind: 'uploader', userId: ann!.id });
      expect(sorted(gone.ids)).toEqual(sorted([alsoAttached.id, fresh.id]));
      expect(sorted(gone.orphanedBlobs)).toEqual(sorted([blob(1001), blob(1004)]));
      expect(await kit.store.uploadedBytes(ann!.id)).toBe(0);
    });
  });
}
