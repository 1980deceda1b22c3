/**
 * Whether an error says a dependency (the database, Redis, S3) is away rather than that a call
 * was wrong. main.ts's uncaught-exception handler needs it before anything else loads; it lives
 * here, free of imports, so that a SQLite node never loads pg and kysely just for this check
 * (~0.1 s of CPU at start-up). store/postgres/db.ts re-exports it.
 */

/** Lost or refused connections (errno), and the timeouts of the pool and of the client. */
const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|is not queryable/;
/**
 * SQLSTATEs of a database that is away or refusing for now: admin/crash shutdown, cannot connect
 * now, a statement cancelled by statement_timeout, too many connections, out of disk or memory,
 * a read-only standby (mid-failover). Class 08 (connection exceptions) is matched by prefix.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '53000',
  '53100',
  '53200',
  '53300',
  '25006',
]);

export function isUnavailableError(error: unknown): boolean {
  if (error instanceof AggregateError) return error.errors.some(isUnavailableError);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  return error instanceof Error && CONNECTION_MESSAGES.test(error.message);
}
