import { identityIds, isJson, participantJson, type SimCall } from '../call.js';
import { notFound } from '../http.js';
import { RESULTS } from '../notifications.js';
import { stream } from '../random.js';
import { answeringScript, inviteeScript } from '../scripts.js';
import type { Json } from '../types.js';
import { asObject, checkInvite, clientContextOf } from '../validate.js';
import type { Reply, ServiceContext } from './context.js';
import { addPending, emit, removeParticipant, rosterChanged, timer } from './plumbing.js';
import { completeOperation, newOperation, operationReply, requireActive } from './operations.js';
import { ringingTimeout, terminate } from './lifecycle.js';
import { run, scriptFor } from './remote.js';

/** Participants: the roster, invitations, muting others, removal, hold music. */

/** GET /calls/{id}/participants: the whole roster. */
export function listParticipants(ctx: ServiceContext, call: SimCall): Json {
  return {
    '@odata.context': `${ctx.o.baseUrl()}/${call.apiVersion}/$metadata#communications/calls('${call.id}')/participants`,
    value: [...call.participants.values()].map((p) => participantJson(p, call.rosterSequenceNumber)),
  };
}

/** GET /calls/{id}/participants/{participantId}. */
export function getParticipant(call: SimCall, participantId: string): Json {
  const p = call.participants.get(participantId);
  if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
  return participantJson(p, call.rosterSequenceNumber);
}

/** POST /calls/{id}/participants/invite: every invitee rings; the operation completes when all answered, fails when one did not. */
export function invite(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'invite participants');
  const { participants, clientContext } = checkInvite(body);
  // Inviting into a peer-to-peer call turns it into a group call, which has a roster.
  if (call.kind === 'peerToPeer') call.kind = 'group';
  const op = newOperation(call, 'inviteParticipantsOperation', 'running', { participants }, clientContext);
  op.waitingFor = new Set();
  const behaviour = stream(ctx.o.seed, `invite:${call.id}:${op.id}`);
  for (const info of participants) {
    const identity = info['identity'] as Json;
    const party = addPending(call, identity, 'invitee', op.id);
    op.waitingFor.add(party.key);
    party.ringTimer = timer(ctx, call, ctx.o.timings.ringingMs, () => ringingTimeout(ctx, call, party.key), false);
    const script = inviteeScript(scriptFor(ctx, identityIds(identity), behaviour, 'invitee'), ctx.o.timings);
    run(ctx, call, script ?? answeringScript(ctx.o.timings, 'invitee'), party.key);
  }
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/participants/muteAll: everyone but the bot. */
export function muteAll(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireActive(call, 'mute participants');
  const b = asObject(body);
  const op = newOperation(call, 'muteParticipantsOperation', 'completed', {}, clientContextOf(b).clientContext);
  let changed = false;
  for (const p of call.participants.values()) {
    if (p.isBot || p.isMuted) continue;
    p.isMuted = true;
    changed = true;
  }
  if (changed) emit(ctx, call, rosterChanged(call));
  return operationReply(ctx, call, op, 200);
}

/** POST /calls/{id}/participants/{participantId}/mute. */
export function muteParticipant(ctx: ServiceContext, call: SimCall, participantId: string, body: unknown): Reply {
  requireActive(call, 'mute a participant');
  const p = call.participants.get(participantId);
  if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
  const op = newOperation(call, 'muteParticipantOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
  if (!p.isMuted) {
    p.isMuted = true;
    emit(ctx, call, rosterChanged(call));
  }
  return operationReply(ctx, call, op, 200);
}

/** DELETE participants/{id}: removes a participant (removing the bot itself ends its call). */
export function deleteParticipant(ctx: ServiceContext, call: SimCall, participantId: string): Reply {
  const p = call.participants.get(participantId);
  if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
  if (p.isBot) {
    terminate(ctx, call, RESULTS.ended());
    return { status: 204 };
  }
  removeParticipant(ctx, call, p);
  return { status: 204 };
}

/** POST /calls/{id}/participants/{participantId}/startHoldMusic or stopHoldMusic: completes half a second later. */
export function holdMusic(ctx: ServiceContext, call: SimCall, participantId: string | undefined, body: unknown, start: boolean): Reply {
  requireActive(call, start ? 'start hold music' : 'stop hold music');
  const b = asObject(body);
  const p = participantId === undefined ? call.primary() : call.participants.get(participantId);
  if (!p) throw notFound(`The participant '${participantId ?? ''}' was not found in call '${call.id}'.`);
  const extra: Json = start && isJson(b['customPrompt']) ? { customPrompt: b['customPrompt'] } : {};
  const op = newOperation(
    call,
    start ? 'startHoldMusicOperation' : 'stopHoldMusicOperation',
    'running',
    extra,
    clientContextOf(b).clientContext,
  );
  op.completion = timer(ctx, call, 500, () => completeOperation(ctx, call, op, 'completed', RESULTS.actionCompleted()));
  // Graph answers these with 202 Accepted (participant: startHoldMusic / stopHoldMusic).
  return operationReply(ctx, call, op, 202);
}
