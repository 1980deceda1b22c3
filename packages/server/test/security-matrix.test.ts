/**
 * The security matrix, generated from what the server registers: every REST route of the
 * running fastify app, every client frame type and every server frame type of packages/protocol,
 * against every actor of security-matrix.table.ts. A route or frame type without a row fails.
 * Besides each row's answer, no actor ever receives a string it must not know (forbiddenFor), in
 * any REST answer or any WebSocket frame its sockets got during the whole suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFrameTypes, serverFrameTypes } from '@letter/protocol';
import {
  api,
  directConversation,
  register,
  sleep,
  startServer,
  testEngine,
  TestSocket,
  type TestServer,
  type TestUser,
} from '../src/testing/harness.js';
import {
  actors,
  eventRows,
  registeredRoutes,
  forbiddenFor,
  frameRows,
  routeRows,
  targetOf,
  type Actor,
  type Answer,
  type World,
} from './security-matrix.table.js';

const PASSWORD = 'correct horse battery';

describeMatrix(testEngine === 'postgres' ? 'on PostgreSQL' : 'on SQLite');

/** The whole matrix against the run's store: both engines answer every row alike (vitest.config.ts). */
function describeMatrix(storeName: string): void {
  describe(storeName, () => {
    let server: TestServer;
    let world: World;
    /** Each live actor's socket, open from the start to the end of the suite. */
    const sockets = new Map<Actor, TestSocket>();
    /** Sockets of the disabled sessions, opened before they were ended. */
    const deadSockets: TestSocket[] = [];
    let ownerSocket: TestSocket;

    async function post(
      user: TestUser,
      conversationId: string,
      body: string,
      attachments?: string[],
    ): Promise<number> {
      const result = await api(
        server,
        'POST',
        `/api/conversations/${conversationId}/messages`,
        user.accessToken,
        { clientMsgId: `${body}-${Math.random()}`, body, ...(attachments && { attachments }) },
      );
      expect(result.status, JSON.stringify(result.body)).toBe(201);
      return result.body.message.seq as number;
    }

    /** A file row of the user's, unattached (the bytes do not matter to the matrix). */
    async function newFile(user: TestUser, name: string): Promise<string> {
      const id = `f_matrix_${Math.random().toString(36).slice(2)}`;
      await server.node.store.createFile({
        id,
        uploaderId: user.user.id,
        name,
        size: 1,
        mime: 'image/jpeg',
        width: 1,
        height: 1,
        sha256: '0'.repeat(64),
        thumbSha256: '1'.repeat(64),
        thumbhash: null,
        createdAt: Date.now(),
      });
      return id;
    }

    async function group(owner: TestUser, title: string, members: TestUser[]): Promise<string> {
      const result = await api(server, 'POST', '/api/conversations', owner.accessToken, {
        kind: 'group',
        title,
        memberIds: members.map((m) => m.user.id),
      });
      expect(result.status, JSON.stringify(result.body)).toBe(201);
      return result.body.conversation.id as string;
    }

    async function login(user: TestUser, password = PASSWORD) {
      const result = await api(server, 'POST', '/api/auth/login', undefined, {
        username: user.user.username,
        password,
      });
      expect(result.status).toBe(200);
      return result.body as { accessToken: string; refreshToken: string };
    }

    /** Each live actor's own solo group: a post there reaches only that actor's sockets. */
    const notes = new Map<Actor, string>();
    /** Waits until everything published before now has reached each live actor's socket. */
    async function flush(): Promise<void> {
      await Promise.all(
        [...sockets].map(async ([actor, socket]) => {
          if (socket.ws.readyState !== socket.ws.OPEN) return;
          const seq = await post(
            world.users[actor as Exclude<Actor, 'disabled'>],
            notes.get(actor)!,
            'flush',
          );
          await socket.waitFor(
            (f) =>
              f.type === 'message' &&
              f.message.conversationId === notes.get(actor) &&
              f.message.seq === seq,
          );
        }),
      );
    }

    beforeAll(async () => {
      server = await startServer();
      const names = ['owner', 'member', ...actors] as const;
      const made = {} as Record<(typeof names)[number], TestUser>;
      for (const name of names) made[name] = await register(server, `mx_${name.slice(0, 8)}`);
      const { owner, member, outsider, removed, lateJoiner, blocked, blocker, disabled } = made;

      const g = await group(owner, 'GROUP-title', [member, removed, disabled]);
      // The owner's file rides on the first message: its name and URLs are BEFORE-JOIN secrets.
      const fileId = await newFile(owner, 'GROUP-BEFORE-JOIN photo.jpg');
      const oldSeq = await post(owner, g, 'GROUP-BEFORE-JOIN one', [fileId]);
      const oldMemberSeq = await post(member, g, 'GROUP-BEFORE-JOIN two');
      const oldSpareSeq = await post(owner, g, 'GROUP-BEFORE-JOIN spare');
      const removal = await api(
        server,
        'DELETE',
        `/api/conversations/${g}/members/${removed.user.id}`,
        owner.accessToken,
      );
      expect(removal.status).toBe(204);
      await post(owner, g, 'GROUP-AFTER-REMOVAL BEFORE-JOIN three');
      const added = await api(
        server,
        'POST',
        `/api/conversations/${g}/members`,
        owner.accessToken,
        {
          userIds: [lateJoiner.user.id],
        },
      );
      expect(added.status).toBe(200);
      const joinSeq = added.body.conversation.lastSeq as number;
      await post(owner, g, 'GROUP-AFTER-REMOVAL after the join');
      const ownerDirect = await directConversation(server, owner, member);
      await post(owner, ownerDirect, 'DIRECT-SECRET between owner and member');

      const blockDirect = await directConversation(server, blocker, blocked);
      const blockedOwn = await post(blocked, blockDirect, 'from the blocked side');
      const blockedSpare = await post(blocked, blockDirect, 'spare of the blocked side');
      const blockerOwn = await post(blocker, blockDirect, 'from the blocker');
      const blockerSpare = await post(blocker, blockDirect, 'spare of the blocker');
      const adminGroupOf = {
        blocked: await group(blocked, 'blocked side’s group', [member]),
        blocker: await group(blocker, 'blocker’s group', [member]),
      };
      for (const actor of ['outsider', 'removed', 'lateJoiner'] as const)
        notes.set(actor, await group(made[actor], 'notes', []));
      notes.set('blocked', adminGroupOf.blocked);
      notes.set('blocker', adminGroupOf.blocker);

      // The block comes before any socket: a presence announced before it would be no leak.
      const block = await api(server, 'POST', '/api/blocks', blocker.accessToken, {
        userId: blocked.user.id,
      });
      expect(block.status).toBe(204);

      // The blocker's socket first, so it is there to (wrongly) hear the blocked side come online.
      for (const actor of ['blocker', 'outsider', 'removed', 'lateJoiner', 'blocked'] as const)
        sockets.set(actor, await TestSocket.connect(server, made[actor].accessToken));
      ownerSocket = await TestSocket.connect(server, owner.accessToken);

      // Two dead sessions of the disabled actor, each with a socket open when it ended.
      const loggedOut = await login(disabled);
      const revoked = await login(disabled);
      for (const session of [loggedOut, revoked])
        deadSockets.push(await TestSocket.connect(server, session.accessToken));
      expect((await api(server, 'POST', '/api/auth/logout', loggedOut.accessToken)).status).toBe(
        204,
      );
      const change = await api(server, 'POST', '/api/me/password', disabled.accessToken, {
        currentPassword: PASSWORD,
        newPassword: 'a brand new password',
      });
      expect(change.status).toBe(204);

      // Two unattached uploads per actor, for the send rows (REST and frame) to attach.
      const uploads: Record<string, [string, string]> = {};
      for (const user of Object.values(made))
        uploads[user.user.id] = [await newFile(user, 'own.pdf'), await newFile(user, 'own.pdf')];

      world = {
        server,
        fileId,
        uploads,
        owner,
        member,
        users: { outsider, removed, lateJoiner, blocked, blocker, disabled },
        deadSessions: [
          { label: 'logged out', ...loggedOut },
          { label: 'revoked by a password change', ...revoked },
        ],
        group: g,
        ownerDirect,
        blockDirect,
        adminGroupOf,
        oldSeq,
        oldMemberSeq,
        joinSeq,
        blockSeqs: {
          blocked: { own: blockedOwn, spare: blockedSpare, peer: blockerOwn },
          blocker: { own: blockerOwn, spare: blockerSpare, peer: blockedOwn },
        },
      };
      spareOld = oldSpareSeq;
    });
    /** An owner message from before the join point that the events part deletes. */
    let spareOld = 0;

    afterAll(async () => {
      for (const socket of [...sockets.values(), ...deadSockets, ownerSocket]) socket?.close();
      await server?.stop();
    });

    function expectNothingForbidden(actor: Actor, what: string, data: unknown): void {
      const text = typeof data === 'string' ? data : JSON.stringify(data ?? '');
      for (const secret of forbiddenFor(actor))
        expect(text.includes(secret), `${actor} received "${secret}" through ${what}`).toBe(false);
    }

    function expectAnswer(actor: Actor, route: string, answer: Answer, result: any): void {
      const label = `${actor}: ${route} → ${result.status} ${JSON.stringify(result.body ?? null).slice(0, 300)}`;
      expect(result.status, label).toBe(answer.status);
      if (answer.code) expect(result.body?.error?.code, label).toBe(answer.code);
      answer.check?.(result.body, world);
      expectNothingForbidden(actor, route, result.body);
    }

    describe('REST routes', () => {
      it('every registered route has a row in the table, and every row a route', () => {
        const registered = registeredRoutes(server);
        expect(registered.length).toBeGreaterThan(30);
        const missing = registered.filter((route) => !(route in routeRows));
        expect(missing, 'routes without a row in security-matrix.table.ts').toEqual([]);
        const stale = Object.keys(routeRows).filter((route) => !registered.includes(route));
        expect(stale, 'rows for routes that no longer exist').toEqual([]);
      });

      const cells = Object.entries(routeRows).flatMap(([route, row]) =>
        actors.flatMap((actor) => {
          const expectation = row.expect[actor];
          return 'na' in expectation ? [] : [{ route, actor, row, answer: expectation }];
        }),
      );

      it.each(cells)('$route as $actor', async ({ route, actor, row, answer }) => {
        const [method, pattern] = route.split(' ') as [string, string];
        const tokens =
          actor === 'disabled' ? world.deadSessions.map((s) => s.accessToken) : [undefined];
        for (const token of tokens) {
          const call = row.call(world, targetOf(world, actor, token), actor);
          expect(call.path.split('?')[0]!.split('/').length).toBe(pattern.split('/').length);
          const bearer =
            call.token === null ? undefined : (call.token ?? targetOf(world, actor, token).token);
          const result = await api(server, method, call.path, bearer, call.body);
          expectAnswer(actor, route, answer, result);
        }
      });
    });

    describe('WebSocket client frames', () => {
      it('every client frame type has a row', () => {
        expect(clientFrameTypes.filter((type) => !(type in frameRows))).toEqual([]);
      });

      const cells = Object.entries(frameRows).flatMap(([type, row]) =>
        (Object.keys(row.expect) as Exclude<Actor, 'disabled'>[]).flatMap((actor) => {
          const expectation = row.expect[actor];
          return 'na' in expectation ? [] : [{ type, actor, row, expectation }];
        }),
      );

      it.each(cells)('$type as $actor', async ({ type, actor, row, expectation }) => {
        const socket = sockets.get(actor)!;
        for (const frame of row.frames(world, targetOf(world, actor), actor)) {
          const answer = await socket.request(frame);
          const label = `${actor}: ${type} → ${JSON.stringify(answer)}`;
          if ('ok' in expectation) {
            expect(answer.type, label).toBe('ok');
            expectation.check?.(answer, world);
          } else if ('error' in expectation) {
            expect(answer, label).toMatchObject({ type: 'error', code: expectation.error });
          } else if (answer.type === 'error') {
            expect(answer.code, label).toBe(expectation.okOrError);
          }
          expectNothingForbidden(actor, `the answer to ${type}`, answer);
        }
      });

      it.each(clientFrameTypes)(
        '%s on a disabled session: closed with 4401, never answered',
        async (type) => {
          for (const session of world.deadSessions) {
            const socket = new TestSocket(server.wsUrl, {
              token: session.accessToken,
              header: false,
            });
            const [frame] = frameRows[type].frames(
              world,
              targetOf(world, 'disabled', session.accessToken),
              'disabled',
            );
            // Sent right behind the auth frame the socket sends on open.
            socket.ws.once('open', () => socket.sendRaw(JSON.stringify({ ...frame, id: 'dead' })));
            expect((await socket.closed).code, session.label).toBe(4401);
            expect(socket.frames, session.label).toEqual([]);
          }
        },
      );
    });

    describe('WebSocket server events', () => {
      beforeAll(async () => {
        const { owner, member } = world;
        const g = `/api/conversations/${world.group}`;
        // Everything a member can make happen in G, old messages included.
        await post(owner, world.group, 'GROUP-AFTER-REMOVAL event message');
        const edits = [
          api(server, 'PATCH', `${g}/messages/${world.oldSeq}`, owner.accessToken, {
            body: 'GROUP-BEFORE-JOIN edited',
          }),
          api(server, 'PUT', `${g}/messages/${world.oldMemberSeq}/reactions`, owner.accessToken, {
            emoji: '🎉',
          }),
          api(server, 'DELETE', `${g}/messages/${spareOld}`, owner.accessToken),
        ];
        for (const result of await Promise.all(edits)) expect(result.status).toBeLessThan(300);
        const memberSocket = await TestSocket.connect(server, member.accessToken);
        // The member's positions move to a seq from before the join (its own send left them at
        // oldMemberSeq): the late joiner must not hear of it.
        for (const kind of ['delivered', 'read'])
          expect(
            await memberSocket.request({
              type: kind,
              conversationId: world.group,
              seq: world.joinSeq - 1,
            }),
          ).toMatchObject({ type: 'ok', seq: world.joinSeq - 1 });
        expect(
          await ownerSocket.request({ type: 'typing', conversationId: world.group }),
        ).toMatchObject({ type: 'ok' });
        expect(
          (
            await api(server, 'PATCH', g, owner.accessToken, {
              title: 'GROUP-AFTER-REMOVAL renamed',
            })
          ).status,
        ).toBe(200);
        expect(
          (await api(server, 'DELETE', `${g}/members/${member.user.id}`, owner.accessToken)).status,
        ).toBe(204);
        memberSocket.close();
        await flush();
        // Last: the blocker goes offline, which the blocked side must not hear.
        sockets.get('blocker')!.close();
        await sleep(500);
        await flush();
      });

      it('every server frame type has a row', () => {
        expect(serverFrameTypes.filter((type) => !(type in eventRows))).toEqual([]);
      });

      const cells = Object.entries(eventRows).flatMap(([type, row]) =>
        'na' in row.forbidden
          ? []
          : Object.entries(row.forbidden).map(([actor, rule]) => ({
              type,
              actor: actor as Actor,
              rule: rule!,
            })),
      );

      it.each(cells)('$type events reaching $actor', ({ type, actor, rule }) => {
        const frames = sockets.get(actor)!.of(type);
        const wrong = frames
          .map((frame) => ({ frame, why: rule(frame, world) }))
          .filter((entry) => entry.why !== undefined);
        expect(
          wrong.map((w) => `${w.why}: ${JSON.stringify(w.frame).slice(0, 200)}`),
          `${type} frames ${actor} must not have received`,
        ).toEqual([]);
      });

      it.each(actors.filter((a) => a !== 'disabled'))(
        'no frame %s received carries a string it must not know',
        (actor) => {
          for (const frame of sockets.get(actor)!.frames)
            expectNothingForbidden(actor, `a ${frame.type} frame`, frame);
        },
      );

      it('the disabled sessions’ sockets were closed with 4401 when they ended', async () => {
        for (const socket of deadSockets) expect((await socket.closed).code).toBe(4401);
      });
    });
  });
}
