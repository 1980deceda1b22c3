/**
 * Scenarios of issue 13 (files): (j) one large upload, streamed, with the server's RSS sampled
 * throughout; (k) image messages fanned out to a big group, against the same messages without
 * a file (each recipient of a message with files gets its own frame with URLs signed for it).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { WebSocket } from 'ws';
import type { BenchConfig } from './config.js';
import { createGroup } from './letter-api.js';
import { processCpuMicros, processRssBytes, sleep } from './proc.js';
import type { LetterTarget } from './targets.js';

// ---------------------------------------------------------------- (j) a large upload

export interface UploadResult {
  bytes: number;
  seconds: number;
  mbPerSec: number;
  baselineRssBytes: number;
  peakRssBytes: number;
  /** Peak minus baseline while the upload ran. */
  rssGrowthBytes: number;
}

/** Streams `size` random bytes as one multipart upload (1 MiB at a time, never all in memory). */
function upload(
  base: string,
  token: string,
  size: number,
  name: string,
  bytes?: Buffer,
): Promise<string> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + (bytes?.length ?? size) + tail.length;
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      `${base}/api/files`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': length,
        },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () =>
          response.statusCode === 201
            ? resolve((JSON.parse(text) as { file: { id: string } }).file.id)
            : reject(new Error(`upload → ${response.statusCode} ${text.slice(0, 200)}`)),
        );
      },
    );
    request.on('error', reject);
    void (async () => {
      const write = (chunk: Buffer) =>
        request.write(chunk) ? Promise.resolve() : new Promise((r) => request.once('drain', r));
      await write(head);
      if (bytes) await write(bytes);
      else {
        const chunk = 1024 * 1024;
        for (let sent = 0; sent < size; sent += chunk)
          await write(randomBytes(Math.min(chunk, size - sent)));
      }
      request.end(tail);
    })().catch(reject);
  });
}

export async function measureUpload(
  target: LetterTarget,
  config: BenchConfig,
): Promise<UploadResult> {
  const user = target.user(0);
  // A small upload first: the route, file-type and the blob store are warm before we measure.
  await upload(target.baseUrl, user.accessToken, 64 * 1024, 'warm.bin');
  await sleep(500);
  const baselineRssBytes = processRssBytes(target.pid);
  let peakRssBytes = baselineRssBytes;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, processRssBytes(target.pid));
  }, 20);
  const started = performance.now();
  try {
    await upload(target.baseUrl, user.accessToken, config.uploadBytes, 'big.bin');
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  peakRssBytes = Math.max(peakRssBytes, processRssBytes(target.pid));
  return {
    bytes: config.uploadBytes,
    seconds,
    mbPerSec: config.uploadBytes / 1e6 / seconds,
    baselineRssBytes,
    peakRssBytes,
    rssGrowthBytes: peakRssBytes - baselineRssBytes,
  };
}

// ---------------------------------------------------------------- (k) image fan-out

export interface FanoutRun {
  /** Send → arrival at each recipient, ms, over every (message, recipient). */
  p50: number;
  p99: number;
  max: number;
  deliveries: number;
  lost: number;
  /** Server CPU per delivery, µs. */
  serverCpuMicrosPerDelivery: number;
}

export interface ImageFanoutResult {
  members: number;
  messages: number;
  image: FanoutRun;
  text: FanoutRun;
  /** image − text server CPU per delivery: the per-recipient frame (signing, serializing). */
  signingMicrosPerRecipient: number;
  /** Every recipient's URLs were signed for that recipient. */
  signedPerRecipient: boolean;
}

/** A 16 × 12 PNG: the server re-encodes it and makes its thumbnail, as for a photo. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAMCAIAAADkharWAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAAGElEQVQokWM40+FCEmIY1dAxGkpnsIUBAOjdMhACBM/YAAAAAElFTkSuQmCC',
  'base64',
);

interface Member {
  id: string;
  socket: WebSocket;
  /** clientMsgId → arrival (performance.now()). */
  arrivals: Map<string, number>;
  /** The attachment URLs it got, checked after the runs (not while timing arrivals). */
  urls: string[];
}

/** Every frame any member socket received: (k) starts once this stops moving. */
let framesSeen = 0;

function openMember(wsUrl: string, id: string, token: string): Promise<Member> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    const member: Member = { id, socket, arrivals: new Map(), urls: [] };
    const timer = setTimeout(() => reject(new Error('member socket: no ready')), 60_000);
    socket.on('error', reject);
    socket.on('message', (data) => {
      framesSeen++;
      const text = String(data);
      if (text.includes('"type":"ready"')) {
        clearTimeout(timer);
        resolve(member);
        return;
      }
      if (!text.startsWith('{"type":"message"')) return;
      const at = performance.now();
      const frame = JSON.parse(text) as {
        message: { clientMsgId: string; attachments: { url: string }[] };
      };
      member.arrivals.set(frame.message.clientMsgId, at);
      for (const file of frame.message.attachments) member.urls.push(file.url);
    });
  });
}

export async function measureImageFanout(
  target: LetterTarget,
  config: BenchConfig,
): Promise<ImageFanoutResult> {
  const members = config.imageGroupMembers;
  const sender = target.user(0);
  const others = Array.from({ length: members }, (_, i) => target.user(i + 1));
  const conversationId = await createGroup(
    target.baseUrl,
    sender.accessToken,
    `images${Date.now() % 1e6}`,
    others.map((u) => u.id),
  );
  const files: string[] = [];
  for (let i = 0; i < config.imageMessages; i++)
    files.push(await upload(target.baseUrl, sender.accessToken, PNG.length, `p${i}.png`, PNG));

  const sockets: Member[] = [];
  const wsUrl = target.baseUrl.replace(/^http/, 'ws') + '/ws';
  try {
    for (let i = 0; i < others.length; i += 50) {
      const batch = others.slice(i, i + 50);
      sockets.push(
        ...(await Promise.all(batch.map((u) => openMember(wsUrl, u.id, u.accessToken)))),
      );
    }
    const senderSocket = await openMember(wsUrl, sender.id, sender.accessToken);
    sockets.push(senderSocket);
    const recipients = sockets.slice(0, -1);
    const run = async (kind: 'image' | 'text'): Promise<FanoutRun> => {
      // Members coming online tell each other (presence: n² frames in a group of n): that storm
      // is over before anything is timed, when no frame has arrived for a second.
      for (let last = -1, waited = 0; framesSeen !== last && waited < 60_000; waited += 1000) {
        last = framesSeen;
        await sleep(1000);
      }
      const sentAt = new Map<string, number>();
      const cpuBefore = processCpuMicros(target.pid);
      for (let i = 0; i < config.imageMessages; i++) {
        const clientMsgId = `${kind}-${i}-${Date.now()}`;
        sentAt.set(clientMsgId, performance.now());
        senderSocket.socket.send(
          JSON.stringify({
            type: 'send',
            conversationId,
            clientMsgId,
            body: kind === 'text' ? 'a photo would be here' : '',
            ...(kind === 'image' && { attachments: [files[i]] }),
          }),
        );
        await sleep(config.imageGapMs);
      }
      const expected = sentAt.size * recipients.length;
      const count = () =>
        recipients.reduce(
          (n, m) => n + [...sentAt.keys()].filter((k) => m.arrivals.has(k)).length,
          0,
        );
      for (let waited = 0; count() < expected && waited < config.drainMs; waited += 50)
        await sleep(50);
      const cpu = processCpuMicros(target.pid) - cpuBefore;
      const latencies: number[] = [];
      for (const m of recipients)
        for (const [id, at] of sentAt) {
          const got = m.arrivals.get(id);
          if (got !== undefined) latencies.push(got - at);
        }
      latencies.sort((a, b) => a - b);
      const pick = (q: number) =>
        latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
      return {
        p50: pick(0.5),
        p99: pick(0.99),
        max: latencies.at(-1) ?? NaN,
        deliveries: latencies.length,
        lost: expected - latencies.length,
        serverCpuMicrosPerDelivery: latencies.length > 0 ? cpu / latencies.length : NaN,
      };
    };
    const text = await run('text');
    const image = await run('image');
    return {
      members,
      messages: config.imageMessages,
      image,
      text,
      signingMicrosPerRecipient: image.serverCpuMicrosPerDelivery - text.serverCpuMicrosPerDelivery,
      signedPerRecipient: recipients.every(
        (m) =>
          m.urls.length === config.imageMessages &&
          m.urls.every((url) => new URL(url, 'http://x').searchParams.get('u') === m.id),
      ),
    };
  } finally {
    for (const m of sockets) m.socket.terminate();
  }
}
