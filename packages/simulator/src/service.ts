import type { CallState } from '@switchboard/core';
import {
  SimCall,
  callJson,
  identityIds,
  identityKindOf,
  identitySet,
  isJson,
  mediaStreamsFor,
  operationJson,
  participantJson,
  sessionJson,
  type IdentityKind,
  type PendingParty,
  type SimOperation,
  type SimParticipant,
} from './call.js';
import type { Dispatcher, NotificationRec } from './delivery.js';
import { GraphError, badRequest, notFound } from './http.js';
import type { Identity } from './identity.js';
import { RESULTS, callData, commsNotification, resultInfo, toneOf, type ChangeType } from './notifications.js';
import { stream, type Rng } from './random.js';
import type { Scheduler, TaskHandle } from './scheduler.js';
import {
  ScriptRunner,
  answeringScript,
  inviteeScript,
  decisionOf,
  normalizeScript,
  randomCalleeScript,
  randomCallerScript,
  randomMeetingScript,
  type ScriptHost,
  type ScriptRegistry,
} from './scripts.js';
import type {
  AttendeeSpec,
  CallerSpec,
  GraphTimings,
  IncomingCallOptions,
  Json,
  RemoteBehaviour,
  RemoteScript,
  ScriptStep,
  SimulatorLogger,
} from './types.js';
import {
  asObject,
  checkAnswer,
  checkCreate,
  checkInvite,
  checkOneOf,
  checkPrompts,
  checkRedirect,
  checkReject,
  checkTones,
  checkTransfer,
  clientContextOf,
} from './validate.js';

/**
 * The simulated calls service: Graph's side of every call. Routes call into it for the
 * bot's requests, scripts call into it for the remote parties' actions, and every change it
 * makes is emitted as the notifications Graph would send. It owns the ground truth.
 */

export interface ServiceOptions {
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly identity: Identity;
  readonly registry: ScriptRegistry;
  readonly seed: number;
  readonly timings: GraphTimings;
  readonly legacyResource: boolean;
  readonly remoteBehaviour: RemoteBehaviour;
  readonly logger: SimulatorLogger;
  readonly baseUrl: () => string;
}

/** A response the routes send as is. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: { readonly [name: string]: string };
}

interface Emission {
  readonly changeType: ChangeType;
  readonly suffix: string;
  readonly data: unknown;
}

/** States in which a call carries media and accepts media and roster commands. */
const ACTIVE: readonly CallState[] = ['established', 'hold'];

export class CallService implements ScriptHost {
  readonly scheduler: Scheduler;
  readonly logger: SimulatorLogger;
  private readonly calls = new Map<string, SimCall>();
  private readonly ids: Rng;
  private readonly log: NotificationRec[] = [];
  private readonly runners = new Set<ScriptRunner>();
  /** Media operations (playPrompt, record) queue per call: Graph processes them in order. */
  private readonly mediaQueues = new Map<string, SimOperation[]>();
  private transfers = 0;

  constructor(private readonly o: ServiceOptions) {
    this.scheduler = o.scheduler;
    this.logger = o.logger;
    this.ids = stream(o.seed, 'ids');
  }

  // ---------------------------------------------------------------- lookups

  all(): SimCall[] {
    return [...this.calls.values()];
  }

  get(callId: string): SimCall | undefined {
    return this.calls.get(callId);
  }

  notifications(): readonly NotificationRec[] {
    return this.log;
  }

  /** The app's live call, or Graph's 404: unknown ids, other apps' calls and ended calls alike. */
  live(appId: string, callId: string): SimCall {
    const call = this.calls.get(callId);
    if (!call || call.appId.toLowerCase() !== appId.toLowerCase() || call.terminated) {
      throw notFound(`The call '${callId}' was not found.`);
    }
    return call;
  }

  stop(): void {
    for (const runner of this.runners) runner.stop();
    this.runners.clear();
    for (const call of this.calls.values()) this.cancelTimers(call);
  }

  // ---------------------------------------------------------------- outgoing calls

  /** POST /calls: a peer-to-peer call, a group call, or a meeting join. */
  create(appId: string, body: unknown, apiVersion: 'v1.0' | 'beta'): SimCall {
    const plan = checkCreate(body);
    const b = body as Json;
    const app = this.o.identity.app(appId);
    if (!app) throw new GraphError(403, 'Forbidden', 'The application is not registered with this tenant.');
    const id = this.ids.uuid();
    const rng = stream(this.o.seed, `call:${id}`);
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
    const behaviour = stream(this.o.seed, `behaviour:${id}`);
    let script: RemoteScript | undefined;
    if (plan.kind === 'meeting') {
      // `*` is for callees; a meeting falls back to the `meeting` key
      script = this.o.registry.take(plan.meetingKeys, 'meeting');
      if (!script && this.o.remoteBehaviour === 'random') script = randomMeetingScript(behaviour);
    } else if (plan.kind === 'peerToPeer') {
      script = this.scriptFor(identityIds(plan.targets[0]!['identity'] as Json), behaviour, 'callee');
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
    this.calls.set(id, call);
    const sourceIdentity = source['identity'] as Json;
    this.addParticipant(call, {
      id: myParticipantId,
      key: 'bot',
      identity: sourceIdentity,
      isBot: true,
      mediaStreams: mediaStreamsFor('application', rng),
      isMuted: false,
      isInLobby: false,
    });
    this.emitState(call, 'establishing');
    this.armKeepAlive(call);

    if (plan.kind === 'peerToPeer') {
      const target = plan.targets[0]!;
      const party = this.addPending(call, target['identity'] as Json, 'callee');
      party.ringTimer = this.timer(call, plan.ringingMs ?? this.o.timings.ringingMs, () => this.ringingTimeout(call, party.key), false);
      this.run(call, script ?? answeringScript(this.o.timings, 'callee'), party.key);
    } else if (plan.kind === 'group') {
      this.timer(call, this.o.timings.establishMs, () => {
        if (call.state === 'establishing') this.setState(call, 'established', {}, this.rosterChanged(call));
      });
      for (const target of plan.targets) {
        const identity = target['identity'] as Json;
        const party = this.addPending(call, identity, 'target');
        party.ringTimer = this.timer(call, plan.ringingMs ?? this.o.timings.ringingMs, () => call.pending.delete(party.key), false);
        this.run(call, this.scriptFor(identityIds(identity), behaviour, 'target') ?? answeringScript(this.o.timings, 'target'), party.key);
      }
    } else {
      this.joinMeeting(call, plan.guest, plan.meetingInfo!);
    }
    return call;
  }

  /** The call's URL, for `Location` headers. */
  locationOf(call: SimCall): string {
    return `${this.o.baseUrl()}/${call.apiVersion}/communications/calls/${call.id}`;
  }

  /** 201 body of a create: the call as Graph returns it. */
  callReply(call: SimCall): Json {
    return callJson(call, this.o.baseUrl());
  }

  private joinMeeting(call: SimCall, guest: boolean, meetingInfo: Json): void {
    const script = call.script ?? {};
    const lobby = script.botLobby ?? guest;
    const attendees = script.attendees ?? defaultAttendees(meetingInfo);
    this.timer(call, this.o.timings.establishMs, () => {
      if (call.state !== 'establishing') return;
      if (lobby) {
        call.bot()!.isInLobby = true;
        // "The application will not receive the roster for participants in the meeting until its admitted from lobby"
        this.emit(call, this.rosterChanged(call));
        const decides = (script.steps ?? []).some((s) => s.do === 'admitBot' || s.do === 'denyBot');
        if (!decides) this.timer(call, this.o.timings.lobbyAdmitMs, () => this.admitBot(call, attendees));
        return;
      }
      for (const a of attendees) this.addAttendee(call, a, meetingInfo);
      this.setState(call, 'established', {}, this.rosterChanged(call));
    });
    call.attendees = attendees;
    if (script.steps) this.run(call, script, undefined);
  }

  private admitBot(call: SimCall, attendees: readonly AttendeeSpec[]): string | undefined {
    const bot = call.bot();
    if (!bot || !bot.isInLobby || call.terminated) return 'the bot is not waiting in the lobby';
    bot.isInLobby = false;
    for (const a of attendees) this.addAttendee(call, a, call.resource['meetingInfo'] as Json | null);
    this.setState(call, 'established', {}, this.rosterChanged(call));
    return undefined;
  }

  private addAttendee(call: SimCall, a: AttendeeSpec, meetingInfo: Json | null): void {
    if (call.findParticipant(a.participant)) return;
    const organizer = meetingInfo && isJson(meetingInfo['organizer']) ? meetingInfo['organizer'] : undefined;
    const identity =
      a.participant === ORGANIZER && organizer
        ? organizer
        : identitySet(a.identity ?? 'user', a.identity === 'phone' ? `+1425555${String(call.rng.int(1000, 9999))}` : call.rng.uuid(), a.displayName ?? a.participant);
    this.addParticipant(call, {
      id: call.rng.uuid(),
      key: a.participant,
      identity,
      isBot: false,
      mediaStreams: mediaStreamsFor(identityKindOf(identity), call.rng),
      isMuted: a.muted ?? false,
      isInLobby: a.lobby ?? false,
    });
  }

  private scriptFor(keys: readonly string[], behaviour: Rng, role: 'callee' | 'target' | 'invitee'): RemoteScript | undefined {
    const script = this.o.registry.take(keys);
    if (script) return script;
    if (this.o.remoteBehaviour === 'random') return randomCalleeScript(behaviour, role);
    return undefined;
  }

  // ---------------------------------------------------------------- incoming calls

  /** A call to the bot: Graph POSTs `created` with state `incoming`; unanswered, it is dropped. */
  placeIncoming(options: IncomingCallOptions): SimCall {
    const app = this.o.identity.app(options.appId);
    if (!app) throw new Error(`placeIncomingCall: unknown appId '${options.appId}'`);
    const id = this.ids.uuid();
    const rng = stream(this.o.seed, `call:${id}`);
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
      source: { '@odata.type': '#microsoft.graph.participantInfo', identity: caller, endpointType: 'default', region: null, languageId: 'en-US' },
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
    const behaviour = stream(this.o.seed, `behaviour:${id}`);
    let script = options.script ? normalizeScript(options.script) : this.o.registry.take(identityIds(caller));
    if (!script && this.o.remoteBehaviour === 'random') script = randomCallerScript(behaviour);
    const call = new SimCall(id, app.appId, 'incoming', 'peerToPeer', 'incoming', app.callbackUri, myParticipantId, chainId, resource, rng, script, false, 'v1.0');
    this.calls.set(id, call);
    this.addParticipant(call, {
      id: callerId,
      key: identityIds(caller)[0] ?? 'caller',
      identity: caller,
      isBot: false,
      mediaStreams: mediaStreamsFor(identityKindOf(caller), rng),
      isMuted: false,
      isInLobby: false,
    });
    call.botIdentity = botIdentity;
    this.emit(call, [{ changeType: 'created', suffix: '', data: callData(id, 'incoming', { direction: 'incoming', ...resource }) }]);
    call.answerDeadline = this.timer(
      call,
      this.o.timings.incomingAnswerMs,
      () => {
        if (call.state === 'incoming') this.terminate(call, RESULTS.incomingNotAnswered());
      },
      false,
    );
    if (script?.steps) this.run(call, script, identityIds(caller)[0]);
    return call;
  }

  answer(call: SimCall, body: unknown): Reply {
    this.requireIncoming(call, 'answer');
    const plan = checkAnswer(body);
    if (plan.callbackUri) {
      call.callbackUri = plan.callbackUri;
      call.resource['callbackUri'] = plan.callbackUri;
    }
    call.resource['mediaConfig'] = plan.mediaConfig;
    call.contentSharingNotified = plan.contentSharing;
    call.answerDeadline?.cancel();
    const identity = call.botIdentity ?? identitySet('application', call.appId);
    this.addParticipant(call, {
      id: call.myParticipantId,
      key: 'bot',
      identity,
      isBot: true,
      mediaStreams: mediaStreamsFor('application', call.rng),
      isMuted: false,
      isInLobby: false,
    });
    // At once, so a second answer is refused; the notification may well reach the bot before the 202 does.
    this.setState(call, 'establishing');
    this.timer(call, this.o.timings.establishMs, () => this.establish(call));
    this.armKeepAlive(call);
    return { status: 202 };
  }

  reject(call: SimCall, body: unknown): Reply {
    this.requireIncoming(call, 'reject');
    const { reason } = checkReject(body);
    call.answerDeadline?.cancel();
    this.terminate(call, RESULTS.rejectedByBot(reason));
    return { status: 202 };
  }

  redirect(call: SimCall, body: unknown): Reply {
    this.requireIncoming(call, 'redirect');
    const { targets } = checkRedirect(body);
    call.answerDeadline?.cancel();
    call.resource['callRoutes'] = targets.map((t) => ({ '@odata.type': '#microsoft.graph.callRoute', routingType: 'forwarded', final: t['identity'] }));
    this.setState(call, 'redirecting');
    this.timer(call, 500, () => this.terminate(call, RESULTS.redirected()));
    return { status: 202 };
  }

  private requireIncoming(call: SimCall, action: string): void {
    if (call.direction !== 'incoming' || call.state !== 'incoming') {
      throw badRequest(`Cannot ${action} the call: it is not an incoming call waiting to be answered (state '${call.state}').`);
    }
  }

  // ---------------------------------------------------------------- call lifecycle

  /** DELETE /calls/{id}: the bot hangs up. */
  hangUp(call: SimCall): Reply {
    this.terminate(call, RESULTS.ended());
    return { status: 204 };
  }

  keepAlive(call: SimCall): Reply {
    this.armKeepAlive(call);
    return { status: 200 };
  }

  private establish(call: SimCall): void {
    if (call.state !== 'establishing' && call.state !== 'ringing') return;
    this.setState(call, 'established', { direction: call.direction });
    // Recorded traffic follows `established` with a media-state update.
    this.timer(call, 100, () => {
      if (!ACTIVE.includes(call.state)) return;
      call.mediaState = { '@odata.type': '#microsoft.graph.callMediaState', audio: 'active' };
      this.emitState(call, call.state, { mediaState: call.mediaState });
    });
  }

  private ringingTimeout(call: SimCall, key: string): void {
    const party = call.pending.get(key);
    if (!party) return;
    call.pending.delete(key);
    if (party.role === 'callee' && (call.state === 'establishing' || call.state === 'ringing')) this.terminate(call, RESULTS.notAnswered());
    if (party.role === 'invitee' && party.operationId) this.decideInvite(call, party.operationId, key, RESULTS.inviteNotAnswered());
  }

  /** Ends a call: `deleted` with state `terminated`; afterwards the call answers 404. */
  terminate(call: SimCall, info: Json, extra: Json = {}): void {
    if (call.terminated) return;
    call.resultInfo = info;
    call.endedAt = this.scheduler.now();
    this.cancelTimers(call);
    for (const runner of this.runners) {
      if (runner.call !== call) continue;
      runner.stop();
      this.runners.delete(runner);
    }
    this.setState(call, 'terminated', { resultInfo: info, ...extra });
  }

  private armKeepAlive(call: SimCall): void {
    call.keepAliveTimer?.cancel();
    call.keepAliveTimer = this.timer(call, this.o.timings.keepAliveMs, () => this.terminate(call, RESULTS.keepAliveExpired()), false);
  }

  private cancelTimers(call: SimCall): void {
    for (const t of call.timers) t.cancel();
    call.timers.clear();
    for (const p of call.pending.values()) p.ringTimer?.cancel();
    for (const op of call.operations.values()) op.completion?.cancel();
  }

  // ---------------------------------------------------------------- transfer

  transfer(call: SimCall, body: unknown): Reply {
    if (call.state !== 'established') throw badRequest(`Cannot transfer the call in state '${call.state}': it must be established.`);
    if (call.transferring) throw badRequest('A transfer of this call is already in progress.');
    const t = checkTransfer(body);
    call.transferring = true;
    const targetKeys = identityIds(t.target['identity'] as Json);
    const outcome = this.transferOutcome(call, targetKeys);
    const draw = stream(this.o.seed, `transfer:${call.id}:${++this.transfers}`);
    this.timer(call, 100, () => {
      if (call.state !== 'established') return void (call.transferring = false);
      this.setState(call, 'transferring');
    });
    this.timer(call, 100 + this.o.timings.transferMs, () => {
      if (call.state !== 'transferring') return void (call.transferring = false);
      if (outcome === 'accept') {
        // "Transfer accepted may happen after or before media state audio inactive."
        const mediaFirst = draw.chance(0.5);
        const inactive = (): void => {
          call.mediaState = { '@odata.type': '#microsoft.graph.callMediaState', audio: 'inactive' };
          this.emitState(call, call.state, { mediaState: call.mediaState });
        };
        if (mediaFirst) inactive();
        this.setState(call, 'transferAccepted');
        if (!mediaFirst) inactive();
        this.timer(call, 300, () => {
          if (t.replacesCallId) {
            const consulted = this.calls.get(t.replacesCallId);
            if (consulted && consulted.appId === call.appId) this.terminate(consulted, RESULTS.transferCompleted(), { terminationReason: 'AppTransferred' });
            this.terminate(call, RESULTS.transferCompleted(), { terminationReason: 'AppTransferred' });
          } else {
            this.terminate(call, RESULTS.transferCompleted());
          }
        });
        return;
      }
      call.transferring = false;
      const info = RESULTS.transferFailed(outcome.fail);
      call.resultInfo = info;
      this.setState(call, 'established', { resultInfo: info });
    });
    return { status: 202 };
  }

  private transferOutcome(call: SimCall, targetKeys: readonly string[]): 'accept' | { fail: 7000 | 7700 } {
    const normalize = (v: RemoteScript['onTransfer']): 'accept' | { fail: 7000 | 7700 } | undefined =>
      v === undefined ? undefined : v === 'fail' ? { fail: 7000 } : v;
    const own = normalize(call.script?.onTransfer);
    if (own) return own;
    const targetScript = this.o.registry.peek(targetKeys);
    const declared = normalize(targetScript?.onTransfer);
    if (declared) return declared;
    const decision = decisionOf(targetScript);
    if (decision === 'reject') return { fail: 7700 };
    if (decision === 'noAnswer') return { fail: 7000 };
    return 'accept';
  }

  // ---------------------------------------------------------------- participants

  listParticipants(call: SimCall): Json {
    return {
      '@odata.context': `${this.o.baseUrl()}/${call.apiVersion}/$metadata#communications/calls('${call.id}')/participants`,
      value: [...call.participants.values()].map((p) => participantJson(p, call.rosterSequenceNumber)),
    };
  }

  getParticipant(call: SimCall, participantId: string): Json {
    const p = call.participants.get(participantId);
    if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
    return participantJson(p, call.rosterSequenceNumber);
  }

  invite(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'invite participants');
    const { participants, clientContext } = checkInvite(body);
    // Inviting into a peer-to-peer call turns it into a group call, which has a roster.
    if (call.kind === 'peerToPeer') call.kind = 'group';
    const op = this.newOperation(call, 'inviteParticipantsOperation', 'running', { participants }, clientContext);
    op.waitingFor = new Set();
    const behaviour = stream(this.o.seed, `invite:${call.id}:${op.id}`);
    for (const info of participants) {
      const identity = info['identity'] as Json;
      const party = this.addPending(call, identity, 'invitee', op.id);
      op.waitingFor.add(party.key);
      party.ringTimer = this.timer(call, this.o.timings.ringingMs, () => this.ringingTimeout(call, party.key), false);
      const script = inviteeScript(this.scriptFor(identityIds(identity), behaviour, 'invitee'), this.o.timings);
      this.run(call, script ?? answeringScript(this.o.timings, 'invitee'), party.key);
    }
    return this.operationReply(call, op, 200);
  }

  private decideInvite(call: SimCall, operationId: string, key: string, failure: Json | undefined): void {
    const op = call.operations.get(operationId);
    if (!op?.waitingFor) return;
    op.waitingFor.delete(key);
    if (failure) {
      op.failed = true;
      op.resultInfo = failure;
    }
    if (op.waitingFor.size > 0) return;
    if (op.failed) this.completeOperation(call, op, 'failed', op.resultInfo ?? RESULTS.inviteDeclined());
    else this.completeOperation(call, op, 'completed', undefined);
  }

  muteAll(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'mute participants');
    const b = asObject(body);
    const op = this.newOperation(call, 'muteParticipantsOperation', 'completed', {}, clientContextOf(b).clientContext);
    let changed = false;
    for (const p of call.participants.values()) {
      if (p.isBot || p.isMuted) continue;
      p.isMuted = true;
      changed = true;
    }
    if (changed) this.emit(call, this.rosterChanged(call));
    return this.operationReply(call, op, 200);
  }

  muteParticipant(call: SimCall, participantId: string, body: unknown): Reply {
    this.requireActive(call, 'mute a participant');
    const p = call.participants.get(participantId);
    if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
    const op = this.newOperation(call, 'muteParticipantOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
    if (!p.isMuted) {
      p.isMuted = true;
      this.emit(call, this.rosterChanged(call));
    }
    return this.operationReply(call, op, 200);
  }

  /** DELETE participants/{id}: removes a participant (removing the bot itself ends its call). */
  deleteParticipant(call: SimCall, participantId: string): Reply {
    const p = call.participants.get(participantId);
    if (!p) throw notFound(`The participant '${participantId}' was not found in call '${call.id}'.`);
    if (p.isBot) {
      this.terminate(call, RESULTS.ended());
      return { status: 204 };
    }
    this.removeParticipant(call, p);
    return { status: 204 };
  }

  holdMusic(call: SimCall, participantId: string | undefined, body: unknown, start: boolean): Reply {
    this.requireActive(call, start ? 'start hold music' : 'stop hold music');
    const b = asObject(body);
    const p = participantId === undefined ? call.primary() : call.participants.get(participantId);
    if (!p) throw notFound(`The participant '${participantId ?? ''}' was not found in call '${call.id}'.`);
    const extra: Json = start && isJson(b['customPrompt']) ? { customPrompt: b['customPrompt'] } : {};
    const op = this.newOperation(call, start ? 'startHoldMusicOperation' : 'stopHoldMusicOperation', 'running', extra, clientContextOf(b).clientContext);
    op.completion = this.timer(call, 500, () => this.completeOperation(call, op, 'completed', RESULTS.actionCompleted()));
    // Graph answers these with 202 Accepted (participant: startHoldMusic / stopHoldMusic).
    return this.operationReply(call, op, 202);
  }

  // ---------------------------------------------------------------- media (IVR) operations

  playPrompt(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'play a prompt');
    const b = asObject(body);
    const prompts = checkPrompts(b['prompts'], true);
    const op = this.newOperation(call, 'playPromptOperation', 'running', { prompts }, clientContextOf(b).clientContext);
    const duration = b['loop'] === true ? undefined : this.o.timings.promptMs * prompts.length;
    this.enqueueMedia(call, op, duration, () =>
      this.completeOperation(call, op, 'completed', RESULTS.actionCompleted(), { completionReason: 'completedSuccessfully' }),
    );
    return this.operationReply(call, op, 200);
  }

  record(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'record a response');
    const b = asObject(body);
    const prompts = checkPrompts(b['prompts'], false);
    const max = b['maxRecordDurationInSeconds'];
    if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 120)) {
      throw badRequest('maxRecordDurationInSeconds must be between 1 and 120.');
    }
    const stopTones = Array.isArray(b['stopTones']) ? b['stopTones'].filter((t): t is string => typeof t === 'string') : [];
    const op = this.newOperation(call, 'recordOperation', 'running', { recordingLocation: null }, clientContextOf(b).clientContext);
    op.stopTones = stopTones;
    const duration = this.o.timings.promptMs * prompts.length + (typeof max === 'number' ? max : 5) * 1000;
    this.enqueueMedia(call, op, duration, () => this.finishRecording(call, op, 'maxRecordDurationReached'));
    return this.operationReply(call, op, 200);
  }

  private finishRecording(call: SimCall, op: SimOperation, reason: 'maxRecordDurationReached' | 'stopToneDetected'): void {
    const info =
      reason === 'maxRecordDurationReached'
        ? resultInfo(200, 8515, 'Action completed, max record duration reached.')
        : resultInfo(200, 8514, 'Action completed, stop tone detected.');
    this.completeOperation(call, op, 'completed', info, {
      completionReason: reason,
      recordingLocation: `${this.o.baseUrl()}/recordings/${op.id}`,
      recordingAccessToken: call.rng.hex(40),
    });
  }

  subscribeToTone(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'subscribe to tones');
    const op = this.newOperation(call, 'subscribeToToneOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
    call.toneSubscribed = true;
    return this.operationReply(call, op, 200);
  }

  sendDtmfTones(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'send DTMF tones');
    const b = asObject(body);
    const tones = checkTones(b['tones']);
    const delay = typeof b['delayBetweenTonesMs'] === 'number' ? b['delayBetweenTonesMs'] : 500;
    const op = this.newOperation(call, 'sendDtmfTonesOperation', 'running', {}, clientContextOf(b).clientContext);
    op.completion = this.timer(call, tones.length * delay, () =>
      this.completeOperation(call, op, 'completed', undefined, { completionReason: 'completedSuccessfully' }),
    );
    return this.operationReply(call, op, 200);
  }

  /** Cancels the running and queued playPrompt / record operations ("failed", 400/8508). */
  cancelMediaProcessing(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'cancel media processing');
    const op = this.newOperation(call, 'cancelMediaProcessingOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
    const queue = this.mediaQueues.get(call.id) ?? [];
    this.mediaQueues.set(call.id, []);
    for (const cancelled of queue) {
      cancelled.completion?.cancel();
      const reason = cancelled.type === 'recordOperation' ? 'operationCanceled' : 'mediaOperationCanceled';
      const extra: Json = cancelled.type === 'recordOperation' ? { recordingLocation: '', recordingAccessToken: '', completionReason: reason } : { completionReason: reason };
      this.completeOperation(call, cancelled, 'failed', RESULTS.operationCancelled(), extra);
    }
    return this.operationReply(call, op, 200);
  }

  /** Media operations run one after another; each completes after its duration (none: loops until cancelled). */
  private enqueueMedia(call: SimCall, op: SimOperation, duration: number | undefined, complete: () => void): void {
    const queue = this.mediaQueues.get(call.id) ?? [];
    this.mediaQueues.set(call.id, queue);
    queue.push(op);
    op.start = () => {
      if (duration === undefined) return;
      op.completion = this.timer(call, duration, () => {
        const q = this.mediaQueues.get(call.id) ?? [];
        const i = q.indexOf(op);
        if (i >= 0) q.splice(i, 1);
        complete();
        q[0]?.start?.();
      });
    };
    if (queue.length === 1) op.start();
  }

  muteSelf(call: SimCall, body: unknown, mute: boolean): Reply {
    this.requireActive(call, mute ? 'mute' : 'unmute');
    const op = this.newOperation(call, mute ? 'muteParticipantOperation' : 'unmuteParticipantOperation', 'completed', {}, clientContextOf(asObject(body)).clientContext);
    const bot = call.bot();
    if (bot && bot.isMuted !== mute) {
      bot.isMuted = mute;
      this.emit(call, this.rosterChanged(call));
    }
    return this.operationReply(call, op, 200);
  }

  updateRecordingStatus(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'update the recording status');
    const b = asObject(body);
    const status = checkOneOf(b['status'], ['notRecording', 'recording', 'failed'] as const, 'status');
    const op = this.newOperation(call, 'updateRecordingStatusOperation', 'completed', {}, clientContextOf(b).clientContext);
    call.recordingStatus = status;
    return this.operationReply(call, op, 200);
  }

  /** `sharer` starts a content-sharing session for the bot, `viewer` ends it. */
  changeScreenSharingRole(call: SimCall, body: unknown): Reply {
    this.requireActive(call, 'change the screen sharing role');
    const role = checkOneOf(asObject(body)['role'], ['viewer', 'sharer'] as const, 'role');
    if (role === 'sharer') this.startSharing(call, call.myParticipantId);
    else this.stopSharing(call, call.myParticipantId);
    return { status: 200 };
  }

  getOperation(call: SimCall, operationId: string): Json {
    const op = call.operations.get(operationId);
    if (!op) throw notFound(`The operation '${operationId}' was not found in call '${call.id}'.`);
    return operationJson(op);
  }

  listSessions(call: SimCall): Json {
    return { value: [...call.sessions.values()].filter((s) => !s.deleted).map(sessionJson) };
  }

  getSession(call: SimCall, sessionId: string): Json {
    const s = call.sessions.get(sessionId);
    if (!s || s.deleted) throw notFound(`The content sharing session '${sessionId}' was not found.`);
    return sessionJson(s);
  }

  private requireActive(call: SimCall, what: string): void {
    if (!ACTIVE.includes(call.state)) throw badRequest(`Cannot ${what}: the call is ${call.state}, not established.`);
  }

  private newOperation(call: SimCall, type: string, status: SimOperation['status'], extra: Json, clientContext: string | undefined): SimOperation {
    const op: SimOperation = { id: call.rng.uuid(), type, status, extra: { ...extra }, ...(clientContext !== undefined ? { clientContext } : {}) };
    call.operations.set(op.id, op);
    return op;
  }

  private operationReply(call: SimCall, op: SimOperation, status: number): Reply {
    return {
      status,
      body: operationJson(op),
      headers: { Location: `${this.o.baseUrl()}/${call.apiVersion}/communications/calls/${call.id}/operations/${op.id}` },
    };
  }

  /** An operation ends: `deleted` on `/operations/{id}`, as in the recorded prompt completion. */
  private completeOperation(call: SimCall, op: SimOperation, status: 'completed' | 'failed', info: Json | undefined, extra: Json = {}): void {
    if (op.status === 'completed' || op.status === 'failed' || call.terminated) return;
    op.status = status;
    if (info) op.resultInfo = info;
    Object.assign(op.extra, extra);
    const suffix = `/operations/${op.id}`;
    const data = { ...operationJson(op), '@odata.id': `/communications/calls/${call.id}${suffix}` };
    this.emit(call, [{ changeType: 'deleted', suffix, data }]);
  }

  // ---------------------------------------------------------------- remote parties (ScriptHost)

  /** Performs a script step now. Returns why it does not apply, or undefined when it did. */
  act(call: SimCall, step: ScriptStep, participant: string | undefined): string | undefined {
    if (call.terminated) return 'the call has ended';
    const who = ('participant' in step ? step.participant : undefined) ?? participant;
    switch (step.do) {
      case 'wait':
      case 'waitFor':
      case 'noAnswer':
        return undefined;
      case 'ring':
        if (call.state !== 'establishing' || call.kind !== 'peerToPeer' || call.direction !== 'outgoing') return 'only an establishing outgoing call rings';
        this.setState(call, 'ringing');
        return undefined;
      case 'answer':
        return this.partyAnswers(call, who);
      case 'reject':
        return this.partyRejects(call, who);
      case 'hangUp':
        return this.partyHangsUp(call, who);
      case 'dtmf':
        return this.pressTones(call, step.digits);
      case 'shareScreen': {
        if (!ACTIVE.includes(call.state)) return 'the call is not established';
        const p = who === undefined ? call.primary() : call.findParticipant(who);
        if (!p) return `no participant '${who ?? ''}'`;
        this.startSharing(call, p.id);
        return undefined;
      }
      case 'updateSharing': {
        const active = [...call.sessions.values()].filter((s) => !s.deleted);
        if (active.length === 0) return 'nobody is sharing';
        if (call.contentSharingNotified) this.emit(call, [{ changeType: 'updated', suffix: '/contentsharingsessions', data: active.map(sessionJson) }]);
        return undefined;
      }
      case 'stopSharing': {
        const active = [...call.sessions.values()].filter((s) => !s.deleted && s.sharer !== call.myParticipantId);
        if (active.length === 0) return 'nobody is sharing';
        for (const s of active) this.stopSharing(call, s.sharer);
        return undefined;
      }
      case 'join': {
        if (call.kind === 'peerToPeer') return 'nobody joins a peer-to-peer call';
        if (call.findParticipant(step.participant)) return `'${step.participant}' is already in the call`;
        this.addAttendee(call, step, call.resource['meetingInfo'] as Json | null);
        this.emit(call, this.rosterChanged(call));
        return undefined;
      }
      case 'admit': {
        const p = call.findParticipant(step.participant);
        if (!p?.isInLobby) return `'${step.participant}' is not in the lobby`;
        p.isInLobby = false;
        this.emit(call, this.rosterChanged(call));
        return undefined;
      }
      case 'remove': {
        const p = call.findParticipant(step.participant);
        if (!p || p.isBot) return `no participant '${step.participant}'`;
        this.removeParticipant(call, p);
        return undefined;
      }
      case 'mute':
      case 'unmute': {
        const p = who === undefined ? call.primary() : call.findParticipant(who);
        if (!p) return `no participant '${who ?? ''}'`;
        const muted = step.do === 'mute';
        if (p.isMuted === muted) return `already ${step.do}d`;
        p.isMuted = muted;
        this.emit(call, this.rosterChanged(call));
        return undefined;
      }
      case 'hold':
        if (call.state !== 'established') return 'only an established call can be held';
        this.setState(call, 'hold');
        return undefined;
      case 'resume':
        if (call.state !== 'hold') return 'the call is not on hold';
        this.setState(call, 'established');
        return undefined;
      case 'admitBot':
        return this.admitBot(call, call.attendees);
      case 'denyBot': {
        const bot = call.bot();
        if (!bot?.isInLobby) return 'the bot is not waiting in the lobby';
        this.terminate(call, RESULTS.removedFromLobby());
        return undefined;
      }
      case 'endCall':
        this.terminate(call, call.kind === 'meeting' ? RESULTS.meetingEnded() : RESULTS.ended());
        return undefined;
    }
  }

  /** Starts a script on a call; steps without a participant concern `participant`. */
  run(call: SimCall, script: RemoteScript, participant: string | undefined): void {
    if (!script.steps || script.steps.length === 0) return;
    const runner = new ScriptRunner(this, call, script.steps, participant);
    this.runners.add(runner);
    runner.start();
  }

  private partyAnswers(call: SimCall, who: string | undefined): string | undefined {
    const party = who === undefined ? firstPending(call) : call.pending.get(who);
    if (!party) return `nobody is waiting to answer${who ? ` as '${who}'` : ''}`;
    call.pending.delete(party.key);
    party.ringTimer?.cancel();
    const participant = this.addParticipant(call, {
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
      this.establish(call);
      return undefined;
    }
    if (party.role === 'invitee' && party.operationId) this.decideInvite(call, party.operationId, party.key, undefined);
    this.emit(call, this.rosterChanged(call));
    return undefined;
  }

  private partyRejects(call: SimCall, who: string | undefined): string | undefined {
    const party = who === undefined ? firstPending(call) : call.pending.get(who);
    if (!party) return 'nobody is being called';
    call.pending.delete(party.key);
    party.ringTimer?.cancel();
    if (party.role === 'callee') this.terminate(call, RESULTS.declined());
    else if (party.role === 'invitee' && party.operationId) this.decideInvite(call, party.operationId, party.key, RESULTS.inviteDeclined());
    return undefined;
  }

  private partyHangsUp(call: SimCall, who: string | undefined): string | undefined {
    if (call.kind === 'peerToPeer') {
      const p = who === undefined ? call.primary() : call.findParticipant(who);
      if (who !== undefined && !p && !call.pending.has(who)) return `no participant '${who}'`;
      // the caller or callee leaving ends a two-party call, whatever its state
      this.terminate(call, RESULTS.ended());
      return undefined;
    }
    const p = who === undefined ? call.primary() : call.findParticipant(who);
    if (!p || p.isBot) return `no participant '${who ?? ''}'`;
    this.removeParticipant(call, p);
    return undefined;
  }

  private pressTones(call: SimCall, digits: string): string | undefined {
    if (!ACTIVE.includes(call.state)) return 'the call is not established';
    for (const digit of digits) {
      const tone = toneOf(digit);
      if (!tone) return `'${digit}' is not a DTMF digit`;
      for (const op of this.mediaQueues.get(call.id) ?? []) {
        const stops = op.stopTones;
        if (op.type === 'recordOperation' && stops && (stops.includes(digit) || stops.includes(tone))) {
          op.completion?.cancel();
          const q = this.mediaQueues.get(call.id)!;
          q.splice(q.indexOf(op), 1);
          this.finishRecording(call, op, 'stopToneDetected');
          q[0]?.start?.();
          break;
        }
      }
      // Tones reach the bot only once it subscribed (subscribeToTone).
      if (!call.toneSubscribed) continue;
      const sequenceId = ++call.toneSequence;
      call.tones.push({ sequenceId, tone });
      this.emitState(call, call.state, { toneInfo: { '@odata.type': '#microsoft.graph.toneInfo', sequenceId, tone } });
    }
    return undefined;
  }

  private startSharing(call: SimCall, sharer: string): void {
    if ([...call.sessions.values()].some((s) => !s.deleted && s.sharer === sharer)) return;
    const session = { id: call.rng.hex(64).toUpperCase(), sharer, deleted: false };
    call.sessions.set(session.id, session);
    if (call.contentSharingNotified) this.emit(call, [{ changeType: 'created', suffix: '/contentsharingsessions', data: [sessionJson(session)] }]);
  }

  private stopSharing(call: SimCall, sharer: string): void {
    for (const s of call.sessions.values()) {
      if (s.deleted || s.sharer !== sharer) continue;
      s.deleted = true;
      if (call.contentSharingNotified) this.emit(call, [{ changeType: 'deleted', suffix: '/contentsharingsessions', data: [sessionJson(s)] }]);
    }
  }

  // ---------------------------------------------------------------- roster and state plumbing

  private addParticipant(call: SimCall, p: SimParticipant): SimParticipant {
    call.participants.set(p.id, p);
    return p;
  }

  private addPending(call: SimCall, identity: Json, role: PendingParty['role'], operationId?: string): PendingParty {
    let key = identityIds(identity)[0] ?? call.rng.uuid();
    if (call.pending.has(key)) key = `${key}#${call.rng.hex(4)}`;
    const party: PendingParty = { key, identity, role, ...(operationId !== undefined ? { operationId } : {}) };
    call.pending.set(key, party);
    return party;
  }

  private removeParticipant(call: SimCall, p: SimParticipant): void {
    call.participants.delete(p.id);
    call.removedParticipantIds.push(p.id);
    this.stopSharing(call, p.id);
    this.emit(call, this.rosterChanged(call));
  }

  /**
   * The roster moved on: its sequence number goes up (notified or not), and for calls that
   * have roster notifications the full roster is returned for emission. Every participant
   * carries the roster's number, so a receiver can order whole rosters by it.
   */
  private rosterChanged(call: SimCall): Emission[] {
    call.rosterSequenceNumber++;
    if (!call.rosterNotified) return [];
    const bot = call.bot();
    const visible = bot?.isInLobby ? [bot] : [...call.participants.values()];
    return [{ changeType: 'updated', suffix: '/participants', data: visible.map((p) => participantJson(p, call.rosterSequenceNumber)) }];
  }

  private setState(call: SimCall, state: CallState, extra: Json = {}, also: Emission[] = []): void {
    call.state = state;
    call.stateHistory.push(state);
    this.emitState(call, state, extra, also);
    this.notifyListeners(call);
  }

  private notifyListeners(call: SimCall): void {
    for (const listener of [...call.stateListeners]) listener(call.state);
  }

  /** A call-resource notification with its state; `deleted` once terminated. */
  private emitState(call: SimCall, state: CallState, extra: Json = {}, also: Emission[] = []): void {
    const meeting = call.kind === 'meeting' ? { chatInfo: call.resource['chatInfo'], meetingInfo: call.resource['meetingInfo'] } : {};
    const data = callData(call.id, state, { callChainId: call.chainId, ...meeting, ...extra });
    this.emit(call, [{ changeType: state === 'terminated' ? 'deleted' : 'updated', suffix: '', data }, ...also]);
  }

  /** Records notifications and hands them, as one batch, to webhook delivery. */
  private emit(call: SimCall, items: readonly Emission[]): void {
    if (items.length === 0) return;
    const ctx = { callId: call.id, callbackUri: call.callbackUri, legacyResource: this.o.legacyResource };
    const now = this.scheduler.now();
    const records = items.map((item): NotificationRec => {
      const rec: NotificationRec = {
        seq: this.log.length + 1,
        callId: call.id,
        appId: call.appId,
        chainId: call.chainId,
        emittedAt: now,
        notification: commsNotification(ctx, item.changeType, item.suffix, item.data),
        acknowledged: false,
        attempts: 0,
      };
      this.log.push(rec);
      return rec;
    });
    call.notificationCount += records.length;
    this.o.dispatcher.enqueue(call.id, call.appId, call.callbackUri, records);
  }

  /** A call timer: cancelled when the call ends. Tracked timers count as pending work for waitForIdle. */
  private timer(call: SimCall, delayMs: number, run: () => void, tracked = true): TaskHandle {
    const handle = this.scheduler.after(
      delayMs,
      () => {
        call.timers.delete(handle);
        run();
      },
      { tracked },
    );
    call.timers.add(handle);
    return handle;
  }
}

const ORGANIZER = 'organizer';

function defaultAttendees(meetingInfo: Json): AttendeeSpec[] {
  const organizer = meetingInfo['organizer'];
  if (!isJson(organizer)) return [];
  const user = organizer['user'];
  const displayName = isJson(user) && typeof user['displayName'] === 'string' ? user['displayName'] : 'Organizer';
  return [{ participant: ORGANIZER, displayName }];
}

function firstPending(call: SimCall): PendingParty | undefined {
  return call.pending.values().next().value;
}

/** `+1555...` is a phone number, any other string a user id; an object is taken as an identity set. */
export function callerIdentity(from: CallerSpec, displayName?: string): Json {
  if (typeof from !== 'string') {
    if (identityKindOf(from) === undefined) throw new TypeError('placeIncomingCall: from must be an identity set or a shorthand string');
    return { '@odata.type': '#microsoft.graph.identitySet', ...from };
  }
  const kind: IdentityKind = from.startsWith('+') ? 'phone' : 'user';
  return identitySet(kind, from, kind === 'phone' ? undefined : (displayName ?? 'Caller'));
}
