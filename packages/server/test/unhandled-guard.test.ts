/**
 * The guard in vitest.setup.ts works: a fixture whose first test leaves a promise rejection
 * unhandled fails that test by name, and the run exits non-zero, even with vitest's own
 * unhandled-error check switched off (--dangerouslyIgnoreUnhandledErrors), so the guard alone
 * is what fails it.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const vitest = fileURLToPath(new URL('node_modules/vitest/vitest.mjs', new URL(`file://${root}`)));
const config = fileURLToPath(new URL('./guard/vitest.config.ts', import.meta.url));

it('fails the test that leaked an unhandled rejection, and the run', async () => {
  const child = spawn(
    process.execPath,
    [vitest, 'run', '--config', config, '--dangerouslyIgnoreUnhandledErrors', '--no-color'],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code, output).not.toBe(0);
  expect(output).toMatch(/FAIL .*leaves a rejection nobody handles/);
  expect(output).toMatch(/unhandled promise rejection during this test: Error: guard-probe/);
  expect(output).toMatch(/1 failed \| 1 passed/);
}, 60_000);
