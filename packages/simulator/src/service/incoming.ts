import { SimCall, identityIds, identityKindOf, identitySet, mediaStreamsFor, type IdentityKind } from '../call.js';
import { badRequest } from '../http.js';
import { RESULTS, callData } from '../notifications.js';
import { stream } from '../random.js';
import { normalizeScript, randomCallerScript } from '../scripts.js';
import type { CallerSpec, IncomingCallOptions, Json } from '../types.js';
import { checkAnswer, checkRedirect, checkReject } from '../validate.js';
import type { Reply, ServiceContext } from './context.js';
import { addParticipant, emit, setState, timer } from './plumbing.js';
import { armKeepAlive, establish, terminate } from './lifecycle.js';
import { run } from './remote.js';

/** Incoming calls: Graph offers the bot a call, which it answers, rejects or redirects. */

/** A call to the bot: Graph POSTs `created` with state `incoming`; unanswered, it is dropped. */
export function placeIncoming(ctx: ServiceContext, options: IncomingCallOptions): SimCall {
  const app = ctx.o.identity.app(options.appId);
  if (!app) throw new Error(`placeIncomingCall: unknown appId '${options.appId}'`);
  const id = ctx.ids.uuid();
  const rng = stream(ctx.o.seed, `call:${id}`);
  const myParticipantId = rng.uuid();
  const chainId = rng.uuid();
  const caller = callerIdentity(options.from, options.displayName);
  const callerId = rng.uuid();
  const botIdentity = options.applicationInstanceId
    ? identitySet('applicationInstance', options.applicationInstanceId, app.displayName ?? 'Calling Bot', app.tenantId)
    : identitySet('application', app.appId, app.displayName ?? 'Calling Bot');
  const resource: Json = {
    callbackUri: app.callbackUri,
    callChainId: chainId,
    callRoutes: [],
    source: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: caller,
      endpointType: 'default',
      region: null,
      languageId: 'en-US',
    },
    targets: [{ '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: botIdentity, endpointType: 'default' }],
    requestedModalities: options.requestedModalities ?? ['audio'],
    activeModalities: [],
    mediaConfig: null,
    chatInfo: null,
    meetingInfo: null,
    routingPolicies: [],
    tenantId: app.tenantId,
    myParticipantId,
    incomingContext: {
      '@odata.type': '#microsoft.graph.incomingContext',
      sourceParticipantId: callerId,
      observedParticipantId: callerId,
      onBehalfOf: null,
      transferor: null,
    },
    subject: null,
    terminationReason: null,
    answeredBy: null,
    meetingCapability: null,
    transcription: null,
  };
  const behaviour = stream(ctx.o.seed, `behaviour:${id}`);
  let script = options.script ? normalizeScript(options.script) : ctx.o.registry.take(identityIds(caller));
  if (!script && ctx.o.remoteBehaviour === 'random') script = randomCallerScript(behaviour);
  const call = new SimCall(
    id,
    app.appId,
    'incoming',
    'peerToPeer',
    'incoming',
    app.callbackUri,
    myParticipantId,
    chainId,
    resource,
    rng,
    script,
    false,
    'v1.0',
  );
  ctx.calls.set(id, call);
  addParticipant(call, {
    id: callerId,
    key: identityIds(caller)[0] ?? 'caller',
    identity: caller,
    isBot: false,
    mediaStreams: mediaStreamsFor(identityKindOf(caller), rng),
    isMuted: false,
    isInLobby: false,
  });
  call.botIdentity = botIdentity;
  emit(ctx, call, [{ changeType: 'created', suffix: '', data: callData(id, 'incoming', { direction: 'incoming', ...resource }) }]);
  call.answerDeadline = timer(
    ctx,
    call,
    ctx.o.timings.incomingAnswerMs,
    () => {
      if (call.state === 'incoming') terminate(ctx, call, RESULTS.incomingNotAnswered());
    },
    false,
  );
  if (script?.steps) run(ctx, call, script, identityIds(caller)[0]);
  return call;
}

/** POST /calls/{id}/answer: establishing at once, established a moment later; the keep-alive clock starts. */
export function answer(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireIncoming(call, 'answer');
  const plan = checkAnswer(body);
  if (plan.callbackUri) {
    call.callbackUri = plan.callbackUri;
    call.resource['callbackUri'] = plan.callbackUri;
  }
  call.resource['mediaConfig'] = plan.mediaConfig;
  call.contentSharingNotified = plan.contentSharing;
  call.answerDeadline?.cancel();
  const identity = call.botIdentity ?? identitySet('application', call.appId);
  addParticipant(call, {
    id: call.myParticipantId,
    key: 'bot',
    identity,
    isBot: true,
    mediaStreams: mediaStreamsFor('application', call.rng),
    isMuted: false,
    isInLobby: false,
  });
  // At once, so a second answer is refused; the notification may well reach the bot before the 202 does.
  setState(ctx, call, 'establishing');
  timer(ctx, call, ctx.o.timings.establishMs, () => establish(ctx, call));
  armKeepAlive(ctx, call);
  return { status: 202 };
}

/** POST /calls/{id}/reject: the call ends with the reason given. */
export function reject(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireIncoming(call, 'reject');
  const { reason } = checkReject(body);
  call.answerDeadline?.cancel();
  terminate(ctx, call, RESULTS.rejectedByBot(reason));
  return { status: 202 };
}

/** POST /calls/{id}/redirect: `redirecting`, then the call ends. */
export function redirect(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  requireIncoming(call, 'redirect');
  const { targets } = checkRedirect(body);
  call.answerDeadline?.cancel();
  call.resource['callRoutes'] = targets.map((t) => ({
    '@odata.type': '#microsoft.graph.callRoute',
    routingType: 'forwarded',
    final: t['identity'],
  }));
  setState(ctx, call, 'redirecting');
  timer(ctx, call, 500, () => terminate(ctx, call, RESULTS.redirected()));
  return { status: 202 };
}

/** Graph's 400 unless the call is an incoming one still waiting to be answered. */
function requireIncoming(call: SimCall, action: string): void {
  if (call.direction !== 'incoming' || call.state !== 'incoming') {
    throw badRequest(`Cannot ${action} the call: it is not an incoming call waiting to be answered (state '${call.state}').`);
  }
}

/** `+1555...` is a phone number, any other string a user id; an object is taken as an identity set. */
function callerIdentity(from: CallerSpec, displayName?: string): Json {
  if (typeof from !== 'string') {
    if (identityKindOf(from) === undefined) throw new TypeError('placeIncomingCall: from must be an identity set or a shorthand string');
    return { '@odata.type': '#microsoft.graph.identitySet', ...from };
  }
  const kind: IdentityKind = from.startsWith('+') ? 'phone' : 'user';
  return identitySet(kind, from, kind === 'phone' ? undefined : (displayName ?? 'Caller'));
}
