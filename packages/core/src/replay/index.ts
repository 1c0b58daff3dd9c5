/**
 * `@switchboard/core/replay`: folding a log without an engine. Exchange logs (recorded
 * webhook deliveries and Graph exchanges) to entries, `replay` and its timeline, and the fold
 * itself: `startCall`, `foldEntries`, `viewOf`, snapshots.
 */
export { replay, summarize, deliverySchedule, callToJson } from './replay.js';
export type { ReplayOptions, ReplayResult, TimelineRow, ScheduleOptions } from './replay.js';
export { parseExchangeLog, parseExchangeLine, exchangeToEntries, exchangeEntries, alternativesOf, commandOf } from './exchange.js';
export type { ExchangeRecord, ToEntriesOptions } from './exchange.js';
export { archiveRecordOf } from './archive.js';
export { redact } from './redact.js';
export { carriedEntry } from './exchange.js';
export { startCall, foldEntries, stateOf } from '../fold/fold.js';
export { toCallSnapshot, restoreCallSnapshot } from '../fold/snapshot.js';
export { viewOf, convergentView } from '../project/view.js';
export { isRepeatId } from '../reconcile/repeats.js';
export type { CallMachineSnapshot } from '../machine/public.js';
