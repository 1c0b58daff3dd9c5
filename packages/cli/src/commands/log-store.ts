import { existsSync } from 'node:fs';
import { SwitchboardError, type ArchivableStore, type EventStore } from '@switchboard/core';
import { PgEventStore, ShardedPgEventStore, SqliteEventStore } from '@switchboard/adapters';
import { UsageError } from '../output.js';

/** Whether a `--store` names a PostgreSQL database (a `postgres://` or `postgresql://` URL). */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(text);
}

/**
 * Opens the log a command writes to, from its `--store` values: a SQLite file, a PostgreSQL URL
 * (with `--schema`), or several PostgreSQL URLs, the databases a `ShardedPgEventStore` spreads
 * calls across, in the bot's order. Bad usage throws `UsageError` with `help`; a file that is
 * not there, or a store that cannot be made, `SWB_CLI_INPUT`.
 */
export function openLog(
  locations: readonly string[],
  schema: string | undefined,
  command: string,
  help: string,
): EventStore & ArchivableStore {
  const location = locations[0];
  if (location === undefined || locations.some((l) => l.trim() === '')) throw new UsageError(`${command} needs --store <log>`, help);
  const postgres = isPostgresUrl(location);
  if (schema !== undefined && !postgres) throw new UsageError('--schema is for a PostgreSQL --store', help);
  if (locations.length > 1 && !locations.every(isPostgresUrl)) {
    throw new UsageError('--store given more than once names PostgreSQL shards: every one a postgres:// URL', help);
  }
  if (!postgres && !existsSync(location)) throw new SwitchboardError('SWB_CLI_INPUT', `cannot read ${location}: ENOENT`);
  const pg = (connectionString: string) => new PgEventStore({ connectionString, ...(schema !== undefined ? { schema } : {}) });
  try {
    if (locations.length > 1) return new ShardedPgEventStore({ shards: locations.map(pg) });
    return postgres ? pg(location) : new SqliteEventStore({ path: location, writer: 'inline' });
  } catch (error) {
    if (error instanceof SwitchboardError) throw error;
    throw new SwitchboardError('SWB_CLI_INPUT', `cannot open ${postgres ? 'the PostgreSQL log' : location}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
