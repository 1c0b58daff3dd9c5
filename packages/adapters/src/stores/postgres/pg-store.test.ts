// tier: integration (PostgreSQL)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpectedVersionConflictError, type LogEntry } from '@switchboard/core';
import { loadPg } from './driver.js';
import { PgEventStore, type PgEventStoreOptions } from './pg-store.js';
import { MIGRATE_LOCK_CLASS, PG_SCHEMA_VERSION, bootstrapSql, migrations } from './schema.js';
import { TEST_DATABASE_URL, adminQuery, requirePostgres, testSchemas } from './test-db.js';

const schemas = testSchemas('store');
const open: PgEventStore[] = [];
beforeAll(requirePostgres);
afterAll(async () => {
  await Promise.all(open.map((store) => store.close()));
  await schemas.dropAll();
});

function store(options: PgEventStoreOptions = {}): PgEventStore {
  const made = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: schemas.next(), ...options });
  open.push(made);
  return made;
}
/** Two instances, as two bot processes would be: separate pools, one schema. */
function twoInstances(): [PgEventStore, PgEventStore] {
  const schema = schemas.next();
  const a = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
  const b = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
  open.push(a, b);
  return [a, b];
}
const timer = (callId: string, id: string): LogEntry => ({ id, callId, at: 1, kind: 'timer', timer: 'keepAliveDue' });

describe('PgEventStore: schema', () => {
  it('migrates idempotently, and two instances migrating at once both succeed', async () => {
    const [a, b] = twoInstances();
    await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
    await a.migrate();
    const rows = await adminQuery<{ version: number }>(`SELECT version FROM ${a.schema}.migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
    const tables = await adminQuery<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [a.schema],
    );
    expect(tables.map((t) => t.table_name)).toEqual(['entries', 'leases', 'migrations', 'snapshots', 'streams']);
  });

  it('creates the schema on first use unless told not to; then says to run migrate()', async () => {
    const auto = store();
    await auto.appendToStream('c', [timer('c', 'a')]);
    expect(await auto.readStream('c')).toHaveLength(1);

    const manual = store({ migrate: false });
    await expect(manual.readStream('c')).rejects.toMatchObject({
      code: 'SWB_SCHEMA_MISSING',
      message: expect.stringContaining('migrate()'),
    });
    await manual.migrate();
    expect(await manual.readStream('c')).toEqual([]);
  });

  it('migrates a schema of version 3 to the live index, finding each ended call in its log; version 3 appends still work', async () => {
    const schema = schemas.next();
    await adminQuery(bootstrapSql(schema));
    const steps = migrations(schema);
    for (const version of [1, 2, 3]) {
      await adminQuery(steps[version - 1]!);
      await adminQuery(`INSERT INTO ${schema}.migrations (version) VALUES ($1)`, [version]);
    }
    const call = (callId: string, id: string, at: number, state: string, changeType = 'updated'): LogEntry => ({
      kind: 'notification',
      id,
      callId,
      at,
      changeType: changeType as 'updated',
      resourceUrl: `/communications/calls/${callId}`,
      target: { type: 'call' },
      resourceData: { '@odata.type': '#microsoft.graph.call', state },
    });
    const logs: LogEntry[][] = [
      [call('live', 'l1', 10, 'established')],
      [call('hungUp', 'h1', 10, 'established'), call('hungUp', 'h2', 20, 'Terminated'), call('hungUp', 'h3', 30, 'terminated')],
      [call('deleted', 'd1', 10, 'established'), call('deleted', 'd2', 40, 'established', 'deleted')],
      [{ kind: 'resync', id: 'r1', callId: 'resynced', at: 50, call: null, reason: 'test' } as LogEntry],
      [call('mentions', 'm1', 10, 'established'), { ...timer('mentions', 'terminated deleted 404'), at: 60 }],
    ];
    for (const entries of logs) {
      // as an instance of version 3 appends
      await adminQuery(`SELECT * FROM ${schema}.append_entries($1, NULL, $2, $3, $4, $5)`, [
        entries[0]!.callId,
        entries.map((e) => e.id),
        entries.map((e) => e.kind),
        entries.map((e) => e.at),
        entries.map((e) => JSON.stringify(e)),
      ]);
    }
    const upgraded = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
    open.push(upgraded);
    const live = async (since: number) => [...(await upgraded.listLiveStreams(since))].sort();
    expect(await live(0)).toEqual(['deleted', 'hungUp', 'live', 'mentions', 'resynced']);
    expect(await live(21)).toEqual(['deleted', 'live', 'mentions', 'resynced']);
    expect(await live(51)).toEqual(['live', 'mentions']);
    // an instance still on version 3 (rolling upgrade) appends through the old functions
    await adminQuery(`SELECT * FROM ${schema}.append_entries('old', NULL, ARRAY['o1'], ARRAY['timer'], ARRAY[1::float8], ARRAY['{}'])`);
    expect(await live(51)).toEqual(['live', 'mentions', 'old']);
  });

  it('refuses a schema migrated by a newer Switchboard', async () => {
    const first = store();
    await first.migrate();
    await adminQuery(`INSERT INTO ${first.schema}.migrations (version) VALUES (${PG_SCHEMA_VERSION + 1})`);
    const later = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: first.schema });
    open.push(later);
    await expect(later.listStreams()).rejects.toMatchObject({ code: 'SWB_SCHEMA_NEWER' });
  });

  it('stores entries with unique keys on (stream, position) and (stream, entry id)', async () => {
    const s = store();
    await s.migrate();
    const constraints = await adminQuery<{ def: string }>(
      `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
        JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 AND c.conrelid = $2::regclass ORDER BY 1`,
      [s.schema, `${s.schema}.entries`],
    );
    expect(constraints.map((c) => c.def)).toEqual(
      expect.arrayContaining(['PRIMARY KEY (stream_id, "position")', 'UNIQUE (stream_id, entry_id)']),
    );
  });
});

describe('PgEventStore: several instances', () => {
  it('two instances appending at the same expected version: exactly one wins, the other conflicts', async () => {
    const [a, b] = twoInstances();
    await Promise.all([a.migrate(), b.migrate()]);
    for (let round = 0; round < 15; round++) {
      const outcomes = await Promise.allSettled([
        a.appendToStream('race', [timer('race', `a${round}`)], { expectedVersion: round }),
        b.appendToStream('race', [timer('race', `b${round}`)], { expectedVersion: round }),
      ]);
      const won = outcomes.filter((o) => o.status === 'fulfilled');
      const lost = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(ExpectedVersionConflictError);
      expect(lost[0]).toMatchObject({ streamId: 'race', expectedVersion: round, actualVersion: round + 1 });
    }
    const read = await b.readStream('race');
    expect(read.map((e) => e.position)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('deduplicates by entry id across instances, even when they append at once', async () => {
    const [a, b] = twoInstances();
    await Promise.all([a.migrate(), b.migrate()]);
    const batch = [timer('c', 'x'), timer('c', 'y'), timer('c', 'z')];
    const results = await Promise.all([
      a.appendToStream('c', batch),
      b.appendToStream('c', batch),
      a.appendToStream('c', [timer('c', 'y')]),
      b.appendToStream('c', [timer('c', 'w'), timer('c', 'x')]),
    ]);
    const read = await a.readStream('c');
    expect(read.map((e) => e.id).sort()).toEqual(['w', 'x', 'y', 'z']);
    expect(read.map((e) => e.position)).toEqual([1, 2, 3, 4]);
    expect(results.reduce((n, r) => n + r.appended.length, 0)).toBe(4);
    expect(results.reduce((n, r) => n + r.duplicates.length, 0)).toBe(5);
  });

  it('what one instance appends and snapshots, another reads', async () => {
    const [a, b] = twoInstances();
    await a.appendToStream('c', [timer('c', '1'), timer('c', '2')]);
    await a.writeSnapshot('c', { machineVersion: 'm', position: 2, value: 'ringing', context: { n: 'ü' } });
    expect((await b.readStream('c', { after: 1 })).map((e) => e.id)).toEqual(['2']);
    expect(await b.readSnapshot('c')).toEqual({ machineVersion: 'm', position: 2, value: 'ringing', context: { n: 'ü' } });
    expect(await b.listStreams()).toEqual(['c']);
  });
});

describe('PgEventStore: errors', () => {
  it('needs a connection string: without one or DATABASE_URL it says so', () => {
    const saved = process.env['DATABASE_URL'];
    delete process.env['DATABASE_URL'];
    try {
      expect(() => new PgEventStore({ schema: 'x' })).toThrow(
        expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT', message: expect.stringContaining('DATABASE_URL') }),
      );
    } finally {
      if (saved === undefined) delete process.env['DATABASE_URL'];
      else process.env['DATABASE_URL'] = saved;
    }
  });

  it('uses DATABASE_URL when no connection string is given', async () => {
    const saved = process.env['DATABASE_URL'];
    process.env['DATABASE_URL'] = TEST_DATABASE_URL;
    let fromEnv: PgEventStore;
    try {
      fromEnv = new PgEventStore({ schema: schemas.next() });
      open.push(fromEnv);
    } finally {
      if (saved === undefined) delete process.env['DATABASE_URL'];
      else process.env['DATABASE_URL'] = saved;
    }
    await fromEnv.appendToStream('c', [timer('c', 'a')]);
    expect(await fromEnv.listStreams()).toEqual(['c']);
  });

  it('refuses a schema name it would have to quote', () => {
    for (const schema of ['Public', 'a-b', 'x; DROP TABLE y', '', 'a'.repeat(49)]) {
      expect(() => new PgEventStore({ connectionString: TEST_DATABASE_URL, schema })).toThrow(
        expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
      );
    }
  });

  it('says SWB_STORE_UNAVAILABLE, naming the server without the password, when PostgreSQL does not answer', async () => {
    const down = new PgEventStore({ connectionString: 'postgres://bot:s3cret@127.0.0.1:1/calls', schema: 'x', connectTimeoutMs: 2_000 });
    try {
      const error = await down.readStream('c').then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error).toMatchObject({ code: 'SWB_STORE_UNAVAILABLE', message: expect.stringContaining('127.0.0.1:1/calls') });
      expect(error?.message).not.toContain('s3cret');
      expect(error?.cause).toBeDefined();
    } finally {
      await down.close();
    }
  });

  it('a connection the server ends during migrate() fails the migration, and throws nothing anywhere else', async () => {
    // pg emits 'error' on a client whose connection ends, besides failing its query: on a
    // client checked out of the pool nobody listens, and that was an uncaught exception
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const applicationName = `swb-test-${randomBytes(4).toString('hex')}`;
    const s = store({ applicationName });
    // another session holds the migration lock, so migrate() waits for it on its connection
    const holder = new (loadPg().Client)({ connectionString: TEST_DATABASE_URL });
    holder.on('error', () => undefined);
    try {
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATE_LOCK_CLASS, s.schema]);
      const migrating = s.migrate().then(
        () => undefined,
        (error: unknown) => error,
      );
      const waiting = async () =>
        (await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [applicationName]))
          .length > 0;
      for (let i = 0; !(await waiting()); i++) {
        if (i > 200) throw new Error('migrate() never waited for the lock');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await adminQuery('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(await migrating).toMatchObject({ code: 'SWB_STORE_UNAVAILABLE' });
      await new Promise((resolve) => setTimeout(resolve, 100)); // the connection's 'end' comes after the failed query
      expect(uncaught).toEqual([]);
      // and the store goes on with a fresh connection once the lock is free
      await holder.query('ROLLBACK');
      await s.migrate();
    } finally {
      process.off('uncaughtException', onUncaught);
      await holder.end().catch(() => undefined);
    }
  });

  it('refuses ids PostgreSQL cannot index or hold, writing nothing', async () => {
    const s = store();
    await expect(s.appendToStream('c', [timer('c', 'a'), timer('c', 'b\u0000')])).rejects.toMatchObject({ code: 'SWB_INVALID_ENTRY' });
    await expect(s.appendToStream('c', [timer('c', 'é'.repeat(600))])).rejects.toMatchObject({ code: 'SWB_INVALID_ENTRY' });
    const long = 'c'.repeat(1_100);
    await expect(s.appendToStream(long, [timer(long, 'a')])).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    expect(await s.listStreams()).toEqual([]);
  });

  it('refuses a nonsense expected version', async () => {
    const s = store();
    await expect(s.appendToStream('c', [timer('c', 'a')], { expectedVersion: -1 })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
  });

  it('throws SWB_STORE_CLOSED after close, which is idempotent', async () => {
    const s = store();
    await s.appendToStream('c', [timer('c', 'a')]);
    await s.close();
    await s.close();
    await expect(s.readStream('c')).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
    await expect(s.acquireLease('c', 'me', 1_000)).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
  });

  it('leaves a pool it was given open on close', async () => {
    const pool = new (loadPg().Pool)({ connectionString: TEST_DATABASE_URL, max: 2 });
    pool.on('error', () => undefined); // its idle connections' errors, once the store stopped listening
    try {
      const s = new PgEventStore({ pool, schema: schemas.next() });
      await s.appendToStream('c', [timer('c', 'a')]);
      await s.close();
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });
});

describe('loadPg', () => {
  it('loads pg on first use and says what to do when it is missing or broken', () => {
    expect(typeof loadPg().Pool).toBe('function');
    const missing = Object.assign(new Error("Cannot find module 'pg'"), { code: 'MODULE_NOT_FOUND' });
    expect(() =>
      loadPg(() => {
        throw missing;
      }),
    ).toThrow(expect.objectContaining({ code: 'SWB_DEPENDENCY_MISSING', cause: missing }));
    const broken = new TypeError('Class extends value [object Module] is not a constructor or null');
    expect(() =>
      loadPg(() => {
        throw broken;
      }),
    ).toThrow(expect.objectContaining({ code: 'SWB_DEPENDENCY_BROKEN', cause: broken, message: expect.stringContaining('--conditions') }));
  });
});
