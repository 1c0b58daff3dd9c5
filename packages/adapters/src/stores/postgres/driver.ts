/**
 * `pg` is loaded when a PostgreSQL store is first made, not when the package is imported:
 * bots on SQLite or memory never load it, and a `pg` that cannot load fails with a
 * `SwitchboardError` saying why instead of breaking every import of the package.
 */
import { createRequire } from 'node:module';
import { SwitchboardError } from '@switchboard/core';
import type pg from 'pg';

/** The `pg` module. */
export type PgDriver = typeof pg;

const requireFromHere = createRequire(import.meta.url);
let loaded: PgDriver | undefined;

/** Loads `pg` (once), or throws `SWB_DEPENDENCY_MISSING` / `SWB_DEPENDENCY_BROKEN`. */
export function loadPg(load: (id: string) => unknown = requireFromHere): PgDriver {
  if (loaded && load === requireFromHere) return loaded;
  let driver: PgDriver;
  try {
    driver = load('pg') as PgDriver;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new SwitchboardError('SWB_DEPENDENCY_MISSING', 'the PostgreSQL event store needs pg: install it with `pnpm add pg`', {
        cause: error,
      });
    }
    throw new SwitchboardError(
      'SWB_DEPENDENCY_BROKEN',
      `pg failed to load (${(error as Error)?.message ?? String(error)}). If Node runs with --conditions=import ` +
        '(some test runners pass their resolve conditions to Node), require() inside pg picks the ESM build of pg-pool; ' +
        "drop 'import' from the conditions given to Node",
      { cause: error },
    );
  }
  if (load === requireFromHere) loaded = driver;
  return driver;
}
