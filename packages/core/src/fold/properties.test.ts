import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNotifications } from '../decode/decode.js';
import type { LogEntry, StoredEntry } from '../log/entries.js';
import { isProofRequired, REACHABLE } from '../machine/table.js';
import { CALL_STATES } from '../log/entries.js';
import { replay } from '../replay/replay.js';
import { arbCallScenario, arbDeliverySchedule, arbMeetingRoster, arbStateNoise, arbToggleScenario } from '../testing/arbitraries.js';
import { callStateBody } from '../testing/scenarios.js';
import { initialTransition } from 'xstate';
import { toMachineEvent } from '../machine/events.js';
import { machine as callMachine, step as xstateStep, type MachineSnapshot } from '../machine/definition.js';
import type { CallMachineSnapshot } from '../machine/public.js';
import { foldEntries, startCall } from './fold.js';
import { restoreCallSnapshot, toCallSnapshot } from './snapshot.js';
import { viewOf } from '../project/view.js';
import type { CallEvent } from '../emit/events.js';
import { convergentView, type CallView } from '../project/view.js';

/** XState's active state nodes of a snapshot (internal to XState; the public type leaves them out). */
function nodeIds(snapshot: CallMachineSnapshot): string[] {
  return (snapshot as unknown as MachineSnapshot)._nodes.map((n) => n.id);
}

// CI raises the run count; locally the suite stays quick.
const numRuns = process.env['CI'] ? 400 : 100;

function entriesOf(bodies: readonly Record<string, unknown>[]): LogEntry[] {
  return bodies.flatMap((body, i) => decodeNotifications(body, { receivedAt: 1_000 + i }));
}

function project(bodies: readonly Record<string, unknown>[]) {
  const { calls } = replay(entriesOf(bodies));
  return Object.fromEntries(Object.entries(calls).map(([id, view]) => [id, convergentView(view)]));
}

/** One XState step of the machine (what the fold's `takeTransition` is held equal to). */
function step(snapshot: CallMachineSnapshot, event: Parameters<typeof xstateStep>[1]): CallMachineSnapshot {
  return xstateStep(snapshot as unknown as MachineSnapshot, event) as unknown as CallMachineSnapshot;
}

describe('reconciliation properties', () => {
  it('any permutation and duplication of a scenario converges to the in-order projection', () => {
    fc.assert(
      fc.property(
        arbCallScenario().chain((scenario) => fc.tuple(fc.constant(scenario), arbDeliverySchedule(scenario.bodies))),
        ([scenario, schedule]) => {
          expect(project(schedule)).toEqual(project(scenario.bodies));
        },
      ),
      { numRuns },
    );
  });

  it('any sequence of toggles delivered in order ends at the last one (mute, unmute, mute; hold and back; leave and rejoin)', () => {
    fc.assert(
      fc.property(arbToggleScenario(), ({ callId, bodies, last }) => {
        const view = replay(entriesOf(bodies)).calls[callId]!;
        expect(view.state).toBe(last.state);
        if (last.on === undefined) return;
        if (last.roster === 'mute') expect(view.participants['p']?.isMuted).toBe(last.on);
        else expect(Object.hasOwn(view.participants, 'p')).toBe(last.on);
      }),
      { numRuns },
    );
  });

  it('under shuffled and duplicated delivery the view equals the in-order view, or asks for a resync', () => {
    fc.assert(
      fc.property(
        // from no duplicates (any reorder) to many
        fc
          .tuple(arbCallScenario({ holds: true }), fc.nat({ max: 6 }))
          .chain(([scenario, maxDuplicates]) => fc.tuple(fc.constant(scenario), arbDeliverySchedule(scenario.bodies, { maxDuplicates }))),
        ([scenario, schedule]) => {
          const shuffled = replay(entriesOf(schedule)).calls[scenario.callId]!;
          const inOrder = replay(entriesOf(scenario.bodies)).calls[scenario.callId]!;
          if (shuffled.resyncNeeded === null) expect(convergentView(shuffled)).toEqual(convergentView(inOrder));
        },
      ),
      { numRuns },
    );
  });

  it('after a failed transfer, a late transferring or transferAccepted of the same attempt is stale, under any causal delivery', () => {
    // Graph's call: transfer page: transferring, transferAccepted, then established with a failure
    // resultInfo (500/7000, 500/7700); the bot's transfer command is recorded before all of them
    const attempt = fc.record({ accepted: fc.boolean(), subcode: fc.constantFrom(7000, 7700) });
    fc.assert(
      fc.property(
        fc.array(attempt, { minLength: 1, maxLength: 3 }).chain((attempts) => {
          const id = 'transfer-call';
          const entries: LogEntry[] = decodeNotifications(callStateBody(id, 'established'), { receivedAt: 0 });
          attempts.forEach((a, i) => {
            entries.push({ kind: 'command', id: `cmd-${i}`, callId: id, at: i, command: 'transfer', args: {} });
            entries.push({
              kind: 'commandResult',
              id: `res-${i}`,
              callId: id,
              at: i,
              commandId: `cmd-${i}`,
              command: 'transfer',
              outcome: 'succeeded',
              status: 202,
            });
            const bodies = [callStateBody(id, 'transferring', { attempt: i })];
            if (a.accepted) bodies.push(callStateBody(id, 'transferAccepted', { attempt: i }));
            bodies.push(callStateBody(id, 'established', { attempt: i, resultInfo: { code: 500, subcode: a.subcode, message: 'failed' } }));
            entries.push(...bodies.flatMap((b) => decodeNotifications(b, { receivedAt: i })));
          });
          return fc.tuple(fc.constant(entries), arbDeliverySchedule(entries));
        }),
        ([entries, schedule]) => {
          const inOrder = replay(entries).calls['transfer-call']!;
          const delivered = replay(schedule).calls['transfer-call']!;
          expect(inOrder.state).toBe('established');
          expect(delivered.state).toBe('established');
        },
      ),
      { numRuns },
    );
  });

  it("a meeting's roster delivered as delta rosters, in any order and duplicated, equals the one delivered as full rosters", () => {
    // what a roster is, apart from bookkeeping: a delta-roster participant carries the number of
    // its last change, a full-roster one the number of the last roster
    const roster = (view: CallView) => ({
      participants: Object.fromEntries(Object.entries(view.participants).map(([id, { rosterSequenceNumber: _n, ...p }]) => [id, p])),
      removed: Object.keys(view.removedParticipants).sort(),
    });
    fc.assert(
      fc.property(
        arbMeetingRoster().chain((m) => fc.tuple(fc.constant(m), arbDeliverySchedule(m.deltas))),
        ([meeting, schedule]) => {
          const full = replay(entriesOf(meeting.full)).calls[meeting.callId]!;
          const deltas = replay(entriesOf(schedule)).calls[meeting.callId]!;
          expect(roster(deltas)).toEqual(roster(full));
        },
      ),
      { numRuns },
    );
  });

  it('terminated absorbs: once terminated, a call never leaves it', () => {
    fc.assert(
      fc.property(arbStateNoise('c'), (bodies) => {
        const { timeline } = replay(entriesOf(bodies));
        let ended = false;
        for (const row of timeline) {
          if (ended) expect(row.after).toBe('terminated');
          if (row.after === 'terminated') ended = true;
        }
      }),
      { numRuns },
    );
  });

  it('never takes a transition outside the documented table', () => {
    fc.assert(
      fc.property(arbStateNoise('c'), (bodies) => {
        const { timeline } = replay(entriesOf(bodies));
        const changes = timeline
          .flatMap((row) => row.events)
          .filter((e): e is Extract<CallEvent, { type: 'stateChanged' }> => e.type === 'stateChanged');
        for (const { from, to } of changes) {
          const documented = from === 'pending' || REACHABLE[from].has(to) || isProofRequired(from, to);
          expect(documented, `${from} -> ${to}`).toBe(true);
        }
      }),
      { numRuns },
    );
  });

  it('replay is deterministic: the same log gives the same bytes', () => {
    fc.assert(
      fc.property(arbCallScenario(), (scenario) => {
        const entries = entriesOf(scenario.bodies);
        expect(JSON.stringify(replay(entries))).toBe(JSON.stringify(replay(entries)));
      }),
      { numRuns: Math.ceil(numRuns / 4) },
    );
  });

  it('snapshot + tail equals full replay', () => {
    fc.assert(
      fc.property(
        arbCallScenario().chain((s) => fc.tuple(fc.constant(s), arbDeliverySchedule(s.bodies), fc.nat())),
        ([scenario, schedule, cut]) => {
          const stored: StoredEntry[] = [];
          const seen = new Set<string>();
          for (const entry of entriesOf(schedule)) {
            if (seen.has(entry.id)) continue;
            seen.add(entry.id);
            stored.push({ ...entry, position: stored.length + 1 } as StoredEntry);
          }
          const at = stored.length === 0 ? 0 : cut % (stored.length + 1);
          const full = foldEntries(startCall({ callId: scenario.callId }), stored);
          const head = foldEntries(startCall({ callId: scenario.callId }), stored.slice(0, at));
          // through JSON, as a store would keep it
          const persisted = JSON.parse(JSON.stringify(toCallSnapshot(head)));
          const restored = restoreCallSnapshot(scenario.callId, persisted);
          expect(restored).toBeDefined();
          const resumed = foldEntries(restored!, stored.slice(at));
          expect(viewOf(resumed)).toEqual(viewOf(full));
        },
      ),
      { numRuns: Math.ceil(numRuns / 2) },
    );
  });

  it("the fold's direct path for context-only entries equals stepping the machine", () => {
    fc.assert(
      fc.property(
        arbCallScenario().chain((s) => fc.tuple(fc.constant(s), arbDeliverySchedule(s.bodies))),
        ([scenario, schedule]) => {
          const stored: StoredEntry[] = [];
          const seen = new Set<string>();
          for (const entry of entriesOf(schedule)) {
            if (seen.has(entry.id)) continue;
            seen.add(entry.id);
            stored.push({ ...entry, position: stored.length + 1 } as StoredEntry);
          }
          let stepped = startCall({ callId: scenario.callId });
          for (const entry of stored) stepped = step(stepped, toMachineEvent(entry));
          const folded = foldEntries(startCall({ callId: scenario.callId }), stored);
          expect(folded.value).toEqual(stepped.value);
          expect(folded.context).toEqual(stepped.context);
        },
      ),
      { numRuns: Math.ceil(numRuns / 2) },
    );
  });

  it("the fold's direct transition equals stepping the machine, for every state, history and event", () => {
    const states = ['pending', ...CALL_STATES] as const;
    let position = 0;
    const base = { callId: 'c', at: 1 };
    const note = (resourceData: unknown, changeType: 'updated' | 'deleted' = 'updated'): LogEntry => ({
      ...base,
      kind: 'notification',
      id: `n${++position}`,
      changeType,
      resourceUrl: '/communications/calls/c',
      target: { type: 'call' },
      resourceData,
    });
    const failure = { resultInfo: { code: 500, subcode: 7000 } };
    // transfer bookkeeping: none, a failed transfer, a failed transfer then a new transfer command
    const histories: (() => LogEntry[])[] = [
      () => [],
      () => [note({ state: 'established', ...failure })],
      () => [note({ state: 'established', ...failure }), { ...base, kind: 'command', id: `k${++position}`, command: 'transfer' }],
    ];
    const events = (): LogEntry[] => [
      ...CALL_STATES.flatMap((state) => [note({ state }), note({ state, ...failure }), note({ state: state.toUpperCase() }, 'deleted')]),
      note({ state: 'flying' }),
      note({ direction: 'incoming' }),
      note({ toneInfo: { tone: 'tone1', sequenceId: 1 } }),
      ...CALL_STATES.map(
        (state): LogEntry => ({ ...base, kind: 'resync', id: `r${++position}`, call: { state }, participants: [{ id: 'p' }] }),
      ),
      { ...base, kind: 'resync', id: `r${++position}`, call: null },
      { ...base, kind: 'resync', id: `r${++position}`, call: { state: 'flying' } },
      { ...base, kind: 'resync', id: `r${++position}`, call: {} },
      { ...base, kind: 'command', id: `k${++position}`, command: 'transfer' },
      {
        ...base,
        kind: 'commandResult',
        id: `k${++position}`,
        commandId: 'x',
        command: 'create',
        outcome: 'succeeded',
        body: { state: 'established' },
      },
      { ...base, kind: 'commandResult', id: `k${++position}`, commandId: 'x', command: 'answer', outcome: 'ambiguous' },
      { ...base, kind: 'timer', id: `t${++position}`, timer: 'keepAliveDue' },
    ];
    const stored = (entries: readonly LogEntry[], from = 0): StoredEntry[] =>
      entries.map((e, i) => ({ ...e, position: from + i + 1 }) as StoredEntry);
    let checked = 0;
    for (const history of histories) {
      for (const state of states) {
        const prefix = history();
        if (state === 'pending' && prefix.length > 0) continue; // a call resource has moved it already
        if (state !== 'pending') prefix.push({ ...base, kind: 'resync', id: `r${++position}`, call: { state } });
        const start = foldEntries(startCall({ callId: 'c' }), stored(prefix));
        let stepped = startCall({ callId: 'c' });
        for (const entry of stored(prefix)) stepped = step(stepped, toMachineEvent(entry));
        expect(start.value).toEqual(state);
        expect(start.context).toEqual(stepped.context);
        for (const entry of stored(events(), prefix.length)) {
          const folded = foldEntries(start, [entry]);
          const reference = step(start, toMachineEvent(entry));
          expect(folded.value).toEqual(reference.value);
          expect(folded.context).toEqual(reference.context);
          expect(folded.status).toBe(reference.status);
          expect([...folded.tags]).toEqual([...reference.tags]);
          expect(nodeIds(folded)).toEqual(nodeIds(reference));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1200);
  });

  it("startCall equals the machine's own initial snapshot", () => {
    for (const rosterMode of ['full', 'delta'] as const) {
      const ours = startCall({ callId: 'x', rosterMode });
      const theirs = initialTransition(callMachine, { callId: 'x', rosterMode })[0];
      expect(ours.value).toEqual(theirs.value);
      expect(ours.context).toEqual(theirs.context);
      expect(ours.status).toBe(theirs.status);
    }
  });

  it('a snapshot from another machine version or call is refused (rebuild from the log)', () => {
    const snap = toCallSnapshot(startCall({ callId: 'a' }));
    expect(restoreCallSnapshot('a', { ...snap, machineVersion: 'other/0' })).toBeUndefined();
    expect(restoreCallSnapshot('b', snap)).toBeUndefined();
    expect(restoreCallSnapshot('a', { ...snap, value: 'flying' })).toBeUndefined();
    expect(restoreCallSnapshot('a', { ...snap, position: 7 })).toBeUndefined();
  });
});
