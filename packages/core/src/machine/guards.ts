import type { CallState } from '../log/entries.js';
import { isTransferFailure } from '../reconcile/apply.js';
import type { CallContext } from '../reconcile/context.js';
import type { CallMachineEvent } from './events.js';

/**
 * The machine's guards: whether a transition may be taken. Each is a pure function
 * `(context, event, params) => boolean`; the XState machine (`./definition.ts`) and the fold
 * (`./transitions.ts`) both call these.
 */

/** Whether a transfer may start: none failed, or a transfer command was sent since. */
export function transferOpen(ctx: CallContext): boolean {
  const { failedAt, commandAt } = ctx.transfer;
  return failedAt === undefined || (commandAt !== undefined && commandAt > failedAt);
}

/** Every guard of the machine, by the name its transitions use. */
export const GUARDS = {
  /** The event carries a failure `resultInfo`: the proof that lets a failed transfer return the call to `established`. */
  transferProof: (_context: CallContext, event: CallMachineEvent): boolean =>
    'data' in event && event.data !== null && isTransferFailure(event.data),
  /** A transfer may start: none failed, or a transfer command was sent since (`transferOpen`). */
  transferOpen: (context: CallContext): boolean => transferOpen(context),
  /** A resync whose GET reported `params.state`. */
  resyncTo: (_context: CallContext, event: CallMachineEvent, params: { readonly state: CallState }): boolean =>
    event.type === 'resync' && event.to === params.state,
} as const;

export type GuardName = keyof typeof GUARDS;
