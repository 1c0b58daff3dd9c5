/**
 * Everything this package takes from the other Switchboard packages, in one place: the core
 * package's root and its `/machine` and `/replay` subpaths; only this file names them.
 */
export { CALL_STATES, COMMANDS, commandPathOf, QUARANTINE_STREAM } from '@switchboard/core';
export { DOCUMENTED_TRANSITIONS, STATE_RANK, MACHINE_VERSION } from '@switchboard/core/machine';
export { foldEntries, redact, replay, restoreCallSnapshot, startCall, viewOf } from '@switchboard/core/replay';
export type {
  CallEvent,
  CallView,
  CommandName,
  EventStore,
  LogEntry,
  MachineState,
  OperationView,
  ParticipantView,
  RosterMode,
  StoredEntry,
} from '@switchboard/core';
export type { CallMachineSnapshot } from '@switchboard/core/machine';
export type { ReplayResult, TimelineRow } from '@switchboard/core/replay';
