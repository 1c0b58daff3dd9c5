import type { CallEvent, CallView, GraphResponse } from '@switchboard/core';

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
   * Graph saying the transfer was accepted or completed (the caller hung up during it),
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
 * `transferAccepted` and `terminated` together folds both before the handle hears either).
 */
export function transferTracker(start: { readonly version: number; readonly resultInfo: unknown }) {
  let accepted = false;
  return (view: CallView | undefined, event: CallEvent | undefined): { readonly outcome: TransferOutcome } | 'ended' | undefined => {
    if (event?.type === 'stateChanged' && event.cause.position > start.version) {
      if (event.to === 'transferAccepted') accepted = true;
    }
    if (!view || view.version <= start.version) return undefined;
    if (view.state === 'terminated') {
      if (accepted || saysTransferred(view)) {
        return { outcome: { result: 'transferred', view, ...(view.resultInfo ? { resultInfo: view.resultInfo } : {}) } };
      }
      return 'ended';
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
