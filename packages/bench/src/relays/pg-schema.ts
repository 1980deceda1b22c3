/**
 * The tables of the scale-out floor (ws-pg.ts), made by the harness before the nodes start:
 * Letter's message columns and indexes on PostgreSQL (store/postgres/migrations.ts), less the
 * columns a 1:1 text message leaves empty.
 */
export function floorClusterSchema(schema: string): string {
  return `CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.conversations (
      id text COLLATE "C" PRIMARY KEY, last_seq integer NOT NULL);
    CREATE TABLE ${schema}.messages (
      conversation_id text COLLATE "C" NOT NULL REFERENCES ${schema}.conversations(id),
      seq integer NOT NULL CHECK (seq > 0), id text COLLATE "C" NOT NULL UNIQUE,
      sender_id text COLLATE "C", client_msg_id text COLLATE "C", body text NOT NULL,
      created_at bigint NOT NULL, deleted_at bigint,
      search_vector tsvector NOT NULL DEFAULT '',
      PRIMARY KEY (conversation_id, seq), UNIQUE (sender_id, client_msg_id));
    CREATE INDEX messages_search ON ${schema}.messages USING gin (search_vector);
    CREATE INDEX messages_by_sender_live ON ${schema}.messages (sender_id, conversation_id, seq)
      WHERE deleted_at IS NULL;`;
}
