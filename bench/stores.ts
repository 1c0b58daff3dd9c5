import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { getPostgreSQLEventStore, type PostgresEventStore } from '@event-driven-io/emmett-postgresql';
import { decodeNotifications, InMemoryEventStore, type EventStore, type LogEntry } from '@switchboard/core';
import { PgEventStore, SqliteEventStore } from '@switchboard/adapters';
import { workload } from './workload.js';
import { median, type Row } from './report.js';

/**
 * Event store appends: C concurrent calls (streams), each written the way the engine writes
 * it: one notification entry per append, with the expected version the writer holds. Each
 * worker writes its calls one after another (a call's appends are sequential, as the engine's
 * per-call lock makes them), so C is the number of appends in flight.
 *
 * PostgreSQL: Switchboard's PgEventStore against Emmett's PostgreSQL event store
 * (`@event-driven-io/emmett-postgresql`), the same entries as the same JSON payloads (one event
 * per entry, `type` = the entry kind, `data` = the entry), the same expected-version check,
 * the same database and server settings (`synchronous_commit` is read through each store's
 * connection string and must agree: a commit waits for its WAL flush in both or in neither),
 * each in its own schema (dropped afterwards), each with its pool's default of 10
 * connections. Switchboard groups concurrent appends into shared commits; Emmett commits each
 * append on its own. SQLite (a file, synchronous=full) against the in-memory store.
 */

export const DATABASE_URL = process.env['SWITCHBOARD_BENCH_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const CONCURRENCY = [1, 16, 64] as const;

/** Appends `entries` to `streamId` at `expectedVersion`; resolves to the new version. */
export type Append = (streamId: string, entries: readonly LogEntry[], expectedVersion: number) => Promise<number>;

/** Per-call entry sequences from the benchmark workload (real notification shapes). */
export function sequences(): LogEntry[][] {
  const { bodies } = workload(300, 11);
  const byCall = new Map<string, LogEntry[]>();
  let at = 1_700_000_000_000;
  for (const body of bodies) {
    for (const entry of decodeNotifications(body, { receivedAt: (at += 7) })) {
      const list = byCall.get(entry.callId);
      if (list) list.push(entry);
      else byCall.set(entry.callId, [entry]);
    }
  }
  return [...byCall.values()].filter((l) => l.length >= 2);
}

/**
 * Prepares `concurrency` workers, each making `appendsPerWorker` single-entry appends over fresh
 * streams (ids prefixed by `tag`, every stream's entries prepared now), and returns what runs
 * them: each worker writes its calls one after another, a call's appends in sequence.
 */
export function plan(
  seqs: readonly LogEntry[][],
  concurrency: number,
  appendsPerWorker: number,
  tag: string,
): (append: Append) => Promise<void> {
  const plans: { streamId: string; entries: LogEntry[] }[][] = [];
  let s = 0;
  for (let w = 0; w < concurrency; w++) {
    const plan: { streamId: string; entries: LogEntry[] }[] = [];
    let left = appendsPerWorker;
    while (left > 0) {
      const seq = seqs[s++ % seqs.length]!;
      const streamId = `${tag}-${w}-${plan.length}`;
      const entries = seq.slice(0, left).map((e) => ({ ...e, callId: streamId }) as LogEntry);
      plan.push({ streamId, entries });
      left -= entries.length;
    }
    plans.push(plan);
  }
  return async (append) => {
    await Promise.all(
      plans.map(async (plan) => {
        for (const { streamId, entries } of plan) {
          let version = 0;
          for (const entry of entries) {
            const next = await append(streamId, [entry], version);
            if (next !== version + 1) throw new Error(`${tag}: ${streamId} went from ${version} to ${next}`);
            version = next;
          }
        }
      }),
    );
  };
}

/** Runs `plan(...)` with `append`; resolves to entries appended per second. */
async function run(
  append: Append,
  seqs: readonly LogEntry[][],
  concurrency: number,
  appendsPerWorker: number,
  tag: string,
): Promise<number> {
  const work = plan(seqs, concurrency, appendsPerWorker, tag);
  const start = process.hrtime.bigint();
  await work(append);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return (concurrency * appendsPerWorker) / seconds;
}

export const portAppend =
  (store: EventStore): Append =>
  async (streamId, entries, expectedVersion) =>
    (await store.appendToStream(streamId, entries, { expectedVersion })).version;

export function emmettAppend(store: PostgresEventStore): Append {
  return async (streamId, entries, expectedVersion) => {
    const result = await store.appendToStream(
      streamId,
      entries.map((e) => ({ type: e.kind, data: e as unknown as Record<string, unknown> })),
      { expectedStreamVersion: BigInt(expectedVersion) },
    );
    return Number(result.nextExpectedStreamVersion);
  };
}

export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}

async function admin(sql: string, url = DATABASE_URL): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** `synchronous_commit` as a session opened with this connection string sees it. */
async function synchronousCommit(url: string): Promise<string> {
  const [row] = await admin('SHOW synchronous_commit', url);
  return String(row?.['synchronous_commit']);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * The machine is shared (other processes fsync too), so the two stores run in many short
 * alternating slices and each figure is entries over the summed time of its slices: a slow
 * stretch of the disk lands on both.
 */
export async function benchPostgres(quick: boolean): Promise<Row[]> {
  const slices = quick ? 2 : 12;
  // appends per worker in one slice, by concurrency (~400-1,000 appends a slice: a slice of
  // 160 lasted ~25 ms, and the ratio of one run to the next ranged 2.7x-3.8x at 16 calls)
  const perWorker: Record<number, number> = { 1: 400, 16: 40, 64: 16 };
  const seqs = sequences();
  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const swbSchema = `swb_bench_${suffix}`;
  const emtSchema = `emt_bench_${suffix}`;
  const emtUrl = withSearchPath(DATABASE_URL, emtSchema);
  const commits = { swb: await synchronousCommit(DATABASE_URL), emt: await synchronousCommit(emtUrl) };
  if (commits.swb !== commits.emt) throw new Error(`synchronous_commit differs: Switchboard ${commits.swb}, Emmett ${commits.emt}`);
  await admin(`CREATE SCHEMA ${emtSchema}`);
  const swb = new PgEventStore({ connectionString: DATABASE_URL, schema: swbSchema, applicationName: 'switchboard-bench' });
  const emt = getPostgreSQLEventStore(emtUrl);
  const rows: Row[] = [];
  try {
    const appendSwb = portAppend(swb);
    const appendEmt = emmettAppend(emt);
    // warm-up: schema creation / migration, connections, JIT
    await run(appendSwb, seqs, 8, 20, 'warm-swb');
    await run(appendEmt, seqs, 8, 20, 'warm-emt');
    for (const c of CONCURRENCY) {
      let swbSeconds = 0;
      let emtSeconds = 0;
      // each slice's pair (Switchboard then Emmett, or the other way) as one ratio: a pair runs
      // within a fraction of a second, so a burst of other load on the machine moves one pair,
      // and the median of the pairs, not the sum, says how the two compare
      const pairs: number[] = [];
      const n = c * perWorker[c]!;
      for (let r = 0; r < slices; r++) {
        // alternate which goes first
        const order = r % 2 === 0 ? (['swb', 'emt'] as const) : (['emt', 'swb'] as const);
        const took = { swb: 0, emt: 0 };
        for (const which of order) {
          const rate = await run(which === 'swb' ? appendSwb : appendEmt, seqs, c, perWorker[c]!, `${which}-c${c}-r${r}`);
          took[which] = n / rate;
        }
        swbSeconds += took.swb;
        emtSeconds += took.emt;
        pairs.push(took.emt / took.swb);
      }
      const s = (n * slices) / swbSeconds;
      const e = (n * slices) / emtSeconds;
      const mid = median(pairs);
      // one call at a time has nothing to group: it must not lose to Emmett; many must win by 3x
      const target = c === 1 ? 1 : 3;
      rows.push({
        benchmark: `PostgreSQL appends, ${c} concurrent call${c === 1 ? '' : 's'} (1 entry per append, expected version)`,
        baseline: `Emmett's PostgreSQL event store, same entries, same database, synchronous_commit=${commits.swb} for both`,
        figure: `${fmt(s)} entries/s; Emmett ${fmt(e)} entries/s; Switchboard at ${mid.toFixed(2)}x Emmett's rate (median of ${slices} alternating pairs of ${fmt(n)} appends each, ${Math.min(...pairs).toFixed(2)}-${Math.max(...pairs).toFixed(2)}x)`,
        // cost relative to the baseline: time per entry against Emmett's
        ratio: 1 / mid,
        target: `>= ${target.toFixed(1)}x Emmett's rate (cost <= ${(1 / target).toFixed(2)}x)`,
        met: mid >= target,
      });
    }
  } finally {
    await swb.close().catch(() => undefined);
    await emt.close().catch(() => undefined);
    await admin(`DROP SCHEMA IF EXISTS ${swbSchema} CASCADE; DROP SCHEMA IF EXISTS ${emtSchema} CASCADE`);
  }
  return rows;
}

export async function benchSqliteAppends(quick: boolean): Promise<Row[]> {
  const rounds = quick ? 1 : 3;
  const perWorker: Record<number, number> = quick ? { 1: 300, 16: 30, 64: 10 } : { 1: 2000, 16: 150, 64: 40 };
  const seqs = sequences();
  const dir = mkdtempSync(join(tmpdir(), 'swb-bench-sqlite-'));
  const sqlite = new SqliteEventStore({ path: join(dir, 'calls.db') });
  const memory = new InMemoryEventStore();
  const rows: Row[] = [];
  try {
    await run(portAppend(sqlite), seqs, 4, 50, 'warm-sqlite');
    await run(portAppend(memory), seqs, 4, 50, 'warm-mem');
    for (const c of CONCURRENCY) {
      const lite: number[] = [];
      const mem: number[] = [];
      for (let r = 0; r < rounds; r++) {
        lite.push(await run(portAppend(sqlite), seqs, c, perWorker[c]!, `sqlite-c${c}-r${r}`));
        mem.push(await run(portAppend(memory), seqs, c, perWorker[c]!, `mem-c${c}-r${r}`));
      }
      const l = median(lite);
      const m = median(mem);
      rows.push({
        benchmark: `SQLite appends (file, synchronous=full), ${c} concurrent call${c === 1 ? '' : 's'} (1 entry per append)`,
        baseline: 'in-memory store, same entries',
        figure: `${fmt(l)} entries/s; in-memory ${fmt(m)} entries/s`,
        ratio: m / l,
        target: 'informational',
        met: true,
      });
    }
  } finally {
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
