export { Switchboard, createSwitchboard } from './switchboard.js';
export type { SwitchboardConfig, SwitchboardEvents, AnswerDeadlinePolicy, Delivery, RetentionPolicy } from './switchboard.js';
export { RUNTIME_DEFAULTS } from './defaults.js';
export type { RuntimeGraph } from './commands.js';
export { Call, ParticipantHandle, OperationFailedError, OperationOutcomeUnknownError } from './call.js';
export type { OperationHandle, OperationOutcome, CommandOutcome, CallCommands, ParticipantCommands, CallHandleEvents } from './call.js';
// core's ports, re-exported for bot authors who import the runtime only
export { silentLogger } from '@switchboard/core';
export type { GraphPort, GraphResponse, SendParams, Logger } from '@switchboard/core';
export { createFileRecorder } from './recorder.js';
/** Re-exported from `@switchboard/core/replay`, where it lives. */
export { redact } from '@switchboard/core/replay';
export type { Recorder, ExchangeLine } from './recorder.js';
export { archiveEndedCalls, ARCHIVE_JOURNAL, DEFAULT_ARCHIVE_BATCH } from './archive.js';
export type { ArchiveSource, ArchiveOptions, ArchiveResult, ArchiveStep } from './archive.js';
