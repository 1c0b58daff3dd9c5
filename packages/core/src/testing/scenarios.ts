import type { CallState } from '../log/entries.js';

/**
 * Builders for realistic Graph traffic: the bodies a bot's webhook receives, in the shapes
 * the recorded fixtures show (both `resource` and `resourceUrl`, `@odata.type` everywhere).
 * Pure data; used by the arbitraries and handy in hand-written tests.
 */

type Json = Record<string, unknown>;

/** One `commsNotifications` body holding a single notification. */
export function notificationBody(
  callId: string,
  changeType: 'created' | 'updated' | 'deleted',
  subPath: string,
  resourceData: unknown,
): Json {
  const suffix = subPath === '' ? '' : `/${subPath}`;
  return {
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType,
        resource: `/app/calls/${callId}${suffix}`,
        resourceUrl: `/communications/calls/${callId}${suffix}`,
        resourceData,
      },
    ],
  };
}

/** A call `updated` notification (or `deleted` for terminated), with extra call properties. */
export function callStateBody(callId: string, state: CallState, extra: Json = {}): Json {
  return notificationBody(callId, state === 'terminated' ? 'deleted' : 'updated', '', {
    '@odata.type': '#microsoft.graph.call',
    state,
    ...extra,
  });
}

export interface ParticipantSpec {
  readonly id: string;
  readonly displayName: string;
  readonly isInLobby?: boolean;
  readonly isMuted?: boolean;
}

export function participantResource(p: ParticipantSpec, rosterSequenceNumber?: number): Json {
  return {
    '@odata.type': '#microsoft.graph.participant',
    info: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: `user-${p.id}`, displayName: p.displayName },
      },
      endpointType: 'default',
    },
    mediaStreams: [
      {
        '@odata.type': '#microsoft.graph.mediaStream',
        mediaType: 'audio',
        label: 'main-audio',
        sourceId: '1',
        direction: 'sendReceive',
        serverMuted: false,
      },
    ],
    isMuted: p.isMuted ?? false,
    isInLobby: p.isInLobby ?? false,
    id: p.id,
    ...(rosterSequenceNumber !== undefined ? { rosterSequenceNumber } : {}),
  };
}

/** A full-roster notification: everyone present, each stamped with the roster's sequence number. */
export function rosterBody(callId: string, participants: readonly ParticipantSpec[], rosterSequenceNumber?: number): Json {
  return notificationBody(
    callId,
    'updated',
    'participants',
    participants.map((p) => participantResource(p, rosterSequenceNumber)),
  );
}

/** An operation notification: `running` as an update, a finished one as `deleted` like Graph sends. */
export function operationBody(
  callId: string,
  operationId: string,
  type: string,
  status: 'notStarted' | 'running' | 'completed' | 'failed' | (string & {}),
  extra: Json = {},
): Json {
  const finished = status === 'completed' || status === 'failed';
  return notificationBody(callId, finished ? 'deleted' : 'updated', `operations/${operationId}`, {
    '@odata.type': `#microsoft.graph.${type}`,
    status,
    id: operationId,
    ...(finished
      ? {
          resultInfo:
            status === 'completed'
              ? { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' }
              : { '@odata.type': '#microsoft.graph.resultInfo', code: 400, subcode: 8508, message: 'Action failed.' },
        }
      : {}),
    ...extra,
  });
}

export function toneBody(callId: string, sequenceId: number, tone: string): Json {
  return notificationBody(callId, 'updated', '', {
    '@odata.type': '#microsoft.graph.call',
    state: 'established',
    toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId, tone },
  });
}

export function contentSharingBody(callId: string, changeType: 'created' | 'updated' | 'deleted', sessionId: string): Json {
  return notificationBody(callId, changeType, 'contentsharingsessions', [
    { '@odata.type': '#microsoft.graph.contentSharingSession', id: sessionId },
  ]);
}
