import type { CallEvent, CallView, GraphResponse, StoredEntry } from '@switchboard/core';

/** The `resultInfo` Graph sent with a transfer's end. */
export type TransferResultInfo = NonNullable<CallView['resultInfo']>;

/**
 * How a transfer ended. `transferred`: Graph accepted it (`transferAccepted`) and ended the
 * call, or ended it saying the transfer completed (`resultInfo` subcode 7015,
 * `terminationReason` `AppTransferred`). `failed`: Graph brought the call back to
 * `established` with a failure `resultInfo` (code >= 400: 500/7000, or 500/7700 when the
 * target rejected the call); the call goes on, and the bot still holds it.
 */
export type TransferOutcome =
  | { readonly result: 'transferred'; readonly view: CallView; readonly resultInfo?: TransferResultInfo }
  | { readonly result: 'failed'; readonly view: CallView; readonly resultInfo: TransferResultInfo };

/**
 * What `call.transfer()` and `call.consultativeTransfer()` resolve to once Graph accepted the
 * request (202): Graph's answer, as before, and `outcome`, which settles when the call's
 * notifications say how the transfer ended. A request Graph refused rejects the method itself
 * (`SWB_GRAPH_BAD_REQUEST`, ...), as every command does.
 */
export interface TransferHandle extends GraphResponse<null> {
  /**
   * Resolves with the outcome; rejects with `SWB_CALL_TERMINATED` when the call ended without
   * Graph saying the transfer was accepted or completed (the caller hung up during it; when a
   * GET found the call gone before its notifications came, those logged after the end decide,
   * for up to 2 s),
   * `SWB_OPERATION_TIMEOUT` after `operationTimeoutMs`, `SWB_ABORTED` when `signal` fired.
   * Leaving it unawaited is fine: its rejection is then no unhandled rejection.
   */
  readonly outcome: Promise<TransferOutcome>;
}

/** A `resultInfo`'s numeric code or subcode (Graph sends numbers, sometimes numeric strings; a page spells it `subCode`). */
function numberIn(info: unknown, ...keys: string[]): number | undefined {
  if (typeof info !== 'object' || info === null) return undefined;
  for (const key of keys) {
    const value = (info as Record<string, unknown>)[key];
    const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (typeof n === 'number' && Number.isFinite(n)) return n;
  }
  return undefined;
}

/** Graph's `GracefulTransferCompleted` (0/7015), or `terminationReason: AppTransferred`. */
function saysTransferred(view: CallView): boolean {
  return numberIn(view.resultInfo, 'subcode', 'subCode') === 7015 || view['terminationReason'] === 'AppTransferred';
}

/**
 * Follows one transfer through the call's events and views, from the view at the moment its
 * command was about to be recorded (`start`). Pure but for what it remembers between calls:
 * whether a `transferAccepted` came after the start (as an event: a delivery that carries
 * `transferAccepted` and `terminated` together folds both before the handle hears either),
 * and whether the call ended without Graph's word (a GET that found no call: `unknown`, to be
 * decided from the notifications that arrive after the end, see `transferProof`). `accepted`:
 * Graph had already said `transferAccepted` before the start (a transfer picked up from the log).
 */
export function transferTracker(start: { readonly version: number; readonly resultInfo: unknown; readonly accepted?: boolean }) {
  let accepted = start.accepted ?? false;
  let endedUnseen = false;
  return (
    view: CallView | undefined,
    event: CallEvent | undefined,
  ): { readonly outcome: TransferOutcome } | 'ended' | 'unknown' | undefined => {
    if (event?.type === 'stateChanged' && event.cause.position > start.version) {
      if (event.to === 'transferAccepted') accepted = true;
      if (event.to === 'terminated' && event.reason === 'not-found') endedUnseen = true;
    }
    if (!view || view.version <= start.version) return undefined;
    if (view.state === 'terminated') {
      if (accepted || saysTransferred(view)) {
        return { outcome: { result: 'transferred', view, ...(view.resultInfo ? { resultInfo: view.resultInfo } : {}) } };
      }
      return endedUnseen ? 'unknown' : 'ended';
    }
    // back to established with a new failure: from transferring, or before Graph's
    // `transferring` arrived (it is then stale when it does)
    const info = view.resultInfo;
    if (view.state === 'established' && info && info !== start.resultInfo && (numberIn(info, 'code') ?? 0) >= 400) {
      accepted = false;
      return { outcome: { result: 'failed', view, resultInfo: info } };
    }
    return undefined;
  };
}

/**
 * How a transfer ended, from the call's notifications after `afterPosition` as the log holds
 * them, stale ones included: for a call that ended by a GET that found no call (Graph deletes
 * a transferred call at once, and a resync may ask before its notifications arrive; they are
 * then logged as stale after the end). The last word wins: `transferAccepted`, or a
 * `terminated` saying the transfer completed, is `transferred`; `established` with a failure
 * `resultInfo` is `failed`. Undefined when no notification says.
 */
export function transferProof(
  entries: readonly StoredEntry[],
  afterPosition: number,
  view: CallView,
): { readonly outcome: TransferOutcome } | undefined {
  let found: { readonly outcome: TransferOutcome } | undefined;
  for (const entry of entries) {
    if (entry.position <= afterPosition || entry.kind !== 'notification' || entry.target.type !== 'call') continue;
    const data = entry.resourceData as { state?: unknown; resultInfo?: unknown; terminationReason?: unknown } | null;
    if (!data) continue;
    const subcode = numberIn(data.resultInfo, 'subcode', 'subCode');
    if (data.state === 'transferAccepted' || subcode === 7015 || data.terminationReason === 'AppTransferred') {
      found = { outcome: { result: 'transferred', view } };
    } else if (data.state === 'established' && (numberIn(data.resultInfo, 'code') ?? 0) >= 400) {
      found = { outcome: { result: 'failed', view, resultInfo: data.resultInfo as TransferResultInfo } };
    }
  }
  return found;
}
