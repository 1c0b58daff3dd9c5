import { decodeNotifications, type StoredEntry } from '@switchboard/core';
import { foldEntries, startCall } from '@switchboard/core/replay';
import { toMachineEvent } from '@switchboard/core/machine';
// internal: one XState step (the engine folds with the machine's table instead)
import { step, type MachineSnapshot } from '../packages/core/src/machine/definition.js';
import { median, type Row } from './report.js';
import { workload } from './workload.js';

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The benchmark's calls: 2,000 generated scenarios decoded, each call's entries with positions from 1. */
export function machineCalls(): { calls: [string, StoredEntry[]][]; entries: number } {
  const { bodies } = workload(2000, 11);
  const byCall = new Map<string, StoredEntry[]>();
  let at = 0;
  for (const body of bodies) {
    for (const entry of decodeNotifications(body, { receivedAt: ++at })) {
      const list = byCall.get(entry.callId) ?? [];
      list.push({ ...entry, position: list.length + 1 } as StoredEntry);
      byCall.set(entry.callId, list);
    }
  }
  const calls = [...byCall.entries()];
  const entries = calls.reduce((n, [, list]) => n + list.length, 0);
  return { calls, entries };
}

/**
 * The XState fold against a plain reducer giving the same projection. The XState side steps
 * the call machine (`callMachine.transition`, with one inert actor scope) for every entry.
 * The reducer is the engine's own fold: the same reconciliation actions applied by a plain
 * function, with the target state looked up in the machine's transition table (a switch over
 * the event's type) instead of interpreting the machine. Every call's state and context must
 * come out identical, or the benchmark fails.
 */
export function benchMachine(rounds: number): Row[] {
  const { calls, entries } = machineCalls();

  const viaXState = () =>
    calls.map(([callId, list]) =>
      list.reduce((snapshot, entry) => step(snapshot, toMachineEvent(entry)), startCall({ callId }) as unknown as MachineSnapshot),
    );
  const viaReducer = () => calls.map(([callId, list]) => foldEntries(startCall({ callId }), list));

  const a = viaXState();
  const b = viaReducer();
  a.forEach((snapshot, i) => {
    const other = b[i]!;
    if (snapshot.value !== other.value || JSON.stringify(snapshot.context) !== JSON.stringify(other.context)) {
      throw new Error(`machine bench: call ${calls[i]![0]} differs between the XState fold and the reducer`);
    }
  });

  const xs: number[] = [];
  const rs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    xs.push(time(viaXState));
    rs.push(time(viaReducer));
  }
  const ratio = median(xs) / median(rs);
  const rate = (ms: number) => Math.round((entries / ms) * 1000).toLocaleString('en-US');
  return [
    {
      benchmark: `the XState fold (a machine step per entry) vs a plain reducer, same projection (${calls.length.toLocaleString('en-US')} calls, ${entries.toLocaleString('en-US')} entries, identical results checked)`,
      baseline: "the reducer (the engine's fold: the machine's table by lookup, same actions)",
      figure: `XState ${rate(median(xs))} entries/s; reducer ${rate(median(rs))} entries/s`,
      ratio,
      // the "within 2x of a reducer" target is retired: the engine folds with the machine's
      // table directly, so this row only shows what stepping XState per entry would cost
      target: 'informational (2x target retired)',
      met: true,
    },
  ];
}
