import type { CallState, LogEntry, StoredEntry } from '../log/entries.js';
import type {
  ContentSharingSessionView,
  MachineState,
  OperationView,
  ParticipantView,
  StaleEntry,
  ToneView,
} from '../reconcile/context.js';

/** Which log entry caused an event. */
export interface EntryRef {
  readonly entryId: string;
  readonly position: number;
  readonly kind: LogEntry['kind'];
}

/** The typed events the engine emits as it folds entries. */
export type CallEvent =
  | { readonly type: 'callCreated'; readonly callId: string; readonly cause: EntryRef }
  | {
      readonly type: 'stateChanged';
      readonly callId: string;
      readonly from: MachineState;
      readonly to: CallState;
      readonly cause: EntryRef;
      /**
       * Why a call ended without a `terminated` state of its own: `deleted` (Graph deleted the
       * call resource) or `not-found` (Graph answered 404 for it).
       */
      readonly reason?: 'deleted' | 'not-found';
    }
  | { readonly type: 'participantJoined'; readonly callId: string; readonly participant: ParticipantView; readonly cause: EntryRef }
  | { readonly type: 'participantEnteredLobby'; readonly callId: string; readonly participant: ParticipantView; readonly cause: EntryRef }
  | { readonly type: 'participantAdmitted'; readonly callId: string; readonly participant: ParticipantView; readonly cause: EntryRef }
  | {
      readonly type: 'participantLeft';
      readonly callId: string;
      readonly participantId: string;
      readonly participant: ParticipantView;
      readonly cause: EntryRef;
    }
  | { readonly type: 'participantMuted'; readonly callId: string; readonly participant: ParticipantView; readonly cause: EntryRef }
  | { readonly type: 'participantUnmuted'; readonly callId: string; readonly participant: ParticipantView; readonly cause: EntryRef }
  | { readonly type: 'operationSettled'; readonly callId: string; readonly operation: OperationView; readonly cause: EntryRef }
  | { readonly type: 'toneReceived'; readonly callId: string; readonly tone: ToneView; readonly cause: EntryRef }
  /**
   * A content-sharing session began (Graph notified it `created`, or `updated` when the
   * `created` was lost). Graph notifies sessions only for a call created or answered with
   * `callOptions.isContentSharingNotificationEnabled: true`.
   */
  | {
      readonly type: 'contentSharingStarted';
      readonly callId: string;
      readonly session: ContentSharingSessionView;
      readonly cause: EntryRef;
    }
  /**
   * A content-sharing session that had started ended (Graph notified it `deleted`). A session
   * whose `deleted` came before anything else about it never started for the view, and ends
   * without an event: `contentSharingStarted` and `contentSharingEnded` come in pairs.
   */
  | {
      readonly type: 'contentSharingEnded';
      readonly callId: string;
      readonly session: ContentSharingSessionView;
      readonly cause: EntryRef;
    }
  | { readonly type: 'staleEntryIgnored'; readonly callId: string; readonly stale: StaleEntry; readonly cause: EntryRef }
  | { readonly type: 'resyncNeeded'; readonly callId: string; readonly reason: string; readonly cause: EntryRef };

export type CallEventType = CallEvent['type'];

export function refOf(entry: StoredEntry): EntryRef {
  return { entryId: entry.id, position: entry.position, kind: entry.kind };
}
