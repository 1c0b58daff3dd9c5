import { getShortestPaths } from 'xstate/graph';
import { transition } from 'xstate';
import { describe, expect, it } from 'vitest';
import { CALL_STATES, type CallState, type StoredEntry } from '../log/entries.js';
import type { MachineState } from '../reconcile/context.js';
import { startCall } from '../fold/fold.js';
import { machine as callMachine, type MachineSnapshot } from './definition.js';
import { toMachineEvent, type CallMachineEvent } from './events.js';
import { DOCUMENTED_TRANSITIONS, isProofRequired, REACHABLE, STATE_RANK } from './table.js';

function stateEntry(state: CallState, position: number, failure = false): StoredEntry {
  return {
    kind: 'notification',
    id: `e-${state}-${position}-${failure}`,
    callId: 'c',
    at: position,
    position,
    changeType: 'updated',
    resourceUrl: '/communications/calls/c',
    target: { type: 'call' },
    resourceData: { state, ...(failure ? { resultInfo: { code: 500, subcode: 7000 } } : {}) },
  };
}

/** `startCall`'s snapshot, as XState types it (the package's public type leaves XState out). */
function start(): MachineSnapshot {
  return startCall({ callId: 'c' }) as unknown as MachineSnapshot;
}

function stateOf(snapshot: MachineSnapshot): MachineState {
  return snapshot.value as MachineState;
}

function from(state: CallState): MachineSnapshot {
  const [snap] = transition(callMachine, start(), toMachineEvent(stateEntry(state, 1)));
  return snap;
}

describe('the transition table', () => {
  it.each(CALL_STATES.flatMap((a) => CALL_STATES.map((b) => [a, b] as const)))('%s -> %s follows the table', (a, b) => {
    const [plain] = transition(callMachine, from(a), toMachineEvent(stateEntry(b, 2)));
    const [proved] = transition(callMachine, from(a), toMachineEvent(stateEntry(b, 2, true)));
    const allowed = a === b || (REACHABLE[a].has(b) && !isProofRequired(a, b));
    expect(stateOf(plain)).toBe(allowed ? b : a);
    expect(stateOf(proved)).toBe(allowed || isProofRequired(a, b) ? b : a);
    if (!allowed && a !== b) {
      const reason = plain.context.stale[0]?.reason;
      expect(reason).toBe(a === 'terminated' ? 'after-terminated' : STATE_RANK[b] < STATE_RANK[a] ? 'lower-rank' : 'impossible-transition');
    }
  });

  it('documents only rank-preserving or rank-increasing edges, except the proof-carrying ones', () => {
    for (const a of CALL_STATES) {
      for (const b of DOCUMENTED_TRANSITIONS[a]) {
        expect(STATE_RANK[b] >= STATE_RANK[a] || isProofRequired(a, b), `${a} -> ${b}`).toBe(true);
      }
    }
  });
});

describe('model-based: xstate/graph over the machine', () => {
  // Sample events: every call state, plain and with a failure resultInfo.
  const events: CallMachineEvent[] = CALL_STATES.flatMap((s, i) => [
    toMachineEvent(stateEntry(s, 10 + i)),
    toMachineEvent(stateEntry(s, 30 + i, true)),
  ]);
  const paths = getShortestPaths(callMachine, {
    input: { callId: 'c' },
    events,
    serializeState: (snapshot) => JSON.stringify(snapshot.value),
  });

  it('reaches every call state', () => {
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const state of ['pending', ...CALL_STATES]) expect(reached.has(JSON.stringify(state)), state).toBe(true);
  });

  it('every path it finds replays through the fold to the same state', () => {
    for (const path of paths) {
      let snap = start();
      path.steps.forEach((step, i) => {
        if ((step.event.type as string) === 'xstate.init') return;
        const e = step.event as Extract<CallMachineEvent, { data: unknown }>;
        const raw = e.entry as StoredEntry;
        [snap] = transition(callMachine, snap, toMachineEvent({ ...raw, position: i + 1 } as StoredEntry));
      });
      expect(snap.value).toEqual(path.state.value);
    }
  });
});
