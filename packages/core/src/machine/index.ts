/**
 * `@switchboard/core/machine`: the call machine and the table it is built from, for
 * inspection (the Stately inspector), model-based tests (`xstate/graph`) and reading a
 * snapshot. Typed without XState's declarations (see `CallMachine`).
 */
export { callMachine } from './public.js';
export type { CallMachine, CallMachineSnapshot } from './public.js';
export { MACHINE_EVENT_TYPES, toMachineEvent } from './events.js';
export type { CallMachineEvent, CallMachineEventType, CallMachineInput, CallMachineContext } from './events.js';
export { MACHINE_STATES, MACHINE_VERSION, TRANSITIONS } from './transitions.js';
export type { TransitionSpec, GuardRef, ActionRef } from './transitions.js';
export type { GuardName } from './guards.js';
export type { ActionName, ActionParams } from './actions.js';
export {
  STATE_RANK,
  DOCUMENTED_TRANSITIONS,
  PROOF_REQUIRED,
  REACHABLE,
  TRANSFER_STATES,
  isProofRequired,
  normalizeCallState,
} from './table.js';
export { CONTEXT_FIELDS } from '../reconcile/context.js';
export type { CallContext, ContextField, ContextFieldSpec, FieldKind, MachineState } from '../reconcile/context.js';
