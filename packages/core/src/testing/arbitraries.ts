import fc from 'fast-check';
import type { CallState } from '../log/entries.js';
import { isBotRecord } from '../replay/replay.js';
import {
  callStateBody,
  contentSharingBody,
  notificationBody,
  operationBody,
  participantResource,
  rosterBody,
  toneBody,
  type ParticipantSpec,
} from './scenarios.js';

type Json = Record<string, unknown>;

/** A generated call: the notification bodies Graph would send, in the order it sent them. */
export interface CallScenario {
  readonly callId: string;
  readonly path: readonly CallState[];
  readonly bodies: readonly Json[];
}

const LIFECYCLES: ReadonlyArray<readonly CallState[]> = [
  ['establishing', 'established'],
  ['establishing', 'ringing', 'established'],
  ['establishing', 'terminated'],
  ['incoming', 'establishing', 'established'],
  ['incoming', 'terminated'],
  ['incoming', 'redirecting', 'terminated'],
  ['establishing', 'established', 'transferring', 'transferAccepted', 'terminated'],
  ['establishing', 'established', 'terminating', 'terminated'],
];

/** The properties each state's notification carries; keys never conflict across ranks. */
function stateExtras(state: CallState, callId: string, direction: string): Json {
  switch (state) {
    case 'incoming':
      return {
        direction,
        callChainId: `chain-${callId}`,
        source: { '@odata.type': '#microsoft.graph.participantInfo', identity: { user: { id: 'caller', displayName: 'Caller' } } },
      };
    case 'establishing':
      return { callChainId: `chain-${callId}` };
    case 'established':
      return { direction, mediaState: { '@odata.type': '#microsoft.graph.callMediaState', audio: 'active' } };
    case 'terminated':
      return {
        resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 5002, message: 'The conversation has ended.' },
      };
    default:
      return {};
  }
}

/**
 * Arbitrary call scenarios: a documented lifecycle (optionally with a transfer that fails and
 * returns to `established`), roster changes with `rosterSequenceNumber` (joins, lobby and
 * admission, mutes, leaves), operations that run and settle, DTMF tones and a
 * content-sharing session. In order, every scenario is something Graph could send.
 */
export function arbCallScenario(options: { readonly holds?: boolean } = {}): fc.Arbitrary<CallScenario> {
  const fields = {
    id: fc.integer({ min: 1, max: 1_000_000 }),
    lifecycle: fc.constantFrom(...LIFECYCLES),
    failedTransfer: fc.boolean(),
    endAfterFailure: fc.boolean(),
    joiners: fc.array(fc.record({ lobby: fc.boolean(), admitted: fc.boolean(), mute: fc.boolean(), leaves: fc.boolean() }), {
      maxLength: 3,
    }),
    operations: fc.array(
      fc.record({
        type: fc.constantFrom('playPromptOperation', 'recordOperation', 'subscribeToToneOperation'),
        fails: fc.boolean(),
        reportRunning: fc.boolean(),
      }),
      { maxLength: 3 },
    ),
    tones: fc.array(fc.constantFrom('tone1', 'tone2', 'tone3', 'tone9', 'star', 'pound'), { maxLength: 4 }),
    sharing: fc.boolean(),
  };
  // `holds` only when asked: without it the arbitrary draws exactly what it always has (the
  // benchmarks' workload is generated from it)
  const base = fc.record(fields);
  type Spec = (typeof base extends fc.Arbitrary<infer T> ? T : never) & { readonly holds?: readonly boolean[] };
  const record: fc.Arbitrary<Spec> = options.holds ? fc.record({ ...fields, holds: fc.array(fc.boolean(), { maxLength: 4 }) }) : base;
  return record.map((spec) => {
    const callId = `call-${spec.id.toString(16)}`;
    const direction = spec.lifecycle[0] === 'incoming' ? 'incoming' : 'outgoing';
    const path: CallState[] = [];
    const bodies: Json[] = [];
    const push = (state: CallState, extra?: Json) => {
      path.push(state);
      bodies.push(callStateBody(callId, state, extra ?? stateExtras(state, callId, direction)));
    };
    const establishedAt = spec.lifecycle.indexOf('established');
    const upTo = establishedAt >= 0 ? establishedAt + 1 : spec.lifecycle.length;
    for (const state of spec.lifecycle.slice(0, upTo)) push(state);
    if (establishedAt < 0) return { callId, path, bodies };

    bodies.push(...midCall(callId, spec));
    // on hold and back (true: hold), repeating the same two bodies; back to established before going on
    if (spec.holds && spec.holds.length > 0) {
      for (const hold of spec.holds) push(hold ? 'hold' : 'established', {});
      if (path[path.length - 1] === 'hold') push('established', {});
    }

    const rest = spec.lifecycle.slice(upTo);
    if (spec.failedTransfer && rest[0] !== 'transferring') {
      push('transferring');
      push('established', {
        resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 500, subcode: 7000, message: 'Transfer failed.' },
      });
      if (spec.endAfterFailure) push('terminated');
      return { callId, path, bodies };
    }
    for (const state of rest) push(state);
    return { callId, path, bodies };
  });
}

function midCall(
  callId: string,
  spec: {
    joiners: readonly { lobby: boolean; admitted: boolean; mute: boolean; leaves: boolean }[];
    operations: readonly { type: string; fails: boolean; reportRunning: boolean }[];
    tones: readonly string[];
    sharing: boolean;
  },
): Json[] {
  const bodies: Json[] = [];
  // The roster, one full roster per change, each with the next sequence number.
  let seq = 0;
  const present = new Map<string, ParticipantSpec>([['bot', { id: 'bot', displayName: 'Bot' }]]);
  const roster = () => bodies.push(rosterBody(callId, [...present.values()], ++seq));
  roster();
  spec.joiners.forEach((j, i) => {
    const id = `p${i}`;
    present.set(id, { id, displayName: `Person ${i}`, isInLobby: j.lobby });
    roster();
    if (j.lobby && j.admitted) {
      present.set(id, { id, displayName: `Person ${i}`, isInLobby: false });
      roster();
    }
    if (j.mute) {
      present.set(id, { ...present.get(id)!, isMuted: true });
      roster();
    }
  });
  spec.joiners.forEach((j, i) => {
    if (j.leaves) {
      present.delete(`p${i}`);
      roster();
    }
  });
  spec.operations.forEach((op, i) => {
    const opId = `op-${i}`;
    if (op.reportRunning) bodies.push(operationBody(callId, opId, op.type, 'running', { clientContext: `ctx-${i}` }));
    bodies.push(operationBody(callId, opId, op.type, op.fails ? 'failed' : 'completed'));
  });
  spec.tones.forEach((tone, i) => bodies.push(toneBody(callId, i + 1, tone)));
  if (spec.sharing) {
    bodies.push(contentSharingBody(callId, 'created', 'share-1'));
    bodies.push(contentSharingBody(callId, 'updated', 'share-1'));
    bodies.push(contentSharingBody(callId, 'deleted', 'share-1'));
  }
  return bodies;
}

/**
 * Arbitrary delivery schedules for a list of deliveries: any causal permutation, with up to
 * `maxDuplicates` notifications delivered again. What a webhook sees from Graph on a bad day.
 *
 * Causal: the bot's own records among the deliveries (log entries that are not notifications:
 * commands, their results, resyncs, timers; or what `isBotRecord` says) keep their places and
 * their order, since nothing a command caused can arrive before it; a notification, and each
 * duplicate of one, may move anywhere after the last of them that preceded it. Without such
 * records, any permutation.
 */
export function arbDeliverySchedule<T>(
  deliveries: readonly T[],
  options: { maxDuplicates?: number; isBotRecord?: (delivery: T) => boolean } = {},
): fc.Arbitrary<T[]> {
  const max = options.maxDuplicates ?? Math.max(1, Math.floor(deliveries.length / 2));
  if (deliveries.length === 0) return fc.constant([]);
  const isOwn = options.isBotRecord ?? isBotRecord;
  const records: T[] = [];
  const notes: { item: T; after: number }[] = [];
  for (const item of deliveries) {
    if (isOwn(item)) records.push(item);
    else notes.push({ item, after: records.length });
  }
  if (records.length === 0) {
    return fc.array(fc.nat({ max: deliveries.length - 1 }), { maxLength: max }).chain((dups) => {
      const all = [...deliveries, ...dups.map((i) => deliveries[i]!)];
      return fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length });
    });
  }
  if (notes.length === 0) return fc.constant(deliveries.slice());
  const last = records.length;
  return fc.array(fc.nat({ max: notes.length - 1 }), { maxLength: max }).chain((dups) => {
    const movable = [...notes, ...dups.map((i) => notes[i]!)];
    // each: a slot (after the bot's first `slot` records) at or after its own, and an order within it
    return fc.tuple(...movable.map(({ after }) => fc.tuple(fc.integer({ min: after, max: last }), fc.nat()))).map((places) => {
      const placed = movable.map(({ item }, i) => ({ item, slot: places[i]![0], order: places[i]![1], i }));
      placed.sort((a, b) => a.slot - b.slot || a.order - b.order || a.i - b.i);
      const out: T[] = [];
      let next = 0;
      for (let slot = 0; slot <= last; slot++) {
        while (next < placed.length && placed[next]!.slot === slot) out.push(placed[next++]!.item);
        if (slot < last) out.push(records[slot]!);
      }
      return out;
    });
  });
}

/** A call toggled back and forth without sequence numbers: the bodies, and how they end in order. */
export interface ToggleScenario {
  readonly callId: string;
  readonly bodies: readonly Json[];
  /**
   * What the last toggles said: the call state (established or hold), and for the roster
   * toggle (`mute`: participant `p` muted or not; `presence`: `p` present or not) its last value.
   */
  readonly last: { readonly state: 'established' | 'hold'; readonly roster: 'mute' | 'presence'; readonly on: boolean | undefined };
}

/**
 * Arbitrary toggles, the traffic where identical bodies are not redeliveries: a call put on
 * hold and taken back (`established`, `hold`, `established`, ...), and a peer-to-peer roster
 * without `rosterSequenceNumber` (as the recorded sambetts logs have them) where a participant
 * mutes and unmutes, or leaves and rejoins. Every body is one of two per resource, so each
 * repeats an earlier one.
 */
export function arbToggleScenario(): fc.Arbitrary<ToggleScenario> {
  return fc
    .record({
      id: fc.integer({ min: 1, max: 1_000_000 }),
      roster: fc.constantFrom('mute' as const, 'presence' as const),
      steps: fc.array(fc.record({ call: fc.boolean(), on: fc.boolean() }), { minLength: 1, maxLength: 12 }),
    })
    .map(({ id, roster, steps }) => {
      const callId = `toggle-${id.toString(16)}`;
      const bot: ParticipantSpec = { id: 'bot', displayName: 'Bot' };
      const bodies: Json[] = [callStateBody(callId, 'established', {})];
      let state: 'established' | 'hold' = 'established';
      let on: boolean | undefined;
      for (const step of steps) {
        if (step.call) {
          state = step.on ? 'hold' : 'established';
          bodies.push(callStateBody(callId, state, {}));
          continue;
        }
        on = step.on;
        const p: ParticipantSpec = { id: 'p', displayName: 'P', ...(roster === 'mute' ? { isMuted: on } : {}) };
        bodies.push(rosterBody(callId, roster === 'presence' && !on ? [bot] : [bot, p]));
      }
      return { callId, bodies, last: { state, roster, on } };
    });
}

/** One meeting's roster history, as full rosters and as delta rosters: the same changes both ways. */
export interface MeetingRoster {
  readonly callId: string;
  /** A full roster per change, each with the change's `rosterSequenceNumber` (Graph's default). */
  readonly full: readonly Json[];
  /** A `deltaParticipants` per change (beta delta roster): only who changed, under its `sequenceNumber`. */
  readonly deltas: readonly Json[];
}

/**
 * Arbitrary roster histories of a meeting: people join (some into the lobby), are admitted,
 * mute and unmute, leave, and rejoin under the same participant id; each change numbered.
 */
export function arbMeetingRoster(): fc.Arbitrary<MeetingRoster> {
  const step = fc.record({
    op: fc.constantFrom('join' as const, 'leave' as const, 'rejoin' as const, 'mute' as const, 'admit' as const),
    pick: fc.nat(),
    lobby: fc.boolean(),
  });
  return fc
    .record({
      id: fc.integer({ min: 1, max: 1_000_000 }),
      first: fc.array(fc.boolean(), { maxLength: 3 }),
      steps: fc.array(step, { maxLength: 12 }),
    })
    .map(({ id, first, steps }) => {
      const callId = `meeting-${id.toString(16)}`;
      const present = new Map<string, ParticipantSpec>([['bot', { id: 'bot', displayName: 'Bot' }]]);
      const gone = new Map<string, ParticipantSpec>();
      first.forEach((lobby, i) => present.set(`p${i}`, { id: `p${i}`, displayName: `Person ${i}`, isInLobby: lobby }));
      let joined = first.length;
      let seq = 1;
      const full: Json[] = [rosterBody(callId, [...present.values()], seq)];
      const delta = (changeType: 'updated' | 'deleted', people: readonly ParticipantSpec[]): Json =>
        notificationBody(callId, changeType, 'participants', {
          '@odata.type': '#microsoft.graph.deltaParticipants',
          sequenceNumber: seq,
          participants: people.map((p) => participantResource(p)),
        });
      const deltas: Json[] = [delta('updated', [...present.values()])];
      for (const { op, pick, lobby } of steps) {
        const others = [...present.values()].filter((p) => p.id !== 'bot');
        let changed: ParticipantSpec | undefined;
        let left = false;
        if (op === 'join') {
          const p = { id: `p${joined}`, displayName: `Person ${joined}`, isInLobby: lobby };
          joined++;
          changed = p;
        } else if (op === 'rejoin' && gone.size > 0) {
          const p = [...gone.values()][pick % gone.size]!;
          gone.delete(p.id);
          changed = { ...p, isInLobby: lobby, isMuted: false };
        } else if (op === 'leave' && others.length > 0) {
          changed = others[pick % others.length]!;
          left = true;
        } else if (op === 'mute' && others.length > 0) {
          const p = others[pick % others.length]!;
          changed = { ...p, isMuted: !(p.isMuted ?? false) };
        } else if (op === 'admit') {
          const waiting = others.filter((p) => p.isInLobby === true);
          if (waiting.length > 0) changed = { ...waiting[pick % waiting.length]!, isInLobby: false };
        }
        if (changed === undefined) continue;
        seq++;
        if (left) {
          present.delete(changed.id);
          gone.set(changed.id, changed);
        } else present.set(changed.id, changed);
        full.push(rosterBody(callId, [...present.values()], seq));
        deltas.push(delta(left ? 'deleted' : 'updated', [changed]));
      }
      return { callId, full, deltas };
    });
}

/** Arbitrary call-state notifications in any order, documented or not: for absorption and table properties. */
export function arbStateNoise(callId: string): fc.Arbitrary<Json[]> {
  const states: CallState[] = [
    'incoming',
    'establishing',
    'ringing',
    'established',
    'hold',
    'transferring',
    'transferAccepted',
    'redirecting',
    'terminating',
    'terminated',
  ];
  return fc.array(
    fc
      .record({ state: fc.constantFrom(...states), failure: fc.boolean() })
      .map(({ state, failure }) =>
        callStateBody(callId, state, failure ? { resultInfo: { code: 500, subcode: 7700, message: 'failed' } } : {}),
      ),
    { maxLength: 30 },
  );
}
