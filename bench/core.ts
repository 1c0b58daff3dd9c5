import { createEngine, decodeNotifications, InMemoryEventStore, type LogEntry } from '@switchboard/core';
import { deliverySchedule, replay } from '@switchboard/core/replay';
import { lapBody, workload } from './workload.js';
import { median, type Row } from './report.js';

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function ingestAll(bodies: readonly string[]): Promise<void> {
  let now = 0;
  const engine = createEngine({ clock: () => ++now, store: new InMemoryEventStore(), snapshotEvery: 0 });
  for (const body of bodies) await engine.ingest(body);
}

/**
 * Ingest (decode + dedup + reconcile + fold, in-memory store) against JSON.parse of the same
 * bodies, and (unless `chaos` is false) shuffled + duplicated delivery against in-order.
 */
export async function benchIngest(rounds: number, { chaos: withChaos = true } = {}): Promise<Row[]> {
  const { bodies } = workload(2000);
  const shuffled = deliverySchedule(bodies, { seed: 7, shuffle: true, duplicate: 0.2 });
  await ingestAll(bodies.slice(0, 5000)); // warm-up
  const parse: number[] = [];
  const ingest: number[] = [];
  const chaos: number[] = [];
  for (let r = 0; r < rounds; r++) {
    parse.push(
      time(() => {
        for (const b of bodies) JSON.parse(b);
      }),
    );
    ingest.push(await timeAsync(() => ingestAll(bodies)));
    if (withChaos) chaos.push(await timeAsync(() => ingestAll(shuffled)));
  }
  const n = bodies.length;
  const ingestMs = median(ingest);
  const parseMs = median(parse);
  const inOrder: Row = {
    benchmark: 'ingest: decode + dedup + reconcile + fold, in-memory store',
    baseline: 'JSON.parse of the same bodies',
    figure: `${Math.round((n / ingestMs) * 1000).toLocaleString('en-US')} notifications/s (${n.toLocaleString('en-US')} bodies); JSON.parse ${Math.round((n / parseMs) * 1000).toLocaleString('en-US')}/s`,
    ratio: ingestMs / parseMs,
    target: '>= 100,000 notifications/s; <= 4x JSON.parse',
    met: (n / ingestMs) * 1000 >= 100_000 && ingestMs / parseMs <= 4,
  };
  if (!withChaos) return [inOrder];
  // per notification delivered, so duplicates count as work done
  const chaosPerNotification = median(chaos) / shuffled.length;
  return [
    inOrder,
    {
      benchmark: 'ingest with shuffled + 20% duplicated delivery',
      baseline: 'in-order ingest (per notification)',
      figure: `${Math.round(1000 / chaosPerNotification).toLocaleString('en-US')} notifications/s`,
      ratio: chaosPerNotification / (ingestMs / n),
      target: '<= 1.3x in-order cost',
      met: chaosPerNotification / (ingestMs / n) <= 1.3,
    },
  ];
}

/**
 * Replay of a 1,000,000-entry log, streamed as a log file is read: each body decoded as it is
 * replayed (so the figure includes decoding), the pure `replay` folding every call.
 */
export function benchReplay(): Row[] {
  const { bodies } = workload(8000, 9);
  function* log(): Generator<LogEntry> {
    let produced = 0;
    for (let lap = 0; ; lap++) {
      for (let i = 0; i < bodies.length; i++) {
        for (const entry of decodeNotifications(lapBody(bodies[i]!, lap), { receivedAt: produced })) {
          yield entry;
          if (++produced === 1_000_000) return;
        }
      }
    }
  }
  let calls = 0;
  const ms = time(() => {
    calls = Object.keys(replay(log(), { timeline: false }).calls).length;
  });
  return [
    {
      benchmark: `replay of a 1,000,000-entry log (decode + fold, ${calls.toLocaleString('en-US')} calls, no timeline)`,
      baseline: '-',
      figure: `${(ms / 1000).toFixed(1)} s (${Math.round(1_000_000 / (ms / 1000)).toLocaleString('en-US')} entries/s)`,
      ratio: null,
      target: '< 15 s',
      met: ms < 15_000,
    },
  ];
}

/** Retained heap per idle established call, 100,000 calls, against an empty engine. */
export async function benchMemory(): Promise<Row[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const calls = 100_000;
  let now = 0;
  const engine = createEngine({ clock: () => ++now, store: new InMemoryEventStore(), snapshotEvery: 0 });
  const bodies = Array.from({ length: calls }, (_, i) =>
    JSON.stringify({
      value: [
        {
          '@odata.type': '#microsoft.graph.commsNotification',
          changeType: 'updated',
          resource: `/app/calls/idle-${i}`,
          resourceUrl: `/communications/calls/idle-${i}`,
          resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established', direction: 'incoming', callChainId: `chain-${i}` },
        },
      ],
    }),
  );
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const body of bodies) await engine.ingest(body);
  bodies.length = 0;
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const perCall = (after - before) / calls;
  if (engine.calls().length !== calls) throw new Error('lost calls');
  return [
    {
      benchmark: 'memory per idle established call (100,000 calls, log in memory too)',
      baseline: 'empty engine',
      figure: `${(perCall / 1024).toFixed(2)} KB retained per call`,
      ratio: null,
      target: '< 10 KB per call',
      met: perCall < 10 * 1024,
    },
  ];
}
