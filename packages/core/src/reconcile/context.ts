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

/** How an engine reads roster notifications: Graph sends the whole roster unless delta roster mode is on. */
export type RosterMode = 'full' | 'delta';

/**
 * How a context field is held: `value` is replaced whole; `record` is a keyed collection and
 * `idRecord` one keyed by Graph's ids (or entry ids), without Object.prototype (see
 * `copyIdRecord`); `list` is an array. Records and lists are copied on their first write in an
 * edit (`ContextEdit`).
 */
export type FieldKind = 'value' | 'record' | 'idRecord' | 'list';

/** One field of the call context: how it is held, its value in a new call, whether the view shows it. */
export interface ContextFieldSpec<K extends FieldKind = FieldKind, T = unknown, V extends boolean = boolean> {
  readonly kind: K;
  readonly initial: T;
  /** Whether `CallView` carries the field under its own name. */
  readonly inView: V;
}

// shared by every new context; frozen, so an edit copies one before its first write. The
// records ids from Graph key have no Object.prototype: `toString` or `__proto__` is an id too.
const EMPTY_RECORD: { readonly [key: string]: never } = Object.freeze({});
const EMPTY_ID_RECORD: { readonly [key: string]: never } = Object.freeze(emptyIdRecord<never>());
const EMPTY_LIST: readonly never[] = Object.freeze([]);

const value = <T>(initial: T): ContextFieldSpec<'value', T, false> => ({ kind: 'value', initial, inView: false });
const record = <T>(): ContextFieldSpec<'record', T, false> => ({ kind: 'record', initial: EMPTY_RECORD as T, inView: false });
const idRecord = <T>(): ContextFieldSpec<'idRecord', { readonly [id: string]: T }, false> => ({
  kind: 'idRecord',
  initial: EMPTY_ID_RECORD,
  inView: false,
});
const list = <T>(): ContextFieldSpec<'list', readonly T[], false> => ({ kind: 'list', initial: EMPTY_LIST, inView: false });
/** A field the view shows. */
const shown = <K extends FieldKind, T>(spec: ContextFieldSpec<K, T, false>): ContextFieldSpec<K, T, true> => ({ ...spec, inView: true });

/**
 * The call context's fields, in order: everything the fold knows about one call besides its
 * state (the machine's context). `CallContext`, `initialContext`, the copy-on-write edit
 * (`ContextEdit`) and the view (`buildView`) all derive from this list. JSON-serialisable, so
 * a context can be snapshotted; adding a field changes the fold's meaning (`MACHINE_VERSION`).
 */
export const CONTEXT_FIELDS = {
  /** The call's identity key (`canonicalId`): its stream id. */
  id: value<string>(''),
  /**
   * The call id as Graph first spelled it in this call's log (a notification's resource path,
   * the 201 of a create, a resync's GET); null until such an entry is folded. Graph spells one
   * GUID several ways; this one is shown and sent.
   */
  graphId: value<string | null>(null),
  /** The call resource's own properties (all but `state`), as Graph last sent them. */
  props: record<{ readonly [property: string]: unknown }>(),
  participants: shown(idRecord<ParticipantView>()),
  /** The newest sequenced full roster seen: who was present at that roster version. */
  latestRoster: value<{ readonly rosterSequenceNumber: number; readonly ids: readonly string[] } | null>(null),
  /** Tombstones: a removed participant that an older update cannot bring back. */
  removedParticipants: shown(idRecord<RemovedParticipant>()),
  /** Keyed by `canonicalId` of the operation's id (Graph spells one GUID several ways); `id` is the spelling first seen. */
  operations: shown(idRecord<OperationView>()),
  contentSharingSessions: shown(idRecord<ContentSharingSessionView>()),
  audioRoutingGroups: shown(idRecord<{ readonly id: string; readonly [property: string]: unknown }>()),
  /** DTMF tones, ordered by `toneInfo.sequenceId`, each once. */
  tones: shown(list<ToneView>()),
  /** Entries recorded but not applied, each with the reason. */
  stale: shown(list<StaleEntry>()),
  unknown: shown(list<UnknownNotice>()),
  commands: shown(idRecord<CommandView>()),
  /** Set when the log cannot decide and an authoritative GET should settle it. */
  resyncNeeded: shown(value<ResyncNeeded | null>(null)),
  /** Positions that decide whether a late `transferring` belongs to a transfer that already failed. */
  transfer: record<{ readonly failedAt?: number; readonly commandAt?: number }>(),
  /** When each timer (answer deadline, keep-alive, operation timeout) last fired (ms). */
  timers: shown(record<{ readonly [name in TimerName]?: number }>()),
  /**
   * The content id of the last notification body for the call resource (`lastCallBody`), the
   * roster (`lastRosterBody`) and every other resource (`lastBodies`, by resource): a body the
   * log already holds is a redelivery when it is still the last for its resource, and a new
   * change (a repeat) when a different body came in between. See `repeatOf`.
   */
  lastCallBody: value<string | null>(null),
  lastRosterBody: value<string | null>(null),
  lastBodies: idRecord<string>(),
  /** The stream position folded up to. */
  position: value<number>(0),
  /** How roster notifications are read; Graph's default is the full roster. */
  rosterMode: value<RosterMode>('full'),
} as const satisfies { readonly [field: string]: ContextFieldSpec };

export type ContextField = keyof typeof CONTEXT_FIELDS;

/** The context's field names, in order. */
export const CONTEXT_FIELD_NAMES = Object.keys(CONTEXT_FIELDS) as readonly ContextField[];

/** The fields of one kind (`record`, `list`, ...). */
export type ContextFieldOf<K extends FieldKind> = {
  [F in ContextField]: (typeof CONTEXT_FIELDS)[F]['kind'] extends K ? F : never;
}[ContextField];

/** The fields `CallView` carries under their own names. */
export type ViewField = { [F in ContextField]: (typeof CONTEXT_FIELDS)[F]['inView'] extends true ? F : never }[ContextField];

/** The fields of one kind, in context order. */
export function fieldsOf<K extends FieldKind>(kind: K): readonly ContextFieldOf<K>[] {
  return CONTEXT_FIELD_NAMES.filter((f) => CONTEXT_FIELDS[f].kind === kind) as ContextFieldOf<K>[];
}

/**
 * Everything the fold knows about one call besides its state: the machine's context, one
 * property per `CONTEXT_FIELDS` entry. JSON-serialisable, so it can be snapshotted.
 */
export type CallContext = { readonly [F in keyof typeof CONTEXT_FIELDS]: (typeof CONTEXT_FIELDS)[F]['initial'] };

/** A new call's context: nothing known yet. */
export function initialContext(callId: string, rosterMode: RosterMode = 'full'): CallContext {
  const context: Record<string, unknown> = {};
  for (const field of CONTEXT_FIELD_NAMES) context[field] = CONTEXT_FIELDS[field].initial;
  context['id'] = callId;
  context['rosterMode'] = rosterMode;
  return context as CallContext;
}

/** The machine state of a call whose `callState` has not been seen yet, or a call state. */
export type MachineState = CallState | 'pending';
