/**
 * `@switchboard/core`: the engine and what a bot, a transport or a store needs beside it.
 * The machine and its table are `@switchboard/core/machine`; exchange logs and offline folds
 * `@switchboard/core/replay`; fast-check arbitraries `@switchboard/core/testing`.
 */
// Errors
export { SwitchboardError, DecodeError, ExpectedVersionConflictError } from './errors/errors.js';
export type { SwitchboardErrorCode, DecodeErrorReason } from './errors/errors.js';
export { ERROR_CODES, isSwitchboardErrorCode } from './errors/codes.js';

// The log and the event store port
export { CALL_STATES, ENTRY_KINDS, QUARANTINE_STREAM, TIMER_NAMES } from './log/entries.js';
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
  EntryKind,
  LogEntry,
  StoredEntry,
} from './log/entries.js';
export { InMemoryEventStore, assertAppendable, splitDuplicates } from './log/store.js';
export type { EventStore, AppendOptions, AppendResult, ReadOptions } from './log/store.js';
export type { CallSnapshot } from './log/snapshot.js';
export { hasCallLeases, hasClaimableLeases, hasAppendNotifier, hasReadiness, hasArchiving } from './log/capabilities.js';
export type {
  CallLeases,
  ClaimableLeases,
  Lease,
  LeaseResult,
  LeaseFence,
  AppendNotifier,
  AppendListener,
  CarriedEntries,
  Unsubscribe,
  StoreReadiness,
  ArchivableStore,
  EndedStream,
} from './log/capabilities.js';

// Ports the runtime talks through
export type { GraphPort, GraphResponse, SendParams } from './commands/port.js';
export { silentLogger } from './util/logger.js';
export type { Logger } from './util/logger.js';

// The command table
export { COMMANDS, COMMAND_NAMES, isCommandName, commandSpec, commandPathOf, matchCommand } from './commands/table.js';
export type {
  CommandSpec,
  CommandScope,
  CommandResultKind,
  CommandBodyPresence,
  CommandBody,
  CommandResponse,
  CommandBodyArgs,
  CommandTargetArgs,
  CallMethodCommand,
  ParticipantMethodCommand,
} from './commands/table.js';
export type {
  CommandBodies,
  CommandResponses,
  CommandIdentitySet,
  PromptMediaInfo,
  MediaPromptBody,
  CommandMediaConfig,
  InvitationTarget,
  ParticipantInfoBody,
  ClientContext,
  CreateCallBody,
  AnswerBody,
  RejectBody,
  RedirectBody,
  TransferBody,
  InviteBody,
  MuteAllBody,
  AudioRoutingGroupBody,
  AddLargeGalleryViewBody,
  PlayPromptBody,
  RecordResponseBody,
  SendDtmfTonesBody,
  ChangeScreenSharingRoleBody,
  UpdateRecordingStatusBody,
  TeleconferenceDeviceQualityBody,
  StartHoldMusicBody,
  GraphCollection,
  BetaMediaOperation,
} from './commands/bodies.js';

// Decoding
export { decodeNotifications, decodeDelivery, DECODE_LIMITS } from './decode/decode.js';
export type { DecodeMeta, DeliveryEntry } from './decode/decode.js';
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
  RefreshOptions,
  UndecodableEvent,
  RedecodeResult,
} from './engine/engine.js';
// What the engine hands out: views and events
export type {
  CallView,
  GraphCallProperties,
  GraphParticipant,
  CallParticipantInfo,
  CallInvitationParticipantInfo,
  CallIncomingContext,
} from './project/view.js';
export type {
  MachineState,
  OperationStatus,
  RosterMode,
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
export type { CallEvent, CallEventType, EntryRef } from './emit/events.js';
// Utilities bot authors need
export { participantKey } from './util/graph.js';
export { canonicalId, sameId } from './util/ids.js';
