import { assign, createActor, setup, type SnapshotFrom } from 'xstate';
import type { MachineState } from '../reconcile/context.js';
import { initialContext } from '../reconcile/context.js';
import { ACTIONS } from './actions.js';
import type { CallMachineContext, CallMachineEvent, CallMachineInput } from './events.js';
import { GUARDS } from './guards.js';
import { MACHINE_STATES, TRANSITIONS, type TransitionSpec } from './transitions.js';

/**
 * The call machine, as XState types it: the ten `callState` values (plus `pending`, before any
 * state is known) and the documented transitions between them. Its config is generated from
 * `TRANSITIONS`, its guards and actions are `GUARDS` and `ACTIONS` (each wrapped, unchanged,
 * in XState's calling convention): the fold reads the same table and calls the same functions.
 * The roster, operations, content sharing, tones, media state and result info live in context,
 * updated copy-on-write (`ContextEdit`) and frozen.
 *
 * A pure machine: no timers, nothing invoked, no clock. The package exports it as
 * `callMachine` (`./public.ts`), typed without XState's declarations; this module, with
 * XState's types, is for the package's own code and tests.
 */
export const machine = buildMachine();

/** The machine's snapshot as XState types it. */
export type MachineSnapshot = SnapshotFrom<typeof machine>;

type Ctx = CallMachineContext;
type XGuard = (args: { context: Ctx; event: CallMachineEvent }, params: never) => boolean;

/** `GUARDS` in XState's calling convention. */
function xstateGuards(): { [G in keyof typeof GUARDS]: XGuard } {
  const out = {} as Record<keyof typeof GUARDS, XGuard>;
  for (const name of Object.keys(GUARDS) as (keyof typeof GUARDS)[]) {
    const guard = GUARDS[name] as (context: Ctx, event: CallMachineEvent, params: never) => boolean;
    out[name] = ({ context, event }, params) => guard(context, event, params);
  }
  return out;
}

/** `ACTIONS` as XState `assign` actions. */
function xstateActions() {
  const out = {} as Record<keyof typeof ACTIONS, ReturnType<typeof assign<Ctx, CallMachineEvent, never, CallMachineEvent, never>>>;
  for (const name of Object.keys(ACTIONS) as (keyof typeof ACTIONS)[]) {
    const action = ACTIONS[name] as (context: Ctx, event: CallMachineEvent, params: never) => Ctx;
    out[name] = assign(({ context, event }, params: never) => action(context, event, params));
  }
  return out;
}

/** One `TRANSITIONS` candidate as an XState transition config. */
function toConfig(t: TransitionSpec): object {
  return {
    ...(t.target !== undefined ? { target: t.target } : {}),
    ...(t.guard !== undefined ? { guard: t.guard } : {}),
    actions: t.action,
  };
}

/** The machine's config: a state per `MACHINE_STATES`, each handling every event as `TRANSITIONS` says. */
export function machineConfig(transitions: typeof TRANSITIONS = TRANSITIONS): object {
  const states: Record<string, object> = {};
  for (const state of MACHINE_STATES) {
    const on: Record<string, object[]> = {};
    for (const [type, candidates] of Object.entries(transitions[state])) on[type] = candidates.map(toConfig);
    states[state] = { on };
  }
  return {
    id: 'call',
    initial: 'pending',
    context: ({ input }: { input: CallMachineInput }) => initialContext(input.callId, input.rosterMode ?? 'full'),
    states,
  };
}

/** The machine built from a transition table (`TRANSITIONS` unless a test passes another). */
export function buildMachine(transitions: typeof TRANSITIONS = TRANSITIONS) {
  const machineSetup = setup({
    types: {
      context: {} as Ctx,
      events: {} as CallMachineEvent,
      input: {} as CallMachineInput,
    },
    guards: xstateGuards(),
    actions: xstateActions(),
  });
  // The config is generated from the table, so its literal types cannot be inferred.
  return machineSetup.createMachine(machineConfig(transitions) as unknown as Parameters<typeof machineSetup.createMachine>[0]);
}

type ActorScope = Parameters<typeof machine.transition>[2];
let inertScope: ActorScope | undefined;

/**
 * One pure XState step. xstate's `transition()` builds a throwaway actor and system on every
 * call (about 10 us); this holds one inert scope instead, built from the public `createActor`,
 * and calls the machine's own `transition` with it. The machine's only actions are
 * assignments, which run inline; there is nothing to execute afterwards. The engine does not
 * step the machine (see `takeTransition`); tests and the benchmark do.
 */
export function step(snapshot: MachineSnapshot, event: CallMachineEvent): MachineSnapshot {
  return machine.transition(snapshot, event, scope());
}

/** The machine's initial snapshot for an input. */
export function initialSnapshot(input: CallMachineInput): MachineSnapshot {
  return machine.getInitialSnapshot(scope(), input);
}

/** The machine's snapshot of a state with a context (undefined when the machine has no such state). */
export function resolveSnapshot(value: MachineState | string, context: CallMachineContext): MachineSnapshot | undefined {
  if (!(value in machine.states)) return undefined;
  return machine.resolveState({ value, context });
}

function scope(): ActorScope {
  if (!inertScope) {
    const self = createActor(machine, { input: { callId: 'inert-scope' } });
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
