/**
 * External services for tests. Locally a suite that needs one may be skipped when its URL is
 * unset; in CI (CI=true) a missing URL is an error, so no suite silently skips there.
 */
function serviceUrl(variable: string): string | undefined {
  const url = process.env[variable];
  if (url) return url;
  if (process.env.CI)
    throw new Error(`${variable} must be set in CI: the suites that need it must run`);
  return undefined;
}

export const redisTestUrl = () => serviceUrl('LETTER_TEST_REDIS_URL');
export const postgresTestUrl = () => serviceUrl('LETTER_TEST_PG_URL');
