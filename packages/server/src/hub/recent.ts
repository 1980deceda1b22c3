/**
 * Deliveries of the last few seconds that went over the bus, per recipient, so the hub can
 * close the routing race: a user whose first session on node C is announced (presence gossip)
 * only after node A already routed a delivery for them elsewhere gets that delivery replayed
 * to C. See ARCHITECTURE.md, "Routed deliveries".
 *
 * Two generations of `windowMs` each: an entry lives between one and two windows, and
 * forgetting is one generation dropped, never a scan. Bounded by `maxEntries` per generation.
 *
 * A generation keeps its deliveries as UTF-8 bytes in Buffers, outside V8's heap, and each
 * recipient's entries as numbers; only a replay, which is rare, decodes them. Kept as strings
 * and objects, every routed delivery lived through V8's minor GCs for its 5–10 s and was copied
 * by them and promoted: on a node of two at ~1,000 routed deliveries a second, 285–350 KB
 * promoted a scavenge that way, 110–200 KB this way, 16–35 KB with no window at all
 * (docs/performance.md, round twenty-five).
 */

/** One published delivery: what another node needs to deliver it, and where it went. */
export interface RoutedDelivery {
  except: string;
  keyText: string;
  json: string;
  /** Nodes whose channel carried it (they deliver to every listed recipient they hold). */
  nodes: readonly string[];
}

/** The most bytes one UTF-16 code unit takes in UTF-8. */
const MAX_UTF8_PER_UNIT = 3;
/**
 * A generation's bytes come in chunks of this size, never grown (a buffer grown by doubling
 * copies what it holds at each step); a delivery larger than a chunk gets one of its own.
 */
const CHUNK_BYTES = 256 * 1024;

class Generation {
  private readonly chunks: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;
  /** Entry i: its chunk, where it starts there, and its length. */
  private readonly chunkOf: number[] = [];
  private readonly startOf: number[] = [];
  private readonly lengthOf: number[] = [];
  /** Per recipient, the entries recorded for them, oldest first. */
  readonly byUser = new Map<string, number[]>();
  /** Per entry, the `<node> <user>` pairs it was replayed to since (rare: only on a replay). */
  readonly replayed = new Map<number, Set<string>>();
  /** Recipient entries, for the bound. */
  recipients = 0;

  constructor(readonly started: number) {}

  add(delivery: RoutedDelivery): number {
    // The header as JSON (ids are never escaped wrongly), then the frame, which JSON keeps on
    // one line: the first newline ends the header.
    const text = `${JSON.stringify([delivery.except, delivery.keyText, delivery.nodes])}\n${delivery.json}`;
    // At most this many bytes; counted exactly only for one too large for a chunk.
    let most = text.length * MAX_UTF8_PER_UNIT;
    if (most > CHUNK_BYTES) most = Buffer.byteLength(text, 'utf8');
    if (!this.chunk || this.used + most > this.chunk.length) {
      this.chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, most));
      this.chunks.push(this.chunk);
      this.used = 0;
    }
    const length = this.chunk.write(text, this.used, 'utf8');
    this.chunkOf.push(this.chunks.length - 1);
    this.startOf.push(this.used);
    this.lengthOf.push(length);
    this.used += length;
    return this.lengthOf.length - 1;
  }

  delivery(entry: number): RoutedDelivery {
    const start = this.startOf[entry]!;
    const text = this.chunks[this.chunkOf[entry]!]!.toString(
      'utf8',
      start,
      start + this.lengthOf[entry]!,
    );
    const newline = text.indexOf('\n');
    const [except, keyText, nodes] = JSON.parse(text.slice(0, newline)) as [
      string,
      string,
      string[],
    ];
    return { except, keyText, nodes, json: text.slice(newline + 1) };
  }
}

export class RecentDeliveries {
  private current: Generation;
  private previous: Generation | undefined;
  /** Recipient entries not kept because a generation was full (the race is then open). */
  dropped = 0;

  constructor(
    private readonly windowMs = 5000,
    private readonly maxEntries = 200_000,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.current = new Generation(this.now());
  }

  record(userIds: readonly string[], delivery: RoutedDelivery): void {
    if (userIds.length === 0) return;
    this.rotate();
    const generation = this.current;
    if (generation.recipients + userIds.length > this.maxEntries) {
      this.dropped += userIds.length;
      return;
    }
    generation.recipients += userIds.length;
    const entry = generation.add(delivery);
    for (const userId of userIds) {
      const list = generation.byUser.get(userId);
      if (list) list.push(entry);
      else generation.byUser.set(userId, [entry]);
    }
  }

  /**
   * Deliveries for `userId` that `nodeId` has not carried, oldest first; each is marked as
   * replayed there, so a user who leaves and comes back within the window gets none twice.
   */
  missedBy(userId: string, nodeId: string): RoutedDelivery[] {
    this.rotate();
    const out: RoutedDelivery[] = [];
    const mark = `${nodeId} ${userId}`;
    for (const generation of [this.previous, this.current]) {
      if (!generation) continue;
      for (const entry of generation.byUser.get(userId) ?? []) {
        const delivery = generation.delivery(entry);
        let marks = generation.replayed.get(entry);
        if (delivery.nodes.includes(nodeId) || marks?.has(mark)) continue;
        if (!marks) generation.replayed.set(entry, (marks = new Set()));
        marks.add(mark);
        out.push(delivery);
      }
    }
    return out;
  }

  private rotate(): void {
    const now = this.now();
    const started = this.current.started;
    if (now - started < this.windowMs) return;
    // Two windows idle: both generations are stale.
    this.previous = now - started < 2 * this.windowMs ? this.current : undefined;
    this.current = new Generation(now);
  }
}
