/**
 * Calls in flight, by the increasing id each was given when it went out: a Map that starts
 * afresh whenever it empties, and is copied into a new one every so many additions.
 *
 * Why not one Map for the life of the process: measured, once a burst had held thousands of calls
 * at a time in one, V8's minor GCs promoted every later call's objects (the call's promise, and
 * through it the frame, the reply and the async function waiting for it) instead of letting them
 * die young: after one throughput search the server promoted ~1.4 MB a scavenge instead of
 * ~0.02, each scavenge took 3x as long, and it stayed so until a restart (docs/performance.md,
 * round twenty-four; test/gc/promotion.test.ts shows it in a few lines). Our reading of why: ids
 * only grow, so the table fills with deleted slots and V8 rebuilds it every few hundred calls, in
 * the generation of the table it replaces; once a burst kept one alive into the old generation,
 * every later table is born old, and the tables it replaced still point at the entries they
 * held until the next full collection. A fresh Map's table is young, and so are its successors.
 */
export class InFlight<V> {
  private map = new Map<number, V>();
  /** Additions since `map` was made. */
  private added = 0;
  /** How many times a new Map was started (for tests). */
  renewals = 0;

  constructor(
    /** A map that has had this many additions (and at least 4x its size) is copied afresh. */
    private readonly renewEvery = 4096,
  ) {}

  get size(): number {
    return this.map.size;
  }

  set(id: number, value: V): void {
    this.map.set(id, value);
    this.added += 1;
    // Under load that never lets it empty. The copy costs its size, at most a quarter of the
    // additions since the last one: O(1) a call.
    if (this.added >= this.renewEvery && this.added >= 4 * this.map.size) {
      this.renew(new Map(this.map));
    }
  }

  /** The value for `id`, removed; undefined when none is in flight. */
  take(id: number): V | undefined {
    const value = this.map.get(id);
    if (value === undefined) return undefined;
    this.map.delete(id);
    if (this.map.size === 0) this.renew(new Map());
    return value;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  clear(): void {
    this.renew(new Map());
  }

  private renew(map: Map<number, V>): void {
    this.map = map;
    this.added = 0;
    this.renewals += 1;
  }
}
