export { Switchboard, createSwitchboard } from './switchboard.js';
export type { SwitchboardConfig, SwitchboardEvents, AnswerDeadlinePolicy, Delivery, RetentionPolicy } from './switchboard.js';
export { Call, OperationFailedError, OperationOutcomeUnknownError } from './call.js';
export type { OperationHandle, CallHandleEvents } from './call.js';
export { silentLogger } from './ports.js';
export type { GraphPort, GraphResponse, SendParams, Logger } from './ports.js';
export { createFileRecorder, redact } from './recorder.js';
export type { Recorder, ExchangeLine } from './recorder.js';
