import { QUARANTINE_STREAM, type MachineState, type ReplayResult, type TimelineRow } from '../deps.js';

/** One state change a call made during a replay. */
export interface Transition {
  /** 1-based step: the timeline row (delivery order) whose entry moved the call, as the text timeline numbers it. */
  readonly step: number;
  readonly from: MachineState;
  readonly to: MachineState;
  /** The triggering entry's one-line summary (untrusted text from the log). */
  readonly summary: string;
  readonly entryId: string;
}

/** The path one call took through the machine, and what else happened to it. */
export interface CallPath {
  readonly callId: string;
  /** State changes in the order they happened. The call starts in `pending`. */
  readonly transitions: readonly Transition[];
  readonly final: MachineState;
  /** The call's timeline rows (delivery order), duplicates included. */
  readonly rows: readonly TimelineRow[];
  /** Entries recorded but left unapplied, and duplicate deliveries dropped. */
  readonly staleCount: number;
  readonly duplicateCount: number;
}

/**
 * Every call's path through the machine, in the order the replay first saw the calls.
 * A transition is a timeline row whose entry changed the state (duplicates and stale entries
 * change nothing, so they never appear as transitions). Pure.
 */
export function callPaths(result: ReplayResult): CallPath[] {
  const rowsByCall = new Map<string, TimelineRow[]>();
  for (const id of Object.keys(result.calls)) rowsByCall.set(id, []);
  for (const row of result.timeline) {
    if (row.callId === QUARANTINE_STREAM) continue; // quarantined notifications that name no call: no call, no path
    let rows = rowsByCall.get(row.callId);
    if (!rows) {
      rows = [];
      rowsByCall.set(row.callId, rows);
    }
    rows.push(row);
  }
  return [...rowsByCall].map(([callId, rows]) => callPath(callId, rows, result.calls[callId]?.state));
}

/** One call's path from its timeline rows (delivery order); `final` defaults to the last state reached. */
export function callPath(callId: string, rows: readonly TimelineRow[], final?: MachineState): CallPath {
  const transitions: Transition[] = [];
  let staleCount = 0;
  let duplicateCount = 0;
  for (const r of rows) {
    staleCount += r.stale.length;
    if (r.duplicate) duplicateCount++;
    else if (r.before !== r.after)
      transitions.push({ step: r.index + 1, from: r.before, to: r.after, summary: r.summary, entryId: r.entryId });
  }
  return { callId, transitions, final: final ?? transitions.at(-1)?.to ?? 'pending', rows, staleCount, duplicateCount };
}

/**
 * The states a call visited, in order, leaving out the initial `pending` unless the call
 * never left it: `establishing, established, terminated`.
 */
export function visitedStates(path: Pick<CallPath, 'transitions' | 'final'>): MachineState[] {
  if (path.transitions.length === 0) return [path.final];
  return path.transitions.map((t) => t.to);
}
