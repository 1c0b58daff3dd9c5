import type { CallEvent, CallView, LogEntry, OperationView, ParticipantView, TimelineRow } from '../deps.js';
import { callPath, type CallPath } from '../render/path.js';
import { isRecord } from '../render/format.js';

/** One call as a page shows it: its final view, and its timeline rows with their entries. */
export interface CallRecord {
  readonly callId: string;
  /** The call's projection after the last row; absent when the replay holds none. */
  readonly view: CallView | undefined;
  /** This call's timeline rows, in delivery order (duplicates included). */
  readonly rows: readonly TimelineRow[];
  /** The entry a row replayed (rows index the replay's input). */
  readonly entryOf: (row: TimelineRow) => LogEntry | undefined;
}

export type RosterChangeType = 'joined' | 'entered lobby' | 'admitted' | 'left' | 'muted' | 'unmuted';

export interface RosterChange {
  readonly row: TimelineRow;
  readonly at: number | undefined;
  readonly change: RosterChangeType;
  readonly participantId: string;
  readonly participant: ParticipantView;
}

/** The roster's size after a row that changed it. */
export interface RosterPoint {
  readonly step: number;
  readonly at: number | undefined;
  readonly present: number;
  readonly lobby: number;
}

export interface OperationTiming {
  readonly operation: OperationView;
  /** When Graph first told of it (the command's answer, or a notification). */
  readonly startedAt: number | undefined;
  /** When it completed or failed. */
  readonly settledAt: number | undefined;
}

export interface CommandExchange {
  readonly step: number;
  readonly command: Extract<LogEntry, { kind: 'command' }> | undefined;
  readonly result: Extract<LogEntry, { kind: 'commandResult' }> | undefined;
}

/** Everything a call page shows that is derived from the rows. Pure. */
export interface CallDetail {
  readonly path: CallPath;
  readonly firstAt: number | undefined;
  readonly lastAt: number | undefined;
  readonly roster: readonly RosterChange[];
  readonly rosterSeries: readonly RosterPoint[];
  readonly operations: readonly OperationTiming[];
  readonly commands: readonly CommandExchange[];
}

const ROSTER_CHANGE: Partial<Record<CallEvent['type'], RosterChangeType>> = {
  participantJoined: 'joined',
  participantEnteredLobby: 'entered lobby',
  participantAdmitted: 'admitted',
  participantLeft: 'left',
  participantMuted: 'muted',
  participantUnmuted: 'unmuted',
};

export function rosterChangeOf(e: CallEvent): RosterChangeType | undefined {
  return ROSTER_CHANGE[e.type];
}

export function describeCall(record: CallRecord): CallDetail {
  const { rows, view } = record;
  const path = callPath(record.callId, rows, view?.state);
  let firstAt: number | undefined;
  let lastAt: number | undefined;
  const roster: RosterChange[] = [];
  const rosterSeries: RosterPoint[] = [];
  const inLobby = new Map<string, boolean>();
  let lobby = 0;
  const started = new Map<string, number>();
  const settled = new Map<string, number>();
  const commands: CommandExchange[] = [];
  const byCommandId = new Map<string, number>();

  for (const row of rows) {
    const entry = record.entryOf(row);
    const at = entry?.at;
    if (at !== undefined) {
      if (firstAt === undefined || at < firstAt) firstAt = at;
      if (lastAt === undefined || at > lastAt) lastAt = at;
    }
    if (row.duplicate) continue;
    let rosterChanged = false;
    for (const e of row.events) {
      const change = rosterChangeOf(e);
      if (change !== undefined && 'participant' in e) {
        const participant = e.participant;
        roster.push({ row, at, change, participantId: participant.id, participant });
        rosterChanged = true;
        if (change === 'joined') {
          inLobby.set(participant.id, false);
        } else if (change === 'entered lobby') {
          if (inLobby.get(participant.id) !== true) lobby++;
          inLobby.set(participant.id, true);
        } else if (change === 'admitted') {
          if (inLobby.get(participant.id) === true) lobby--;
          inLobby.set(participant.id, false);
        } else if (change === 'left') {
          if (inLobby.get(participant.id) === true) lobby--;
          inLobby.delete(participant.id);
        }
      } else if (e.type === 'operationSettled' && at !== undefined && !settled.has(e.operation.id)) {
        settled.set(e.operation.id, at);
      }
    }
    if (rosterChanged) rosterSeries.push({ step: row.index + 1, at, present: inLobby.size, lobby });
    if (!entry || at === undefined) continue;
    if (entry.kind === 'notification' && entry.target.type === 'operation' && entry.target.operationId !== undefined) {
      if (!started.has(entry.target.operationId)) started.set(entry.target.operationId, at);
    } else if (entry.kind === 'commandResult') {
      const body = entry.body;
      if (entry.command !== 'create' && isRecord(body) && typeof body['id'] === 'string' && !started.has(body['id']))
        started.set(body['id'], at);
      const i = byCommandId.get(entry.commandId);
      if (i !== undefined) commands[i] = { ...commands[i]!, result: entry };
      else commands.push({ step: row.index + 1, command: undefined, result: entry });
    } else if (entry.kind === 'command') {
      byCommandId.set(entry.id, commands.length);
      commands.push({ step: row.index + 1, command: entry, result: undefined });
    }
  }

  const operations = view
    ? Object.keys(view.operations)
        .sort((a, b) => (started.get(a) ?? Infinity) - (started.get(b) ?? Infinity) || (a < b ? -1 : a > b ? 1 : 0))
        .map((id) => ({ operation: view.operations[id]!, startedAt: started.get(id), settledAt: settled.get(id) }))
    : [];
  return { path, firstAt, lastAt, roster, rosterSeries, operations, commands };
}
