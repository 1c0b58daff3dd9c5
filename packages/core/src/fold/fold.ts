import type { StoredEntry } from '../log/entries.js';
import { initialContext, type MachineState } from '../reconcile/context.js';
import { initialSnapshot, resolveSnapshot } from '../machine/definition.js';
import { toMachineEvent, type CallMachineInput } from '../machine/events.js';
import type { CallMachineSnapshot } from '../machine/public.js';
import { takeTransition, type MachineFold } from '../machine/transitions.js';
import { withProperty } from '../util/object.js';

/**
 * The fold: a call's log entries, in log order, through the machine's transition table
 * (`takeTransition`: the machine's own guards and actions, without an interpreter pass per
 * entry). Pure: no clock, no I/O, no actions beyond context assignment.
 */

/** The machine's initial snapshot for a call: `pending`, nothing known. Pure. */
export function startCall(input: CallMachineInput): CallMachineSnapshot {
  // The initial snapshot differs between calls only in the context's id and roster mode, and
  // resolving it through the machine costs more than most entries: resolve it once and copy.
  const mode = input.rosterMode ?? 'full';
  let template = templates.get(mode);
  if (!template) {
    template = initialSnapshot({ callId: '', rosterMode: mode }) as unknown as CallMachineSnapshot;
    templates.set(mode, template);
  }
  return withProperty(template, 'context', initialContext(input.callId, mode)) as CallMachineSnapshot;
}

const templates = new Map<string, CallMachineSnapshot>();

/**
 * A call's fold as the engine and replay hold it: the machine state and context, without
 * xstate's snapshot object around them (`asMachineSnapshot` builds that when asked). Folding
 * replaces the fields; the context itself is never mutated.
 */
export type CallFoldState = MachineFold;

/** The fold of a machine snapshot (its state and context). */
export function foldStateOf(snapshot: CallMachineSnapshot): CallFoldState {
  return { value: stateOf(snapshot), context: snapshot.context };
}

/** The machine snapshot of a fold: the state's resolved snapshot with the fold's context. */
export function asMachineSnapshot(fold: Readonly<CallFoldState>): CallMachineSnapshot {
  return withProperty(inState(fold.value), 'context', fold.context) as CallMachineSnapshot;
}

/**
 * Folds stored entries, in log order, through the call machine's transitions. Entries at or
 * below the position already folded are skipped, so folding the same tail twice changes
 * nothing. Returns the new snapshot (the same one when nothing changed).
 *
 * This is a pure function: it executes no actions beyond context assignment and reads no clock.
 */
export function foldEntries(snapshot: CallMachineSnapshot, entries: readonly StoredEntry[]): CallMachineSnapshot {
  const start = stateOf(snapshot);
  const fold: CallFoldState = { value: start, context: snapshot.context };
  for (let i = 0; i < entries.length; i++) foldEntry(fold, entries[i]!);
  if (fold.context === snapshot.context) return snapshot;
  return withProperty(fold.value === start ? snapshot : inState(fold.value), 'context', fold.context) as CallMachineSnapshot;
}

/**
 * `foldEntries` for one entry, in place: replaces `fold`'s state and context (the context
 * object itself is never changed). An entry at or below the folded position is skipped;
 * returns whether the entry was folded.
 */
export function foldEntry(fold: CallFoldState, entry: StoredEntry): boolean {
  if (entry.position <= fold.context.position) return false;
  takeTransition(fold, toMachineEvent(entry));
  return true;
}

/**
 * The machine's snapshot of a state, resolved once per state (the value, active nodes and
 * tags; the context is replaced by the caller).
 */
function inState(state: MachineState): CallMachineSnapshot {
  let snapshot = resolved.get(state);
  if (!snapshot) {
    snapshot = resolveSnapshot(state, initialContext('')) as unknown as CallMachineSnapshot;
    resolved.set(state, snapshot);
  }
  return snapshot;
}

const resolved = new Map<MachineState, CallMachineSnapshot>();

export function stateOf(snapshot: CallMachineSnapshot | Readonly<CallFoldState>): MachineState {
  return snapshot.value as MachineState;
}
