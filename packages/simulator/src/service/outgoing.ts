import { SimCall, callJson, identityIds, identitySet, isJson, mediaStreamsFor } from '../call.js';
import { GraphError } from '../http.js';
import { stream } from '../random.js';
import { answeringScript, randomMeetingScript } from '../scripts.js';
import type { Json, RemoteScript } from '../types.js';
import { checkCreate } from '../validate.js';
import type { ServiceContext } from './context.js';
import { addParticipant, addPending, emit, emitState, rosterChanged, setState, timer } from './plumbing.js';
import { addAttendee, admitBot, defaultAttendees } from './meeting.js';
import { armKeepAlive, ringingTimeout } from './lifecycle.js';
import { run, scriptFor } from './remote.js';

/** Outgoing calls: the bot's `POST /calls`, its answer, and the call's first moves. */

/** POST /calls: a peer-to-peer call, a group call, or a meeting join. */
export function create(ctx: ServiceContext, appId: string, body: unknown, apiVersion: 'v1.0' | 'beta'): SimCall {
  const plan = checkCreate(body);
  const b = body as Json;
  const app = ctx.o.identity.app(appId);
  if (!app) throw new GraphError(403, 'Forbidden', 'The application is not registered with this tenant.');
  const id = ctx.ids.uuid();
  const rng = stream(ctx.o.seed, `call:${id}`);
  const myParticipantId = rng.uuid();
  const chainId = typeof b['callChainId'] === 'string' ? b['callChainId'] : rng.uuid();
  const source = plan.source ?? {
    '@odata.type': '#microsoft.graph.participantInfo',
    identity: identitySet('application', app.appId, app.displayName ?? 'Calling Bot'),
    region: null,
    languageId: null,
  };
  const resource: Json = {
    callbackUri: plan.callbackUri,
    callChainId: chainId,
    callRoutes: [],
    source,
    targets: plan.targets.map((t) => ({ endpointType: null, replacesCallId: null, ...t })),
    requestedModalities: plan.requestedModalities,
    activeModalities: [],
    mediaConfig: plan.mediaConfig,
    chatInfo: plan.chatInfo ? { replyChainMessageId: null, ...plan.chatInfo } : null,
    meetingInfo: plan.meetingInfo ?? null,
    routingPolicies: [],
    tenantId: typeof b['tenantId'] === 'string' ? b['tenantId'] : app.tenantId,
    myParticipantId,
    subject: typeof b['subject'] === 'string' ? b['subject'] : null,
    terminationReason: null,
    ringingTimeoutInSeconds: plan.ringingMs === undefined ? null : plan.ringingMs / 1000,
    answeredBy: null,
    meetingCapability: null,
    transcription: null,
    ...(isJson(b['callOptions']) ? { callOptions: b['callOptions'] } : {}),
  };
  const behaviour = stream(ctx.o.seed, `behaviour:${id}`);
  let script: RemoteScript | undefined;
  if (plan.kind === 'meeting') {
    // `*` is for callees; a meeting falls back to the `meeting` key
    script = ctx.o.registry.take(plan.meetingKeys, 'meeting');
    if (!script && ctx.o.remoteBehaviour === 'random') script = randomMeetingScript(behaviour);
  } else if (plan.kind === 'peerToPeer') {
    script = scriptFor(ctx, identityIds(plan.targets[0]!['identity'] as Json), behaviour, 'callee');
  }
  const call = new SimCall(
    id,
    app.appId,
    'outgoing',
    plan.kind,
    'establishing',
    plan.callbackUri,
    myParticipantId,
    chainId,
    resource,
    rng,
    script,
    plan.contentSharing,
    apiVersion,
  );
  ctx.calls.set(id, call);
  const sourceIdentity = source['identity'] as Json;
  addParticipant(call, {
    id: myParticipantId,
    key: 'bot',
    identity: sourceIdentity,
    isBot: true,
    mediaStreams: mediaStreamsFor('application', rng),
    isMuted: false,
    isInLobby: false,
  });
  emitState(ctx, call, 'establishing');
  armKeepAlive(ctx, call);

  if (plan.kind === 'peerToPeer') {
    const target = plan.targets[0]!;
    const party = addPending(call, target['identity'] as Json, 'callee');
    party.ringTimer = timer(ctx, call, plan.ringingMs ?? ctx.o.timings.ringingMs, () => ringingTimeout(ctx, call, party.key), false);
    run(ctx, call, script ?? answeringScript(ctx.o.timings, 'callee'), party.key);
  } else if (plan.kind === 'group') {
    timer(ctx, call, ctx.o.timings.establishMs, () => {
      if (call.state === 'establishing') setState(ctx, call, 'established', {}, rosterChanged(call));
    });
    for (const target of plan.targets) {
      const identity = target['identity'] as Json;
      const party = addPending(call, identity, 'target');
      party.ringTimer = timer(ctx, call, plan.ringingMs ?? ctx.o.timings.ringingMs, () => call.pending.delete(party.key), false);
      run(ctx, call, scriptFor(ctx, identityIds(identity), behaviour, 'target') ?? answeringScript(ctx.o.timings, 'target'), party.key);
    }
  } else {
    joinMeeting(ctx, call, plan.guest, plan.meetingInfo!);
  }
  return call;
}

/** The call's URL, for `Location` headers. */
export function locationOf(ctx: ServiceContext, call: SimCall): string {
  return `${ctx.o.baseUrl()}/${call.apiVersion}/communications/calls/${call.id}`;
}

/** 201 body of a create: the call as Graph returns it. */
export function callReply(ctx: ServiceContext, call: SimCall): Json {
  return callJson(call, ctx.o.baseUrl());
}

function joinMeeting(ctx: ServiceContext, call: SimCall, guest: boolean, meetingInfo: Json): void {
  const script = call.script ?? {};
  const lobby = script.botLobby ?? guest;
  const attendees = script.attendees ?? defaultAttendees(meetingInfo);
  timer(ctx, call, ctx.o.timings.establishMs, () => {
    if (call.state !== 'establishing') return;
    if (lobby) {
      call.bot()!.isInLobby = true;
      // "The application will not receive the roster for participants in the meeting until its admitted from lobby"
      emit(ctx, call, rosterChanged(call));
      const decides = (script.steps ?? []).some((s) => s.do === 'admitBot' || s.do === 'denyBot');
      if (!decides) timer(ctx, call, ctx.o.timings.lobbyAdmitMs, () => admitBot(ctx, call, attendees));
      return;
    }
    for (const a of attendees) addAttendee(call, a, meetingInfo);
    setState(ctx, call, 'established', {}, rosterChanged(call));
  });
  call.attendees = attendees;
  if (script.steps) run(ctx, call, script, undefined);
}
