/**
 * Profiling harness for the machine benchmark (bench/machine.ts): the same calls and entries,
 * the XState fold and the reducer timed in alternation for more rounds, with CPU time beside
 * wall time (a shared machine's wall clock includes waiting for a core).
 *
 *   node --import tsx --conditions=@switchboard/source bench/profile-machine.ts [--rounds N]
 *     [--profile-xstate FILE] [--profile-reducer FILE]
 *
 * --profile-xstate / --profile-reducer write a .cpuprofile of that side's timed rounds only
 * (via node:inspector), so workload generation, module loading and the other side stay out.
 */
import { profiled } from './profiler.js';
import { foldEntries, startCall } from '@switchboard/core/replay';
import { toMachineEvent } from '@switchboard/core/machine';
// internal: one XState step (the engine folds with the machine's table instead)
import { step, type MachineSnapshot } from '../packages/core/src/machine/definition.js';
import { machineCalls } from './machine.js';
import { median } from './report.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const rounds = Number(arg('rounds') ?? 21);
const profileXState = arg('profile-xstate');
const profileReducer = arg('profile-reducer');

const { calls, entries } = machineCalls();
const viaXState = () =>
  calls.map(([callId, list]) =>
    list.reduce((snapshot, entry) => step(snapshot, toMachineEvent(entry)), startCall({ callId }) as unknown as MachineSnapshot),
  );
const viaReducer = () => calls.map(([callId, list]) => foldEntries(startCall({ callId }), list));

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
function time(fn: () => void, wall: number[], cpu: number[]): void {
  const c = cpuMs();
  const start = process.hrtime.bigint();
  fn();
  wall.push(Number(process.hrtime.bigint() - start) / 1e6);
  cpu.push(cpuMs() - c);
}

for (let i = 0; i < 3; i++) {
  viaXState();
  viaReducer();
}
const xs = { wall: [] as number[], cpu: [] as number[] };
const rs = { wall: [] as number[], cpu: [] as number[] };
if (profileXState || profileReducer) {
  await profiled(profileXState, 100, () => {
    for (let r = 0; r < rounds; r++) time(viaXState, xs.wall, xs.cpu);
  });
  await profiled(profileReducer, 100, () => {
    for (let r = 0; r < rounds; r++) time(viaReducer, rs.wall, rs.cpu);
  });
} else {
  // alternated, as bench/machine.ts does
  for (let r = 0; r < rounds; r++) {
    time(viaXState, xs.wall, xs.cpu);
    time(viaReducer, rs.wall, rs.cpu);
  }
}

const us = (ms: number) => ((ms * 1000) / entries).toFixed(2);
const spread = (v: number[]) => `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)} ms`;
console.log(`${calls.length} calls, ${entries} entries, ${rounds} rounds each`);
console.log(
  `xstate:  median ${median(xs.wall).toFixed(1)} ms wall (${us(median(xs.wall))} us/entry, ${spread(xs.wall)}), ${median(xs.cpu).toFixed(1)} ms cpu`,
);
console.log(
  `reducer: median ${median(rs.wall).toFixed(1)} ms wall (${us(median(rs.wall))} us/entry, ${spread(rs.wall)}), ${median(rs.cpu).toFixed(1)} ms cpu`,
);
const best = (v: number[]) => Math.min(...v);
console.log(
  `ratio: ${(median(xs.wall) / median(rs.wall)).toFixed(2)}x wall, ${(median(xs.cpu) / median(rs.cpu)).toFixed(2)}x cpu (medians); ` +
    `best-of ${(best(xs.wall) / best(rs.wall)).toFixed(2)}x wall (${best(xs.wall).toFixed(1)} / ${best(rs.wall).toFixed(1)} ms)`,
);
