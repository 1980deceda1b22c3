/**
 * What pg-append.mjs and pg-rate.mjs read around a PostgreSQL load: `--name=N` options, a
 * process's CPU from /proc (so PostgreSQL on this box), and the cluster's WAL position.
 */
import { readFileSync } from 'node:fs';
import { adminQuery } from '../server/dist/store/postgres/testing.js';

/** The number given as `--name=N`, or `fallback`. */
export const numberOption = (name, fallback) => {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? Number(arg.slice(name.length + 3)) : fallback;
};

/** A process's CPU time (user + system), seconds; 0 once it is gone. */
export const cpuSeconds = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return 0;
  }
};

/** The cluster's WAL (other sessions' included: an upper bound per append) through `base`. */
export const walProbes = (base) => ({
  lsn: async () => (await adminQuery(base, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0].lsn,
  bytes: async (from, to) =>
    Number(
      (await adminQuery(base, 'SELECT pg_wal_lsn_diff($1, $2)::bigint AS bytes', [to, from]))[0]
        .bytes,
    ),
});
