/**
 * PostgreSQL stores for tests: each in a schema of its own (`letter_<random>`), dropped again
 * on cleanup, so concurrent CI runs and reruns against one database never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../store.js';
import { openPostgresStore, type PostgresStoreOptions } from './open.js';

export const freshSchemaName = (): string => `letter_${randomBytes(6).toString('hex')}`;

/**
 * A connected client of its own (not through any store); with `schema`, seeing the tables as a
 * store in that schema does (its `search_path`). The caller ends it.
 */
export async function connectClient(url: string, schema?: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: url,
    ...(schema !== undefined && { options: `-c search_path=${schema}` }),
  });
  await client.connect();
  return client;
}

/** Runs one statement on a short-lived connection of its own (`connectClient`). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
  schema?: string,
): Promise<R[]> {
  const client = await connectClient(url, schema);
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  // The name comes from freshSchemaName (hex only); identifiers cannot be bound parameters.
  if (!/^letter_[0-9a-f]+$/.test(schema)) throw new Error(`refusing to drop ${schema}`);
  await adminQuery(url, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

export interface TestPostgresStore {
  store: Store;
  schema: string;
  /** Closes the store and drops its schema. */
  cleanup: () => Promise<void>;
}

export async function openTestPostgresStore(
  url: string,
  options: Partial<PostgresStoreOptions> = {},
): Promise<TestPostgresStore> {
  const schema = options.schema ?? freshSchemaName();
  const store = await openPostgresStore({ url, schema, maxConnections: 8, ...options });
  return {
    store,
    schema,
    cleanup: async () => {
      await store.close();
      await dropSchema(url, schema);
    },
  };
}
