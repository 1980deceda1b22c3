/**
 * Runs the outside contract client, ../shared/contract-smoke/smoke.mjs, against a real server
 * process, as CI must. It is not ours to change; when it is missing the test fails, never skips.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../src/testing/harness.js';
import { killChildren, startChild } from './child.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const smoke = fileURLToPath(
  new URL('../../../../shared/contract-smoke/smoke.mjs', import.meta.url),
);

describe('shared contract smoke client', () => {
  afterAll(killChildren);

  it('passes every check against `node dist/main.js`', async () => {
    expect(existsSync(smoke), `${smoke} is missing: CI clones shared/ beside the project`).toBe(
      true,
    );
    const server = await startChild(tempDir());
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [smoke, server.url],
        { cwd: root, timeout: 60_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout),
      ),
    );
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect((await server.stop()).code).toBe(0);
  });
});
