import type { CallState } from '@switchboard/core';
import type { Json } from './types.js';

/**
 * Builders for Graph's notification shapes (`commsNotifications` / `commsNotification`),
 * modelled on the recorded traffic in the fixtures: `resourceUrl` on `/communications/calls`,
 * often with the older `resource` on `/app/calls` beside it.
 */

export type ChangeType = 'created' | 'updated' | 'deleted';

export interface NotificationContext {
  readonly callId: string;
  readonly callbackUri: string;
  readonly legacyResource: boolean;
}

/** One `commsNotification` about the call itself or one of its sub-resources (`suffix` like `/participants`). */
export function commsNotification(ctx: NotificationContext, changeType: ChangeType, suffix: string, resourceData: unknown): Json {
  return {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType,
    ...(ctx.legacyResource ? { resource: `/app/calls/${ctx.callId}${suffix}` } : {}),
    resourceUrl: `/communications/calls/${ctx.callId}${suffix}`,
    callbackUri: ctx.callbackUri,
    resourceData,
  };
}

/** The POST body: a `commsNotifications` batch. */
export function commsNotifications(value: readonly Json[]): Json {
  return { '@odata.type': '#microsoft.graph.commsNotifications', value };
}

/** A call-resource notification's data: `@odata.type`, `state` and whatever changed. */
export function callData(callId: string, state: CallState, extra: Json = {}): Json {
  return { '@odata.type': '#microsoft.graph.call', state, ...extra, id: callId };
}

export function resultInfo(code: number, subcode: number, message: string): Json {
  return { '@odata.type': '#microsoft.graph.resultInfo', code, subcode, message };
}

/**
 * Result infos the simulator reports. Graph documents few of these: 200/5002 is from the
 * recorded hang-ups, 500/7000 and 500/7700 from the transfer page, 0/7015 from the transfer
 * completion, 200/0 from the recorded prompt; the rest are plausible stand-ins (marked).
 */
export const RESULTS = {
  ended: () => resultInfo(200, 5002, 'The conversation has ended. DiagCode: 0#5002.@'),
  actionCompleted: () => resultInfo(200, 0, 'Action completed successfully.'),
  transferCompleted: () => resultInfo(0, 7015, 'GracefulTransferCompleted'),
  transferFailed: (subcode: 7000 | 7700) =>
    resultInfo(500, subcode, subcode === 7700 ? 'Call transfer failed: the transfer target rejected the call.' : 'Call transfer failed.'),
  operationCancelled: () => resultInfo(400, 8508, 'Action failed, the operation was cancelled.'),
  // stand-ins: not documented in Graph's reference pages
  declined: () => resultInfo(603, 10003, 'The call was declined by the callee.'),
  notAnswered: () => resultInfo(408, 10057, 'The callee did not answer within the ringing timeout.'),
  incomingNotAnswered: () => resultInfo(408, 10092, 'The incoming call was not answered by the application in time.'),
  rejectedByBot: (reason: string) => resultInfo(reason === 'busy' ? 486 : 603, 0, `The call was rejected by the application (${reason}).`),
  redirected: () => resultInfo(302, 0, 'The call was redirected.'),
  keepAliveExpired: () => resultInfo(408, 10058, 'The call was ended because no keepAlive arrived for 45 minutes.'),
  removedFromLobby: () => resultInfo(403, 5853, 'The application was denied entry to the meeting from the lobby.'),
  meetingEnded: () => resultInfo(200, 5300, 'The meeting has ended.'),
  inviteDeclined: () => resultInfo(603, 0, 'The invited participant declined.'),
  inviteNotAnswered: () => resultInfo(408, 0, 'The invited participant did not answer.'),
} as const;

/** DTMF characters to Graph's `tone` values. */
const TONES: { readonly [digit: string]: string } = {
  '0': 'tone0',
  '1': 'tone1',
  '2': 'tone2',
  '3': 'tone3',
  '4': 'tone4',
  '5': 'tone5',
  '6': 'tone6',
  '7': 'tone7',
  '8': 'tone8',
  '9': 'tone9',
  '*': 'star',
  '#': 'pound',
  A: 'a',
  B: 'b',
  C: 'c',
  D: 'd',
};

export function toneOf(digit: string): string | undefined {
  return TONES[digit.toUpperCase()];
}
