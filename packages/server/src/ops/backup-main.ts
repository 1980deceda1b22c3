/**
 * `npm run backup -- --out FILE` and `npm run restore -- FILE --data-dir DIR` (README,
 * "Backups"). Reads LETTER_DATA_DIR and LETTER_DATABASE_URL like the server. Exit codes: 0 done,
 * 1 refused or failed (nothing half-written is left), 2 wrong usage or a PostgreSQL deployment.
 */
import { loadConfig } from '../config.js';
import { OpsError, backupDataDir, postgresBackupAdvice, restoreDataDir } from './backup.js';

function usage(): never {
  console.error(
    'usage: npm run backup -- --out FILE\n       npm run restore -- FILE --data-dir DIR',
  );
  process.exit(2);
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) usage();
  args.splice(at, 2);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const config = loadConfig();
  if (config.databaseUrl) {
    console.error(postgresBackupAdvice());
    return 2;
  }
  if (command === 'backup') {
    const out = option(args, '--out');
    if (!out || args.length > 0) usage();
    const result = await backupDataDir(config.dataDir, out);
    const { manifest } = result;
    console.log(
      `backup: wrote ${result.file} (${result.bytes} bytes): schema version ` +
        `${manifest.schemaVersion}, ${manifest.messages} messages, files: ` +
        `${[...new Set(['letter.db', ...result.files])].join(', ')}`,
    );
    if (config.jwtSecret) {
      console.log(
        'backup: LETTER_JWT_SECRET is set in the environment, so the secret is not in the ' +
          'backup: keep your environment file with it, or every session must log in again.',
      );
    }
    return 0;
  }
  if (command === 'restore') {
    const dataDir = option(args, '--data-dir');
    const [file, ...rest] = args;
    if (!dataDir || !file || rest.length > 0) usage();
    const manifest = await restoreDataDir(file, dataDir);
    console.log(
      `restore: ${dataDir} now holds the backup of ${manifest.createdAt} (schema version ` +
        `${manifest.schemaVersion}, ${manifest.messages} messages). Start Letter with ` +
        `LETTER_DATA_DIR=${dataDir}; it migrates an older schema on start.`,
    );
    return 0;
  }
  return usage();
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      error instanceof OpsError ? `error: ${error.message}` : ((error as Error).stack ?? error),
    );
    process.exit(1);
  },
);
