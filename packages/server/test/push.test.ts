/**
 * Web Push end to end: a message to someone with no open socket reaches a local push service
 * (https on 127.0.0.1, allow-listed) signed with the server's VAPID key and encrypted so only the
 * subscription's private key reads it; the SSRF rule refuses everything else.
 */
import { randomUUID } from 'node:crypto';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../src/bus/memory.js';
import { loadConfig } from '../src/config.js';
import {
  api,
  directConversation,
  openTestStore,
  register,
  startServer,
  TestSocket,
  type TestServer,
  type TestStore,
  type TestUser,
} from '../src/testing/harness.js';
import { TestPushService, type TestSubscription } from '../src/testing/push-service.js';

const vapid = webpush.generateVAPIDKeys();
let service: TestPushService;
let opened: TestStore;
let nodes: TestServer[];
let server: TestServer;

function pushConfig(allowHosts: string[]) {
  return {
    jwtSecret: 'push-test-secret-0123456789abcdef0123',
    push: {
      ...loadConfig({}).push,
      vapidPublicKey: vapid.publicKey,
      vapidPrivateKey: vapid.privateKey,
      allowHosts,
    },
  };
}

beforeAll(async () => {
  service = await TestPushService.start(() => vapid.publicKey);
  opened = await openTestStore();
  const bus = new MemoryBus();
  nodes = [];
  for (let i = 0; i < 2; i++)
    nodes.push(
      await startServer({
        store: opened.store,
        bus,
        pushCa: service.ca,
        config: pushConfig([service.host]),
      }),
    );
  server = nodes[0]!;
});

afterAll(async () => {
  for (const node of nodes) await node.stop();
  await opened.cleanup();
  await service.stop();
});

const idle = () => Promise.all(nodes.map((n) => n.node.pusher.idle()));

async function subscribe(user: TestUser, sub: TestSubscription, extra: object = {}) {
  const result = await api(server, 'POST', '/api/push/subscriptions', user.accessToken, {
    endpoint: sub.endpoint,
    keys: sub.keys,
    ...extra,
  });
  expect(result.status).toBe(201);
}

async function send(from: TestUser, conversationId: string, body: string, node = server) {
  const result = await api(
    node,
    'POST',
    `/api/conversations/${conversationId}/messages`,
    from.accessToken,
    {
      clientMsgId: randomUUID(),
      body,
    },
  );
  expect(result.status).toBe(201);
  return result.body.message as { seq: number };
}

const path = (sub: TestSubscription) => new URL(sub.endpoint).pathname;

describe('web push', () => {
  it('answers the VAPID public key', async () => {
    const ann = await register(server, 'ann');
    const result = await api(server, 'GET', '/api/push/key', ann.accessToken);
    expect(result.body).toEqual({ publicKey: vapid.publicKey });
    expect((await api(server, 'GET', '/api/push/key')).status).toBe(401);
  });

  it('pushes a message to a recipient without a socket, readable only with their key', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const [annSub, bobSub] = [service.subscription('ann1'), service.subscription('bob1')];
    await subscribe(ann, annSub);
    await subscribe(bob, bobSub);
    const { seq } = await send(ann, conversationId, 'hello there');
    await idle();
    expect(service.problems).toEqual([]);
    expect(service.at(path(bobSub)).map((r) => r.payload)).toEqual([
      { type: 'message', conversationId, seq, title: ann.user.displayName, body: 'hello there' },
    ]);
    expect(service.at(path(bobSub))[0]!.jwt.sub).toBe('mailto:letter@localhost');
    // Never the sender's own devices.
    expect(service.at(path(annSub))).toEqual([]);
  });

  it('pushes nothing to a user with an open socket on any node, and leaves the text out when asked', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const bobSub = service.subscription('bob2');
    await subscribe(bob, bobSub);
    const off = await api(server, 'PATCH', '/api/push/settings', bob.accessToken, {
      preview: false,
    });
    expect(off.body).toEqual({ settings: { preview: false } });
    expect((await api(server, 'GET', '/api/push/settings', bob.accessToken)).body).toEqual({
      settings: { preview: false },
    });
    // Connected to the other node: presence knows across nodes.
    const socket = await TestSocket.connect(nodes[1]!, bob.accessToken);
    await expect.poll(() => server.node.pusher.hasSocket(bob.user.id)).toBe(true);
    await send(ann, conversationId, 'while online');
    await idle();
    expect(service.requests.filter((p) => p === path(bobSub))).toEqual([]);
    socket.close();
    await expect.poll(() => server.node.pusher.hasSocket(bob.user.id)).toBe(false);
    const { seq } = await send(ann, conversationId, 'secret text');
    await idle();
    expect(service.at(path(bobSub)).map((r) => r.payload)).toEqual([
      { type: 'message', conversationId, seq, title: ann.user.displayName },
    ]);
  });

  it('sends each push once from a cluster: the node that committed the message', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const bobSub = service.subscription('bob3');
    await subscribe(bob, bobSub);
    await send(ann, conversationId, 'one', nodes[0]);
    await send(ann, conversationId, 'two', nodes[1]);
    await idle();
    expect(
      service
        .at(path(bobSub))
        .map((r) => r.payload.body)
        .sort(),
    ).toEqual(['one', 'two']);
  });

  it('in a muted group pushes only the messages that @mention the recipient', async () => {
    const [ann, bob, cat] = [
      await register(server, 'ann'),
      await register(server, 'bob'),
      await register(server, 'cat'),
    ];
    const group = await api(server, 'POST', '/api/conversations', ann.accessToken, {
      kind: 'group',
      title: 'Team',
      memberIds: [bob.user.id, cat.user.id],
    });
    const conversationId = group.body.conversation.id as string;
    const muted = await api(
      server,
      'PATCH',
      `/api/conversations/${conversationId}/settings`,
      bob.accessToken,
      {
        muted: true,
      },
    );
    expect(muted.status).toBe(200);
    const [bobSub, catSub] = [service.subscription('bob4'), service.subscription('cat4')];
    await subscribe(bob, bobSub);
    await subscribe(cat, catSub);
    await send(ann, conversationId, 'for everyone');
    const mention = await api(
      server,
      'POST',
      `/api/conversations/${conversationId}/messages`,
      ann.accessToken,
      { clientMsgId: randomUUID(), body: `ping @${bob.user.username.toUpperCase()}!` },
    );
    const { seq, mentions } = mention.body.message as { seq: number; mentions: string[] };
    expect(mentions).toEqual([bob.user.id]);
    const view = await api(server, 'GET', `/api/conversations/${conversationId}`, bob.accessToken);
    expect(view.body.conversation.unreadMentions).toBe(1);
    await idle();
    expect(service.at(path(bobSub)).map((r) => r.payload)).toEqual([
      {
        type: 'message',
        conversationId,
        seq,
        title: `${ann.user.displayName} in Team`,
        body: `ping @${bob.user.username.toUpperCase()}!`,
      },
    ]);
    // Not muted: everything (coalescing may merge the two into the newer).
    expect(service.at(path(catSub)).at(-1)!.payload.seq).toBe(seq);
  });

  it('sends a read push to every device once the user reads past a pushed message, else none', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const [phone, laptop] = [service.subscription('bob9a'), service.subscription('bob9b')];
    await subscribe(bob, phone);
    const other = await api(server, 'POST', '/api/auth/login', undefined, {
      username: bob.user.username,
      password: 'correct horse battery',
    });
    expect(other.status).toBe(200);
    const laptopToken = other.body.accessToken as string;
    const added = await api(server, 'POST', '/api/push/subscriptions', laptopToken, {
      endpoint: laptop.endpoint,
      keys: laptop.keys,
    });
    expect(added.status).toBe(201);
    const read = (seq: number, token = bob.accessToken) =>
      api(server, 'POST', `/api/conversations/${conversationId}/read`, token, { seq });

    const first = await send(ann, conversationId, 'one');
    const second = await send(ann, conversationId, 'two');
    await idle();
    const readPushes = (sub: TestSubscription) =>
      service
        .at(path(sub))
        .filter((r) => r.payload.type === 'read')
        .map((r) => r.payload);
    // A read below the newest pushed message leaves the notification up.
    expect((await read(first.seq)).status).toBeLessThan(300);
    await idle();
    expect(readPushes(phone)).toEqual([]);
    // Read on the laptop: both devices hear it, once.
    await read(second.seq, laptopToken);
    await read(second.seq, laptopToken);
    await idle();
    for (const sub of [phone, laptop])
      expect(readPushes(sub)).toEqual([{ type: 'read', conversationId, seq: second.seq }]);
    // A message that was not pushed (Bob online): reading it pushes nothing.
    const socket = await TestSocket.connect(server, bob.accessToken);
    await expect.poll(() => server.node.pusher.hasSocket(bob.user.id)).toBe(true);
    const third = await send(ann, conversationId, 'three');
    socket.close();
    await expect.poll(() => server.node.pusher.hasSocket(bob.user.id)).toBe(false);
    await read(third.seq);
    await idle();
    expect(readPushes(phone)).toHaveLength(1);
    expect(service.problems).toEqual([]);
  });

  it('in a cluster, a read on another node than the one that pushed still sends the read push', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const bobSub = service.subscription('bob10');
    await subscribe(bob, bobSub);
    const { seq } = await send(ann, conversationId, 'pushed by node 0', nodes[0]);
    await idle();
    const read = await api(
      nodes[1]!,
      'POST',
      `/api/conversations/${conversationId}/read`,
      bob.accessToken,
      { seq },
    );
    expect(read.status).toBeLessThan(300);
    await expect
      .poll(async () => {
        await idle();
        return service
          .at(path(bobSub))
          .filter((r) => r.payload.type === 'read')
          .map((r) => r.payload);
      })
      .toEqual([{ type: 'read', conversationId, seq }]);
  });

  it('deletes a subscription the push service calls gone (410), retries 429', async () => {
    const [ann, bob, cat] = [
      await register(server, 'ann'),
      await register(server, 'bob'),
      await register(server, 'cat'),
    ];
    const [toBob, toCat] = [
      await directConversation(server, ann, bob),
      await directConversation(server, ann, cat),
    ];
    const [bobSub, catSub] = [service.subscription('bob5'), service.subscription('cat5')];
    await subscribe(bob, bobSub);
    await subscribe(cat, catSub);
    service.behaviours.set(path(bobSub), { status: 410 });
    service.behaviours.set(path(catSub), {
      status: 429,
      headers: { 'retry-after': '0' },
      times: 1,
    });
    await send(ann, toBob, 'gone');
    await send(ann, toCat, 'busy');
    await idle();
    expect(await opened.store.pushSubscriptions([bob.user.id])).toEqual([]);
    expect(service.requests.filter((p) => p === path(catSub))).toHaveLength(2);
    expect(service.at(path(catSub)).map((r) => r.payload.body)).toEqual(['busy']);
    expect(await opened.store.pushSubscriptions([cat.user.id])).toHaveLength(1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/letter_push_total\{outcome="gone"\} [1-9]/);
  });

  it('removes the subscription on logout', async () => {
    const bob = await register(server, 'bob');
    await subscribe(bob, service.subscription('bob6'));
    expect(await opened.store.pushSubscriptions([bob.user.id])).toHaveLength(1);
    expect((await api(server, 'POST', '/api/auth/logout', bob.accessToken)).status).toBe(204);
    expect(await opened.store.pushSubscriptions([bob.user.id])).toEqual([]);
  });
});

describe('the SSRF rule for push endpoints', () => {
  it('refuses http, a private address and 127.0.0.1 outside the allow-list at subscribe time', async () => {
    const bob = await register(server, 'bob');
    const keys = service.subscription('x').keys;
    for (const endpoint of [
      `http://${service.host}/push/x`,
      'https://10.0.0.1/push/x',
      'https://[::1]/push/x',
      'https://169.254.169.254/latest/meta-data',
      `https://127.0.0.1:${service.port + 1}/push/x`,
    ]) {
      const result = await api(server, 'POST', '/api/push/subscriptions', bob.accessToken, {
        endpoint,
        keys,
      });
      expect([endpoint, result.status, result.body.error.code]).toEqual([
        endpoint,
        400,
        'bad_request',
      ]);
    }
    expect(await opened.store.pushSubscriptions([bob.user.id])).toEqual([]);
  });

  it('checks again at send time: a node without the allow-list sends nothing there', async () => {
    const strict = await startServer({
      store: opened.store,
      pushCa: service.ca,
      config: pushConfig([]),
    });
    try {
      const [ann, bob] = [await register(strict, 'ann'), await register(strict, 'bob')];
      const conversationId = await directConversation(strict, ann, bob);
      const bobSub = service.subscription('bob7');
      await subscribe(bob, bobSub); // through the allow-listing node
      await send(ann, conversationId, 'not to a private address', strict);
      await strict.node.pusher.idle();
      expect(service.requests.filter((p) => p === path(bobSub))).toEqual([]);
      expect(strict.node.pusher.stats.failed).toBe(1);
    } finally {
      await strict.stop();
    }
  });

  it('follows no redirect', async () => {
    const [ann, bob] = [await register(server, 'ann'), await register(server, 'bob')];
    const conversationId = await directConversation(server, ann, bob);
    const [bobSub, target] = [service.subscription('bob8'), service.subscription('elsewhere8')];
    service.behaviours.set(path(bobSub), { status: 307, headers: { location: target.endpoint } });
    await subscribe(bob, bobSub);
    await send(ann, conversationId, 'redirected?');
    await idle();
    expect(service.requests.filter((p) => p === path(bobSub))).toHaveLength(1);
    expect(service.requests.filter((p) => p === path(target))).toEqual([]);
  });
});
