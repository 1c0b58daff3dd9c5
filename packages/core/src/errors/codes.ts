/**
 * Every code a `SwitchboardError` can carry, each with what it means, in one closed list:
 * callers branch on `code` (a `switch` over {@link SwitchboardErrorCode} can be exhaustive),
 * never on message text. `docs/errors.md` lists the same codes with the same meanings.
 */
export const ERROR_CODES = {
  // arguments and input
  SWB_INVALID_ARGUMENT: 'An argument is missing, malformed or out of range; nothing was done.',
  SWB_DECODE: 'Untrusted input (a webhook body, a stored entry, a log line) does not decode; `path` and `reason` say where and why.',
  SWB_INVALID_ENTRY: 'A log entry handed to a store is not one (no object, no id); nothing was appended.',
  // the log and its stores
  SWB_VERSION_CONFLICT: 'An append expected another stream version (another writer was first); read the tail and retry.',
  SWB_STORE_FAILED: 'The store could not read or write (a database or file error, in `cause`).',
  SWB_STORE_UNAVAILABLE: 'The database cannot be reached (connect, LISTEN or a catch-up poll failed).',
  SWB_STORE_CLOSED: 'The store was closed before the call.',
  SWB_STORE_BUSY: 'Another process held the SQLite lock past the busy timeout.',
  SWB_STORE_READ_ONLY: 'The store was opened read-only and was asked to write.',
  SWB_SCHEMA_NEWER: 'The store was written by a newer Switchboard; upgrade this one.',
  SWB_SCHEMA_OLDER: 'The store has an older schema (or none); open it once with a writer to migrate it.',
  SWB_SCHEMA_MISSING: "The PostgreSQL schema is not there; run the store's migration first.",
  SWB_LEASE_LOST: "This instance no longer holds the call's lease; another instance runs the call, nothing was written.",
  SWB_LISTENER_FAILED: 'An append listener threw; the append itself stands.',
  SWB_DEPENDENCY_MISSING: 'An optional dependency the feature needs (pg, better-sqlite3) is not installed.',
  SWB_DEPENDENCY_BROKEN: 'An optional dependency is installed but does not load (a failed native build, a wrong version).',
  // Graph
  SWB_GRAPH_NOT_FOUND: 'Graph answered 404: the call, participant or operation is gone.',
  SWB_GRAPH_THROTTLED: 'Graph answered 429 and the retries or the deadline ran out.',
  SWB_GRAPH_AMBIGUOUS: 'A command that is not idempotent may or may not have been carried out; resync, do not resend.',
  SWB_GRAPH_UNAUTHORIZED: 'Graph answered 401 (after one token refresh) or 403.',
  SWB_GRAPH_BAD_REQUEST: 'Graph answered 400: the request is wrong for this call now.',
  SWB_GRAPH_HTTP: 'Graph answered another non-2xx status.',
  SWB_GRAPH_NETWORK: 'The request provably never reached Graph (connection refused, DNS) and the retries ran out.',
  SWB_GRAPH_TIMEOUT: 'An idempotent request ran past its attempt timeout or overall deadline.',
  SWB_GRAPH_ABORTED: "The caller's AbortSignal fired before anything ambiguous happened.",
  SWB_GRAPH_AUTH:
    'No token could be obtained: the token endpoint could not be reached (the message names its host and the network error), failed, or refused the credentials.',
  SWB_GRAPH_UNEXPECTED: 'Graph answered 2xx without what the command needs (a call id, an operation id).',
  // recordings (a record operation's recordingLocation)
  SWB_RECORDING_UNAVAILABLE: 'The operation has no recording to download: not a completed record operation, or no location and token.',
  SWB_RECORDING_UNAUTHORIZED: 'The recording location refused the access token (401 or 403): it is wrong or has expired.',
  SWB_RECORDING_NOT_FOUND: 'The recording location answered 404 or 410: the recording is not, or no longer, there.',
  SWB_RECORDING_HTTP: 'The recording location answered another non-2xx status.',
  SWB_RECORDING_TOO_LARGE: 'The recording is larger than `maxBytes`; the download stopped and nothing was kept.',
  SWB_RECORDING_TIMEOUT: 'The download did not finish within `timeoutMs`; nothing was kept.',
  SWB_RECORDING_ABORTED: "The caller's AbortSignal ended the download; nothing was kept.",
  SWB_RECORDING_NETWORK: 'The recording location could not be reached, or the connection failed mid-download (the cause names it).',
  SWB_RECORDING_REDIRECT: 'A redirect was refused: too many, a loop, no Location, or from https to plain http.',
  SWB_RECORDING_WRITE: 'The recording could not be written to its destination (a file or stream error, in `cause`).',
  // the webhook
  SWB_WEBHOOK_UNKNOWN_KEY: 'A webhook token names a signing key the published key set does not have.',
  SWB_WEBHOOK_KEYS_UNAVAILABLE: 'The webhook signing keys (OpenID configuration, JWKS) cannot be loaded.',
  // the runtime and call handles
  SWB_STOPPED: 'The switchboard was stopped: the delivery or command was refused and nothing was sent to Graph.',
  SWB_UNKNOWN_CALL: 'No call with this id is known to this switchboard.',
  SWB_CALL_TERMINATED: 'The call has terminated: a command was refused without a request, or a wait cannot be met.',
  SWB_CALL_ALREADY_HANDLED:
    'An incoming call was already answered, rejected or redirected; the second answer was refused without a request.',
  SWB_WAIT_TIMEOUT: '`waitFor` did not see the state within its timeout.',
  SWB_OPERATION_FAILED: 'An operation ended `failed`; its `resultInfo` says why.',
  SWB_OPERATION_OUTCOME_UNKNOWN: 'Graph deleted an operation without a status: it is over, its outcome unknown.',
  SWB_OPERATION_TIMEOUT: 'An operation did not settle within `operationTimeoutMs`.',
  // archives
  SWB_ARCHIVE_REFUSED: 'The store kept refusing to delete archived calls (they keep moving); run the archive again later.',
  SWB_ARCHIVE_JOURNAL: "The archive directory's journal cannot be read: it was not written by this archive.",
  // the CLI
  SWB_CLI_INPUT: 'The CLI cannot read its input (a missing file, a log it cannot open).',
  SWB_CLI_OUTPUT: 'The CLI cannot write its output.',
} as const satisfies { readonly [code: `SWB_${string}`]: string };

/** Every code a `SwitchboardError` carries: a closed union, so a `switch` over it can be exhaustive. */
export type SwitchboardErrorCode = keyof typeof ERROR_CODES;

/** True if `code` is one of {@link ERROR_CODES}. */
export function isSwitchboardErrorCode(code: unknown): code is SwitchboardErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
