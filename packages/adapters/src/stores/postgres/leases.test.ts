// tier: integration (PostgreSQL)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseSql } from './leases.js';
import { PgEventStore } from './pg-store.js';
import { TEST_DATABASE_URL, adminQuery, requirePostgres, testSchemas } from './test-db.js';

// One schema and two instances (as two bot processes: separate pools) for the file; each
// test takes its own call ids.
const schemas = testSchemas('lease');
const schema = schemas.next();
const a = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 });
const b = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 4 });
let calls = 0;
const nextCall = () => `call-${++calls}`;

beforeAll(async () => {
  await requirePostgres();
  await a.migrate();
});
afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
  await schemas.dropAll();
});

/** Waits until the database's clock has passed `when` (leases lapse by that clock, not ours). */
async function untilDatabaseTimePasses(when: Date): Promise<void> {
  for (;;) {
    const [row] = await adminQuery<{ passed: boolean }>('SELECT now() > $1::timestamptz AS passed', [when]);
    if (row?.passed) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('PgEventStore leases', () => {
  it('one owner at a time: a second owner is told who holds the lease', async () => {
    const call = nextCall();
    const first = await a.acquireLease(call, 'instance-a', 10_000);
    expect(first).toMatchObject({ acquired: true, lease: { streamId: call, owner: 'instance-a', token: 1 } });
    const second = await b.acquireLease(call, 'instance-b', 10_000);
    expect(second).toMatchObject({ acquired: false, holder: { owner: 'instance-a', token: 1 } });
    expect(await b.getLease(call)).toMatchObject({ owner: 'instance-a' });
    // Other calls are other leases.
    expect(await b.acquireLease(nextCall(), 'instance-b', 10_000)).toMatchObject({ acquired: true });
  });

  it('reports expiry by the database clock, and the time left', async () => {
    const call = nextCall();
    const [row] = await adminQuery<{ now: Date }>('SELECT now() AS now');
    const result = await a.acquireLease(call, 'instance-a', 60_000);
    if (!result.acquired) throw new Error('expected the lease');
    const { lease } = result;
    expect(lease.remainingMs).toBeGreaterThan(59_000);
    expect(lease.remainingMs).toBeLessThanOrEqual(60_000);
    expect(lease.expiresAt.getTime() - lease.acquiredAt.getTime()).toBe(60_000);
    expect(lease.acquiredAt.getTime()).toBeGreaterThanOrEqual(row!.now.getTime());
  });

  it('another owner takes over only once the lease has lapsed, with a larger fencing token', async () => {
    const call = nextCall();
    const held = await a.acquireLease(call, 'instance-a', 200);
    if (!held.acquired) throw new Error('expected the lease');
    expect(await b.acquireLease(call, 'instance-b', 10_000)).toMatchObject({ acquired: false });

    await untilDatabaseTimePasses(held.lease.expiresAt);
    expect(await b.getLease(call)).toBeUndefined();
    const taken = await b.acquireLease(call, 'instance-b', 10_000);
    expect(taken).toMatchObject({ acquired: true, lease: { owner: 'instance-b', token: held.lease.token + 1 } });
    // The old owner learns it lost the lease when it tries to renew, and cannot take it back.
    expect(await a.renewLease(call, 'instance-a', 10_000)).toBeUndefined();
    expect(await a.acquireLease(call, 'instance-a', 10_000)).toMatchObject({ acquired: false, holder: { owner: 'instance-b' } });
  });

  it('renewing extends the lease past its first expiry and keeps the token', async () => {
    const call = nextCall();
    const held = await a.acquireLease(call, 'instance-a', 200);
    if (!held.acquired) throw new Error('expected the lease');
    const renewed = await a.renewLease(call, 'instance-a', 10_000);
    expect(renewed?.expiresAt.getTime()).toBeGreaterThan(held.lease.expiresAt.getTime());
    expect(renewed?.token).toBe(held.lease.token);
    expect(renewed?.acquiredAt).toEqual(held.lease.acquiredAt);

    await untilDatabaseTimePasses(held.lease.expiresAt);
    expect(await b.acquireLease(call, 'instance-b', 10_000)).toMatchObject({ acquired: false, holder: { owner: 'instance-a' } });
    // Acquiring again as the holder extends too, also without a new token.
    expect(await a.acquireLease(call, 'instance-a', 10_000)).toMatchObject({ acquired: true, lease: { token: held.lease.token } });
  });

  it('releasing lets another owner acquire at once; only the holder can release', async () => {
    const call = nextCall();
    await a.acquireLease(call, 'instance-a', 60_000);
    expect(await b.releaseLease(call, 'instance-b')).toBe(false);
    expect(await b.getLease(call)).toMatchObject({ owner: 'instance-a' });

    expect(await a.releaseLease(call, 'instance-a')).toBe(true);
    expect(await a.releaseLease(call, 'instance-a')).toBe(false);
    expect(await a.getLease(call)).toBeUndefined();
    expect(await a.renewLease(call, 'instance-a', 60_000)).toBeUndefined();
    expect(await b.acquireLease(call, 'instance-b', 60_000)).toMatchObject({ acquired: true, lease: { owner: 'instance-b', token: 2 } });
  });

  it('of many instances racing for a free lease, exactly one gets it', async () => {
    const call = nextCall();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).acquireLease(call, `instance-${i}`, 60_000)));
    const winners = results.filter((r) => r.acquired);
    expect(winners).toHaveLength(1);
    const owner = winners[0]?.acquired ? winners[0].lease.owner : undefined;
    for (const r of results) if (!r.acquired) expect(r.holder.owner).toBe(owner);
  });

  it('refuses an empty owner or a non-positive ttl', async () => {
    const call = nextCall();
    await expect(a.acquireLease(call, '', 1_000)).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(a.acquireLease(call, 'me', 0)).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(a.renewLease(call, 'me', Number.NaN)).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
  });

  it("claimableCalls lists lapsed and released leases, the owner's own, and old streams nobody leased; never an ended one", async () => {
    const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: schemas.next(), maxConnections: 2 });
    try {
      const entry = (id: string) => ({ kind: 'timer' as const, id: `t:${id}`, callId: id, at: 1, timer: 'keepAliveDue' as const });
      for (const id of ['live', 'lapsed', 'released', 'ended', 'mine', 'never']) await store.appendToStream(id, [entry(id)]);
      // a call that ended before anyone leased it (an instance died between its last appends):
      // nothing is left to own, however old its stream
      await store.appendToStream('never-ended', [{ kind: 'resync', id: 'r:never-ended', callId: 'never-ended', at: 1, call: null }]);
      await store.acquireLease('live', 'other', 60_000);
      const lapsing = await store.acquireLease('lapsed', 'other', 50);
      await store.acquireLease('released', 'other', 60_000);
      await store.releaseLease('released', 'other');
      await store.acquireLease('ended', 'other', 60_000);
      expect(await store.endLease('ended', 'someone-else')).toBe(false);
      expect(await store.endLease('ended', 'other')).toBe(true);
      await store.acquireLease('mine', 'me', 60_000);
      if (!lapsing.acquired) throw new Error('expected the lease');
      await untilDatabaseTimePasses(lapsing.lease.expiresAt);
      // 'never' is listed once its stream is older than the time given
      expect([...(await store.claimableCalls('me', 60_000))].sort()).toEqual(['lapsed', 'mine', 'released']);
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect([...(await store.claimableCalls('me', 10))].sort()).toEqual(['lapsed', 'mine', 'never', 'released']);
      // an ended lease is no longer live
      expect(await store.getLease('ended')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('claimableCalls reads the leases not ended and the live streams, not every call the store ever held', async () => {
    const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: schemas.next(), maxConnections: 2 });
    try {
      await store.migrate();
      const s = store.schema;
      // 20,000 calls that ended (stream ended, lease ended), and a few live ones
      await adminQuery(
        `INSERT INTO ${s}.streams (stream_id, version, created_at, ended_at)
           SELECT 'old-' || i, 3, now() - interval '1 day', 1 FROM generate_series(1, 20000) i;
         INSERT INTO ${s}.leases (stream_id, owner, token, acquired_at, renewed_at, expires_at)
           SELECT 'old-' || i, 'gone-' || (i % 3), 1, now() - interval '1 day', now() - interval '1 day', '-infinity'
             FROM generate_series(1, 20000) i;
         ANALYZE ${s}.streams; ANALYZE ${s}.leases;`,
      );
      for (const id of ['live-1', 'live-2']) {
        await store.appendToStream(id, [{ kind: 'timer', id: `t:${id}`, callId: id, at: 1, timer: 'keepAliveDue' }]);
        await store.acquireLease(id, 'me', 60_000);
      }
      const plan = await adminQuery<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) ${leaseSql(s).claimable.replaceAll('$1', "'me'").replaceAll('$2', '60000').replaceAll('$3', "'q'")}`,
      );
      const scans: string[] = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Node Type'] === 'Seq Scan') scans.push(String(node['Relation Name']));
        for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((plan[0]!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
      expect(scans).toEqual([]);
      expect([...(await store.claimableCalls('me', 60_000))].sort()).toEqual(['live-1', 'live-2']);
    } finally {
      await store.close();
    }
  });
});
