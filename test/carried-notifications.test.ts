// tier: integration (PostgreSQL)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine, type StoredEntry, type UndecodableEvent } from '@switchboard/core';
import { callStateBody } from '@switchboard/core/testing';
import { PgEventStore } from '@switchboard/adapters';
import { adminQuery, requirePostgres, testSchemas, TEST_DATABASE_URL } from '../packages/adapters/src/stores/postgres/test-db.js';
import { until } from './support/net.js';

/**
 * An owner follows what another instance persisted from the store's NOTIFY. When the appended
 * entries fit the NOTIFY (under 8,000 bytes) they come with it and the owner folds them without
 * reading the stream; otherwise (too long, or the owner missed an announcement) it reads the
 * tail, as before. Either way it ends with the view a read of the log gives.
 */
const schemas = testSchemas('carried');
const releases: Array<() => Promise<unknown>> = [];
beforeAll(requirePostgres);
afterEach(async () => {
  for (const release of releases.splice(0).reverse()) await release();
});
afterAll(() => schemas.dropAll());

interface Owner {
  readonly engine: Engine;
  readonly store: PgEventStore;
  /** readStream calls of the owner's store. */
  reads: number;
  /** While true, the owner's listener ignores announcements (as if they were lost). */
  deaf: boolean;
  readonly folded: UndecodableEvent[];
}

async function pair(): Promise<{ owner: Owner; writer: Engine; writerStore: PgEventStore; schema: string }> {
  const schema = schemas.next();
  const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 3 });
  const writerStore = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema, maxConnections: 3 });
  releases.push(
    () => store.close(),
    () => writerStore.close(),
  );
  let now = 1_000;
  const owner: Owner = { engine: createEngine({ store, clock: () => ++now }), store, reads: 0, deaf: false, folded: [] };
  const read = store.readStream.bind(store);
  store.readStream = (streamId, options) => {
    owner.reads++;
    return read(streamId, options);
  };
  owner.engine.on('foldedUndecodable', (e) => owner.folded.push(e));
  // what the runtime's owner-only listener does
  await store.subscribe((streamId, version, carried) => {
    if (owner.deaf || !owner.engine.holds(streamId)) return;
    void owner.engine.refresh(streamId, carried ? { version, ifHeld: true, carried } : { version, ifHeld: true });
  });
  // a non-owner: persists without reading or folding
  const writer = createEngine({ store: writerStore, clock: () => ++now, loadOnAppend: false });
  return { owner, writer, writerStore, schema };
}

/** The owner's engine holds the call at the version the log has, and its view is the one a fresh load gives. */
async function caughtUp(owner: Owner, writerStore: PgEventStore, callId: string): Promise<void> {
  const version = (await writerStore.readStream(callId)).length;
  await until(() => owner.engine.getCall(callId)?.version === version, `the owner to fold ${callId} to version ${version}`);
  const fresh = createEngine({ store: writerStore, clock: () => 0 });
  expect(owner.engine.getCall(callId)).toEqual(await fresh.load(callId));
}

describe('entries carried in the append notification', () => {
  it('the owner folds what another instance persisted from the NOTIFY, without reading the stream', async () => {
    const { owner, writer, writerStore } = await pair();
    await writer.ingest(callStateBody('carried-1', 'incoming'));
    await owner.engine.load('carried-1');
    owner.reads = 0;
    for (const state of ['establishing', 'established'] as const) await writer.ingest(callStateBody('carried-1', state));
    await writer.record('carried-1', { kind: 'timer', id: 't:ka-1', timer: 'keepAliveDue' });
    await caughtUp(owner, writerStore, 'carried-1');
    expect(owner.engine.getCall('carried-1')?.state).toBe('established');
    expect(owner.reads).toBe(0);
  });

  it('entries too long for a NOTIFY (8,000 bytes) are announced by version alone, and the owner reads them', async () => {
    const { owner, writer, writerStore } = await pair();
    await writer.ingest(callStateBody('carried-big', 'incoming'));
    await owner.engine.load('carried-big');
    owner.reads = 0;
    // multi-byte characters: the limit is in bytes
    await writer.ingest(callStateBody('carried-big', 'establishing', { subject: 'é'.repeat(4_100) }));
    await caughtUp(owner, writerStore, 'carried-big');
    expect(owner.reads).toBe(1);
    // and the next small one is carried again
    owner.reads = 0;
    await writer.ingest(callStateBody('carried-big', 'established'));
    await caughtUp(owner, writerStore, 'carried-big');
    expect(owner.reads).toBe(0);
  });

  it('payloads around the limit are all announced, carried when they fit', async () => {
    const { owner, writerStore } = await pair();
    const errors: unknown[] = [];
    const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema: writerStore.schema, onError: (e) => errors.push(e) });
    releases.push(() => store.close());
    const heard: Array<{ version: number; carried: readonly StoredEntry[] | undefined }> = [];
    await owner.store.subscribe((streamId, version, carried) => {
      if (streamId === 'carried-edge') heard.push({ version, carried: carried?.() });
    });
    const edge = createEngine({ store, clock: () => 5, loadOnAppend: false });
    let n = 0;
    for (let size = 7_000; size <= 8_200; size += 50) {
      n++;
      await edge.ingest(callStateBody('carried-edge', 'establishing', { subject: `${n}:${'x'.repeat(size)}` }));
    }
    await until(() => heard.at(-1)?.version === n, 'the last append to be announced');
    expect(errors).toEqual([]);
    // every version announced, by an announcement of its own or one carrying it with the next
    expect(heard.some((h) => h.carried !== undefined)).toBe(true); // the smaller ones fit
    expect(heard.some((h) => h.carried === undefined)).toBe(true); // the larger ones do not
    // what was carried is what the log holds, position for position
    const log = await writerStore.readStream('carried-edge');
    expect(log).toHaveLength(n);
    for (const { version, carried } of heard) if (carried) expect(carried).toEqual(log.slice(version - carried.length, version));
  });

  it('an owner that missed an announcement (a gap before the entries carried) reads the stream', async () => {
    const { owner, writer, writerStore } = await pair();
    await writer.ingest(callStateBody('carried-gap', 'incoming'));
    await owner.engine.load('carried-gap');
    owner.reads = 0;
    owner.deaf = true;
    await writer.ingest(callStateBody('carried-gap', 'establishing'));
    await new Promise((resolve) => setTimeout(resolve, 200)); // its announcement goes unheard
    owner.deaf = false;
    expect(owner.engine.getCall('carried-gap')?.version).toBe(1);
    await writer.ingest(callStateBody('carried-gap', 'established'));
    await caughtUp(owner, writerStore, 'carried-gap');
    expect(owner.reads).toBe(1);
    expect(owner.engine.getCall('carried-gap')?.state).toBe('established');
  });

  it('a writer that died between its commit and its NOTIFY leaves a gap the next carried append fills by a read', async () => {
    const { owner, writer, writerStore, schema } = await pair();
    await writer.ingest(callStateBody('carried-died', 'incoming'));
    await owner.engine.load('carried-died');
    owner.reads = 0;
    // an entry committed with no announcement: written behind the store's back
    const body = JSON.stringify({ kind: 'timer', id: 't:lost', callId: 'carried-died', at: 7, timer: 'keepAliveDue' });
    await adminQuery(
      `WITH s AS (UPDATE ${schema}.streams SET version = version + 1 WHERE stream_id = 'carried-died' RETURNING version)
       INSERT INTO ${schema}.entries (stream_id, position, entry_id, kind, at, body) SELECT 'carried-died', s.version, 't:lost', 'timer', 7, $1::json FROM s`,
      [body],
    );
    await writer.ingest(callStateBody('carried-died', 'establishing'));
    await caughtUp(owner, writerStore, 'carried-died');
    expect(owner.reads).toBe(1);
  });

  it('a notification another instance quarantined, folded by the owner from the NOTIFY, is reported as foldedUndecodable', async () => {
    const { owner, writer, writerStore } = await pair();
    const stored: UndecodableEvent[] = [];
    writer.on('undecodable', (e) => stored.push(e));
    await writer.ingest(callStateBody('carried-odd', 'incoming'));
    await owner.engine.load('carried-odd');
    owner.reads = 0;
    await writer.ingest(callStateBody('carried-odd', 'established', { state: 42 }));
    await caughtUp(owner, writerStore, 'carried-odd');
    expect(owner.reads).toBe(0);
    expect(stored).toHaveLength(1);
    expect(owner.folded).toHaveLength(1);
    expect(owner.folded[0]).toMatchObject({ callId: 'carried-odd', entry: { kind: 'quarantined', position: 2 } });
  });
});
