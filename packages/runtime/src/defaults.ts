import type { InvitationTarget } from '@switchboard/core';
/** What to do with an incoming call nobody answered, rejected or redirected in time. */
export type AnswerDeadlinePolicy =
  | { readonly action: 'reject'; readonly reason?: 'none' | 'busy' | 'forbidden' }
  | { readonly action: 'redirect'; readonly targets: readonly InvitationTarget[] }
  | { readonly action: 'none' };

/**
 * The runtime's defaults, each the value `createSwitchboard` uses when its option of the
 * same name is omitted. Docs and code name these (`RUNTIME_DEFAULTS.leaseTtlMs`) rather than
 * restate the figures.
 */
export const RUNTIME_DEFAULTS = Object.freeze({
  /** Graph drops an incoming call not answered within 15 s of its notification. */
  answerDeadlineMs: 15_000,
  /** The answer-deadline policy acts this long before Graph's deadline. */
  deadlineMarginMs: 2_000,
  /** What happens to an incoming call nobody handled in time: reject it (Graph's `none` reason). */
  onAnswerDeadline: Object.freeze({ action: 'reject' }) as AnswerDeadlinePolicy,
  /** Graph ends a call after 45 minutes without a keep-alive: one every 15 minutes. */
  keepAliveIntervalMs: 15 * 60_000,
  /** An operation not settled by then rejects with `SWB_OPERATION_TIMEOUT`: 5 minutes. */
  operationTimeoutMs: 5 * 60_000,
  /** How long a call's lease lasts unless renewed (renewed at a third of it; the sweep runs every half). */
  leaseTtlMs: 30_000,
  /** Snapshot a call once nothing new has arrived for it this long (checked every half of it); 0 turns it off. */
  snapshotWhenQuietMs: 2_000,
});
