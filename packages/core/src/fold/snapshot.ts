import type { CallSnapshot } from '../log/snapshot.js';
import type { CallContext } from '../reconcile/context.js';
import { ID_RECORD_FIELDS } from '../reconcile/draft.js';
import { resolveSnapshot } from '../machine/definition.js';
import type { CallMachineSnapshot } from '../machine/public.js';
import { MACHINE_VERSION } from '../machine/transitions.js';
import { copyIdRecord, isIdRecord } from '../util/object.js';
import { stateOf, type CallFoldState } from './fold.js';

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
  const context = reviveContext(ctx as Record<string, unknown>);
  if (context === undefined) return undefined;
  try {
    return resolveSnapshot(saved.value, context as unknown as CallContext) as unknown as CallMachineSnapshot | undefined;
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
