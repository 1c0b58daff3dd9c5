import type { SimCall } from './call.js';
import { GraphError, badRequest } from './http.js';
import { asObject } from './validate.js';
import type { CallService, Reply, ServiceContext } from './service/index.js';
import { answer, redirect, reject } from './service/incoming.js';
import { hangUp, keepAlive } from './service/lifecycle.js';
import {
  addLargeGalleryView,
  cancelMediaProcessing,
  changeScreenSharingRole,
  getSession,
  listSessions,
  muteSelf,
  playPrompt,
  record,
  recording,
  sendDtmfTones,
  subscribeToTone,
  transcription,
  updateRecordingStatus,
} from './service/media.js';
import { createAudioRoutingGroup, listAudioRoutingGroups } from './service/routing.js';
import { getOperation } from './service/operations.js';
import { callReply, create, locationOf } from './service/outgoing.js';
import {
  deleteParticipant,
  getParticipant,
  holdMusic,
  invite,
  listParticipants,
  muteAll,
  muteParticipant,
} from './service/participants.js';
import { transfer } from './service/transfer.js';

/**
 * The Graph API's call routes: which method and path segments after `/calls` reach which
 * operation of the calls service. Action names match case-insensitively and with or without
 * the `microsoft.graph.` namespace (`/microsoft.graph.sendDtmfTones` appears in the docs).
 */

export interface GraphRoute {
  /** For the request counters: `POST /calls/{id}/playPrompt`. */
  readonly template: string;
  readonly callId?: string;
  /** False for routes that take no body. */
  readonly hasBody: boolean;
  readonly handle: (service: CallService, appId: string, body: unknown, apiVersion: 'v1.0' | 'beta') => Reply;
}

type CallAction = (ctx: ServiceContext, call: SimCall, body: unknown) => Reply;

const CALL_ACTIONS: { readonly [name: string]: readonly [canonical: string, CallAction] } = table([
  ['answer', answer],
  ['reject', reject],
  ['redirect', redirect],
  ['transfer', transfer],
  ['keepAlive', keepAlive],
  ['playPrompt', playPrompt],
  ['recordResponse', record],
  ['record', record],
  ['subscribeToTone', subscribeToTone],
  ['sendDtmfTones', sendDtmfTones],
  ['cancelMediaProcessing', cancelMediaProcessing],
  ['mute', (s, c, b) => muteSelf(s, c, b, true)],
  ['unmute', (s, c, b) => muteSelf(s, c, b, false)],
  ['updateRecordingStatus', updateRecordingStatus],
  ['changeScreenSharingRole', changeScreenSharingRole],
  ['addLargeGalleryView', addLargeGalleryView],
  ['startRecording', (s, c, b) => recording(s, c, b, true)],
  ['stopRecording', (s, c, b) => recording(s, c, b, false)],
  ['startTranscription', (s, c, b) => transcription(s, c, b, true)],
  ['stopTranscription', (s, c, b) => transcription(s, c, b, false)],
]);

type ParticipantAction = (ctx: ServiceContext, call: SimCall, participantId: string, body: unknown) => Reply;

const PARTICIPANT_ACTIONS: { readonly [name: string]: readonly [canonical: string, ParticipantAction] } = table([
  ['mute', muteParticipant],
  ['startHoldMusic', (s, c, p, b) => holdMusic(s, c, p, b, true)],
  ['stopHoldMusic', (s, c, p, b) => holdMusic(s, c, p, b, false)],
]);

function table<T>(entries: readonly (readonly [string, T])[]): { [name: string]: readonly [string, T] } {
  const out: { [name: string]: readonly [string, T] } = {};
  for (const [name, action] of entries) out[name.toLowerCase()] = [name, action];
  return out;
}

function actionName(segment: string): string {
  const lower = segment.toLowerCase();
  return lower.startsWith('microsoft.graph.') ? lower.slice('microsoft.graph.'.length) : lower;
}

function unknownSegment(segment: string): GraphError {
  return new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(): GraphError {
  return new GraphError(405, 'Request_BadRequest', 'The requested HTTP method is not supported for this resource.');
}

/** Finds the route for `segments` (the path after `/calls`); throws Graph's 400/405 when there is none. */
export function matchRoute(method: string, segments: readonly string[]): GraphRoute {
  const [callId, second, third, fourth, ...rest] = segments;
  if (rest.length > 0) throw unknownSegment(rest[0]!);
  if (callId === undefined) {
    if (method !== 'POST') throw methodNotAllowed();
    return { template: 'POST /calls', hasBody: true, handle: (s, appId, body, v) => createCall(s.ctx, appId, body, v) };
  }
  if (second === undefined && actionName(callId) === 'logteleconferencedevicequality') {
    // a collection action, not a call: Graph answers 200 without a body
    if (method !== 'POST') throw methodNotAllowed();
    return { template: 'POST /calls/logTeleconferenceDeviceQuality', hasBody: true, handle: (_s, _appId, body) => logQuality(body) };
  }
  const on = (template: string, hasBody: boolean, run: CallAction): GraphRoute => ({
    template: `${method} /calls/{id}${template}`,
    callId,
    hasBody,
    handle: (s, appId, body) => run(s.ctx, s.live(appId, callId), body),
  });
  if (second === undefined) {
    if (method === 'GET') return on('', false, (s, c) => ({ status: 200, body: callReply(s, c) }));
    if (method === 'DELETE') return on('', false, hangUp);
    throw methodNotAllowed();
  }
  const head = actionName(second);
  if (head === 'participants') {
    if (third === undefined) {
      if (method !== 'GET') throw methodNotAllowed();
      return on('/participants', false, (s, c) => ({ status: 200, body: listParticipants(s, c) }));
    }
    const sub = actionName(third);
    if (fourth === undefined && (sub === 'invite' || sub === 'muteall')) {
      if (method !== 'POST') throw methodNotAllowed();
      return sub === 'invite' ? on('/participants/invite', true, invite) : on('/participants/muteAll', true, muteAll);
    }
    const participantId = third;
    if (fourth === undefined) {
      if (method === 'GET')
        return on('/participants/{participantId}', false, (_, c) => ({ status: 200, body: getParticipant(c, participantId) }));
      if (method === 'DELETE') return on('/participants/{participantId}', false, (s, c) => deleteParticipant(s, c, participantId));
      throw methodNotAllowed();
    }
    const action = PARTICIPANT_ACTIONS[actionName(fourth)];
    if (!action) throw unknownSegment(fourth);
    if (method !== 'POST') throw methodNotAllowed();
    const [name, run] = action;
    return on(`/participants/{participantId}/${name}`, true, (s, c, b) => run(s, c, participantId, b));
  }
  if (head === 'audioroutinggroups') {
    if (third !== undefined) throw unknownSegment(third);
    if (method === 'POST') return on('/audioRoutingGroups', true, createAudioRoutingGroup);
    if (method === 'GET') return on('/audioRoutingGroups', false, (s, c) => ({ status: 200, body: listAudioRoutingGroups(s, c) }));
    throw methodNotAllowed();
  }
  if (head === 'operations') {
    if (third === undefined || fourth !== undefined) throw unknownSegment(fourth ?? second);
    if (method !== 'GET') throw methodNotAllowed();
    return on('/operations/{operationId}', false, (_, c) => ({ status: 200, body: getOperation(c, third) }));
  }
  if (head === 'contentsharingsessions') {
    if (fourth !== undefined) throw unknownSegment(fourth);
    if (method !== 'GET') throw methodNotAllowed();
    if (third === undefined) return on('/contentSharingSessions', false, (_, c) => ({ status: 200, body: listSessions(c) }));
    return on('/contentSharingSessions/{sessionId}', false, (_, c) => ({ status: 200, body: getSession(c, third) }));
  }
  if (third !== undefined) throw unknownSegment(third);
  const action = CALL_ACTIONS[head];
  if (!action) throw unknownSegment(second);
  if (method !== 'POST') throw methodNotAllowed();
  const [name, run] = action;
  return on(`/${name}`, true, run);
}

function createCall(ctx: ServiceContext, appId: string, body: unknown, apiVersion: 'v1.0' | 'beta'): Reply {
  const call = create(ctx, appId, body, apiVersion);
  return { status: 201, body: callReply(ctx, call), headers: { Location: locationOf(ctx, call) } };
}

/** POST /calls/logTeleconferenceDeviceQuality: the body needs a `quality` object. */
function logQuality(body: unknown): Reply {
  const quality = asObject(body)['quality'];
  if (typeof quality !== 'object' || quality === null || Array.isArray(quality)) throw badRequest('quality is required.');
  return { status: 200 };
}
