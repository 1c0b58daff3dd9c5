import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEngine, type EventStore } from '@switchboard/core';
import { seededRandom } from '@switchboard/core/testing';
import { callStateBody, operationBody, rosterBody, toneBody, type ParticipantSpec } from '@switchboard/core/testing';
import { SqliteEventStore, type SqliteDriver } from '@switchboard/adapters';
import { median, type Row } from './report.js';

/**
 * Rehydration after a restart: a SQLite store holding N established (live) calls, each log
 * written the way the runtime writes it, with the snapshots the runtime writes on its default
 * policy: the engine's every 64 entries, plus a snapshot of a call once it has been quiet for
 * `snapshotWhenQuietMs` (2 s, checked every 1 s). Restoring every call the way
 * `Switchboard.start()` does it (`engine.hydrate()`: list the streams, then per call the
 * snapshot plus the tail after it) against a cold full replay of every log (the same hydrate
 * over a store without snapshots).
 *
 * Call logs: a meeting in progress, established and then a random walk of roster changes
 * (join, mute, unmute, leave; full rosters of up to 6 people with sequence numbers), tones,
 * operations running and completing, and call updates; between 64 and 160 entries per call, so every call has a snapshot
 * (seeded, uniform). Calls are instances of TEMPLATES generated logs with their own call ids.
 *
 * Timing (seeded): notifications come in bursts. After an entry, the next one follows within
 * the burst (20-800 ms later) with probability 0.65, else after a pause of 3-120 s (uniform);
 * a call of 110 entries lasts about 40 minutes. The crash, two ways:
 *
 * - at a random instant of each call's life (the target row): the instant falls in the
 *   interval after the call's last entry, drawn length-biased from the same distribution
 *   (a random instant lies in a long interval more often), uniformly inside it; the quiet
 *   snapshots due before it were written;
 * - right after every call's last entry (informational, the worst instant for every call at
 *   once): each call's tail is whatever came since its last snapshot.
 */

const MIN_ENTRIES = 64;
const MAX_ENTRIES = 160;
const TEMPLATES = 64;
/** The runtime's default `snapshotWhenQuietMs`, and its check every half of it. */
const QUIET_MS = 2_000;
const SWEEP_MS = QUIET_MS / 2;
const BURST = { p: 0.65, minMs: 20, maxMs: 800 };
const PAUSE = { minMs: 3_000, maxMs: 120_000 };

type SnapshotRow = { position: number; machineVersion: string; body: string };

interface Template {
  readonly callId: string;
  /** The log as the SQLite store encodes it (call id substituted per instance). */
  readonly rows: readonly { id: string; kind: string; at: number; body: string }[];
  /** The last snapshot written before a crash at a random instant, or null when none was. */
  readonly atRandom: SnapshotRow | null;
  /** The last snapshot written before a crash right after the last entry, or null. */
  readonly atLastEntry: SnapshotRow | null;
}

type Crash = 'atRandom' | 'atLastEntry';

/** The time to the next entry: within the burst, or after a pause. */
function interval(random: () => number): number {
  return random() < BURST.p ? BURST.minMs + random() * (BURST.maxMs - BURST.minMs) : PAUSE.minMs + random() * (PAUSE.maxMs - PAUSE.minMs);
}

/** An interval drawn length-biased (the one a random instant falls in), by rejection. */
function intervalAround(random: () => number): number {
  for (;;) {
    const length = interval(random);
    if (random() < length / PAUSE.maxMs) return length;
  }
}

type Json = Record<string, unknown>;

function meetingBodies(callId: string, length: number, random: () => number): Json[] {
  const bodies: Json[] = [
    callStateBody(callId, 'establishing', { callChainId: `chain-${callId}` }),
    callStateBody(callId, 'established', {
      direction: 'outgoing',
      mediaState: { '@odata.type': '#microsoft.graph.callMediaState', audio: 'active' },
    }),
  ];
  const present = new Map<string, ParticipantSpec>([['bot', { id: 'bot', displayName: 'Bot' }]]);
  let seq = 0;
  let joined = 0;
  let op = 0;
  let tone = 0;
  const tones = ['tone1', 'tone2', 'tone3', 'tone9', 'star', 'pound'];
  while (bodies.length < length) {
    const roll = random();
    if (roll < 0.45) {
      const others = [...present.keys()].filter((k) => k !== 'bot');
      const pick = others[Math.floor(random() * others.length)];
      const what = random();
      if (pick === undefined || (what < 0.4 && present.size < 6)) {
        const id = `p${joined++}`;
        present.set(id, { id, displayName: `Person ${joined}` });
      } else if (what < 0.85) {
        const p = present.get(pick)!;
        present.set(pick, { ...p, isMuted: !p.isMuted });
      } else present.delete(pick);
      bodies.push(rosterBody(callId, [...present.values()], ++seq));
    } else if (roll < 0.7) {
      bodies.push(toneBody(callId, ++tone, tones[Math.floor(random() * tones.length)]!));
    } else if (roll < 0.9) {
      const opId = `op-${op++}`;
      const type = ['playPromptOperation', 'recordOperation', 'subscribeToToneOperation'][op % 3]!;
      bodies.push(operationBody(callId, opId, type, 'running', { clientContext: `ctx-${op}` }));
      if (bodies.length < length) bodies.push(operationBody(callId, opId, type, random() < 0.9 ? 'completed' : 'failed'));
    } else {
      bodies.push(
        callStateBody(callId, 'established', {
          mediaState: { '@odata.type': '#microsoft.graph.callMediaState', audio: random() < 0.5 ? 'active' : 'inactive' },
        }),
      );
    }
  }
  return bodies;
}

async function templates(random: () => number): Promise<Template[]> {
  const out: Template[] = [];
  for (let t = 0; t < TEMPLATES; t++) {
    const callId = `tpl${t.toString().padStart(3, '0')}x`;
    const length = MIN_ENTRIES + Math.floor(random() * (MAX_ENTRIES - MIN_ENTRIES + 1));
    let now = 1_700_000_000_000;
    // the runtime's policy: the engine's own (every 64 entries) and its quiet sweep
    const engine = createEngine({ clock: () => now });
    let nextSweep = now + SWEEP_MS;
    const sweepUntil = async (until: number) => {
      for (; nextSweep <= until; nextSweep += SWEEP_MS) {
        now = nextSweep;
        await engine.snapshot({ quietForMs: QUIET_MS });
      }
    };
    for (const body of meetingBodies(callId, length, random)) {
      await sweepUntil(now + interval(random));
      now += 1; // arrives just after the sweep that shares its millisecond
      await engine.ingest(body);
    }
    const view = engine.getCall(callId);
    if (view?.state !== 'established') throw new Error(`template ${callId} is ${String(view?.state)}, not established`);
    const entries = await engine.store.readStream(callId);
    const row = async (): Promise<SnapshotRow | null> => {
      const snapshot = await engine.store.readSnapshot!(callId);
      return snapshot
        ? { position: snapshot.position, machineVersion: String(snapshot.machineVersion), body: JSON.stringify(snapshot) }
        : null;
    };
    const atLastEntry = await row();
    const around = intervalAround(random);
    await sweepUntil(now + random() * around);
    out.push({
      callId,
      rows: entries.map(({ position: _p, ...entry }) => ({
        id: entry.id,
        kind: String(entry.kind),
        at: entry.at,
        body: JSON.stringify(entry),
      })),
      atLastEntry,
      atRandom: await row(),
    });
  }
  return out;
}

/**
 * Writes `calls` calls into a SQLite file (not measured). The file is created and migrated by
 * SqliteEventStore; the rows are then bulk-inserted in one transaction, exactly as the store
 * encodes them (the entry as JSON without its position), because appending 1M entries one
 * stream at a time through the store would take minutes on a shared machine. One call is read
 * back through the store and compared with its template as a check.
 */
async function populate(path: string, calls: number, tpls: readonly Template[]): Promise<{ entries: number }> {
  await new SqliteEventStore({ path }).close();
  const db = openRaw(path);
  let entries = 0;
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare(
      'INSERT INTO swb_entries (stream_key, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    const stream = db
      .prepare('INSERT INTO swb_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING stream_key')
      .pluck();
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < calls; i++) {
        const t = tpls[i % tpls.length]!;
        const callId = callIdOf(i);
        const key = stream.get(callId, t.rows.length, now, now) as number;
        t.rows.forEach((row, k) => insert.run(key, k + 1, row.id, row.kind, row.at, row.body.replaceAll(t.callId, callId), now));
        entries += t.rows.length;
      }
    })();
  } finally {
    db.close();
  }
  // check: a call reads back through the store as its template's log, under its own id
  const store = new SqliteEventStore({ path });
  try {
    const i = calls - 1;
    const t = tpls[i % tpls.length]!;
    const read = await store.readStream(callIdOf(i));
    const expected = t.rows.map((r, k) => ({ ...(JSON.parse(r.body) as object), position: k + 1 }));
    if (JSON.stringify(read).replaceAll(callIdOf(i), t.callId) !== JSON.stringify(expected)) {
      throw new Error('populated call does not read back as its template');
    }
  } finally {
    await store.close();
  }
  return { entries };
}

/** Replaces every call's snapshot with the one its template had at the given crash; returns the entries left in tails. */
function placeSnapshots(path: string, calls: number, tpls: readonly Template[], crash: Crash): number {
  const db = openRaw(path);
  let tail = 0;
  try {
    db.pragma('journal_mode = WAL');
    const snap = db.prepare('INSERT INTO swb_snapshots (stream_id, position, machine_version, body, written_at) VALUES (?, ?, ?, ?, ?)');
    const now = Date.now();
    db.transaction(() => {
      db.exec('DELETE FROM swb_snapshots');
      for (let i = 0; i < calls; i++) {
        const t = tpls[i % tpls.length]!;
        const s = t[crash];
        if (s) snap.run(callIdOf(i), s.position, s.machineVersion, s.body.replaceAll(t.callId, callIdOf(i)), now);
        tail += t.rows.length - (s?.position ?? 0);
      }
    })();
  } finally {
    db.close();
  }
  return tail;
}

/** A raw better-sqlite3 connection to the file (the store's driver), for writing rows directly. */
function openRaw(path: string) {
  const Driver = createRequire(fileURLToPath(import.meta.resolve('@switchboard/adapters')))('better-sqlite3') as SqliteDriver;
  return new Driver(path);
}

const callIdOf = (i: number) => `call-${i.toString(36)}-live`;

/** The store as a bot would see it after a restart without snapshots (a store that keeps none). */
function withoutSnapshots(store: EventStore): EventStore {
  return {
    readStream: (id, options) => store.readStream(id, options),
    appendToStream: (id, entries, options) => store.appendToStream(id, entries, options),
    listStreams: () => store.listStreams(),
  };
}

async function restore(path: string, snapshots: boolean, calls: number): Promise<{ ms: number; views: Map<string, string> }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const store = new SqliteEventStore({ path });
  try {
    const engine = createEngine({ store: snapshots ? store : withoutSnapshots(store), clock: () => 0 });
    const start = process.hrtime.bigint();
    const loaded = await engine.hydrate();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    const views = engine.calls();
    if (loaded !== calls || views.length !== calls)
      throw new Error(`rehydrated ${loaded} streams, ${views.length} calls; expected ${calls}`);
    const live = views.filter((v) => v.state === 'established').length;
    if (live !== calls) throw new Error(`only ${live} of ${calls} calls came back established`);
    return { ms, views: new Map(views.map((v) => [v.id, JSON.stringify(v)])) };
  } finally {
    await store.close();
  }
}

export async function benchRehydrate(quick: boolean, calls = quick ? 1_000 : 10_000): Promise<Row[]> {
  const rounds = quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'swb-bench-rehydrate-'));
  const path = join(dir, 'calls.db');
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  try {
    const tpls = await templates(seededRandom(2026));
    const { entries } = await populate(path, calls, tpls);
    const size = statSync(path).size;
    const cold: number[] = [];
    const warm: Record<Crash, number[]> = { atRandom: [], atLastEntry: [] };
    const tails: Record<Crash, number> = { atRandom: 0, atLastEntry: 0 };
    const mismatches: Record<Crash, number> = { atRandom: 0, atLastEntry: 0 };
    let coldViews: Map<string, string> | undefined;
    for (let r = 0; r < rounds; r++) {
      const b = await restore(path, false, calls);
      cold.push(b.ms);
      coldViews ??= b.views;
      for (const crash of ['atRandom', 'atLastEntry'] as const) {
        tails[crash] = placeSnapshots(path, calls, tpls, crash);
        const a = await restore(path, true, calls);
        warm[crash].push(a.ms);
        if (r === 0) for (const [id, view] of coldViews) if (a.views.get(id) !== view) mismatches[crash]++;
      }
    }
    const c = median(cold);
    const row = (crash: Crash, label: string, target: string, met: (ratio: number) => boolean): Row => {
      const s = median(warm[crash]);
      return {
        benchmark: `rehydration of ${fmt(calls)} live calls after a restart, SQLite (engine.hydrate, as start() does): snapshot + tail, crash ${label}`,
        baseline: 'cold full replay of every log (same hydrate, store without snapshots)',
        figure:
          `${(s / 1000).toFixed(2)} s snapshot path (${fmt((calls / s) * 1000)} calls/s); cold replay ${(c / 1000).toFixed(2)} s; ` +
          `${fmt(entries)} entries (${MIN_ENTRIES}-${MAX_ENTRIES} per call, ${(size / 2 ** 20).toFixed(0)} MiB), ${fmt(tails[crash])} in tails after snapshots` +
          (mismatches[crash] ? `; **${mismatches[crash]} calls restored differently from replay**` : '; views identical to replay'),
        ratio: s / c,
        target,
        met: met(s / c) && mismatches[crash] === 0,
      };
    };
    return [
      row('atRandom', 'at a random instant', 'snapshot path >= 10x faster than replay (<= 0.10x)', (ratio) => ratio <= 0.1),
      row('atLastEntry', "right after every call's last entry (worst instant)", 'informational', () => true),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
