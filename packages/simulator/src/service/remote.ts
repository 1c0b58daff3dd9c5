import { identityKindOf, mediaStreamsFor, sessionJson, type PendingParty, type SimCall } from '../call.js';
import { RESULTS, toneOf } from '../notifications.js';
import type { Rng } from '../random.js';
import { ScriptRunner, randomCalleeScript } from '../scripts.js';
import type { Json, RemoteScript, ScriptStep } from '../types.js';
import { ACTIVE, type ServiceContext } from './context.js';
import { addParticipant, emit, emitState, removeParticipant, rosterChanged, setState, startSharing, stopSharing } from './plumbing.js';
import { addAttendee, admitBot } from './meeting.js';
import { decideInvite } from './operations.js';
import { establish, terminate } from './lifecycle.js';
import { finishRecording } from './media.js';

/**
 * The remote parties: scripts (and the testkit's `act`) perform their steps through here:
 * answering, rejecting, hanging up, pressing keys, sharing, joining, holding.
 */

/** Performs a script step now. Returns why it does not apply, or undefined when it did. */
export function act(ctx: ServiceContext, call: SimCall, step: ScriptStep, participant: string | undefined): string | undefined {
  if (call.terminated) return 'the call has ended';
  const who = ('participant' in step ? step.participant : undefined) ?? participant;
  switch (step.do) {
    case 'wait':
    case 'waitFor':
    case 'waitForPrompt':
    case 'noAnswer':
      return undefined;
    case 'ring':
      if (call.state !== 'establishing' || call.kind !== 'peerToPeer' || call.direction !== 'outgoing')
        return 'only an establishing outgoing call rings';
      setState(ctx, call, 'ringing');
      return undefined;
    case 'answer':
      return partyAnswers(ctx, call, who);
    case 'reject':
      return partyRejects(ctx, call, who);
    case 'hangUp':
      return partyHangsUp(ctx, call, who);
    case 'dtmf':
      return pressTones(ctx, call, step.digits);
    case 'shareScreen': {
      if (!ACTIVE.includes(call.state)) return 'the call is not established';
      const p = who === undefined ? call.primary() : call.findParticipant(who);
      if (!p) return `no participant '${who ?? ''}'`;
      startSharing(ctx, call, p.id);
      return undefined;
    }
    case 'updateSharing': {
      const active = [...call.sessions.values()].filter((s) => !s.deleted);
      if (active.length === 0) return 'nobody is sharing';
      if (call.contentSharingNotified)
        emit(ctx, call, [{ changeType: 'updated', suffix: '/contentsharingsessions', data: active.map(sessionJson) }]);
      return undefined;
    }
    case 'stopSharing': {
      const active = [...call.sessions.values()].filter((s) => !s.deleted && s.sharer !== call.myParticipantId);
      if (active.length === 0) return 'nobody is sharing';
      for (const s of active) stopSharing(ctx, call, s.sharer);
      return undefined;
    }
    case 'join': {
      if (call.kind === 'peerToPeer') return 'nobody joins a peer-to-peer call';
      if (call.findParticipant(step.participant)) return `'${step.participant}' is already in the call`;
      addAttendee(call, step, call.resource['meetingInfo'] as Json | null);
      emit(ctx, call, rosterChanged(call));
      return undefined;
    }
    case 'admit': {
      const p = call.findParticipant(step.participant);
      if (!p?.isInLobby) return `'${step.participant}' is not in the lobby`;
      p.isInLobby = false;
      emit(ctx, call, rosterChanged(call));
      return undefined;
    }
    case 'remove': {
      const p = call.findParticipant(step.participant);
      if (!p || p.isBot) return `no participant '${step.participant}'`;
      removeParticipant(ctx, call, p);
      return undefined;
    }
    case 'mute':
    case 'unmute': {
      const p = who === undefined ? call.primary() : call.findParticipant(who);
      if (!p) return `no participant '${who ?? ''}'`;
      const muted = step.do === 'mute';
      if (p.isMuted === muted) return `already ${step.do}d`;
      p.isMuted = muted;
      emit(ctx, call, rosterChanged(call));
      return undefined;
    }
    case 'hold':
      if (call.state !== 'established') return 'only an established call can be held';
      setState(ctx, call, 'hold');
      return undefined;
    case 'resume':
      if (call.state !== 'hold') return 'the call is not on hold';
      setState(ctx, call, 'established');
      return undefined;
    case 'admitBot':
      return admitBot(ctx, call, call.attendees);
    case 'denyBot': {
      const bot = call.bot();
      if (!bot?.isInLobby) return 'the bot is not waiting in the lobby';
      terminate(ctx, call, RESULTS.removedFromLobby());
      return undefined;
    }
    case 'endCall':
      terminate(ctx, call, call.kind === 'meeting' ? RESULTS.meetingEnded() : RESULTS.ended());
      return undefined;
  }
}

/** Starts a script on a call; steps without a participant concern `participant`. */
export function run(ctx: ServiceContext, call: SimCall, script: RemoteScript, participant: string | undefined): void {
  if (!script.steps || script.steps.length === 0) return;
  const runner = new ScriptRunner(ctx.host, call, script.steps, participant);
  ctx.runners.add(runner);
  runner.start();
}

/**
 * The script a remote party follows: the one registered for the first of its `keys` that has
 * one (or for `*`), else a random one when `remoteBehaviour` is `random`; none means the caller
 * uses its default (answer).
 */
export function scriptFor(
  ctx: ServiceContext,
  keys: readonly string[],
  behaviour: Rng,
  role: 'callee' | 'target' | 'invitee',
): RemoteScript | undefined {
  const script = ctx.o.registry.take(keys);
  if (script) return script;
  if (ctx.o.remoteBehaviour === 'random') return randomCalleeScript(behaviour, role);
  return undefined;
}

function partyAnswers(ctx: ServiceContext, call: SimCall, who: string | undefined): string | undefined {
  const party = who === undefined ? firstPending(call) : call.pending.get(who);
  if (!party) return `nobody is waiting to answer${who ? ` as '${who}'` : ''}`;
  call.pending.delete(party.key);
  party.ringTimer?.cancel();
  const participant = addParticipant(call, {
    id: call.rng.uuid(),
    key: party.key,
    identity: party.identity,
    isBot: false,
    mediaStreams: mediaStreamsFor(identityKindOf(party.identity), call.rng),
    isMuted: false,
    isInLobby: false,
  });
  if (party.role === 'callee') {
    call.resource['answeredBy'] = { '@odata.type': '#microsoft.graph.participantInfo', identity: participant.identity };
    establish(ctx, call);
    return undefined;
  }
  if (party.role === 'invitee' && party.operationId) decideInvite(ctx, call, party.operationId, party.key, undefined);
  emit(ctx, call, rosterChanged(call));
  return undefined;
}

function partyRejects(ctx: ServiceContext, call: SimCall, who: string | undefined): string | undefined {
  const party = who === undefined ? firstPending(call) : call.pending.get(who);
  if (!party) return 'nobody is being called';
  call.pending.delete(party.key);
  party.ringTimer?.cancel();
  if (party.role === 'callee') terminate(ctx, call, RESULTS.declined());
  else if (party.role === 'invitee' && party.operationId) decideInvite(ctx, call, party.operationId, party.key, RESULTS.inviteDeclined());
  return undefined;
}

function partyHangsUp(ctx: ServiceContext, call: SimCall, who: string | undefined): string | undefined {
  if (call.kind === 'peerToPeer') {
    const p = who === undefined ? call.primary() : call.findParticipant(who);
    if (who !== undefined && !p && !call.pending.has(who)) return `no participant '${who}'`;
    // the caller or callee leaving ends a two-party call, whatever its state
    terminate(ctx, call, RESULTS.ended());
    return undefined;
  }
  const p = who === undefined ? call.primary() : call.findParticipant(who);
  if (!p || p.isBot) return `no participant '${who ?? ''}'`;
  removeParticipant(ctx, call, p);
  return undefined;
}

function pressTones(ctx: ServiceContext, call: SimCall, digits: string): string | undefined {
  if (!ACTIVE.includes(call.state)) return 'the call is not established';
  for (const digit of digits) {
    const tone = toneOf(digit);
    if (!tone) return `'${digit}' is not a DTMF digit`;
    for (const op of ctx.mediaQueues.get(call.id) ?? []) {
      const stops = op.stopTones;
      if (op.type === 'recordOperation' && stops && (stops.includes(digit) || stops.includes(tone))) {
        op.completion?.cancel();
        const q = ctx.mediaQueues.get(call.id)!;
        q.splice(q.indexOf(op), 1);
        finishRecording(ctx, call, op, 'stopToneDetected');
        q[0]?.start?.();
        break;
      }
    }
    // Tones reach the bot only once it subscribed (subscribeToTone).
    if (!call.toneSubscribed) continue;
    const sequenceId = ++call.toneSequence;
    call.tones.push({ sequenceId, tone });
    emitState(ctx, call, call.state, { toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId, tone } });
  }
  return undefined;
}

function firstPending(call: SimCall): PendingParty | undefined {
  return call.pending.values().next().value;
}
