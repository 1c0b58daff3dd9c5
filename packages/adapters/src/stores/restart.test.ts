// tier: integration (PostgreSQL)
/**
 * A restart must not change anything: for generated deliveries, odd values included (GUIDs
 * spelled two ways, `-0`, `1e400`, `1e308`, fractions where integers belong, lone surrogates
 * in ids and in text, NUL, integer-like keys, shapes that are quarantined), the views an
 * engine rebuilds with `hydrate()` from SQLite and from PostgreSQL equal the views it had live,
 * byte for byte: compared as text that tells `-0` from `0`, `undefined` from absent, and
 * `Infinity` from `null`, which JSON does not.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, DecodeError, QUARANTINE_STREAM, type CallView, type EventStore } from '@switchboard/core';
import { loadPg } from './postgres/driver.js';
import { PgEventStore } from './postgres/pg-store.js';
import { TEST_DATABASE_URL, requirePostgres, testSchemas } from './postgres/test-db.js';
import { SqliteEventStore } from './sqlite/sqlite-store.js';

const RUNS = Number(process.env['SWITCHBOARD_RESTART_RUNS'] ?? 40);

/** Text that tells apart what JSON would not: -0, non-finite numbers, undefined. */
function exact(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && (Object.is(v, -0) || !Number.isFinite(v))) return `<number ${Object.is(v, -0) ? '-0' : String(v)}>`;
    if (v === undefined) return '<undefined>';
    return v;
  });
}

function viewsOf(views: readonly CallView[]): string {
  return exact([...views].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}

// Numbers JSON text can hold but a JavaScript value cannot keep (written into the text as is).
const RAW = ['-0', '1e400', '-1e400', '1e308', '1.5', '9007199254740993', '-0.0'] as const;
const raw = (n: (typeof RAW)[number]) => `@@${n}@@`;
const toText = (value: unknown) => JSON.stringify(value).replace(/"@@([^@"]+)@@"/g, '$1');

const callIds = fc.constantFrom(
  '57dab8b1-894c-409a-b240-bd8beae78896',
  '57DAB8B1894C409AB240BD8BEAE78896',
  '57DAB8B1-894C-409A-B240-BD8BEAE78896',
  '421f4c00-4436-4c3a-9d9a-c4924cf98e67',
  'call-ü-🎧',
  'constructor',
  '%E2%82%AC',
  'x y',
  'lone-\ud800', // refused: a stream id the stores cannot keep
  'nul-%00', // refused
);
const oddText = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('\ud800', 'a\udfffb', '\u0000', '\u2028', 'Zoë 李', '👩🏽‍💻', '"\\'));
const oddNumber = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(...RAW.map(raw)),
);
const oddValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, oddText, oddNumber, fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 3 }),
  object: fc.dictionary(fc.constantFrom('a', 'b', '1', '0', 'ü', '\ud800', 'displayName', 'state'), tie('value'), { maxKeys: 3 }),
})).value;
const sequence = fc.oneof(
  fc.integer({ min: 0, max: 6 }),
  fc.constantFrom(raw('-0'), raw('1.5'), raw('1e308'), '3', raw('9007199254740993')),
);
const state = fc.constantFrom('establishing', 'established', 'Established', 'hold', 'terminated', 'exploded', raw('-0'));

/** One notification: a real shape with odd values in it, or an odd shape (quarantined). */
const notification = fc.oneof(
  fc
    .record({
      callId: callIds,
      state,
      extra: oddValue,
      tone: fc.option(fc.record({ sequenceId: sequence, tone: fc.constantFrom('tone1', 'pound') })),
    })
    .map(({ callId, state, extra, tone }) => ({
      changeType: 'updated',
      resourceUrl: `/communications/calls/${callId}`,
      resourceData: { '@odata.type': '#microsoft.graph.call', state, extra, ...(tone ? { toneInfo: tone } : {}) },
    })),
  fc
    .record({
      callId: callIds,
      participants: fc.array(
        fc.record({
          id: fc.constantFrom('p1', 'P2', 'ü', '0'),
          isMuted: fc.boolean(),
          isInLobby: fc.boolean(),
          seq: sequence,
          info: oddValue,
        }),
        { maxLength: 3 },
      ),
      changeType: fc.constantFrom('updated', 'Deleted'),
    })
    .map(({ callId, participants, changeType }) => ({
      changeType,
      resourceUrl: `communications/calls/${callId}/participants`,
      resourceData: participants.map((p) => ({
        id: p.id,
        isMuted: p.isMuted,
        isInLobby: p.isInLobby,
        rosterSequenceNumber: p.seq,
        info: p.info,
      })),
    })),
  fc
    .record({
      callId: callIds,
      op: fc.constantFrom('op-1', '0FE0623FD62842EDB4BD8AC290072CC5'),
      status: fc.constantFrom('running', 'Completed', 'failed'),
      extra: oddValue,
    })
    .map(({ callId, op, status, extra }) => ({
      changeType: 'updated',
      resourceUrl: `/app/calls/${callId}/operations/${op}`,
      resourceData: { '@odata.type': '#microsoft.graph.playPromptOperation', status, resultInfo: { code: 200, subcode: 0 }, extra },
    })),
  fc.record({ callId: callIds, changeType: fc.constantFrom('created', 'deleted') }).map(({ callId, changeType }) => ({
    changeType,
    resourceUrl: `/communications/calls/${callId}/contentsharingsessions/s1`,
  })),
  // shapes that do not decode: quarantined, in their call's stream or in no call's
  fc
    .record({ callId: callIds, junk: oddValue })
    .map(({ callId, junk }) => ({ changeType: 'Exploded', resourceUrl: `/communications/calls/${callId}`, resourceData: junk })),
  oddValue.map((junk) => ({ changeType: 'updated', resourceData: junk })),
  oddValue,
);
const deliveries = fc.array(
  fc
    .array(notification, { minLength: 1, maxLength: 3 })
    .map((value) => toText({ '@odata.type': '#microsoft.graph.commsNotifications', value })),
  { minLength: 1, maxLength: 12 },
);

/** Ingests every delivery live; returns the live views, and how many were refused (400). */
async function live(store: EventStore, bodies: readonly string[]): Promise<{ views: string; refused: number; calls: number }> {
  let clock = 1_700_000_000_000;
  const engine = createEngine({ store, clock: () => ++clock, snapshotEvery: 2 });
  let refused = 0;
  for (const body of bodies) {
    try {
      await engine.ingest(body);
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      refused++;
    }
  }
  await engine.snapshot({ quietForMs: 0 }); // some calls restore from a snapshot alone, others from snapshot + tail
  return { views: viewsOf(engine.calls()), refused, calls: engine.calls().length };
}

async function restarted(store: EventStore): Promise<string> {
  const engine = createEngine({ store, clock: () => 0 });
  await engine.hydrate();
  return viewsOf(engine.calls());
}

describe('a restart changes nothing', () => {
  it('SQLite: the views after hydrate() from the file equal the live views, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-restart-'));
    let run = 0;
    const seen = { refused: 0, calls: 0 };
    await fc.assert(
      fc.asyncProperty(deliveries, async (bodies) => {
        const path = join(dir, `run-${run++}.db`);
        const first = new SqliteEventStore({ path, writer: 'inline' });
        const before = await live(first, bodies);
        await first.close();
        seen.refused += before.refused;
        seen.calls += before.calls;
        const second = new SqliteEventStore({ path, writer: 'inline' });
        try {
          expect(await restarted(second)).toBe(before.views);
        } finally {
          await second.close();
        }
      }),
      { numRuns: RUNS },
    );
    // the generator did reach both sides: deliveries refused, calls kept
    expect(seen.refused).toBeGreaterThan(0);
    expect(seen.calls).toBeGreaterThan(RUNS);
  }, 120_000);

  describe('PostgreSQL', () => {
    const schemas = testSchemas('restart');
    const schema = schemas.next();
    const pool = new (loadPg().Pool)({ connectionString: TEST_DATABASE_URL, max: 4 });
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

    it('the views after hydrate() from the database equal the live views, byte for byte', async () => {
      await fc.assert(
        fc.asyncProperty(deliveries, async (bodies) => {
          await pool.query(`DELETE FROM ${schema}.entries; DELETE FROM ${schema}.streams; DELETE FROM ${schema}.snapshots;`);
          const first = new PgEventStore({ pool, schema, migrate: false });
          const before = await live(first, bodies);
          await first.close();
          const second = new PgEventStore({ pool, schema, migrate: false });
          try {
            expect(await restarted(second)).toBe(before.views);
          } finally {
            await second.close();
          }
        }),
        { numRuns: RUNS },
      );
    }, 180_000);

    it('redecode folds in what an older version quarantined, once, and another instance reads the same', async () => {
      await pool.query(`DELETE FROM ${schema}.entries; DELETE FROM ${schema}.streams; DELETE FROM ${schema}.snapshots;`);
      const store = new PgEventStore({ pool, schema, migrate: false });
      // the participant: startHoldMusic page's notification, as a version that read no resourceUrl without a leading slash stored it
      const url = 'communications/calls/e141b67c-90fd-455d-858b-b48a40b9cc8d/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5';
      await store.appendToStream(QUARANTINE_STREAM, [
        {
          kind: 'quarantined',
          id: 'q:old',
          callId: QUARANTINE_STREAM,
          at: 1,
          index: 0,
          notification: {
            changeType: 'deleted',
            resourceUrl: url,
            resourceData: { '@odata.type': '#microsoft.graph.startHoldMusicOperation', status: 'completed' },
          },
          error: { code: 'SWB_DECODE', reason: 'invalid-value', path: '$.value[0].resourceUrl', message: 'not a call resource' },
        },
      ]);
      const engine = createEngine({ store, clock: () => 2 });
      expect(await engine.redecode()).toMatchObject({ examined: 1, redecoded: 1, alreadyApplied: 0 });
      expect(await engine.redecode()).toMatchObject({ examined: 1, redecoded: 0, alreadyApplied: 1 });
      expect(await store.readStream('e141b67c-90fd-455d-858b-b48a40b9cc8d')).toHaveLength(1);
      const other = createEngine({ store: new PgEventStore({ pool, schema, migrate: false }), clock: () => 3 });
      await other.hydrate();
      expect(viewsOf(other.calls())).toBe(viewsOf(engine.calls()));
      expect(Object.values(other.getCall('e141b67c-90fd-455d-858b-b48a40b9cc8d')!.operations).map((o) => o.status)).toEqual(['completed']);
      await other.store.close?.();
      await store.close();
    });
  });
});
