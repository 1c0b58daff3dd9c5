// tier: integration (PostgreSQL)
import { afterAll, beforeAll, describe, it } from 'vitest';
import { describeEventStoreContract } from '../contract.js';
import { loadPg } from './driver.js';
import { PgEventStore } from './pg-store.js';
import { TEST_DATABASE_URL, requirePostgres, testSchemas } from './test-db.js';

// One schema for the file, emptied before each test (the contract wants an empty store each
// time), and one pool shared by the stores: a schema and fresh connections per test would
// spend most of the time in DDL and connection setup. The store's own schema creation and
// pool are tested in pg-store.test.ts.
const schemas = testSchemas('contract');
const schema = schemas.next();
const pool = new (loadPg().Pool)({ connectionString: TEST_DATABASE_URL, max: 4 });
// Each store listens to the pool's errors while it is open; between stores nobody would, and
// an idle connection the server ends would then be an uncaught exception.
pool.on('error', () => undefined);

beforeAll(async () => {
  await requirePostgres();
  const migrator = new PgEventStore({ pool, schema });
  await migrator.migrate();
  await migrator.close();
});
afterAll(async () => {
  await pool.end();
  await schemas.dropAll();
});

describeEventStoreContract(
  'PgEventStore',
  async () => {
    await pool.query(
      `DELETE FROM ${schema}.entries; DELETE FROM ${schema}.streams; DELETE FROM ${schema}.snapshots; DELETE FROM ${schema}.leases;`,
    );
    return new PgEventStore({ pool, schema, migrate: false });
  },
  { describe, it },
);
