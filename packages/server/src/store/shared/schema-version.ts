/** What a database newer than the code answers (both engines): never migrated, never opened. */
export function newerSchemaMessage(found: number, known: number): string {
  return (
    `database schema version ${found} is newer than this code (${known}): it was written by a ` +
    `newer Letter. Run that version again, or restore a backup taken before the upgrade.`
  );
}
