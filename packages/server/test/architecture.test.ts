/**
 * The layer rules of ARCHITECTURE.md are enforced by eslint.config.js, not by habit. Each case
 * lints a small file placed (virtually) in a layer and expects the rule to bite; the allowed
 * cases check that the rules do not bite what the layers legitimately use.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: repoRoot });
const layerRules = new Set([
  'no-restricted-imports',
  'no-restricted-globals',
  'no-restricted-syntax',
]);

/** The layer-rule messages ESLint gives `code` as if it were the file at `path`. */
async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}${path}` });
  if (!result) throw new Error('ESLint returned no result');
  return result.messages
    .filter((m) => m.ruleId !== null && layerRules.has(m.ruleId))
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const forbidden: [layer: string, path: string, code: string, expected: RegExp][] = [
  [
    'protocol imports no package of ours',
    'packages/protocol/src/probe.ts',
    "export { LetterClient } from '@letter/sdk';\n",
    /protocol imports nothing of ours/,
  ],
  [
    'protocol reaches into no other package by path',
    'packages/protocol/src/probe.ts',
    "export { loadConfig } from '../../server/src/config.js';\n",
    /protocol imports nothing of ours/,
  ],
  [
    'web imports no server package',
    'packages/web/src/app/probe.ts',
    "export { startNode } from '@letter/server';\n",
    /web never imports server code/,
  ],
  [
    'web reaches into no server file by path',
    'packages/web/src/app/probe.ts',
    "export { loadConfig } from '../../../server/src/config.js';\n",
    /web never imports server code/,
  ],
  [
    'web (tests included) does not import ws',
    'packages/web/test/e2e/probe.ts',
    "export { WebSocket } from 'ws';\n",
    /Only packages\/server\/src\/transport\/ws.ts imports ws/,
  ],
  [
    'web makes no request with fetch',
    'packages/web/src/app/probe.ts',
    "export const me = fetch('/api/me');\n",
    /no-restricted-globals: .*only through @letter\/sdk/,
  ],
  [
    'web builds no request by hand through the sdk',
    'packages/web/src/app/probe.ts',
    "import type { LetterClient } from '@letter/sdk';\n" +
      "export const me = (c: LetterClient) => c.api.request({ method: 'GET', path: '/api/me' });\n",
    /no-restricted-syntax: Use a typed sdk method/,
  ],
  [
    'store does not import hub',
    'packages/server/src/store/probe.ts',
    "export type { Hub } from '../hub/hub.js';\n",
    /store\/ never imports hub\//,
  ],
  [
    'store does not import services',
    'packages/server/src/store/probe.ts',
    "export type { ChatService } from '../services/chat.js';\n",
    /store\/ never imports hub\/, services\//,
  ],
  [
    'the hub does not import services',
    'packages/server/src/hub/probe.ts',
    "export type { ChatService } from '../services/chat.js';\n",
    /hub\/ never imports services\//,
  ],
  [
    'store does not import transport',
    'packages/server/src/store/probe.ts',
    "export { attachWebSocket } from '../transport/ws.js';\n",
    /store\/ never imports hub\//,
  ],
  [
    'store does not import http (from a nested folder too)',
    'packages/server/src/store/sqlite/probe.ts',
    "export { sendError } from '../../http/errors.js';\n",
    /store\/ never imports hub\//,
  ],
  [
    'store does not import ws',
    'packages/server/src/store/probe.ts',
    "export { WebSocket } from 'ws';\n",
    /Only packages\/server\/src\/transport\/ws.ts imports ws/,
  ],
  [
    'bus does not import store',
    'packages/server/src/bus/probe.ts',
    "export type { Store } from '../store/store.js';\n",
    /bus\/ never imports store\//,
  ],
  [
    'bus does not import ws',
    'packages/server/src/bus/probe.ts',
    "export { WebSocket } from 'ws';\n",
    /Only packages\/server\/src\/transport\/ws.ts imports ws/,
  ],
  [
    'the hub does not import ws',
    'packages/server/src/hub/probe.ts',
    "export { WebSocket } from 'ws';\n",
    /Only packages\/server\/src\/transport\/ws.ts imports ws/,
  ],
];

const allowed: [layer: string, path: string, code: string][] = [
  ['protocol imports zod', 'packages/protocol/src/probe.ts', "export { z } from 'zod';\n"],
  [
    'web imports the sdk and the protocol',
    'packages/web/src/app/probe.ts',
    "export { LetterClient } from '@letter/sdk';\nexport { limits } from '@letter/protocol';\n",
  ],
  [
    'web calls typed sdk methods',
    'packages/web/src/app/probe.ts',
    "import type { LetterClient } from '@letter/sdk';\n" +
      'export const blocks = (c: LetterClient) => c.api.blocks();\n',
  ],
  [
    'transport/ws.ts imports ws',
    'packages/server/src/transport/ws.ts',
    "export { WebSocket } from 'ws';\n",
  ],
  [
    'store imports util and its own parts',
    'packages/server/src/store/probe.ts',
    "export type { Clock } from '../util/clock.js';\nexport type { Store } from './store.js';\n",
  ],
  [
    'bus imports its own parts',
    'packages/server/src/bus/probe.ts',
    "export type { Bus } from './bus.js';\n",
  ],
  [
    'hub imports the store',
    'packages/server/src/hub/probe.ts',
    "export type { Store } from '../store/store.js';\n",
  ],
];

describe('layer rules (eslint.config.js)', () => {
  it.each(forbidden)('%s', async (_layer, path, code, expected) => {
    const errors = await layerErrors(path, code);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toMatch(expected);
  });

  it.each(allowed)('allows: %s', async (_layer, path, code) => {
    expect(await layerErrors(path, code)).toEqual([]);
  });
});
