/**
 * A node loads the clients of the services it is configured for, and only those: pg, ioredis
 * and the AWS SDK cost a SQLite node ~0.6 s of CPU at every start-up when they were imported
 * whatever the configuration (docs/performance.md, reads at one million messages, round three).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testEngine } from '../src/testing/harness.js';
import { cleanUp, scratchDir, startChild } from './child.js';

afterAll(cleanUp);

/**
 * The packages under node_modules that a process has loaded (CommonJS ones: pg, ioredis, AWS).
 * NODE_OPTIONS reaches worker threads too, so each thread writes a file of its own (one file for
 * all of them raced: a worker ending after the main thread overwrote its list).
 */
const PRELOAD = `
const { writeFileSync } = require('node:fs');
const { threadId } = require('node:worker_threads');
const Module = require('node:module');
process.on('exit', () => {
  const names = new Set();
  for (const file of Object.keys(Module._cache)) {
    const match = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file);
    if (match) names.add(match[1]);
  }
  writeFileSync(process.env.LOADED_FILE + '.' + threadId, JSON.stringify([...names]));
});
`;

describe('start-up imports', () => {
  it('loads no Redis or S3 client without Redis or S3, and pg only with PostgreSQL', async () => {
    const dir = scratchDir('startup-imports');
    const preload = join(dir, 'preload.cjs');
    const loadedFile = join(dir, 'loaded.json');
    writeFileSync(preload, PRELOAD);
    const child = await startChild(dir, {
      NODE_OPTIONS: `--require ${preload}`,
      LOADED_FILE: loadedFile,
    });
    expect(await child.stop()).toEqual({ code: 0, signal: null });
    const loaded = readdirSync(dir)
      .filter((name) => name.startsWith('loaded.json.'))
      .flatMap((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as string[]);
    // The check is worth something only if the preload saw the packages every node loads.
    expect(loaded).toContain('fastify');
    expect(loaded).not.toContain('ioredis');
    expect(loaded).not.toContain('@aws-sdk/client-s3');
    if (testEngine === 'postgres') expect(loaded).toContain('pg');
    else expect(loaded).not.toContain('pg');
  });
});
