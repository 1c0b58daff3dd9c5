import { createActor } from 'xstate';
import type { StoredEntry } from '../log/entries.js';
import {
  applyCallDataToContext,
  applyCallToContext,
  applyEntryToContext,
  applyResyncToContext,
  callStateTarget,
  MACHINE_VERSION,
  rejectCallInContext,
  toMachineEvent,
  type CallMachineInput,
} from '../machine/actions.js';
import type { CallState } from '../log/entries.js';
import { machine as callMachine, type MachineSnapshot } from '../machine/definition.js';
import type { CallMachineEvent } from '../machine/events.js';
import type { CallMachineSnapshot } from '../machine/public.js';
import { initialContext, type CallContext, type MachineState } from '../reconcile/context.js';
import { refOf, type CallEvent } from '../emit/events.js';
import type { CallSnapshot } from '../log/snapshot.js';
import { buildView, type CallView } from '../project/view.js';
import { copyIdRecord, hasOwn, isIdRecord, withProperty } from '../util/object.js';
import { ID_RECORD_FIELDS } from '../reconcile/draft.js';

export type { CallMachineSnapshot };

type ActorScope = Parameters<typeof callMachine.transition>[2];
let inertScope: ActorScope | undefined;

/**
 * One pure machine step. xstate's `transition()` builds a throwaway actor and system on every
 * call (about 10 µs, most of a fold's cost); this holds one inert scope instead, built from
 * the public `createActor`, and calls the machine's own `transition` with it. The machine's
 * only actions are assignments, which run inline; there is nothing to execute afterwards.
 */
export function step(snapshot: CallMachineSnapshot, event: CallMachineEvent): CallMachineSnapshot {
  return callMachine.transition(snapshot as unknown as MachineSnapshot, event, scope()) as unknown as CallMachineSnapshot;
}

function scope(): ActorScope {
  if (!inertScope) {
    const self = createActor(callMachine, { input: { callId: 'inert-scope' } });
    inertScope = {
      self,
      defer: () => {},
      id: '',
      logger: () => {},
      sessionId: '',
      stopChild: () => {},
      system: self.system,
      emit: () => {},
      actionExecutor: () => {},
    } as unknown as ActorScope;
  }
  return inertScope;
}

/** A call's fold so far: the machine snapshot (state + context). */
export interface CallFold {
  readonly snapshot: CallMachineSnapshot;
}

/** The machine's initial snapshot for a call: `pending`, nothing known. Pure. */
export function startCall(input: CallMachineInput): CallMachineSnapshot {
  // The initial snapshot differs between calls only in the context's id and roster mode, and
  // resolving it through the machine costs more than most entries: resolve it once and copy.
  const mode = input.rosterMode ?? 'full';
  let template = templates.get(mode);
  if (!template) {
    template = callMachine.getInitialSnapshot(scope(), { callId: '', rosterMode: mode }) as unknown as CallMachineSnapshot;
    templates.set(mode, template);
  }
  return withProperty(template, 'context', withProperty(initialContext(input.callId), 'rosterMode', mode)) as CallMachineSnapshot;
}

const templates = new Map<string, CallMachineSnapshot>();

/**
 * A call's fold as the engine and replay hold it: the machine state and context, without
 * xstate's snapshot object around them (`asMachineSnapshot` builds that when asked). Folding
 * replaces the fields; the context itself is never mutated.
 */
export interface CallFoldState {
  value: MachineState;
  context: CallMachineSnapshot['context'];
}

/** The fold of a machine snapshot (its state and context). */
export function foldStateOf(snapshot: CallMachineSnapshot): CallFoldState {
  return { value: stateOf(snapshot), context: snapshot.context };
}

/** The machine snapshot of a fold: the state's resolved snapshot with the fold's context. */
export function asMachineSnapshot(fold: Readonly<CallFoldState>): CallMachineSnapshot {
  return withProperty(inState(fold.value), 'context', fold.context) as CallMachineSnapshot;
}

/**
 * Folds stored entries, in log order, through the call machine. Entries at or below the
 * position already folded are skipped, so folding the same tail twice changes nothing.
 * Returns the new snapshot and the events the entries caused.
 *
 * This is a pure function: it executes no actions beyond context assignment and reads no clock.
 */
export function foldEntries(snapshot: CallMachineSnapshot, entries: readonly StoredEntry[], events?: CallEvent[]): CallMachineSnapshot {
  const start = stateOf(snapshot);
  const fold: CallFoldState = { value: start, context: snapshot.context };
  for (let i = 0; i < entries.length; i++) foldEntry(fold, entries[i]!, events);
  if (fold.context === snapshot.context) return snapshot;
  return withProperty(fold.value === start ? snapshot : inState(fold.value), 'context', fold.context) as CallMachineSnapshot;
}

/**
 * `foldEntries` for one entry, in place: replaces `fold`'s state and context (the context
 * object itself is never changed). An entry at or below the folded position is skipped.
 */
export function foldEntry(fold: CallFoldState, entry: StoredEntry, events?: CallEvent[]): void {
  const context = fold.context;
  if (entry.position <= context.position) return;
  // the call's first entry: the call exists now
  if (events && context.position === 0) events.push({ type: 'callCreated', callId: context.id, cause: refOf(entry) });
  const next = advance(fold.value, context, toMachineEvent(entry));
  if (events) diff(fold.value, advancedTo, context, next, entry, events);
  fold.value = advancedTo;
  fold.context = next;
}

/** The state `advance` moved to (a second return value, to spare an object per entry). */
let advancedTo: MachineState = 'pending';

/**
 * One entry's effect, as the machine's transition for it: the machine's own actions applied
 * to the context directly, and the target its transitions (and guards) pick, without the
 * cost of a machine step (an interpreter pass per entry). Tests hold this equal to stepping
 * the machine for every state and event, and along generated scenarios.
 */
function advance(state: MachineState, context: CallMachineSnapshot['context'], event: CallMachineEvent): CallMachineSnapshot['context'] {
  let to: MachineState = state;
  let next: CallMachineSnapshot['context'];
  switch (event.type) {
    case 'entry':
      next = applyEntryToContext(context, event.entry, state);
      break;
    case 'call.data':
      next = applyCallDataToContext(context, event, state === 'terminated' ? 'fill' : 'overwrite');
      break;
    case 'resync':
      // terminated only clears the request; elsewhere a known state is moved to
      if (state !== 'terminated' && event.to !== undefined) to = event.to;
      next = applyResyncToContext(context, event, state);
      break;
    case 'callState.unknown':
      next = rejectCallInContext(context, event, state);
      break;
    default: {
      const target = callStateTarget(state, event.type.slice(10) as CallState, event.data, context);
      if (target === undefined) {
        next = rejectCallInContext(context, event, state);
      } else {
        to = target;
        next = applyCallToContext(context, event, state);
      }
    }
  }
  advancedTo = to;
  return next;
}

/**
 * The machine's snapshot of a state, resolved once per state (the value, active nodes and
 * tags; the context is replaced by the caller).
 */
function inState(state: MachineState): CallMachineSnapshot {
  let snapshot = resolved.get(state);
  if (!snapshot) {
    snapshot = callMachine.resolveState({ value: state, context: startCall({ callId: '' }).context }) as unknown as CallMachineSnapshot;
    resolved.set(state, snapshot);
  }
  return snapshot;
}

const resolved = new Map<MachineState, CallMachineSnapshot>();

export function stateOf(snapshot: CallMachineSnapshot | Readonly<CallFoldState>): MachineState {
  return snapshot.value as MachineState;
}

/** The frozen projection of a snapshot. */
export function viewOf(snapshot: CallMachineSnapshot | Readonly<CallFoldState>): CallView {
  return buildView(stateOf(snapshot), snapshot.context);
}

/** A snapshot to persist: the machine state, context and position, tagged with the machine version. */
export function toCallSnapshot(snapshot: CallMachineSnapshot | Readonly<CallFoldState>): CallSnapshot {
  return {
    machineVersion: MACHINE_VERSION,
    position: snapshot.context.position,
    value: stateOf(snapshot),
    context: snapshot.context,
  };
}

/**
 * Restores a persisted snapshot, or returns undefined when it cannot be trusted (another
 * machine version, a state this machine does not have, a context of the wrong shape or
 * call): the caller then rebuilds from the log.
 */
export function restoreCallSnapshot(callId: string, saved: CallSnapshot | undefined): CallMachineSnapshot | undefined {
  if (!saved || saved.machineVersion !== MACHINE_VERSION) return undefined;
  const ctx = saved.context as Partial<CallContext> | null;
  if (typeof ctx !== 'object' || ctx === null || ctx.id !== callId || ctx.position !== saved.position) return undefined;
  if (!(saved.value in callMachine.states)) return undefined;
  const context = reviveContext(ctx as Record<string, unknown>);
  if (context === undefined) return undefined;
  try {
    return callMachine.resolveState({
      value: saved.value,
      context: context as unknown as CallMachineSnapshot['context'],
    }) as unknown as CallMachineSnapshot;
  } catch {
    return undefined;
  }
}

/**
 * A persisted context as the fold holds one: its id-keyed records without Object.prototype (JSON
 * and `structuredClone` give it back to them). Undefined when a record is missing.
 */
function reviveContext(ctx: Record<string, unknown>): Record<string, unknown> | undefined {
  let out: Record<string, unknown> | undefined;
  for (const field of ID_RECORD_FIELDS) {
    const value = ctx[field];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    if (isIdRecord(value)) continue;
    out ??= { ...ctx };
    out[field] = copyIdRecord(value as Record<string, unknown>);
  }
  return out ?? ctx;
}

/** Why an entry that ended a call did: Graph deleted the call, or no longer knows it. */
function endReason(entry: StoredEntry): 'deleted' | 'not-found' | undefined {
  if (entry.kind === 'notification') return entry.changeType === 'deleted' ? 'deleted' : undefined;
  if (entry.kind === 'resync') return entry.call === null ? 'not-found' : undefined;
  if (entry.kind === 'commandResult') return entry.status === 404 ? 'not-found' : undefined;
  return undefined;
}

function diff(from: MachineState, to: MachineState, a: CallContext, b: CallContext, entry: StoredEntry, out: CallEvent[]): void {
  const callId = b.id;
  const cause = refOf(entry);
  if (from !== to && to !== 'pending') {
    const reason = to === 'terminated' ? endReason(entry) : undefined;
    out.push(
      reason === undefined ? { type: 'stateChanged', callId, from, to, cause } : { type: 'stateChanged', callId, from, to, cause, reason },
    );
  }

  if (a.participants !== b.participants) {
    for (const id in b.participants) {
      if (!hasOwn.call(b.participants, id)) continue;
      const now = b.participants[id]!;
      const before = a.participants[id];
      if (!before) {
        out.push({ type: 'participantJoined', callId, participant: now, cause });
        if (now.isInLobby === true) out.push({ type: 'participantEnteredLobby', callId, participant: now, cause });
        else if (a.removedParticipants[id] === undefined && now.isMuted === true)
          out.push({ type: 'participantMuted', callId, participant: now, cause });
        continue;
      }
      if (before.isInLobby !== true && now.isInLobby === true)
        out.push({ type: 'participantEnteredLobby', callId, participant: now, cause });
      if (before.isInLobby === true && now.isInLobby === false) out.push({ type: 'participantAdmitted', callId, participant: now, cause });
      if (before.isMuted !== true && now.isMuted === true) out.push({ type: 'participantMuted', callId, participant: now, cause });
      if (before.isMuted === true && now.isMuted === false) out.push({ type: 'participantUnmuted', callId, participant: now, cause });
    }
    for (const id in a.participants) {
      if (hasOwn.call(a.participants, id) && !(id in b.participants))
        out.push({ type: 'participantLeft', callId, participantId: id, participant: a.participants[id]!, cause });
    }
  }
  if (a.operations !== b.operations) {
    for (const id in b.operations) {
      if (!hasOwn.call(b.operations, id)) continue;
      const now = b.operations[id]!;
      const before = a.operations[id];
      if ((now.status === 'completed' || now.status === 'failed' || now.status === 'ended') && before?.status !== now.status) {
        out.push({ type: 'operationSettled', callId, operation: now, cause });
      }
    }
  }
  if (a.tones !== b.tones) {
    const seen = new Set(a.tones);
    for (const tone of b.tones) if (!seen.has(tone)) out.push({ type: 'toneReceived', callId, tone, cause });
  }
  for (let i = a.stale.length; i < b.stale.length; i++) {
    out.push({ type: 'staleEntryIgnored', callId, stale: b.stale[i]!, cause });
  }
  if (a.resyncNeeded === null && b.resyncNeeded !== null) {
    out.push({ type: 'resyncNeeded', callId, reason: b.resyncNeeded.reason, cause });
  }
}
