import type { MachineState } from '../reconcile/context.js';
import type { CallMachineContext, CallMachineEvent } from './events.js';
import { machine } from './definition.js';

// The machine and its snapshots as the package's public API types them: without XState's
// types, so that a program importing `@switchboard/core` does not load XState's declarations.
// XState 5's own .d.ts files do not compile under `exactOptionalPropertyTypes` unless
// `skipLibCheck` is on (its setup.d.ts constrains optional ids to `StateSchema`).

/**
 * A snapshot of the call machine (XState's `MachineSnapshot`): the state, the context and the
 * snapshot's status. `foldEntries`, `startCall` and the engine hand these out.
 */
export interface CallMachineSnapshot {
  /** `pending` or one of the ten call states. */
  readonly value: MachineState;
  readonly context: CallMachineContext;
  readonly status: 'active' | 'done' | 'error' | 'stopped';
  readonly tags: ReadonlySet<string>;
  /** Whether the snapshot is in `state`. */
  matches(state: MachineState): boolean;
  hasTag(tag: string): boolean;
  /** Whether `event` would cause a transition or run an action. */
  can(event: CallMachineEvent): boolean;
  toJSON(): object;
}

/**
 * The call machine: an XState v5 `StateMachine` with the ten `callState` values (plus
 * `pending`) and the documented transitions between them, generated from
 * `DOCUMENTED_TRANSITIONS`; the roster, operations, content sharing, tones, media state and
 * result info live in its context. It has no timers, invokes nothing and reads no clock.
 *
 * Typed here without XState's declarations (see `CallMachineSnapshot`). To use it with XState's
 * tools (the Stately inspector, `createActor`, `xstate/graph`), cast it:
 * `callMachine as unknown as AnyStateMachine`.
 */
export interface CallMachine {
  /** `call`. */
  readonly id: string;
  readonly version?: string | undefined;
  /** The state nodes, by state name. */
  readonly states: { readonly [state: string]: unknown };
  /** What XState built the machine from. */
  readonly config: unknown;
}

/**
 * The call machine (see {@link CallMachine}). The engine folds with the same guard and
 * action functions directly (`takeTransition`), without stepping it per entry.
 */
export const callMachine: CallMachine = machine;
