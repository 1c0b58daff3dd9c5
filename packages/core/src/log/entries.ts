import type { CommandName } from '../commands/table.js';
/**
 * The event log: one ordered stream of entries per call id. The log keeps arrival order,
 * always; ordering for reconciliation is a pure function over it, never a mutation of it.
 */

/** Graph's `callState` values. */
export const CALL_STATES = [
  'incoming',
  'establishing',
  'ringing',
  'established',
  'hold',
  'transferring',
  'transferAccepted',
  'redirecting',
  'terminating',
  'terminated',
] as const;
export type CallState = (typeof CALL_STATES)[number];

export type ChangeType = 'created' | 'updated' | 'deleted';

/** What a notification's resource path points at, decoded once when it enters the log. */
export type NotificationTarget =
  | { readonly type: 'call' }
  | { readonly type: 'participants' }
  | { readonly type: 'participant'; readonly participantId: string }
  | { readonly type: 'operation'; readonly operationId?: string }
  | { readonly type: 'contentSharingSessions'; readonly sessionId?: string }
  | { readonly type: 'audioRoutingGroups'; readonly groupId?: string }
  | { readonly type: 'unknown'; readonly reason: string };

interface EntryBase {
  /** Unique within the stream; the store drops an entry whose id it already holds. */
  readonly id: string;
  readonly callId: string;
  /** Milliseconds since the epoch when the entry entered the log (for a notification: received). */
  readonly at: number;
}

/** One `commsNotification` of a delivery, as received. */
export interface NotificationEntry extends EntryBase {
  readonly kind: 'notification';
  readonly changeType: ChangeType;
  /** `resourceUrl` when Graph sent it, else the older `resource`. */
  readonly resourceUrl: string;
  readonly target: NotificationTarget;
  /** The resource data exactly as received (an object, or an array for collections). */
  readonly resourceData: unknown;
  /** The delivery's message id, when the webhook saw one. */
  readonly messageId?: string;
}

/** Names of the commands a bot can send for a call: the keys of the command table (`COMMANDS`). */
export type { CommandName } from '../commands/table.js';

/** The bot asked Graph to do something for this call. */
export interface CommandEntry extends EntryBase {
  readonly kind: 'command';
  readonly command: CommandName;
  readonly args?: unknown;
  readonly clientRequestId?: string;
}

/**
 * Graph's answer to a command. `outcome` is `ambiguous` when the request may or may not have
 * acted (timeout, reset, 502/504): the engine then asks for a resync instead of re-sending.
 */
export interface CommandResultEntry extends EntryBase {
  readonly kind: 'commandResult';
  readonly commandId: string;
  readonly command: CommandName;
  readonly outcome: 'succeeded' | 'failed' | 'ambiguous';
  readonly status?: number;
  readonly body?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

/** An authoritative GET of the call and its participants; `call: null` means Graph answered 404. */
export interface ResyncEntry extends EntryBase {
  readonly kind: 'resync';
  readonly call: unknown;
  readonly participants?: readonly unknown[];
  readonly reason?: string;
}

/** The timers whose firing enters the log: the answer deadline, a due keep-alive, an operation's timeout. */
export const TIMER_NAMES = ['answerDeadline', 'keepAliveDue', 'operationTimeout'] as const;
export type TimerName = (typeof TIMER_NAMES)[number];

/** Time enters the log as events: a deadline or a due keep-alive fired. */
export interface TimerEntry extends EntryBase {
  readonly kind: 'timer';
  readonly timer: TimerName;
  readonly operationId?: string;
}

/** Why a notification could not be decoded: a `DecodeError`'s code, reason, JSON path and message. */
export interface QuarantineError {
  readonly code: 'SWB_DECODE';
  readonly reason: string;
  /** The JSON path of the field at fault, in its delivery (`$.value[1].resourceData.state`). */
  readonly path: string;
  readonly message: string;
}

/**
 * A notification from an authenticated sender that this version cannot decode: kept as it
 * came, with the reason, so that nothing acknowledged is lost and a later version can
 * re-decode it (`Engine.redecode`). The fold passes over it. Its stream is its call's when
 * the call id can be read, else `QUARANTINE_STREAM`.
 */
export interface QuarantinedEntry extends EntryBase {
  readonly kind: 'quarantined';
  /** `value[index]` of the delivery, exactly as received. */
  readonly notification: unknown;
  /** Its place in the delivery's `value[]` (the entry ids of a delivery with a message id derive from it). */
  readonly index: number;
  readonly error: QuarantineError;
  /** The delivery's message id, when the webhook saw one. */
  readonly messageId?: string;
}

/**
 * The stream of quarantined notifications whose call id cannot be read (no resource path, or
 * one that names no call). It is not a call: the engine never folds or loads it. Reserved:
 * a notification for a call of this id is quarantined here too.
 */
export const QUARANTINE_STREAM = 'switchboard:quarantine';

export type LogEntry = NotificationEntry | CommandEntry | CommandResultEntry | ResyncEntry | TimerEntry | QuarantinedEntry;

/** The kinds of log entry, in the order above (a record, so the compiler holds it to `LogEntry`). */
const KINDS: { readonly [K in LogEntry['kind']]: true } = {
  notification: true,
  command: true,
  commandResult: true,
  resync: true,
  timer: true,
  quarantined: true,
};
export type EntryKind = LogEntry['kind'];
export const ENTRY_KINDS = Object.freeze(Object.keys(KINDS)) as readonly EntryKind[];

/** An entry as the store holds it: `position` is 1-based and dense within its stream. */
export type StoredEntry = LogEntry & { readonly position: number };
