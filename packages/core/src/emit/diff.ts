import type { StoredEntry } from '../log/entries.js';
import type { CallContext, MachineState } from '../reconcile/context.js';
import { foldEntry, type CallFoldState } from '../fold/fold.js';
import { hasOwn } from '../util/object.js';
import { refOf, type CallEvent } from './events.js';

/**
 * What one fold step caused, as typed events: the difference between the call before and
 * after the entry (state, roster, lobby, mute, operations, content-sharing sessions, tones,
 * stale entries, a resync asked for). Events are derived from the fold, never folded themselves.
 */

/**
 * `foldEntry`, and the events the entry caused appended to `events`: `callCreated` for the
 * call's first entry, then what changed. Returns whether the entry was folded (an entry at
 * or below the folded position is skipped and causes nothing).
 */
export function foldEntryEmitting(fold: CallFoldState, entry: StoredEntry, events: CallEvent[]): boolean {
  const from = fold.value;
  const before = fold.context;
  if (!foldEntry(fold, entry)) return false;
  // the call's first entry: the call exists now
  if (before.position === 0) events.push({ type: 'callCreated', callId: before.id, cause: refOf(entry) });
  diff(from, fold.value, before, fold.context, entry, events);
  return true;
}

/** Why an entry that ended a call did: Graph deleted the call, or no longer knows it. */
function endReason(entry: StoredEntry): 'deleted' | 'not-found' | undefined {
  if (entry.kind === 'notification') return entry.changeType === 'deleted' ? 'deleted' : undefined;
  if (entry.kind === 'resync') return entry.call === null ? 'not-found' : undefined;
  if (entry.kind === 'commandResult') return entry.status === 404 ? 'not-found' : undefined;
  return undefined;
}

/** The events between two folds of a call, `entry` their cause. */
function diff(from: MachineState, to: MachineState, a: CallContext, b: CallContext, entry: StoredEntry, out: CallEvent[]): void {
  const callId = b.id;
  const cause = refOf(entry);
  if (from !== to && to !== 'pending') {
    const reason = to === 'terminated' ? endReason(entry) : undefined;
    out.push(
      reason === undefined ? { type: 'stateChanged', callId, from, to, cause } : { type: 'stateChanged', callId, from, to, cause, reason },
    );
  }

  if (a.participants !== b.participants) {
    for (const id in b.participants) {
      if (!hasOwn.call(b.participants, id)) continue;
      const now = b.participants[id]!;
      const before = a.participants[id];
      if (!before) {
        out.push({ type: 'participantJoined', callId, participant: now, cause });
        if (now.isInLobby === true) out.push({ type: 'participantEnteredLobby', callId, participant: now, cause });
        else if (a.removedParticipants[id] === undefined && now.isMuted === true)
          out.push({ type: 'participantMuted', callId, participant: now, cause });
        continue;
      }
      if (before.isInLobby !== true && now.isInLobby === true)
        out.push({ type: 'participantEnteredLobby', callId, participant: now, cause });
      if (before.isInLobby === true && now.isInLobby === false) out.push({ type: 'participantAdmitted', callId, participant: now, cause });
      if (before.isMuted !== true && now.isMuted === true) out.push({ type: 'participantMuted', callId, participant: now, cause });
      if (before.isMuted === true && now.isMuted === false) out.push({ type: 'participantUnmuted', callId, participant: now, cause });
    }
    for (const id in a.participants) {
      if (hasOwn.call(a.participants, id) && !(id in b.participants))
        out.push({ type: 'participantLeft', callId, participantId: id, participant: a.participants[id]!, cause });
    }
  }
  if (a.operations !== b.operations) {
    for (const id in b.operations) {
      if (!hasOwn.call(b.operations, id)) continue;
      const now = b.operations[id]!;
      const before = a.operations[id];
      if ((now.status === 'completed' || now.status === 'failed' || now.status === 'ended') && before?.status !== now.status) {
        out.push({ type: 'operationSettled', callId, operation: now, cause });
      }
    }
  }
  if (a.contentSharingSessions !== b.contentSharingSessions) {
    for (const id in b.contentSharingSessions) {
      if (!hasOwn.call(b.contentSharingSessions, id)) continue;
      const now = b.contentSharingSessions[id]!;
      const before = hasOwn.call(a.contentSharingSessions, id) ? a.contentSharingSessions[id] : undefined;
      if (!now.deleted && (before === undefined || before.deleted))
        out.push({ type: 'contentSharingStarted', callId, session: now, cause });
      else if (now.deleted && before !== undefined && !before.deleted)
        out.push({ type: 'contentSharingEnded', callId, session: now, cause });
    }
  }
  if (a.tones !== b.tones) {
    const seen = new Set(a.tones);
    for (const tone of b.tones) if (!seen.has(tone)) out.push({ type: 'toneReceived', callId, tone, cause });
  }
  for (let i = a.stale.length; i < b.stale.length; i++) {
    out.push({ type: 'staleEntryIgnored', callId, stale: b.stale[i]!, cause });
  }
  if (a.resyncNeeded === null && b.resyncNeeded !== null) {
    out.push({ type: 'resyncNeeded', callId, reason: b.resyncNeeded.reason, cause });
  }
}
