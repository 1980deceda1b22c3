/**
 * What `Store.prune` deletes, written once for both SQL stores (see its contract in store.ts):
 * the SQLite store prepares these builders, the PostgreSQL store runs them in one transaction.
 */
import type { Kysely } from 'kysely';
import type { PruneCutoffs } from '../store.js';
import type { SharedTables } from './tables.js';

/** The tables pruning touches; both stores' databases have them with these columns. */
type PruneTables = Pick<SharedTables, 'sessions' | 'refresh_tokens' | 'position_log'>;
export type PruneDb = Kysely<PruneTables>;

/**
 * Either store's Kysely (or a transaction of it), seen through the tables pruning touches;
 * Kysely's types cannot say "a database with at least these tables" themselves.
 */
export const asPruneDb = (db: Pick<PruneDb, 'selectFrom' | 'deleteFrom'>): PruneDb => db as PruneDb;

/**
 * The first `limit` dead sessions by id: revoked, past their maximum lifetime, or with no
 * refresh token left that could still be exchanged. The same ids both times it is asked within
 * a prune (deleting their tokens keeps them dead, and no live session's tokens are touched).
 */
function deadSessionIds(db: PruneDb, p: PruneCutoffs) {
  return db
    .selectFrom('sessions as s')
    .select('s.id')
    .where((eb) =>
      eb.or([
        eb('s.revoked_at', 'is not', null),
        eb('s.created_at', '<', p.sessionsCreatedBefore),
        eb.not(
          eb.exists(
            eb
              .selectFrom('refresh_tokens as t')
              .select('t.token_hash')
              .whereRef('t.session_id', '=', 's.id')
              .where('t.spent_at', 'is', null)
              .where('t.expires_at', '>', p.now),
          ),
        ),
      ]),
    )
    .orderBy('s.id')
    .limit(p.limit);
}

/** Spent and unspent tokens alike, of the sessions `deleteDeadSessions` removes next. */
export const deleteDeadSessionTokens = (db: PruneDb, p: PruneCutoffs) =>
  db.deleteFrom('refresh_tokens').where('session_id', 'in', deadSessionIds(db, p));

export const deleteDeadSessions = (db: PruneDb, p: PruneCutoffs) =>
  db.deleteFrom('sessions').where('id', 'in', deadSessionIds(db, p));

/**
 * Old position moves but the newest of each member and kind: receipts ask for the first move
 * at or past a seq, and the newest move is at or past every seq the position ever reached.
 */
export const deleteOldPositionLog = (db: PruneDb, p: PruneCutoffs) =>
  db.deleteFrom('position_log').where((eb) =>
    eb(
      eb.refTuple('conversation_id', 'user_id', 'kind', 'seq'),
      'in',
      eb
        .selectFrom('position_log as l')
        .select(['l.conversation_id', 'l.user_id', 'l.kind', 'l.seq'])
        .where('l.at', '<', p.positionLogBefore)
        .where((inner) =>
          inner.exists(
            inner
              .selectFrom('position_log as n')
              .select('n.seq')
              .whereRef('n.conversation_id', '=', 'l.conversation_id')
              .whereRef('n.user_id', '=', 'l.user_id')
              .whereRef('n.kind', '=', 'l.kind')
              .whereRef('n.seq', '>', 'l.seq'),
          ),
        )
        .limit(p.limit)
        .$asTuple('conversation_id', 'user_id', 'kind', 'seq'),
    ),
  );
