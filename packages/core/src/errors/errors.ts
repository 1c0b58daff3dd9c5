import type { SwitchboardErrorCode } from './codes.js';

export type { SwitchboardErrorCode } from './codes.js';

/**
 * Every error Switchboard throws is a `SwitchboardError` with a stable `code`, one of
 * `ERROR_CODES`. Callers branch on `code`, never on message text; the underlying error, if
 * any, is `cause`.
 */
export class SwitchboardError extends Error {
  readonly code: SwitchboardErrorCode;

  constructor(code: SwitchboardErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwitchboardError';
    this.code = code;
  }
}

/** Why a piece of untrusted input could not be decoded. */
export type DecodeErrorReason =
  | 'invalid-json'
  | 'not-an-object'
  | 'missing-field'
  | 'wrong-type'
  | 'invalid-value'
  | 'forbidden-key'
  | 'too-large'
  | 'too-deep'
  | 'unstorable';

/**
 * Malformed input: `path` is the JSON path of the bad field (`$.value[0].resourceData.state`),
 * `reason` says what is wrong with it. A body that is refused changes no state; a single
 * notification of a known delivery shape that does not decode (`not-an-object`,
 * `missing-field`, `wrong-type`, `invalid-value`) is quarantined by `decodeDelivery` instead.
 * `unstorable`: a value the log cannot keep exactly (a number JSON cannot carry, a call id
 * with a lone surrogate or a NUL), refused so that a restart changes nothing.
 */
export class DecodeError extends SwitchboardError {
  readonly path: string;
  readonly reason: DecodeErrorReason;

  constructor(reason: DecodeErrorReason, path: string, message: string, options?: { cause?: unknown }) {
    super('SWB_DECODE', `${path}: ${message}`, options);
    this.name = 'DecodeError';
    this.path = path;
    this.reason = reason;
  }
}

/** An append found the stream at another version than the one the writer expected. */
export class ExpectedVersionConflictError extends SwitchboardError {
  readonly streamId: string;
  readonly expectedVersion: number;
  readonly actualVersion: number;

  constructor(streamId: string, expectedVersion: number, actualVersion: number) {
    super(
      'SWB_VERSION_CONFLICT',
      `stream ${streamId} is at version ${actualVersion}, the append expected ${expectedVersion}; read the tail and retry`,
    );
    this.name = 'ExpectedVersionConflictError';
    this.streamId = streamId;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}
