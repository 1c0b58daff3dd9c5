/**
 * Everything this package takes from the other Switchboard packages, in one place: the core
 * package's exports are being reorganised behind subpaths, and only this file names them.
 */
export {
  CALL_STATES,
  DOCUMENTED_TRANSITIONS,
  STATE_RANK,
  MACHINE_VERSION,
  QUARANTINE_STREAM,
  foldEntries,
  replay,
  restoreCallSnapshot,
  startCall,
  viewOf,
} from '@switchboard/core';
export type {
  CallEvent,
  CallMachineSnapshot,
  CallView,
  CommandName,
  EventStore,
  LogEntry,
  MachineState,
  OperationView,
  ParticipantView,
  ReplayResult,
  RosterMode,
  StoredEntry,
  TimelineRow,
} from '@switchboard/core';
export { redact } from '@switchboard/adapters';
