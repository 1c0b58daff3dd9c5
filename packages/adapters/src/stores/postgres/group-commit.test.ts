// tier: integration (PostgreSQL)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExpectedVersionConflictError, type AppendResult, type LogEntry } from '@switchboard/core';
import { GroupCommit, type GroupMember } from './group-commit.js';
import { PgEventStore } from './pg-store.js';
import { TEST_DATABASE_URL, adminQuery, requirePostgres, testSchemas } from './test-db.js';

interface Member extends GroupMember {
  readonly name: string;
}

/** A scheduler whose commits the test finishes by hand. */
function scheduler(options: { maxGroupsInFlight?: number; maxAppends?: number; maxSize?: number } = {}) {
  const groups: { names: string[]; done: () => void }[] = [];
  const commits = new GroupCommit<Member>({
    commit: (group) =>
      new Promise<void>((resolve) => {
        groups.push({ names: group.map((m) => m.name), done: resolve });
      }),
    maxGroupsInFlight: options.maxGroupsInFlight ?? 1,
    maxAppends: options.maxAppends ?? 100,
    maxSize: options.maxSize ?? 1_000,
  });
  const add = (name: string, streamId = name, size = 1) => commits.add({ name, streamId, size });
  return { groups, add };
}
const tick = () => new Promise<void>((resolve) => setImmediate(resolve)); // after any nextTick
/** Lets a finished group's `finally` run, then the tick it schedules. */
const settle = async () => {
  await Promise.resolve();
  await tick();
  await tick();
};

describe('GroupCommit (the scheduler)', () => {
  it('puts the appends of one tick in one group, and those made meanwhile in the next', async () => {
    const { groups, add } = scheduler();
    add('a');
    add('b');
    add('c');
    expect(groups).toHaveLength(0); // nothing leaves before the end of the tick
    await tick();
    expect(groups.map((g) => g.names)).toEqual([['a', 'b', 'c']]);
    add('d');
    add('e');
    await tick();
    expect(groups).toHaveLength(1); // one group in flight at a time here: d and e wait
    groups[0]!.done();
    await settle();
    expect(groups.map((g) => g.names)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e'],
    ]);
  });

  it('holds a second append to a stream back until the group holding the first is done', async () => {
    const { groups, add } = scheduler({ maxGroupsInFlight: 3 });
    add('s1-first', 's1');
    add('s2', 's2');
    add('s1-second', 's1');
    await tick();
    expect(groups.map((g) => g.names)).toEqual([['s1-first', 's2']]);
    add('s1-third', 's1');
    add('s3', 's3');
    await tick();
    // s3 goes at once (a second group may fly); both appends to s1 still wait for theirs
    expect(groups.map((g) => g.names)).toEqual([['s1-first', 's2'], ['s3']]);
    groups[0]!.done();
    await settle();
    expect(groups.map((g) => g.names)).toEqual([['s1-first', 's2'], ['s3'], ['s1-second']]);
    groups[2]!.done();
    await settle();
    expect(groups.map((g) => g.names).at(-1)).toEqual(['s1-third']);
  });

  it('caps a group by appends and by size; an append larger than the cap goes alone', async () => {
    const { groups, add } = scheduler({ maxGroupsInFlight: 10, maxAppends: 2, maxSize: 5 });
    add('a', 'a', 1);
    add('b', 'b', 1);
    add('c', 'c', 1);
    add('big', 'big', 9);
    add('d', 'd', 3);
    add('e', 'e', 3);
    await tick();
    expect(groups.map((g) => g.names)).toEqual([['a', 'b'], ['c'], ['big'], ['d'], ['e']]);
  });
});

const schemas = testSchemas('group');
const open: PgEventStore[] = [];
beforeAll(requirePostgres);
afterAll(async () => {
  await Promise.all(open.map((store) => store.close()));
  await schemas.dropAll();
});

async function store(): Promise<PgEventStore> {
  const made = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: schemas.next() });
  open.push(made);
  await made.migrate();
  return made;
}
const timer = (callId: string, id: string): LogEntry => ({ id, callId, at: 1, kind: 'timer', timer: 'keepAliveDue' });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The transactions (xmin) that wrote these streams' entries. */
async function transactions(s: PgEventStore, streams: readonly string[]): Promise<string[]> {
  const rows = await adminQuery<{ xmin: string }>(
    `SELECT DISTINCT xmin::text AS xmin FROM ${s.schema}.entries WHERE stream_id = ANY ($1)`,
    [streams],
  );
  return rows.map((r) => r.xmin);
}

/** Settles every append and sorts the outcomes by stream. */
async function outcomes(appends: ReadonlyMap<string, Promise<AppendResult>>) {
  const settled = await Promise.allSettled(appends.values());
  return new Map([...appends.keys()].map((s, i) => [s, settled[i]!]));
}

describe('PgEventStore group commit', () => {
  it('appends to many streams made at once commit in one transaction', async () => {
    const s = await store();
    const streams = range(12).map((i) => `call-${i}`);
    const results = await Promise.all(streams.map((id) => s.appendToStream(id, [timer(id, 'a'), timer(id, 'b')], { expectedVersion: 0 })));
    expect(results.map((r) => r.version)).toEqual(streams.map(() => 2));
    expect(await transactions(s, streams)).toHaveLength(1);
    for (const id of streams)
      expect((await s.readStream(id)).map((e) => [e.id, e.position])).toEqual([
        ['a', 1],
        ['b', 2],
      ]);
  });

  it('one stream at a stale expected version fails alone; the rest of its group commits', async () => {
    const s = await store();
    const streams = range(10).map((i) => `call-${i}`);
    await s.appendToStream('call-4', [timer('call-4', 'earlier')]);
    const appends = new Map(streams.map((id) => [id, s.appendToStream(id, [timer(id, 'x')], { expectedVersion: 0 })]));
    const settled = await outcomes(appends);
    for (const [id, outcome] of settled) {
      if (id === 'call-4') {
        expect(outcome.status).toBe('rejected');
        const error = (outcome as PromiseRejectedResult).reason as ExpectedVersionConflictError;
        expect(error).toBeInstanceOf(ExpectedVersionConflictError);
        expect(error).toMatchObject({ streamId: 'call-4', expectedVersion: 0, actualVersion: 1 });
      } else {
        expect(outcome).toMatchObject({ status: 'fulfilled', value: { version: 1, appended: [{ id: 'x', position: 1 }] } });
      }
    }
    expect((await s.readStream('call-4')).map((e) => e.id)).toEqual(['earlier']);
    expect(
      await transactions(
        s,
        streams.filter((id) => id !== 'call-4'),
      ),
    ).toHaveLength(1);
  });

  it('deduplicates per stream inside a group, and reports each append its own duplicates', async () => {
    const s = await store();
    await s.appendToStream('call-1', [timer('call-1', 'seen')]);
    const [one, two, three] = await Promise.all([
      s.appendToStream('call-1', [timer('call-1', 'seen'), timer('call-1', 'new')]),
      s.appendToStream('call-2', [timer('call-2', 'seen'), timer('call-2', 'new')]),
      s.appendToStream('call-3', [timer('call-3', 'n'), timer('call-3', 'n')]),
    ]);
    expect(one).toMatchObject({ version: 2, appended: [{ id: 'new', position: 2 }], duplicates: [{ id: 'seen' }] });
    expect(two).toMatchObject({
      version: 2,
      appended: [
        { id: 'seen', position: 1 },
        { id: 'new', position: 2 },
      ],
      duplicates: [],
    });
    expect(three).toMatchObject({ version: 1, appended: [{ id: 'n', position: 1 }], duplicates: [{ id: 'n' }] });
  });

  it('a row PostgreSQL refuses fails its own append alone; the others of the group commit', async () => {
    const s = await store();
    // a constraint standing in for any error one append's rows can raise
    await adminQuery(`ALTER TABLE ${s.schema}.entries ADD CONSTRAINT no_poison CHECK (entry_id <> 'poison')`);
    await s.appendToStream('call-old', [timer('call-old', '1')]);
    const streams = ['call-0', 'call-1', 'call-bad', 'call-old', 'call-3'];
    const appends = new Map(
      streams.map((id) => [id, s.appendToStream(id, [timer(id, 'fine'), timer(id, id === 'call-bad' ? 'poison' : 'also-fine')])]),
    );
    const settled = await outcomes(appends);
    const bad = settled.get('call-bad')!;
    expect(bad.status).toBe('rejected');
    expect((bad as PromiseRejectedResult).reason).toMatchObject({
      code: 'SWB_STORE_FAILED',
      message: expect.stringContaining('no_poison'),
      cause: expect.objectContaining({ code: '23514' }),
    });
    for (const id of streams.filter((x) => x !== 'call-bad')) expect(settled.get(id)?.status).toBe('fulfilled');
    expect(await s.readStream('call-bad')).toEqual([]);
    expect((await s.readStream('call-old')).map((e) => e.id)).toEqual(['1', 'fine', 'also-fine']);
    expect([...(await s.listStreams())].sort()).toEqual(['call-0', 'call-1', 'call-3', 'call-old']);
  });

  it('keeps the live index in the group transaction, also where one append of the group fails', async () => {
    const s = await store();
    await adminQuery(`ALTER TABLE ${s.schema}.entries ADD CONSTRAINT no_poison CHECK (entry_id <> 'poison')`);
    const end = (callId: string, at: number): LogEntry => ({
      kind: 'notification',
      id: `end-${at}`,
      callId,
      at,
      changeType: 'deleted',
      resourceUrl: `/communications/calls/${callId}`,
      target: { type: 'call' },
      resourceData: {},
    });
    const live = async () => [...(await s.listLiveStreams(1_000))].sort();
    // a group: some appends end their call, some do not
    await Promise.all(
      range(6).map((i) => s.appendToStream(`g-${i}`, i % 2 === 0 ? [timer(`g-${i}`, 'a'), end(`g-${i}`, 10 + i)] : [timer(`g-${i}`, 'a')])),
    );
    expect(await live()).toEqual(['g-1', 'g-3', 'g-5']);
    // a group that fails once and commits append by append (savepoints): the survivors' ends recorded, the failed one's not
    const settled = await Promise.allSettled([
      s.appendToStream('g-1', [end('g-1', 20)]),
      s.appendToStream('g-3', [timer('g-3', 'poison'), end('g-3', 21)]),
      s.appendToStream('g-5', [timer('g-5', 'b')]),
    ]);
    expect(settled.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await live()).toEqual(['g-3', 'g-5']);
  });

  it('a fenced append whose owner lost the lease fails alone with SWB_LEASE_LOST; the others commit', async () => {
    const s = await store();
    const streams = range(6).map((i) => `call-${i}`);
    const tokens = new Map<string, number>();
    for (const id of streams) {
      const taken = await s.acquireLease(id, 'instance-a', 60_000);
      if (!taken.acquired) throw new Error('expected the lease');
      tokens.set(id, taken.lease.token);
    }
    // call-2 changes hands: instance-a's token for it is stale
    await s.releaseLease('call-2', 'instance-a');
    expect(await s.acquireLease('call-2', 'instance-b', 60_000)).toMatchObject({ acquired: true, lease: { token: 2 } });

    const appends = new Map(
      streams.map((id) => [id, s.appendToStream(id, [timer(id, 'a')], { lease: { owner: 'instance-a', token: tokens.get(id)! } })]),
    );
    appends.set('call-free', s.appendToStream('call-free', [timer('call-free', 'a')])); // unfenced, same group
    const settled = await outcomes(appends);
    expect((settled.get('call-2') as PromiseRejectedResult).reason).toMatchObject({ code: 'SWB_LEASE_LOST' });
    for (const [id, outcome] of settled) if (id !== 'call-2') expect(outcome).toMatchObject({ status: 'fulfilled', value: { version: 1 } });
    expect(await s.readStream('call-2')).toEqual([]);
    expect(await transactions(s, [...settled.keys()])).toHaveLength(1);

    // the new owner's fenced append goes through; a token that is not the lease's does not
    const newOwner = { owner: 'instance-b', token: 2 };
    await expect(s.appendToStream('call-2', [timer('call-2', 'b')], { lease: newOwner })).resolves.toMatchObject({ version: 1 });
    await expect(s.appendToStream('call-3', [timer('call-3', 'b')], { lease: { owner: 'instance-a', token: 99 } })).rejects.toMatchObject({
      code: 'SWB_LEASE_LOST',
    });
    await expect(s.appendToStream('call-3', [timer('call-3', 'c')], { lease: { owner: 'instance-a', token: 0 } })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
  });

  it('appends to one stream made at once reach it in the order they were made', async () => {
    const s = await store();
    const appends = range(8).map((i) => s.appendToStream('call-1', [timer('call-1', `e${i}`)]));
    appends.push(s.appendToStream('call-2', [timer('call-2', 'x')]));
    await Promise.all(appends);
    expect((await s.readStream('call-1')).map((e) => e.id)).toEqual(range(8).map((i) => `e${i}`));
  });

  it('close() commits the appends already made before it ends the pool', async () => {
    const s = await store();
    const appends = range(5).map((i) => s.appendToStream(`call-${i}`, [timer(`call-${i}`, 'a')]));
    await s.close();
    await expect(Promise.all(appends)).resolves.toHaveLength(5);
    const rows = await adminQuery<{ n: number }>(`SELECT count(*)::int AS n FROM ${s.schema}.entries`);
    expect(rows[0]?.n).toBe(5);
  });
});
