import { describe, expect, it } from 'vitest';
import { fullConfig } from './config.js';
import { renderMarkdown, type Meta } from './report.js';

const meta: Meta = {
  timestamp: 't',
  node: 'v20',
  cpus: 2,
  pinned: 'servers on core 0',
  fileLimit: 1024,
  commit: 'abc',
  quick: false,
  durationSec: 1,
  loadAverageAtStart: 0,
  letterFlags: '--single-threaded-gc --v8-pool-size=1',
};
const header = (m: Meta) =>
  renderMarkdown({ meta: m, config: fullConfig, results: [], figures: [], evaluations: [] })
    .split('\n')
    .find((line) => line.startsWith('Node '))!;

describe('report header', () => {
  it("names the launcher's flags for PostgreSQL nodes when they differ", () => {
    const pg = '--single-threaded-gc --v8-pool-size=1 --no-allocation-site-pretenuring';
    expect(header({ ...meta, letterPgFlags: pg })).toContain(`(on PostgreSQL: \`node ${pg}\`)`);
    expect(header({ ...meta, letterPgFlags: meta.letterFlags })).not.toContain('PostgreSQL');
    expect(header(meta)).not.toContain('PostgreSQL');
  });
});
