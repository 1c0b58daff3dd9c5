import { callJson, operationJson, participantJson, type SimCall } from './call.js';
import type { NotificationRec } from './delivery.js';
import type { GroundTruthCall, NotificationRecord, OperationTruth, ParticipantTruth } from './types.js';

/**
 * The simulator's authoritative view, in Graph's shapes, for tests to compare a bot's
 * projection with. These are snapshots: copies that later changes do not touch.
 */

export function groundTruthOf(call: SimCall, baseUrl: string): GroundTruthCall {
  const operations: { [id: string]: OperationTruth } = {};
  for (const op of call.operations.values()) operations[op.id] = clone(operationJson(op)) as unknown as OperationTruth;
  const sessions: { [id: string]: { id: string; deleted: boolean } } = {};
  for (const s of call.sessions.values()) sessions[s.id] = { id: s.id, deleted: s.deleted };
  return {
    id: call.id,
    appId: call.appId,
    state: call.state,
    direction: call.direction,
    kind: call.kind,
    ...(call.resultInfo ? { resultInfo: clone(call.resultInfo) } : {}),
    stateHistory: [...call.stateHistory],
    participants: [...call.participants.values()].map(
      (p) => clone(participantJson(p, call.rosterSequenceNumber)) as unknown as ParticipantTruth,
    ),
    removedParticipantIds: [...call.removedParticipantIds],
    rosterSequenceNumber: call.rosterSequenceNumber,
    rosterNotified: call.rosterNotified,
    operations,
    tones: call.tones.map((t) => ({ ...t })),
    contentSharingSessions: sessions,
    contentSharingNotified: call.contentSharingNotified,
    myParticipantId: call.myParticipantId,
    callbackUri: call.callbackUri,
    resource: clone(callJson(call, baseUrl)),
    notificationCount: call.notificationCount,
  };
}

export function notificationRecordOf(rec: NotificationRec): NotificationRecord {
  return {
    seq: rec.seq,
    callId: rec.callId,
    appId: rec.appId,
    emittedAt: rec.emittedAt,
    notification: clone(rec.notification),
    acknowledged: rec.acknowledged,
    attempts: rec.attempts,
  };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}
