import { transition, type AnyStateMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { CALL_STATES, type LogEntry, type StoredEntry } from '../log/entries.js';
import { initialContext, type CallContext, type MachineState } from '../reconcile/context.js';
import { ACTIONS } from './actions.js';
import { buildMachine, machine, machineConfig } from './definition.js';
import { MACHINE_EVENT_TYPES, toMachineEvent, type CallMachineEvent } from './events.js';
import { GUARDS } from './guards.js';
import { MACHINE_STATES, TRANSITIONS, takeTransition, type MachineFold, type TransitionSpec } from './transitions.js';

// The engine folds with `takeTransition` over `TRANSITIONS`, the XState machine interprets the
// config generated from the same table with the same guards and actions. These tests hold the
// two to one source: the machine's transitions are the table's, its guards and actions are
// `GUARDS` and `ACTIONS`, and a rule written a second time (in the table a machine is built
// from, or in a guard or action of its own) is caught by the comparison below.

const base = { callId: 'c', at: 1 };
let id = 0;
const note = (resourceData: unknown, changeType: 'updated' | 'deleted' = 'updated'): LogEntry => ({
  ...base,
  kind: 'notification',
  id: `n${++id}`,
  changeType,
  resourceUrl: '/communications/calls/c',
  target: { type: 'call' },
  resourceData,
});
const failure = { resultInfo: { code: 500, subcode: 7000 } };

/** One entry of every shape the machine tells apart: each call state plain and with proof, unknown, data, resyncs, the rest. */
function sampleEntries(): LogEntry[] {
  return [
    ...CALL_STATES.flatMap((state) => [note({ state }), note({ state, ...failure }), note({ state }, 'deleted')]),
    note({ state: 'flying' }),
    note({ direction: 'incoming' }),
    ...CALL_STATES.map((state): LogEntry => ({ ...base, kind: 'resync', id: `r${++id}`, call: { state }, participants: [{ id: 'p' }] })),
    { ...base, kind: 'resync', id: `r${++id}`, call: null },
    { ...base, kind: 'command', id: `k${++id}`, command: 'transfer' },
    { ...base, kind: 'timer', id: `t${++id}`, timer: 'keepAliveDue' },
  ];
}

/** Contexts a call may be in: transfer bookkeeping decides the `transferOpen` guard. */
const CONTEXTS: readonly CallContext[] = [
  initialContext('c'),
  { ...initialContext('c'), position: 3, transfer: { failedAt: 2 } },
  { ...initialContext('c'), position: 4, transfer: { failedAt: 2, commandAt: 3 } },
];

/**
 * Where `takeTransition` (the engine's fold) and an XState step of `candidate` disagree, for
 * every state, context and sample entry: `state/event: fold -> x, machine -> y`.
 */
function disagreements(candidate: AnyStateMachine, states: readonly MachineState[] = MACHINE_STATES): string[] {
  const out: string[] = [];
  for (const state of states) {
    for (const context of CONTEXTS) {
      for (const entry of sampleEntries()) {
        const stored = { ...entry, position: context.position + 1 } as StoredEntry;
        const event = toMachineEvent(stored);
        const fold: MachineFold = { value: state, context };
        takeTransition(fold, event);
        const snapshot = candidate.resolveState({ value: state, context });
        const [next] = transition(candidate, snapshot, event);
        const same = next.value === fold.value && JSON.stringify(next.context) === JSON.stringify(fold.context);
        if (!same) out.push(`${state}/${event.type}: fold -> ${fold.value}, machine -> ${String(next.value)}`);
      }
    }
  }
  return out;
}

/** The table with one edge of `state` on `type` replaced. */
function drifted(state: MachineState, type: CallMachineEvent['type'], candidates: readonly TransitionSpec[]): typeof TRANSITIONS {
  return { ...TRANSITIONS, [state]: { ...TRANSITIONS[state], [type]: candidates } };
}

describe('one implementation of every rule', () => {
  it("the machine's transitions are the table's, state by state and event by event", () => {
    const config = machineConfig() as { states: Record<string, { on: Record<string, unknown[]> }>; on?: unknown };
    expect(config.on).toBeUndefined(); // nothing handled at the root, beside the table
    expect(Object.keys(config.states)).toEqual([...MACHINE_STATES]);
    for (const state of MACHINE_STATES) {
      expect(Object.keys(config.states[state]!.on).sort()).toEqual([...MACHINE_EVENT_TYPES].sort());
      const node = machine.states[state]!;
      for (const type of MACHINE_EVENT_TYPES) {
        const built = (node.transitions.get(type) ?? []).map((t) => ({
          target: t.target?.map((n) => n.key),
          guard: t.guard,
          actions: t.actions,
        }));
        const table = TRANSITIONS[state][type].map((t) => ({
          target: t.target === undefined ? undefined : [t.target],
          guard: t.guard,
          actions: [t.action],
        }));
        expect(built, `${state} on ${type}`).toEqual(table);
      }
    }
  });

  it("the machine's guards and actions are GUARDS and ACTIONS, and no others", () => {
    expect(Object.keys(machine.implementations.guards).sort()).toEqual(Object.keys(GUARDS).sort());
    expect(Object.keys(machine.implementations.actions).sort()).toEqual(Object.keys(ACTIONS).sort());
  });

  it('the fold and the machine take the same transition for every state, context and event', () => {
    expect(disagreements(machine)).toEqual([]);
  });

  it('a rule changed on one side only is caught: a table edge, a guard, an action', () => {
    // a table edge: established -> hold dropped from the machine's table only
    const edge = drifted('established', 'callState.hold', [{ action: { type: 'rejectCall', params: { from: 'established' } } }]);
    expect(disagreements(buildMachine(edge), ['established'])).toContain(
      'established/callState.hold: fold -> hold, machine -> established',
    );
    // a guard: the transfer guard left out of the machine's table
    const guard = drifted('established', 'callState.transferring', [
      { target: 'transferring', action: { type: 'applyCall', params: { from: 'established' } } },
    ]);
    expect(disagreements(buildMachine(guard), ['established']).some((d) => d.startsWith('established/callState.transferring'))).toBe(true);
    // an action: the machine recording a notification as stale where the fold applies it
    const action = drifted('ringing', 'callState.ringing', [{ action: { type: 'rejectCall', params: { from: 'ringing' } } }]);
    expect(disagreements(buildMachine(action), ['ringing']).some((d) => d.startsWith('ringing/callState.ringing'))).toBe(true);
  });
});
