import type { CallState, CommandName, TimerName } from '../log/entries.js';
import { emptyIdRecord } from '../util/object.js';

/**
 * The operation status lattice: notStarted < running < ended < completed | failed. `ended` is
 * Switchboard's, not Graph's: Graph deleted the operation without saying how it ended (it is
 * over, its outcome unknown); a `completed` or `failed` for it, before or after, still wins.
 */
export type OperationStatus = 'notStarted' | 'running' | 'ended' | 'completed' | 'failed';

/** Why an entry was recorded but not applied. */
export type StaleReason =
  | 'lower-rank'
  | 'after-terminated'
  | 'impossible-transition'
  | 'transfer-already-failed'
  | 'unknown-state'
  | 'participant-removed'
  | 'older-roster'
  | 'older-operation-status'
  | 'conflicting-operation-status'
  | 'session-deleted';

export interface StaleEntry {
  readonly position: number;
  readonly entryId: string;
  readonly reason: StaleReason;
  readonly detail: string;
}

/** Graph's participant, as last applied, plus the bookkeeping that orders its updates. */
export interface ParticipantView {
  readonly id: string;
  readonly isInLobby?: boolean;
  readonly isMuted?: boolean;
  readonly rosterSequenceNumber?: number;
  readonly [property: string]: unknown;
}

export interface RemovedParticipant {
  readonly position: number;
  /** The roster sequence number of the roster that removed it, when Graph gave one. */
  readonly rosterSequenceNumber?: number;
}

/** A commsOperation (playPrompt, record, invite, ...): `status` in Graph's camelCase. */
export interface OperationView {
  readonly id: string;
  /** The lattice status, or the raw value when Graph sent one this engine does not know. */
  readonly status?: OperationStatus | (string & {});
  /** `playPromptOperation`, `inviteParticipantsOperation`, ... without the namespace. */
  readonly type?: string;
  readonly timedOut?: boolean;
  readonly [property: string]: unknown;
}

export interface ContentSharingSessionView {
  readonly id: string;
  readonly deleted: boolean;
  readonly [property: string]: unknown;
}

export interface ToneView {
  readonly sequenceId: number | null;
  readonly tone: string;
  readonly position: number;
}

export interface CommandView {
  readonly id: string;
  readonly command: CommandName;
  readonly position: number;
  readonly outcome?: 'succeeded' | 'failed' | 'ambiguous';
  readonly status?: number;
}

export interface ResyncNeeded {
  readonly reason: string;
  readonly position: number;
}

/** A notification the engine did not understand: kept in the log, listed here, never thrown on. */
export interface UnknownNotice {
  readonly position: number;
  readonly entryId: string;
  readonly reason: string;
}

/**
 * Everything the fold knows about one call besides its state: the machine's context.
 * JSON-serialisable, so it can be snapshotted.
 */
export interface CallContext {
  /** The call's identity key (`canonicalId`): its stream id. */
  readonly id: string;
  /**
   * The call id as Graph first spelled it in this call's log (a notification's resource path,
   * the 201 of a create, a resync's GET); null until such an entry is folded. Graph spells one
   * GUID several ways; this one is shown and sent.
   */
  readonly graphId: string | null;
  /** The call resource's own properties (all but `state`), as Graph last sent them. */
  readonly props: { readonly [property: string]: unknown };
  readonly participants: { readonly [id: string]: ParticipantView };
  /** The newest sequenced full roster seen: who was present at that roster version. */
  readonly latestRoster: { readonly rosterSequenceNumber: number; readonly ids: readonly string[] } | null;
  /** Tombstones: a removed participant that an older update cannot bring back. */
  readonly removedParticipants: { readonly [id: string]: RemovedParticipant };
  /** Keyed by `canonicalId` of the operation's id (Graph spells one GUID several ways); `id` is the spelling first seen. */
  readonly operations: { readonly [id: string]: OperationView };
  readonly contentSharingSessions: { readonly [id: string]: ContentSharingSessionView };
  readonly audioRoutingGroups: { readonly [id: string]: { readonly id: string; readonly [property: string]: unknown } };
  /** DTMF tones, ordered by `toneInfo.sequenceId`, each once. */
  readonly tones: readonly ToneView[];
  readonly stale: readonly StaleEntry[];
  readonly unknown: readonly UnknownNotice[];
  readonly commands: { readonly [entryId: string]: CommandView };
  readonly resyncNeeded: ResyncNeeded | null;
  /** Positions that decide whether a late `transferring` belongs to a transfer that already failed. */
  readonly transfer: { readonly failedAt?: number; readonly commandAt?: number };
  /** When each timer last fired (ms). */
  readonly timers: { readonly [name in TimerName]?: number };
  /**
   * The content id of the last notification body for the call resource (`lastCallBody`), the
   * roster (`lastRosterBody`) and every other resource (`lastBodies`, by resource): a body the
   * log already holds is a redelivery when it is still the last for its resource, and a new
   * change (a repeat) when a different body came in between. See `repeatOf`.
   */
  readonly lastCallBody: string | null;
  readonly lastRosterBody: string | null;
  readonly lastBodies: { readonly [resource: string]: string };
  /** The stream position folded up to. */
  readonly position: number;
}

// shared by every new context; frozen, so an edit copies one before its first write. The
// records ids from Graph key have no Object.prototype: `toString` or `__proto__` is an id too.
const EMPTY_RECORD: { readonly [key: string]: never } = Object.freeze({});
const EMPTY_ID_RECORD: { readonly [key: string]: never } = Object.freeze(emptyIdRecord<never>());
const EMPTY_LIST: readonly never[] = Object.freeze([]);

/** A new call's context: nothing known yet. */
export function initialContext(callId: string): CallContext {
  return {
    id: callId,
    graphId: null,
    props: EMPTY_RECORD,
    participants: EMPTY_ID_RECORD,
    latestRoster: null,
    removedParticipants: EMPTY_ID_RECORD,
    operations: EMPTY_ID_RECORD,
    contentSharingSessions: EMPTY_ID_RECORD,
    audioRoutingGroups: EMPTY_ID_RECORD,
    tones: EMPTY_LIST,
    stale: EMPTY_LIST,
    unknown: EMPTY_LIST,
    commands: EMPTY_ID_RECORD,
    resyncNeeded: null,
    transfer: EMPTY_RECORD,
    timers: EMPTY_RECORD,
    lastCallBody: null,
    lastRosterBody: null,
    lastBodies: EMPTY_ID_RECORD,
    position: 0,
  };
}

/** The machine state of a call whose `callState` has not been seen yet, or a call state. */
export type MachineState = CallState | 'pending';
