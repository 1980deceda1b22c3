/**
 * Online backup and restore of a SQLite data dir. The backup is one gzip-compressed tar:
 * `letter-backup.json` (what it is), `letter.db` (a consistent snapshot taken with SQLite's online
 * backup API while Letter keeps serving) and the data dir's other files (the JWT secret, …).
 * Restore unpacks it into an empty directory and checks the database before saying it is done.
 * PostgreSQL deployments use pg_dump/pg_restore instead (`postgresBackupAdvice`).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import Database from 'better-sqlite3';
import { latestVersion } from '../store/sqlite/migrations.js';
import { newerSchemaMessage } from '../store/shared/schema-version.js';
import { readTarGz, writeTarGz, type TarEntry } from './tar.js';

export const DB_FILE = 'letter.db';
const MANIFEST = 'letter-backup.json';
const FORMAT = 1;

/** Files of a data dir that belong to the live database: the snapshot stands for them. */
const LIVE = new Set([DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`, `${DB_FILE}-journal`]);

export interface BackupManifest {
  format: number;
  createdAt: string;
  engine: 'sqlite';
  schemaVersion: number;
  messages: number;
}

export interface BackupResult {
  file: string;
  manifest: BackupManifest;
  /** Files of the data dir besides the database, as stored (e.g. `jwt-secret`). */
  files: string[];
  bytes: number;
}

/** Why a backup or restore refused: printed as is, exit code 1. */
export class OpsError extends Error {}

export function postgresBackupAdvice(): string {
  return [
    'LETTER_DATABASE_URL is set: Letter keeps its data in PostgreSQL, and `npm run backup` only',
    'snapshots a SQLite data dir. Back PostgreSQL up with its own tools (consistent while Letter runs):',
    '',
    '  pg_dump --format=custom --file=letter-$(date +%F).dump "$LETTER_DATABASE_URL"',
    '',
    'and restore into an empty database with',
    '',
    '  pg_restore --no-owner --exit-on-error --dbname="$NEW_DATABASE_URL" letter-YYYY-MM-DD.dump',
    '',
    'Keep LETTER_JWT_SECRET (every node has the same one) with the dump: without it every',
    'session has to log in again.',
  ].join('\n');
}

/** Every regular file and directory under `dir`, relative, parents first; skips `skip`. */
async function walk(dir: string, skip: (relativePath: string) => boolean): Promise<TarEntry[]> {
  const entries: TarEntry[] = [];
  const visit = async (at: string): Promise<void> => {
    for (const dirent of await readdir(join(dir, at), { withFileTypes: true })) {
      const path = at ? `${at}/${dirent.name}` : dirent.name;
      if (skip(path)) continue;
      const full = join(dir, path);
      const info = await stat(full);
      if (dirent.isDirectory()) {
        entries.push({ name: path, type: 'directory', mode: info.mode });
        await visit(path);
      } else if (dirent.isFile()) {
        entries.push({ name: path, type: 'file', mode: info.mode, source: full });
      }
    }
  };
  await visit('');
  return entries;
}

/**
 * Snapshots the SQLite database in `dataDir` and its other files into `out` (which must not
 * exist). Letter may be running and writing meanwhile: its writers are never blocked (WAL), and
 * the snapshot is the database as of one moment.
 */
export async function backupDataDir(dataDir: string, out: string): Promise<BackupResult> {
  const source = join(dataDir, DB_FILE);
  if (!existsSync(source)) {
    throw new OpsError(`no database at ${source}: is LETTER_DATA_DIR right?`);
  }
  out = resolve(out);
  if (existsSync(out)) throw new OpsError(`${out} exists already: choose a new file name`);
  if (!existsSync(dirname(out))) throw new OpsError(`${dirname(out)} does not exist`);

  // The snapshot is made next to the output (same file system, likely room for it).
  const work = await mkdtemp(join(dirname(out), '.letter-backup-'));
  const snapshot = join(work, DB_FILE);
  const partial = `${out}.partial`;
  try {
    // Read-write, though it only reads: after a crash (Letter stopped, a WAL left behind) only a
    // writable connection may recover the WAL. While Letter runs it never writes or checkpoints.
    const db = new Database(source, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      // All pages in one step: one read transaction, so the copy is of one moment even while
      // Letter commits (a step-wise copy restarts whenever another connection writes).
      await db.backup(snapshot, { progress: () => 0x7fffffff });
    } finally {
      db.close();
    }
    const copy = new Database(snapshot, { fileMustExist: true });
    let manifest: BackupManifest;
    try {
      const check = copy.pragma('integrity_check', { simple: true });
      if (check !== 'ok') throw new OpsError(`the snapshot failed integrity_check: ${check}`);
      // A standalone file: no -wal beside it to carry along.
      copy.pragma('journal_mode = DELETE');
      manifest = {
        format: FORMAT,
        createdAt: new Date().toISOString(),
        engine: 'sqlite',
        schemaVersion: copy.pragma('user_version', { simple: true }) as number,
        messages: (copy.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n,
      };
    } finally {
      copy.close();
    }

    const inDataDir = relative(resolve(dataDir), out);
    const others = await walk(
      dataDir,
      (path) =>
        LIVE.has(path) ||
        path.endsWith('.partial') ||
        path.split('/').some((part) => part.startsWith('.letter-backup-')) ||
        path === inDataDir.split(sep).join('/'),
    );
    const entries: TarEntry[] = [
      { name: MANIFEST, type: 'file', mode: 0o644, source: Buffer.from(JSON.stringify(manifest)) },
      { name: DB_FILE, type: 'file', mode: 0o600, source: snapshot },
      ...others,
    ];
    await rm(partial, { force: true });
    await writeTarGz(partial, entries);
    await rename(partial, out);
    const { size } = await stat(out);
    return {
      file: out,
      manifest,
      files: others.filter((e) => e.type === 'file').map((e) => e.name),
      bytes: size,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    await rm(partial, { force: true });
  }
}

/** A stored name as a path inside `root`, or an error for anything that would leave it. */
function inside(root: string, name: string): string {
  const clean = normalize(name);
  if (!name || isAbsolute(name) || clean.startsWith('..') || clean.split(sep).includes('..')) {
    throw new OpsError(`refusing the archive entry ${JSON.stringify(name)}`);
  }
  return join(root, clean);
}

/**
 * Unpacks the backup `file` into `dataDir`, which must be empty or not exist yet, and checks the
 * restored database (integrity_check, a schema this code can run). On any failure what was
 * written is removed again.
 */
export async function restoreDataDir(file: string, dataDir: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new OpsError(`${file} does not exist`);
  dataDir = resolve(dataDir);
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new OpsError(`${dataDir} is not empty: restore into a new or empty directory`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  let manifestText = '';
  try {
    await readTarGz(file, {
      directory: async (name, mode) => {
        await mkdir(inside(dataDir, name), { recursive: true, mode: mode & 0o777 });
      },
      file: async (name, mode, size) => {
        if (name === MANIFEST) {
          if (size > 64 * 1024) throw new OpsError('not a Letter backup (manifest too large)');
          return {
            write: async (chunk) => void (manifestText += chunk.toString('utf8')),
            end: async () => {},
          };
        }
        const path = inside(dataDir, name);
        await mkdir(dirname(path), { recursive: true });
        const handle = await open(path, 'wx', mode & 0o777);
        return {
          write: async (chunk) => void (await handle.write(chunk)),
          end: async () => {
            await handle.sync();
            await handle.close();
          },
        };
      },
    });
    let manifest: BackupManifest;
    try {
      manifest = JSON.parse(manifestText) as BackupManifest;
    } catch {
      throw new OpsError(`${file} is not a Letter backup (no ${MANIFEST})`);
    }
    if (manifest.format !== FORMAT) {
      throw new OpsError(`backup format ${manifest.format} is not one this Letter reads`);
    }
    const db = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: true });
    try {
      const check = db.pragma('integrity_check', { simple: true });
      if (check !== 'ok')
        throw new OpsError(`the restored database failed integrity_check: ${check}`);
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > latestVersion) throw new OpsError(newerSchemaMessage(version, latestVersion));
    } finally {
      db.close();
    }
    return manifest;
  } catch (error) {
    for (const entry of await readdir(dataDir)) {
      await rm(join(dataDir, entry), { recursive: true, force: true });
    }
    throw error;
  }
}
