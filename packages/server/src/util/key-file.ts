/**
 * Key files in the data dir (the JWT secret today, every key to come): private to the server's
 * user, and never seen half-written. A crash at any point leaves either no key file or a whole
 * one, because the contents are written and fsynced under a temporary name first and only then
 * given the real name in one step (link or rename), after which the directory is fsynced so the
 * name itself survives power loss.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/**
 * Creates `dir` (mode 0700), or narrows an existing one that others may read to 0700 (a data
 * dir made by an older version holds a world-readable database). A directory that is not ours
 * or is shared on purpose (sticky, like /tmp) is left alone: the key files in it are 0600.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  if (process.platform === 'win32') return;
  const { mode, uid } = statSync(dir);
  if (uid !== process.getuid?.() || (mode & 0o1000) !== 0) return;
  narrowMode(dir, PRIVATE_DIR);
}

/** The key file's contents, trimmed, or null when there is none. Narrows its mode to 0600. */
export function readKeyFile(file: string): string | null {
  let contents: string;
  try {
    contents = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  narrowMode(file, PRIVATE_FILE);
  return contents.trim();
}

/**
 * Writes `contents` to `file` (mode 0600) atomically and durably, in a private directory. With
 * `replace: false` (the default) an existing file wins, as when another process created the key
 * a moment earlier: the file is never overwritten and the call returns what it holds. With
 * `replace: true` the new contents take the name (key rotation). Returns the file's contents.
 */
export function writeKeyFileAtomic(
  file: string,
  contents: string,
  options: { replace?: boolean } = {},
): string {
  const dir = dirname(file);
  ensurePrivateDir(dir);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', PRIVATE_FILE);
  try {
    writeSync(fd, contents);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  let result = contents;
  try {
    if (options.replace) renameSync(temp, file);
    else result = linkOnce(temp, file) ?? contents;
  } finally {
    if (!options.replace) unlinkQuietly(temp);
  }
  fsyncDir(dir);
  return result;
}

/**
 * Gives `temp` the name `file` unless `file` exists: link(2) fails with EEXIST instead of
 * replacing, so two processes creating the same key agree on one. Returns the existing contents
 * when `file` was there, null when `temp` took the name.
 */
function linkOnce(temp: string, file: string): string | null {
  try {
    linkSync(temp, file);
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return readKeyFile(file);
    // Filesystems without hard links: rename, after a check (a narrow race, but never torn).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      const existing = readKeyFile(file);
      if (existing !== null) return existing;
      renameSync(temp, file);
      return null;
    }
    throw error;
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    // Windows cannot open or fsync a directory; there the rename is what durability we get.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function narrowMode(path: string, mode: number): void {
  if (process.platform === 'win32') return;
  const current = statSync(path).mode & 0o777;
  if ((current & ~mode) === 0) return;
  try {
    chmodSync(path, current & mode);
  } catch {
    // Not ours to change (another owner): the key is still written 0600 inside it.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (renamed into place).
  }
}
