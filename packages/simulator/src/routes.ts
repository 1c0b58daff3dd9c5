import type { SimCall } from './call.js';
import { GraphError } from './http.js';
import type { CallService, Reply } from './service.js';

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

type CallAction = (service: CallService, call: SimCall, body: unknown) => Reply;

const CALL_ACTIONS: { readonly [name: string]: readonly [canonical: string, CallAction] } = table([
  ['answer', (s, c, b) => s.answer(c, b)],
  ['reject', (s, c, b) => s.reject(c, b)],
  ['redirect', (s, c, b) => s.redirect(c, b)],
  ['transfer', (s, c, b) => s.transfer(c, b)],
  ['keepAlive', (s, c) => s.keepAlive(c)],
  ['playPrompt', (s, c, b) => s.playPrompt(c, b)],
  ['recordResponse', (s, c, b) => s.record(c, b)],
  ['record', (s, c, b) => s.record(c, b)],
  ['subscribeToTone', (s, c, b) => s.subscribeToTone(c, b)],
  ['sendDtmfTones', (s, c, b) => s.sendDtmfTones(c, b)],
  ['cancelMediaProcessing', (s, c, b) => s.cancelMediaProcessing(c, b)],
  ['mute', (s, c, b) => s.muteSelf(c, b, true)],
  ['unmute', (s, c, b) => s.muteSelf(c, b, false)],
  ['updateRecordingStatus', (s, c, b) => s.updateRecordingStatus(c, b)],
  ['changeScreenSharingRole', (s, c, b) => s.changeScreenSharingRole(c, b)],
]);

type ParticipantAction = (service: CallService, call: SimCall, participantId: string, body: unknown) => Reply;

const PARTICIPANT_ACTIONS: { readonly [name: string]: readonly [canonical: string, ParticipantAction] } = table([
  ['mute', (s, c, p, b) => s.muteParticipant(c, p, b)],
  ['startHoldMusic', (s, c, p, b) => s.holdMusic(c, p, b, true)],
  ['stopHoldMusic', (s, c, p, b) => s.holdMusic(c, p, b, false)],
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
    return { template: 'POST /calls', hasBody: true, handle: (s, appId, body, v) => create(s, appId, body, v) };
  }
  const on = (template: string, hasBody: boolean, run: (s: CallService, call: SimCall, body: unknown) => Reply): GraphRoute => ({
    template: `${method} /calls/{id}${template}`,
    callId,
    hasBody,
    handle: (s, appId, body) => run(s, s.live(appId, callId), body),
  });
  if (second === undefined) {
    if (method === 'GET') return on('', false, (s, c) => ({ status: 200, body: s.callReply(c) }));
    if (method === 'DELETE') return on('', false, (s, c) => s.hangUp(c));
    throw methodNotAllowed();
  }
  const head = actionName(second);
  if (head === 'participants') {
    if (third === undefined) {
      if (method !== 'GET') throw methodNotAllowed();
      return on('/participants', false, (s, c) => ({ status: 200, body: s.listParticipants(c) }));
    }
    const sub = actionName(third);
    if (fourth === undefined && (sub === 'invite' || sub === 'muteall')) {
      if (method !== 'POST') throw methodNotAllowed();
      return sub === 'invite'
        ? on('/participants/invite', true, (s, c, b) => s.invite(c, b))
        : on('/participants/muteAll', true, (s, c, b) => s.muteAll(c, b));
    }
    const participantId = third;
    if (fourth === undefined) {
      if (method === 'GET') return on('/participants/{participantId}', false, (s, c) => ({ status: 200, body: s.getParticipant(c, participantId) }));
      if (method === 'DELETE') return on('/participants/{participantId}', false, (s, c) => s.deleteParticipant(c, participantId));
      throw methodNotAllowed();
    }
    const action = PARTICIPANT_ACTIONS[actionName(fourth)];
    if (!action) throw unknownSegment(fourth);
    if (method !== 'POST') throw methodNotAllowed();
    const [name, run] = action;
    return on(`/participants/{participantId}/${name}`, true, (s, c, b) => run(s, c, participantId, b));
  }
  if (head === 'operations') {
    if (third === undefined || fourth !== undefined) throw unknownSegment(fourth ?? second);
    if (method !== 'GET') throw methodNotAllowed();
    return on('/operations/{operationId}', false, (s, c) => ({ status: 200, body: s.getOperation(c, third) }));
  }
  if (head === 'contentsharingsessions') {
    if (fourth !== undefined) throw unknownSegment(fourth);
    if (method !== 'GET') throw methodNotAllowed();
    if (third === undefined) return on('/contentSharingSessions', false, (s, c) => ({ status: 200, body: s.listSessions(c) }));
    return on('/contentSharingSessions/{sessionId}', false, (s, c) => ({ status: 200, body: s.getSession(c, third) }));
  }
  if (third !== undefined) throw unknownSegment(third);
  const action = CALL_ACTIONS[head];
  if (!action) throw unknownSegment(second);
  if (method !== 'POST') throw methodNotAllowed();
  const [name, run] = action;
  return on(`/${name}`, true, run);
}

function create(service: CallService, appId: string, body: unknown, apiVersion: 'v1.0' | 'beta'): Reply {
  const call = service.create(appId, body, apiVersion);
  return { status: 201, body: service.callReply(call), headers: { Location: service.locationOf(call) } };
}
