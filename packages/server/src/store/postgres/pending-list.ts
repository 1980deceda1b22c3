/**
 * Keeps the search index's pending list short, off the ack path. The GIN index on
 * `messages.search_vector` takes new entries into its pending list (a cheap append); merging the
 * list into the index is the expensive part, and PostgreSQL leaves it to whichever insert finds
 * the list over `gin_pending_list_limit` (4 MB), or to (auto)vacuum. At 8,000 appends/s that was
 * an append batch every ~3 s held up ~100 ms by a merge of ~25,000 messages' words
 * (docs/performance.md, round four): autovacuum's insert threshold grows with the table, so it
 * does not keep up at such rates even when it is on. So the store merges the list itself, on a
 * connection of the ordinary pool, after every `every` appends it committed: the batches find
 * the list short and never merge it. A search reads the pending list too, so what is not merged
 * yet is found all the same. Failing merges are not an error of any append: PostgreSQL merges
 * the list in the foreground again, as it did before.
 */
import { sql } from 'kysely';
import { pgCode, type Db } from './db.js';

/** Appends between two merges: ~300 KB of pending entries for short text messages. */
export const MERGE_EVERY = 2000;

export class PendingListMerger {
  private appended = 0;
  private running: Promise<void> | null = null;
  private disabled = false;
  /** Merges run, for tests and measurements. */
  merges = 0;

  constructor(
    private readonly db: Db,
    private readonly every: number = MERGE_EVERY,
  ) {}

  /** Counts committed appends; starts a merge (one at a time) when enough have come. */
  noteAppended(count: number): void {
    this.appended += count;
    if (this.appended < this.every || this.running || this.disabled) return;
    this.appended = 0;
    this.running = this.merge().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no merge is running (the store waits for it before closing its pool). */
  async idle(): Promise<void> {
    await this.running;
  }

  private async merge(): Promise<void> {
    try {
      await sql`SELECT gin_clean_pending_list('messages_search'::regclass)`.execute(this.db);
      this.merges++;
    } catch (error) {
      // 42501: the store's role does not own the index; the foreground merge is all there is.
      if (pgCode(error) === '42501') this.disabled = true;
    }
  }
}
