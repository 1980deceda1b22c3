/**
 * deploy/letter.service and deploy/letter.env.example: systemd accepts the unit as written (no
 * unknown key, no bad value), it has the hardening README promises and runs the server from the
 * data dir it owns; the sample environment names only settings Letter reads, and loads.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { cleanUp, scratchDir } from './child.js';

afterAll(cleanUp);

const deploy = fileURLToPath(new URL('../../../deploy/', import.meta.url));
const unit = readFileSync(join(deploy, 'letter.service'), 'utf8');
const envExample = readFileSync(join(deploy, 'letter.env.example'), 'utf8');

/** key → values of every `Key=value` line (comments skipped). */
function settings(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) map.set(match[1]!, [...(map.get(match[1]!) ?? []), match[2]!]);
  }
  return map;
}

describe('deploy/letter.service', () => {
  it('is a unit systemd accepts without a warning', () => {
    const analyze = '/usr/bin/systemd-analyze';
    expect(existsSync(analyze), 'systemd-analyze (package systemd) is needed').toBe(true);
    const copy = join(scratchDir('letter-unit-'), 'letter.service');
    copyFileSync(join(deploy, 'letter.service'), copy);
    // Unknown keys and bad values are only warnings (exit 0): the output must be empty.
    const run = spawnSync(analyze, ['verify', copy], { encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs as its own user, restarts on failure, owns its data dir and is hardened', () => {
    const s = settings(unit);
    expect(s.get('User')).toEqual(['letter']);
    expect(s.get('Restart')).toEqual(['on-failure']);
    expect(s.get('StateDirectory')).toEqual(['letter']);
    expect(s.get('Environment')?.join(' ')).toContain('LETTER_DATA_DIR=/var/lib/letter');
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['PrivateDevices', 'yes'],
      ['RestrictSUIDSGID', 'yes'],
      ['CapabilityBoundingSet', ''],
    ] as const) {
      expect(s.get(key), key).toEqual([value]);
    }
    // The server it starts is the one `npm run build` makes.
    const exec = s.get('ExecStart')![0]!;
    expect(exec).toBe('/usr/bin/node /opt/letter/packages/server/dist/main.js');
    expect(existsSync(fileURLToPath(new URL('../dist/main.js', import.meta.url)))).toBe(true);
  });
});

describe('deploy/letter.env.example', () => {
  it('names only settings Letter reads, and loads as a configuration', () => {
    const configSource = readFileSync(
      fileURLToPath(new URL('../src/config.ts', import.meta.url)),
      'utf8',
    );
    const names = [...envExample.matchAll(/^#?([A-Z][A-Z_]+)=/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) {
      expect(configSource.includes(`env.${name}`) || configSource.includes(`'${name}'`), name).toBe(
        true,
      );
    }
    const env = Object.fromEntries(
      [...envExample.matchAll(/^([A-Z][A-Z_]+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    const config = loadConfig(env);
    expect(config.host).toBe('127.0.0.1');
    expect(config.trustProxy).toEqual(['127.0.0.1']);
  });
});
