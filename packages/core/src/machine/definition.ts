import { setup, assign, type SnapshotFrom } from 'xstate';
import { CALL_STATES, type CallState } from '../log/entries.js';
import { isTransferFailure } from '../reconcile/apply.js';
import { initialContext, type MachineState } from '../reconcile/context.js';
import {
  TRANSFER_STATES,
  applyCallDataToContext,
  applyCallToContext,
  applyEntryToContext,
  applyResyncToContext,
  rejectCallInContext,
  transferOpen,
  type CallMachineContext,
  type CallMachineInput,
} from './actions.js';
import type { CallMachineEvent } from './events.js';
import { REACHABLE, isProofRequired } from './table.js';

type Ctx = CallMachineContext;
type Params = { readonly from: MachineState };

/**
 * The call machine, as XState types it: the ten `callState` values (plus `pending`, before any
 * state is known) and the documented transitions between them, generated from
 * `DOCUMENTED_TRANSITIONS`. The roster, operations, content sharing, tones, media state and
 * result info live in context, updated copy-on-write (`ContextEdit`) and frozen.
 *
 * A pure fold with `transition()` (see `foldEntries`): no timers, nothing invoked, no clock.
 * The package exports it as `callMachine` (`./callMachine.ts`), typed without XState's
 * declarations; this module, with XState's types, is for the package's own code and tests.
 */
export const machine = buildMachine();

/** The machine's snapshot as XState types it. */
export type MachineSnapshot = SnapshotFrom<typeof machine>;

function buildMachine() {
  const machineSetup = setup({
    types: {
      context: {} as Ctx,
      events: {} as CallMachineEvent,
      input: {} as CallMachineInput,
    },
    guards: {
      transferProof: ({ event }) => 'data' in event && event.data !== null && isTransferFailure(event.data),
      transferOpen: ({ context }) => transferOpen(context),
      resyncTo: ({ event }, params: { state: CallState }) => event.type === 'resync' && event.to === params.state,
    },
    actions: {
      applyCall: assign(({ context, event }, params: Params) => applyCallToContext(context, event, params.from)),
      rejectCall: assign(({ context, event }, params: Params) => rejectCallInContext(context, event, params.from)),
      applyCallData: assign(({ context, event }, params: { mode: 'overwrite' | 'fill' }) =>
        event.type === 'call.data' ? applyCallDataToContext(context, event, params.mode) : context,
      ),
      applyResync: assign(({ context, event }, params: Params) => applyResyncToContext(context, event, params.from)),
      applyEntry: assign(({ context, event }, params: Params) =>
        event.type === 'entry' ? applyEntryToContext(context, event.entry, params.from) : context,
      ),
    },
  });

  // `entry` (most of the traffic) is handled by every state rather than once at the root: the
  // same targetless assignment either way, but xstate looks an event up in the active state
  // first and only then in its parent, so a root-level handler costs two lookups per entry.
  const states: Record<string, object> = {};
  const fromPending: Record<string, object> = { entry: { actions: { type: 'applyEntry', params: { from: 'pending' } } } };
  for (const to of CALL_STATES) {
    fromPending[`callState.${to}`] = { target: to, actions: { type: 'applyCall', params: { from: 'pending' } } };
  }
  states['pending'] = { on: fromPending };
  for (const from of CALL_STATES) {
    const reject = { actions: { type: 'rejectCall', params: { from } } };
    const applyCall = { type: 'applyCall', params: { from } };
    const on: Record<string, unknown> = { entry: { actions: { type: 'applyEntry', params: { from } } }, 'callState.*': reject };
    for (const to of CALL_STATES) {
      const key = `callState.${to}`;
      if (to === from) {
        on[key] = { actions: applyCall };
      } else if (isProofRequired(from, to)) {
        on[key] = [{ guard: 'transferProof', target: to, actions: applyCall }, reject];
      } else if (REACHABLE[from].has(to)) {
        on[key] = TRANSFER_STATES.has(to)
          ? [{ guard: 'transferOpen', target: to, actions: applyCall }, reject]
          : { target: to, actions: applyCall };
      }
    }
    if (from === 'terminated') {
      on['call.data'] = { actions: { type: 'applyCallData', params: { mode: 'fill' } } };
      on['resync'] = { actions: { type: 'applyResync', params: { from } } };
    } else {
      on['resync'] = [
        ...CALL_STATES.map((state) => ({
          guard: { type: 'resyncTo', params: { state } },
          target: state,
          actions: { type: 'applyResync', params: { from } },
        })),
        { actions: { type: 'applyResync', params: { from } } },
      ];
    }
    states[from] = { on };
  }

  const config = {
    id: 'call',
    initial: 'pending',
    context: ({ input }: { input: CallMachineInput }) => ({
      ...initialContext(input.callId),
      rosterMode: input.rosterMode ?? 'full',
    }),
    states,
    on: {
      'call.data': { actions: { type: 'applyCallData', params: { mode: 'overwrite' } } },
      'callState.unknown': { actions: { type: 'rejectCall', params: { from: 'pending' } } },
      resync: [
        ...CALL_STATES.map((state) => ({
          guard: { type: 'resyncTo', params: { state } },
          target: `.${state}`,
          actions: { type: 'applyResync', params: { from: 'pending' } },
        })),
        { actions: { type: 'applyResync', params: { from: 'pending' } } },
      ],
    },
  };
  // The config is generated from the tables, so its literal types cannot be inferred.
  return machineSetup.createMachine(config as unknown as Parameters<typeof machineSetup.createMachine>[0]);
}
