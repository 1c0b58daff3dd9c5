// tier: integration (PostgreSQL)
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry, StoredEntry, SwitchboardError } from '@switchboard/core';
import { readAnnouncement } from './notifications.js';
import { PgEventStore, type PgEventStoreOptions } from './pg-store.js';
import { TEST_DATABASE_URL, adminQuery, requirePostgres, testSchemas } from './test-db.js';

const schemas = testSchemas('notify');
const open: PgEventStore[] = [];
beforeAll(requirePostgres);
afterAll(async () => {
  await Promise.all(open.map((store) => store.close()));
  await schemas.dropAll();
});

async function twoInstances(options: PgEventStoreOptions = {}): Promise<[PgEventStore, PgEventStore]> {
  const schema = schemas.next();
  const a = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, ...options });
  const b = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
  open.push(a, b);
  await a.migrate();
  return [a, b];
}
const timer = (callId: string, id: string): LogEntry => ({ id, callId, at: 1, kind: 'timer', timer: 'keepAliveDue' });

async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PgEventStore subscribe (LISTEN/NOTIFY)', () => {
  it('tells one instance of what another appended, with the new version', async () => {
    const [a, b] = await twoInstances();
    const heard: Array<[string, number]> = [];
    await a.subscribe((streamId, version) => heard.push([streamId, version]));
    expect(a.listening).toBe(true);

    await b.appendToStream('call-1', [timer('call-1', '1'), timer('call-1', '2')]);
    await b.appendToStream('call-2', [timer('call-2', '1')]);
    await b.appendToStream('call-1', [timer('call-1', '2')]); // only a duplicate: nothing new, no notice
    await a.appendToStream('call-1', [timer('call-1', '3')]); // its own appends too
    await eventually(() => heard.length >= 3, 'three notices');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // announced after each commit, on whichever pooled connection is free: in any order
    // (a listener catches a stream up to its latest version, whatever notice it heard first)
    expect([...heard].sort()).toEqual([
      ['call-1', 2],
      ['call-1', 3],
      ['call-2', 1],
    ]);
  });

  it('appends committed in one group are each announced after the commit', async () => {
    const [a, b] = await twoInstances();
    const streams = Array.from({ length: 20 }, (_, i) => `call-g${i}`);
    const heard: Array<[string, number]> = [];
    // what a notice announces is readable when it arrives: it went out after the commit
    const reads: Array<Promise<number>> = [];
    await a.subscribe((streamId, version) => {
      heard.push([streamId, version]);
      reads.push(a.readStream(streamId).then((entries) => entries.length));
    });
    await b.appendToStream('call-conflict', [timer('call-conflict', '1')]);
    const appends = streams.map((s) => b.appendToStream(s, [timer(s, '1'), timer(s, '2')], { expectedVersion: 0 }));
    const conflicting = b.appendToStream('call-conflict', [timer('call-conflict', '2')], { expectedVersion: 0 });
    await Promise.all(appends);
    await expect(conflicting).rejects.toMatchObject({ code: 'SWB_VERSION_CONFLICT' });
    await eventually(() => streams.every((s) => heard.some(([h]) => h === s)), 'a notice per stream');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const xmins = await adminQuery<{ n: number }>(
      `SELECT count(DISTINCT xmin::text)::int AS n FROM ${b.schema}.entries WHERE stream_id LIKE 'call-g%'`,
    );
    expect(xmins[0]?.n).toBe(1); // one group, one transaction
    expect(heard.filter(([s]) => s.startsWith('call-g')).sort()).toEqual(streams.map((s) => [s, 2]).sort());
    expect(heard.filter(([s]) => s === 'call-conflict')).toEqual([['call-conflict', 1]]); // the conflict announced nothing
    const lengths = await Promise.all(reads);
    heard.forEach(([, version], i) => expect(lengths[i]).toBeGreaterThanOrEqual(version));
  });

  it('a conflicting append announces nothing; unsubscribing stops the notices', async () => {
    const [a, b] = await twoInstances();
    const first: number[] = [];
    const second: number[] = [];
    const stopFirst = await a.subscribe((_, version) => first.push(version));
    await a.subscribe((_, version) => second.push(version));

    await b.appendToStream('call-1', [timer('call-1', '1')]);
    await expect(b.appendToStream('call-1', [timer('call-1', '2')], { expectedVersion: 0 })).rejects.toThrow();
    await eventually(() => first.length === 1 && second.length === 1, 'the first notice');
    stopFirst();
    stopFirst();
    await b.appendToStream('call-1', [timer('call-1', '2')]);
    await eventually(() => second.length === 2, 'the second notice');
    expect(first).toEqual([1]);
    expect(second).toEqual([1, 2]);
  });

  it('a listener that throws does not stop the others; onError hears of it', async () => {
    const errors: SwitchboardError[] = [];
    const [a, b] = await twoInstances({ onError: (error) => errors.push(error) });
    const heard: number[] = [];
    await a.subscribe(() => {
      throw new Error('handler bug');
    });
    await a.subscribe((_, version) => heard.push(version));
    await b.appendToStream('call-1', [timer('call-1', '1')]);
    await eventually(() => heard.length === 1, 'the notice');
    expect(errors).toEqual([expect.objectContaining({ code: 'SWB_LISTENER_FAILED' })]);
  });

  it('reconnects after losing its connection and reports what was appended meanwhile', async () => {
    const errors: SwitchboardError[] = [];
    const applicationName = `swb-test-${randomBytes(4).toString('hex')}`;
    const [a, b] = await twoInstances({
      applicationName,
      onError: (error) => errors.push(error),
      // long enough that the append below (slow on a loaded machine) lands before the reconnect
      reconnectDelayMs: { min: 1_500, max: 1_500 },
    });
    const heard: Array<[string, number]> = [];
    await a.subscribe((streamId, version) => heard.push([streamId, version]));

    const killed = await adminQuery<{ killed: boolean }>(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = $1',
      [`${applicationName}:listen`],
    );
    expect(killed).toEqual([{ killed: true }]);
    await eventually(() => !a.listening, 'the drop to be noticed');
    expect(errors).toEqual([expect.objectContaining({ code: 'SWB_STORE_UNAVAILABLE' })]);

    // Appended while nobody listens: only the catch-up after reconnecting can report it.
    await b.appendToStream('call-missed', [timer('call-missed', '1'), timer('call-missed', '2')]);
    expect(a.listening).toBe(false);
    await eventually(() => a.listening, 'the reconnect');
    await eventually(() => heard.some(([s]) => s === 'call-missed'), 'the catch-up');
    expect(heard).toContainEqual(['call-missed', 2]);

    // And the channel is listened to again.
    await b.appendToStream('call-after', [timer('call-after', '1')]);
    await eventually(() => heard.some(([s]) => s === 'call-after'), 'a notice after the reconnect');
  });

  it('a poll hears of an append whose announcement never came (its writer died between commit and NOTIFY)', async () => {
    for (const catchUpEveryMs of [0, 100]) {
      const schema = schemas.next();
      const writer = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
      const reader = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, catchUpEveryMs });
      open.push(writer, reader);
      // committed before anyone listened: no NOTIFY reaches the reader
      await writer.appendToStream('call-silent', [timer('call-silent', '1')]);
      const heard: Array<[string, number]> = [];
      await reader.subscribe((streamId, version) => heard.push([streamId, version]));
      if (catchUpEveryMs > 0) {
        await eventually(() => heard.some(([s, v]) => s === 'call-silent' && v === 1), 'the poll to report the silent append');
      } else {
        await new Promise((resolve) => setTimeout(resolve, 600)); // six intervals of the other run
        expect(heard).toEqual([]); // without the poll it stays unheard
      }
    }
    expect(() => new PgEventStore({ connectionString: TEST_DATABASE_URL, catchUpEveryMs: -1 })).toThrow(/catchUpEveryMs/);
  });

  it('rejects the subscription with SWB_STORE_UNAVAILABLE when it cannot connect', async () => {
    const [a] = await twoInstances();
    await a.migrate();
    const down = new PgEventStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema: a.schema,
      migrate: false,
      connectTimeoutMs: 2_000,
    });
    try {
      await expect(down.subscribe(() => undefined)).rejects.toMatchObject({ code: 'SWB_STORE_UNAVAILABLE' });
      expect(down.listening).toBe(false);
    } finally {
      await down.close();
    }
  });

  it('an announcement carries the entries appended, as a read returns them, and two appends of a stream in one', async () => {
    const [a, b] = await twoInstances();
    const heard: Array<{ streamId: string; version: number; carried: readonly StoredEntry[] | undefined }> = [];
    await a.subscribe((streamId, version, carried) => heard.push({ streamId, version, carried: carried?.() }));
    await b.appendToStream('call-c', [timer('call-c', '1'), timer('call-c', '2')]);
    await b.appendToStream('call-c', [timer('call-c', '2'), timer('call-c', '3')]); // '2' is held: only '3' is written
    // made in one tick: committed in one group, announced at once
    await Promise.all([b.appendToStream('call-d', [timer('call-d', '1')]), b.appendToStream('call-e', [timer('call-e', 'é')])]);
    await eventually(() => heard.some((h) => h.streamId === 'call-e') && heard.some((h) => h.version === 3), 'the notices');
    const log = new Map(await Promise.all(['call-c', 'call-d', 'call-e'].map(async (s) => [s, await a.readStream(s)] as const)));
    for (const { streamId, version, carried } of heard) {
      expect(carried).toBeDefined();
      expect(carried).toEqual(log.get(streamId)!.slice(version - carried!.length, version));
    }
    expect(heard.filter((h) => h.streamId === 'call-c').map((h) => h.version)).toContain(3);
  });

  it('a listener reads the header alone: the entries are decoded only when asked, and a version-only payload still reads', () => {
    const header = { s: 'call-x', v: 3, t: 1 };
    const old = readAnnouncement('{"s" : "call-x", "v" : 3, "t" : 1764720000000.123}');
    expect(old.header).toMatchObject({ s: 'call-x', v: 3 });
    expect(old.carried).toBeUndefined();
    // a stream id holding the mark cannot fool the cut: JSON escapes its quotes
    const tricky = readAnnouncement(`{"s":${JSON.stringify('a,"p":1')},"v":1,"t":2,"p":1,"e":[{"kind":"timer","id":"1"}]}`);
    expect(tricky.header.s).toBe('a,"p":1');
    expect(tricky.carried?.()).toEqual([{ kind: 'timer', id: '1', position: 1 }]);
    // entries that do not parse, or do not end at the version: undefined, and the header still reads
    const broken = readAnnouncement('{"s":"call-x","v":3,"t":1,"p":2,"e":[{"kind":"tim');
    expect(broken.header).toEqual(header);
    expect(broken.carried?.()).toBeUndefined();
    const short = readAnnouncement('{"s":"call-x","v":3,"t":1,"p":1,"e":[{"id":"1"}]}');
    expect(short.carried?.()).toBeUndefined();
  });
});
