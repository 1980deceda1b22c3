/**
 * End-to-end plumbing: a real Letter server as a child process on a free port with a throwaway
 * data dir, and a real headless Chromium driven by playwright-core. No browser is ever
 * downloaded: LETTER_CHROMIUM, then Debian's /usr/bin/chromium, then @sparticuz/chromium.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const screenshotDir = join(repoRoot, 'docs/screenshots');
const serverMain = join(repoRoot, 'packages/server/dist/main.js');
const webIndex = join(repoRoot, 'packages/web/dist/index.html');

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
  /** Everything the server printed, for failure messages. */
  output(): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** `env`: extra settings for the server (e.g. LETTER_TRUST_PROXY behind a proxy). */
export async function startServer(env: Record<string, string> = {}): Promise<RunningServer> {
  for (const [file, hint] of [
    [serverMain, 'npx tsc -b packages/server'],
    [webIndex, 'npm run build --workspace @letter/web'],
  ] as const) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run \`npm run build\` (or ${hint}) first`);
  }
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'letter-e2e-'));
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [serverMain], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LETTER_DATA_DIR: dataDir,
      LETTER_RATE_LIMITS: 'off',
      LETTER_LOG_LEVEL: 'warn',
      LETTER_WEB_ROOT: join(repoRoot, 'packages/web/dist'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;

  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not become healthy in 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { url, stop, output: () => output };
}

/** Flags for running as root in a container; no network chatter besides the app's own. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium or throws: a missing browser fails the suite, it never skips it.
 * `extraArgs`: more flags, e.g. Chromium's fake microphone for voice notes.
 */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  const tried: string[] = [];
  const candidates: { path: string; args: string[] }[] = [];
  const fromEnv = process.env.LETTER_CHROMIUM;
  const flags = [...FLAGS, ...extraArgs];
  if (fromEnv) candidates.push({ path: fromEnv, args: flags });
  else if (existsSync('/usr/bin/chromium'))
    candidates.push({ path: '/usr/bin/chromium', args: flags });
  for (const candidate of candidates) {
    try {
      return await chromium.launch({
        executablePath: candidate.path,
        args: candidate.args,
        chromiumSandbox: false,
        timeout: 30_000,
      });
    } catch (error) {
      tried.push(`${candidate.path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  if (!fromEnv) {
    try {
      // Unpacks its own headless shell into /tmp; it brings the flags it needs.
      const sparticuz = (await import('@sparticuz/chromium')).default;
      const path = await sparticuz.executablePath();
      return await chromium.launch({
        executablePath: path,
        args: [...sparticuz.args, ...flags.filter((f) => !sparticuz.args.includes(f))],
        chromiumSandbox: false,
        timeout: 30_000,
      });
    } catch (error) {
      tried.push(`@sparticuz/chromium: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`no Chromium could start:\n${tried.join('\n')}`);
}

export function ensureScreenshotDir(): string {
  mkdirSync(screenshotDir, { recursive: true });
  return screenshotDir;
}

export const DESKTOP = { width: 1280, height: 800 };
/** Every e2e account's password. */
export const PASSWORD = 'correct horse battery';
export const WAIT = { timeout: 20_000 };

/**
 * A suite's pages, each in a fresh browser context (desktop size and en-GB unless `open` says
 * otherwise). The server's CSP allows no inline script or style: every violation and every
 * uncaught page error lands in `problems`, which each suite expects empty at its end.
 */
export class Pages {
  readonly problems: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  constructor(
    private readonly browser: Browser,
    private readonly url: string,
  ) {}

  async open(options: BrowserContextOptions = {}): Promise<Page> {
    const context = await this.browser.newContext({
      viewport: DESKTOP,
      locale: 'en-GB',
      ...options,
    });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT.timeout);
    page.on('pageerror', (error) => this.problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (/Content[- ]Security[- ]Policy/i.test(message.text())) this.problems.push(message.text());
    });
    if (process.env.LETTER_E2E_DEBUG) {
      const name = `page${this.contexts.length}`;
      page.on('console', (m) => console.log(name, 'console', m.text()));
      page.on('websocket', (ws) => {
        ws.on('framesent', (f) => console.log(name, '>>', String(f.payload).slice(0, 160)));
        ws.on('framereceived', (f) => console.log(name, '<<', String(f.payload).slice(0, 160)));
      });
    }
    await page.goto(this.url);
    return page;
  }

  async close(): Promise<void> {
    for (const context of this.contexts) await context.close().catch(() => undefined);
  }
}

/** Logs in from the login screen and waits for the chat list. */
export async function logIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'New chat' }).waitFor();
}
