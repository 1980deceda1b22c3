/**
 * Child processes for the servers under test, and what the kernel says about them.
 * Every child goes through `spawnServer`, which registers it so that `killAll` (run on exit,
 * error and SIGINT) can always take it down.
 */
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';

const children = new Set<ChildProcess>();

/** Open-file limit we ask for; the hard limit may be lower (containers), then we take that. */
const WANTED_NOFILE = 65536;

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** taskset exists and this kernel has at least two cores to split between server and load. */
export const canPin: boolean =
  process.platform === 'linux' && hasCommand('taskset') && cpuCount() >= 2;

/** Cores in the machine, not the ones this process may use: the generator itself is pinned. */
export function cpuCount(): number {
  return cpus().length;
}

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const clockTicks: number = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * A shell prefix that raises the open-file limit as far as allowed, then pins to `core`.
 * `exec` keeps the pid, so the pid we hold is the node process itself (needed for /proc).
 */
export function wrapCommand(argv: string[], core: number | undefined): string[] {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const pin = core !== undefined && canPin ? `taskset -c ${core} ` : '';
  const raise = `ulimit -n ${WANTED_NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null`;
  return ['sh', '-c', `${raise}; exec ${pin}${quoted}`];
}

export interface SpawnedServer {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the child ends. */
  exited: Promise<string>;
}

/**
 * Starts a server child on `core`, its output appended to `logFile`. stdin is a pipe the
 * relays watch: when this process dies without cleaning up, their stdin closes and they exit.
 */
export function spawnServer(
  argv: string[],
  opts: { env: NodeJS.ProcessEnv; logFile: string; core: number | undefined },
): SpawnedServer {
  const log = openSync(opts.logFile, 'a');
  const [cmd, ...args] = wrapCommand(argv, opts.core);
  const child = spawn(cmd!, args, { env: opts.env, stdio: ['pipe', log, log] });
  closeSync(log);
  children.add(child);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve(signal ?? String(code));
    });
    child.once('error', (err) => {
      children.delete(child);
      resolve(`error: ${err.message}`);
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${argv.join(' ')}`);
  return { child, pid: child.pid, exited };
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still there. */
export async function stopServer(server: SpawnedServer, graceMs = 5000): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  await server.exited;
  clearTimeout(timer);
}

/** Synchronous last resort for `exit` handlers: no awaiting there. */
export function killAll(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
}

/** A port nobody listens on right now; each server start gets a fresh one so TIME_WAIT
 * sockets from an earlier run never collide with the next run's 4-tuples. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** utime + stime of the whole process (all threads), in microseconds. */
export function processCpuMicros(pid: number): number {
  const { user, sys } = processCpuSplitMicros(pid);
  return user + sys;
}

/** The process's CPU time in µs, in user space and in the kernel (all its threads). */
export function processCpuSplitMicros(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return {
    user: (Number(fields[11]) * 1e6) / clockTicks,
    sys: (Number(fields[12]) * 1e6) / clockTicks,
  };
}

/**
 * CPU time the whole machine spent busy (all cores, every process, the kernel), in µs, from
 * /proc/stat. Minus what the server and the generator used, it says how much else was running:
 * on a shared machine that is what makes one report differ from the next.
 */
export function machineBusyMicros(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal ...
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const ticks = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return (ticks * 1e6) / clockTicks;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes, from /proc/<pid>/status (VmRSS is in kB). */
export function processRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** This process's soft open-file limit (what it can really open). */
export function ownFileLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (!match) return Infinity;
    return match[1] === 'unlimited' ? Infinity : Number(match[1]);
  } catch {
    return Infinity;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
