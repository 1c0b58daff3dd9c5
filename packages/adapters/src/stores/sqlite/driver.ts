/**
 * better-sqlite3 is an optional peer dependency: only bots that use the SQLite store need
 * its native build. It is loaded on first use, never at import time.
 */
import { createRequire } from 'node:module';
import { SwitchboardError } from '@switchboard/core';
import type BetterSqlite3 from 'better-sqlite3';

/** The better-sqlite3 `Database` constructor. */
export type SqliteDriver = typeof BetterSqlite3;

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads better-sqlite3, or throws `SWB_DEPENDENCY_MISSING` saying how to install it.
 * `load` is for tests (a module resolver that fails); it defaults to Node's `require`.
 */
export function loadSqliteDriver(load: (id: string) => unknown = requireFromHere): SqliteDriver {
  let loaded: unknown;
  try {
    loaded = load('better-sqlite3');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new SwitchboardError(
        'SWB_DEPENDENCY_MISSING',
        'the SQLite event store needs the optional peer dependency better-sqlite3: install it with `pnpm add better-sqlite3` (or npm install better-sqlite3)',
        { cause: error },
      );
    }
    // Installed but unusable: usually a native build for another Node version.
    throw new SwitchboardError(
      'SWB_DEPENDENCY_BROKEN',
      `better-sqlite3 is installed but failed to load (${(error as Error)?.message ?? String(error)}); rebuild it for this Node version with \`npm rebuild better-sqlite3\``,
      { cause: error },
    );
  }
  const driver = (loaded as { default?: unknown }).default ?? loaded;
  if (typeof driver !== 'function') {
    throw new SwitchboardError('SWB_DEPENDENCY_BROKEN', 'better-sqlite3 loaded but does not export a Database constructor');
  }
  return driver as SqliteDriver;
}
