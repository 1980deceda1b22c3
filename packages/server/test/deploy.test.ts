/**
 * deploy/letter.service and deploy/letter.env.example: systemd accepts the unit as written (no
 * unknown key, no bad value), it has the hardening README promises and runs the server from the
 * data dir it owns; the sample environment names only settings Letter reads, and loads.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
    // The server it starts is the one `npm run build` makes, through the launcher npm start uses.
    const exec = s.get('ExecStart')![0]!;
    expect(exec).toBe('/bin/sh /opt/letter/packages/server/bin/letter');
    expect(existsSync(fileURLToPath(new URL('../bin/letter', import.meta.url)))).toBe(true);
    expect(existsSync(fileURLToPath(new URL('../dist/main.js', import.meta.url)))).toBe(true);
  });
});

describe('bin/letter', () => {
  const launcher = fileURLToPath(new URL('../bin/letter', import.meta.url));
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  /** The command line the launcher would run: `echo` stands in for node. */
  function commandLine(env: NodeJS.ProcessEnv, cores: number): string[] {
    const bin = scratchDir('letter-nproc-');
    writeFileSync(join(bin, 'nproc'), `#!/bin/sh\necho ${cores}\n`, { mode: 0o755 });
    const run = spawnSync('/bin/sh', [launcher, '--an-argument'], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, NODE: '/bin/echo', ...env },
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    return run.stdout.trim().split(' ');
  }
  const flags = (words: string[]) => words.slice(0, -2);

  it('runs dist/main.js with the arguments it was given, keeping its pid (exec)', () => {
    const words = commandLine({}, 8);
    expect(words.slice(-2).map((w, i) => (i === 0 ? resolve(w) : w))).toEqual([
      main,
      '--an-argument',
    ]);
    expect(readFileSync(launcher, 'utf8')).toMatch(/^exec "\$\{NODE:-node\}"/m);
  });

  it('on one or two cores: GC on the allocating thread and one V8 background thread', () => {
    for (const cores of [1, 2]) {
      expect(flags(commandLine({}, cores))).toEqual(['--single-threaded-gc', '--v8-pool-size=1']);
    }
    expect(flags(commandLine({}, 3))).toEqual([]);
    expect(flags(commandLine({}, 16))).toEqual([]);
  });

  it('with PostgreSQL: allocation-site pretenuring off, on any number of cores', () => {
    const pg = { LETTER_DATABASE_URL: 'postgres://letter@db/letter' };
    expect(flags(commandLine(pg, 1))).toEqual([
      '--single-threaded-gc',
      '--v8-pool-size=1',
      '--no-allocation-site-pretenuring',
    ]);
    expect(flags(commandLine(pg, 16))).toEqual(['--no-allocation-site-pretenuring']);
    expect(flags(commandLine({ LETTER_DATABASE_URL: '' }, 16))).toEqual([]);
    expect(flags(commandLine({ ...pg, LETTER_NODE_FLAGS: '' }, 1))).toEqual([]);
  });

  it('LETTER_NODE_FLAGS replaces the choice, even when empty', () => {
    expect(flags(commandLine({ LETTER_NODE_FLAGS: '' }, 1))).toEqual([]);
    expect(flags(commandLine({ LETTER_NODE_FLAGS: '--max-old-space-size=512' }, 8))).toEqual([
      '--max-old-space-size=512',
    ]);
  });

  it('npm start goes through it', () => {
    const pkg = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
    ) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toMatch(/&& packages\/server\/bin\/letter$/);
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
