import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasAppendNotifier, hasCallLeases, hasReadiness } from '@switchboard/core';
import { PgEventStore } from './postgres/pg-store.js';
import { TEST_DATABASE_URL } from './postgres/test-db.js';
import { SqliteEventStore } from './sqlite/sqlite-store.js';

// The runtime finds leases, append notifications and readiness through core's type guards:
// each store must pass the guards for exactly the capabilities it declares.
describe('the stores declare their capabilities', () => {
  it('PostgreSQL: leases and append notifications', async () => {
    const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
    try {
      expect([hasCallLeases(store), hasAppendNotifier(store), hasReadiness(store)]).toEqual([true, true, false]);
    } finally {
      await store.close();
    }
  });

  it('SQLite: a readiness (its writer thread), neither leases nor notifications', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-capabilities-'));
    const store = new SqliteEventStore({ path: join(dir, 'calls.db') });
    try {
      await store.ready();
      expect([hasCallLeases(store), hasAppendNotifier(store), hasReadiness(store)]).toEqual([false, false, true]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
