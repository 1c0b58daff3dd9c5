/**
 * Before and after on the hot paths, in one process: the ingest (decode + dedup + reconcile +
 * fold into an in-memory store) and the replay (decode + pure fold) of the same notification
 * bodies, and SQLite appends (16 concurrent calls, one entry per append, a fresh file per
 * round), run by this checkout's packages and by another checkout's (an earlier
 * commit, e.g. a `git worktree`), alternating round by round so that both see the same machine.
 * Separate `pnpm bench` runs minutes apart on a shared machine differ by more than most changes.
 *
 *   git worktree add /tmp/before <commit> && (cd /tmp/before && pnpm install)
 *   node --expose-gc --import tsx --conditions=@switchboard/source bench/ab-core.ts /tmp/before [rounds]
 *
 * Prints each side's median per round and the ratio after / before (above 1: after is slower),
 * with the range of the per-round ratios.
 */
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lapBody, workload } from './workload.js';
import type { EventStore } from '@switchboard/core';
import { median } from './report.js';
import { plan, portAppend, sequences } from './stores.js';

interface CoreApi {
  decodeNotifications(body: string, meta: { receivedAt: number }): Iterable<unknown>;
  replay(entries: Iterable<unknown>, options: { timeline: boolean }): { calls: Record<string, unknown> };
  createEngine(options: { store: unknown; clock: () => number }): { ingest(body: string, meta: { receivedAt: number }): unknown };
  InMemoryEventStore: new () => unknown;
  /** the checkout's SQLite store (adapters) */
  SqliteEventStore: new (options: {
    path: string;
  }) => EventStore & { close(): Promise<void> };
}

const [beforeDir, roundsArg] = process.argv.slice(2);
if (!beforeDir) throw new Error('usage: bench/ab-core.ts <checkout of the earlier commit> [rounds]');
const rounds = Number(roundsArg ?? 9);

/** A checkout's core: the root entry, and `/replay` where the layout has it (the older root exported replay too). */
async function coreOf(root: string): Promise<CoreApi> {
  const src = (path: string) => pathToFileURL(resolve(root, 'packages/core/src', path)).href;
  const main = (await import(src('index.ts'))) as Partial<CoreApi>;
  const replayEntry = (await import(src('replay/index.ts')).catch(() => ({}))) as Partial<CoreApi>;
  const adapters = (await import(pathToFileURL(resolve(root, 'packages/adapters/src/index.ts')).href)) as Partial<CoreApi>;
  const api = { ...main, replay: main.replay ?? replayEntry.replay, SqliteEventStore: adapters.SqliteEventStore } as CoreApi;
  for (const name of ['decodeNotifications', 'replay', 'createEngine', 'InMemoryEventStore', 'SqliteEventStore'] as const) {
    if (typeof api[name] !== 'function') throw new Error(`${root}: core has no ${name}`);
  }
  return api;
}

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const { bodies } = workload(2000, 7);

async function ingest(core: CoreApi): Promise<number> {
  gc();
  const engine = core.createEngine({ store: new core.InMemoryEventStore(), clock: () => 0 });
  const started = performance.now();
  for (let i = 0; i < bodies.length; i++) await engine.ingest(bodies[i]!, { receivedAt: i });
  return performance.now() - started;
}

function replayAll(core: CoreApi): number {
  gc();
  const started = performance.now();
  function* entries() {
    for (let lap = 0; lap < 5; lap++) {
      for (let i = 0; i < bodies.length; i++) {
        yield* core.decodeNotifications(lapBody(bodies[i]!, lap), { receivedAt: i });
      }
    }
  }
  core.replay(entries(), { timeline: false });
  return performance.now() - started;
}

const seqs = sequences();
const dir = mkdtempSync(join(tmpdir(), 'swb-ab-'));
let files = 0;
/** Milliseconds for 16 calls appending one entry at a time, 4,000 appends, into a fresh SQLite file. */
async function sqlite(core: CoreApi): Promise<number> {
  const store = new core.SqliteEventStore({ path: join(dir, `${files++}.db`) });
  try {
    const append = portAppend(store);
    await plan(seqs, 4, 25, `warm${files}`)(append);
    const work = plan(seqs, 16, 250, `ab${files}`);
    const started = performance.now();
    await work(append);
    return performance.now() - started;
  } finally {
    await store.close();
  }
}

const before = await coreOf(resolve(beforeDir));
const after = await coreOf(resolve(import.meta.dirname, '..'));
const times = {
  ingest: { before: [] as number[], after: [] as number[] },
  replay: { before: [] as number[], after: [] as number[] },
  'sqlite appends, 16 calls': { before: [] as number[], after: [] as number[] },
};
// one warm-up round each, not counted
await ingest(before);
await ingest(after);
replayAll(before);
replayAll(after);
for (let r = 0; r < rounds; r++) {
  // alternate which side goes first
  const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
  for (const side of order) times.ingest[side].push(await ingest(side === 'before' ? before : after));
  for (const side of order) times.replay[side].push(replayAll(side === 'before' ? before : after));
  for (const side of order) times['sqlite appends, 16 calls'][side].push(await sqlite(side === 'before' ? before : after));
}
rmSync(dir, { recursive: true, force: true });
for (const [row, t] of Object.entries(times)) {
  const ratios = t.after.map((a, i) => a / t.before[i]!).sort((x, y) => x - y);
  console.log(
    `${row}: before ${median(t.before).toFixed(0)} ms, after ${median(t.after).toFixed(0)} ms, ` +
      `after/before ${(median(t.after) / median(t.before)).toFixed(3)} (per-round ratios ${ratios[0]!.toFixed(2)}-${ratios[ratios.length - 1]!.toFixed(2)}, ${rounds} rounds; ${bodies.length} bodies)`,
  );
}
