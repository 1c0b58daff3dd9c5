/**
 * Profiling harness for core ingest: the same workload as bench/core.ts (bench/workload.ts),
 * only the ingest loop, with a JSON.parse baseline measured in the same process.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@switchboard/source bench/profile-ingest.ts
 *
 * Options: --rounds N (default 3), --chaos (also time shuffled + 20% duplicated delivery),
 * --replay N (also time replay of an N-entry log, decode included), --calls N (default 2000),
 * --profile FILE (write a .cpuprofile of the timed ingest rounds only, via node:inspector, so
 * workload generation and module loading stay out of it).
 */
import { createEngine, decodeNotifications, InMemoryEventStore, type LogEntry } from '@switchboard/core';
import { deliverySchedule, replay } from '@switchboard/core/replay';
import { workload } from './workload.js';
import { profiled } from './profiler.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rounds = arg('rounds', 3);
const callCount = arg('calls', 2000);
const replayN = arg('replay', 0);
const chaosOn = process.argv.includes('--chaos');
const profileAt = process.argv.indexOf('--profile');
const profileFile = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;

// CPU time (user + system, all threads) beside wall time: on a shared machine the wall clock
// includes waiting for a core, the CPU time much less so.
const cpu: Record<'parse' | 'ingest', number[]> = { parse: [], ingest: [] };
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function time(fn: () => void, into?: number[]): number {
  const c = cpuMs();
  const start = process.hrtime.bigint();
  fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  into?.push(cpuMs() - c);
  return ms;
}

async function timeAsync(fn: () => Promise<void>, into?: number[]): Promise<number> {
  const c = cpuMs();
  const start = process.hrtime.bigint();
  await fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  into?.push(cpuMs() - c);
  return ms;
}

async function ingestAll(bodies: readonly string[]): Promise<void> {
  let now = 0;
  const engine = createEngine({ clock: () => ++now, store: new InMemoryEventStore(), snapshotEvery: 0 });
  for (const body of bodies) await engine.ingest(body);
}

const median = (xs: number[]): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const { bodies } = workload(callCount);
const shuffled = deliverySchedule(bodies, { seed: 7, shuffle: true, duplicate: 0.2 });
await ingestAll(bodies.slice(0, 5000)); // warm-up
const parse: number[] = [];
const ingest: number[] = [];
const chaos: number[] = [];
await profiled(profileFile, 200, async () => {
  for (let r = 0; r < rounds; r++) {
    parse.push(
      time(() => {
        for (const b of bodies) JSON.parse(b);
      }, cpu.parse),
    );
    ingest.push(await timeAsync(() => ingestAll(bodies), cpu.ingest));
    if (chaosOn) chaos.push(await timeAsync(() => ingestAll(shuffled)));
    parse.push(
      time(() => {
        for (const b of bodies) JSON.parse(b);
      }, cpu.parse),
    );
  }
});
const n = bodies.length;
const ingestMs = median(ingest);
const parseMs = median(parse);
console.log(`bodies: ${n}`);
console.log(
  `JSON.parse: ${parseMs.toFixed(1)} ms (${Math.round((n / parseMs) * 1000).toLocaleString('en-US')}/s)  all: ${parse.map((x) => x.toFixed(0)).join(' ')}`,
);
console.log(
  `ingest:     ${ingestMs.toFixed(1)} ms (${Math.round((n / ingestMs) * 1000).toLocaleString('en-US')}/s)  all: ${ingest.map((x) => x.toFixed(0)).join(' ')}`,
);
console.log(
  `ratio ingest/JSON.parse: ${(ingestMs / parseMs).toFixed(2)}x (medians; best-of: ${(Math.min(...ingest) / Math.min(...parse)).toFixed(2)}x)`,
);
console.log(
  `cpu-time ratio ingest/JSON.parse: ${(median(cpu.ingest) / median(cpu.parse)).toFixed(2)}x (medians of ${median(cpu.ingest).toFixed(0)} / ${median(cpu.parse).toFixed(0)} ms cpu)`,
);
if (chaosOn) {
  const per = median(chaos) / shuffled.length;
  console.log(
    `chaos: ${median(chaos).toFixed(1)} ms for ${shuffled.length}; per-notification ratio to in-order ${(per / (ingestMs / n)).toFixed(2)}x`,
  );
}

if (replayN > 0) {
  const r = workload(8000, 9);
  function* log(): Generator<LogEntry> {
    let produced = 0;
    for (let lap = 0; ; lap++) {
      for (let i = 0; i < r.bodies.length; i++) {
        const body = lap === 0 ? r.bodies[i]! : r.bodies[i]!.replaceAll('/calls/call-', `/calls/l${lap}-call-`);
        for (const entry of decodeNotifications(body, { receivedAt: produced })) {
          yield entry;
          if (++produced === replayN) return;
        }
      }
    }
  }
  let calls = 0;
  const ms = await profiled(profileFile?.replace(/(\.cpuprofile)?$/, '.replay.cpuprofile'), 500, () =>
    time(() => {
      calls = Object.keys(replay(log(), { timeline: false }).calls).length;
    }),
  );
  console.log(
    `replay ${replayN} entries: ${ms.toFixed(0)} ms (${Math.round(replayN / (ms / 1000)).toLocaleString('en-US')}/s), ${calls} calls; x1e6 est ${((ms * 1_000_000) / replayN / 1000).toFixed(1)} s`,
  );
}
