// Errors
export { SwitchboardError, DecodeError, ExpectedVersionConflictError } from './errors/errors.js';
export type { SwitchboardErrorCode, DecodeErrorReason } from './errors/errors.js';

// The log
export { CALL_STATES, QUARANTINE_STREAM } from './log/entries.js';
export type {
  CallState,
  ChangeType,
  NotificationTarget,
  NotificationEntry,
  CommandName,
  CommandEntry,
  CommandResultEntry,
  ResyncEntry,
  TimerName,
  TimerEntry,
  QuarantinedEntry,
  QuarantineError,
  LogEntry,
  StoredEntry,
} from './log/entries.js';
export { InMemoryEventStore, assertAppendable, splitDuplicates } from './log/store.js';
export type { EventStore, AppendOptions, AppendResult, ReadOptions } from './log/store.js';

// Decoding
export { decodeNotifications, decodeDelivery, redecodeQuarantined, DECODE_LIMITS } from './decode/decode.js';
export type { DecodeMeta, DeliveryEntry } from './decode/decode.js';
export { parseResourcePath } from './decode/paths.js';

// The machine
export { MACHINE_VERSION, toMachineEvent } from './machine/callMachine.js';
export type { CallMachineInput, CallMachineContext } from './machine/callMachine.js';
export { callMachine } from './machine/public.js';
export type { CallMachine } from './machine/public.js';
export type { CallMachineEvent } from './machine/events.js';
export {
  STATE_RANK,
  DOCUMENTED_TRANSITIONS,
  PROOF_REQUIRED,
  REACHABLE,
  isProofRequired,
  normalizeCallState,
} from './machine/table.js';

// Reconciliation and the projection
export { normalizeOperationStatus } from './reconcile/apply.js';
export type { RosterMode } from './reconcile/apply.js';
export type {
  CallContext,
  MachineState,
  OperationStatus,
  StaleReason,
  StaleEntry,
  ParticipantView,
  RemovedParticipant,
  OperationView,
  ContentSharingSessionView,
  ToneView,
  CommandView,
  ResyncNeeded,
  UnknownNotice,
} from './reconcile/context.js';
export { foldEntries, startCall, stateOf, viewOf, toCallSnapshot, restoreCallSnapshot } from './reconcile/fold.js';
export type { CallMachineSnapshot, CallFold } from './reconcile/fold.js';
export { repeatOf, isRepeatId } from './reconcile/repeats.js';
export type { CallSnapshot } from './reconcile/snapshot.js';
export { buildView, convergentView } from './reconcile/view.js';
export type {
  CallView,
  GraphCallProperties,
  GraphParticipant,
  CallParticipantInfo,
  CallInvitationParticipantInfo,
  CallIncomingContext,
} from './reconcile/view.js';
export type { CallEvent, CallEventType, EntryRef } from './reconcile/events.js';

// The engine
export { Engine, createEngine, isTerminated } from './engine/engine.js';
export { DEFAULT_EVICTION_GRACE_MS, endsCall, endedAtOf } from './engine/eviction.js';
export type {
  EvictedEvent,
  EngineOptions,
  EngineEvents,
  IngestMeta,
  IngestResult,
  NewEntry,
  SnapshotOptions,
  UndecodableEvent,
  RedecodeResult,
} from './engine/engine.js';

// Replay
export { replay, summarize, deliverySchedule, callToJson } from './replay/replay.js';
export type { ReplayOptions, ReplayResult, TimelineRow, ScheduleOptions } from './replay/replay.js';
export { parseExchangeLog, parseExchangeLine, exchangeToEntries, exchangeEntries, alternativesOf, commandOf } from './replay/exchange.js';
export type { ExchangeRecord, ToEntriesOptions } from './replay/exchange.js';
export { archiveRecordOf, carriedEntry } from './replay/archive.js';

// Utilities bot authors need
export { participantKey, odataTypeName } from './util/graph.js';
export { canonicalId, sameId } from './util/ids.js';
export { seededRandom } from './util/random.js';
