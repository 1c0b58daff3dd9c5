/**
 * Test support for the PostgreSQL store (not exported): the local test database, a schema
 * per store so that parallel test files never collide, and a loud failure when PostgreSQL
 * is not answering (tests must not pass by skipping).
 */
import { randomBytes } from 'node:crypto';
import type { ClientConfig, Client, QueryResultRow } from 'pg';
import { loadPg } from './driver.js';
import { PgEventStore } from './pg-store.js';
import { ShardedPgEventStore } from './sharded.js';

const BASE_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The test database, with `synchronous_commit = off` for these sessions only: a commit
 * then does not wait for its fsync, which makes the tests several times faster and changes
 * nothing they check (visibility, locking and constraints are the same; only what survives
 * a server crash differs).
 */
export const TEST_DATABASE_URL = withOption(BASE_URL, '-c synchronous_commit=off');

function withOption(url: string, option: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', [parsed.searchParams.get('options'), option].filter(Boolean).join(' '));
  return parsed.toString();
}

/**
 * A client of the test database that cannot crash the test process: a connection the server
 * ends (shutdown, a terminated backend) makes pg emit 'error' on the client besides failing
 * the query in flight, and an 'error' nobody listens to is an uncaught exception.
 */
function testClient(config: ClientConfig = {}): Client {
  const client = new (loadPg().Client)({ connectionString: TEST_DATABASE_URL, ...config });
  client.on('error', () => undefined); // the query that was running (if any) rejects with it
  return client;
}

/** The second database of the sharded tests, on the same server (created by `requireShardDatabases`). */
const TEST_SHARD_DATABASE = 'test_shard2';

/** The test databases calls are partitioned across in the sharded tests: the test database, then `test_shard2`. */
export const TEST_SHARD_URLS: readonly string[] = [TEST_DATABASE_URL, withDatabase(TEST_DATABASE_URL, TEST_SHARD_DATABASE)];

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** `requirePostgres`, and creates the second shard's database when it is missing (two files at once may race: fine). */
export async function requireShardDatabases(): Promise<void> {
  await requirePostgres();
  const client = testClient();
  try {
    await client.connect();
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEST_SHARD_DATABASE]);
    if (rows.length === 0) {
      // 42P04: another test file created it meanwhile; 23505: both inserted the catalog row at once
      await client.query(`CREATE DATABASE ${TEST_SHARD_DATABASE}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Throws a message saying how to start PostgreSQL when the test database does not answer. */
export async function requirePostgres(): Promise<void> {
  const client = testClient({ connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `PostgreSQL is not answering at ${BASE_URL} (${(error as Error).message}). ` +
        'Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, ' +
        'or point SWITCHBOARD_TEST_DATABASE_URL at another database.',
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Hands out fresh schema names and drops them all at the end of the file. */
export function testSchemas(tag: string) {
  const made: string[] = [];
  const run = randomBytes(3).toString('hex');
  return {
    next(): string {
      const name = `swb_t_${tag}_${process.pid}_${run}_${made.length}`;
      made.push(name);
      return name;
    },
    async dropAll(): Promise<void> {
      if (made.length === 0) return;
      for (const url of TEST_SHARD_URLS) {
        const client = testClient({ connectionString: url });
        try {
          await client.connect();
          await client.query(made.map((s) => `DROP SCHEMA IF EXISTS ${s} CASCADE;`).join('\n'));
        } catch (error) {
          // the second database exists only once a sharded test made it
          if (url === TEST_DATABASE_URL || (error as { code?: string }).code !== '3D000') throw error;
        } finally {
          await client.end().catch(() => undefined);
        }
      }
    },
  };
}

/** Runs one statement on the test database outside any store (to inspect or to sabotage). */
export async function adminQuery<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
  const client = testClient();
  try {
    await client.connect();
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `adminQuery` on every shard database of the sharded tests, the rows of each one after the other. */
export async function adminQueryShards<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<R[]> {
  const rows: R[] = [];
  for (const connectionString of TEST_SHARD_URLS) {
    const client = testClient({ connectionString });
    try {
      await client.connect();
      rows.push(...(await client.query<R>(text, values)).rows);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return rows;
}

/**
 * For a test file of sharded stores: a pool on each of the two test databases (`test` and
 * `test_shard2`), one fresh schema (the same name in both), and `store()` making a
 * `ShardedPgEventStore` over them. Call `setup` in `beforeAll` (creates the second database if
 * needed and migrates the schema in both) and `teardown` in `afterAll`.
 */
export function testShards(tag: string) {
  const schemas = testSchemas(tag);
  const schema = schemas.next();
  const pools = TEST_SHARD_URLS.map((connectionString) => {
    const pool = new (loadPg().Pool)({ connectionString, max: 3 });
    pool.on('error', () => undefined);
    return pool;
  });
  const store = (migrate = false) => new ShardedPgEventStore({ shards: pools.map((pool) => new PgEventStore({ pool, schema, migrate })) });
  return {
    schema,
    pools,
    store,
    async setup(): Promise<void> {
      await requireShardDatabases();
      const migrator = store(true);
      await migrator.migrate();
      await migrator.close();
    },
    async teardown(): Promise<void> {
      await Promise.all(pools.map((p) => p.end()));
      await schemas.dropAll();
    },
  };
}
