import type { CallState } from '@switchboard/core';
import type { Rng } from './random.js';
import type { TaskHandle } from './scheduler.js';
import type { AttendeeSpec, Json, RemoteScript } from './types.js';

/**
 * One simulated call: the authoritative state Graph holds, in Graph's own property names.
 * Everything here is data; {@link CallService} changes it and emits the notifications.
 */

export type IdentityKind = 'user' | 'guest' | 'phone' | 'application' | 'applicationInstance';

export interface SimParticipant {
  readonly id: string;
  /** What scripts call it: the attendee name, or its identity id. */
  readonly key: string;
  readonly identity: Json;
  readonly isBot: boolean;
  readonly mediaStreams: Json[];
  isMuted: boolean;
  isInLobby: boolean;
}

/** Someone the call is reaching out to who has not joined: a callee, a group target, an invitee. */
export interface PendingParty {
  readonly key: string;
  readonly identity: Json;
  readonly role: 'callee' | 'target' | 'invitee';
  readonly operationId?: string;
  ringTimer?: TaskHandle;
}

export interface SimOperation {
  readonly id: string;
  /** The bare type name: `playPromptOperation`. */
  readonly type: string;
  status: 'notStarted' | 'running' | 'completed' | 'failed';
  resultInfo?: Json;
  readonly clientContext?: string;
  /** Type-specific properties (prompts, participants, completionReason, ...). */
  readonly extra: Json;
  completion?: TaskHandle;
  /** Invites: invitees still to decide. */
  waitingFor?: Set<string>;
  failed?: boolean;
  /** Record: DTMF digits or tones that end the recording. */
  stopTones?: readonly string[];
  /** Record: its `maxRecordDurationInSeconds` (default 5). */
  recordMaxSeconds?: number;
  /** Media operations: the Graph time it reached the head of the call's media queue. */
  startedAt?: number;
  /** Media operations: starts its clock when it reaches the head of the call's media queue. */
  start?: () => void;
}

export interface SimSession {
  readonly id: string;
  readonly sharer: string;
  deleted: boolean;
}

export type CallKind = 'peerToPeer' | 'group' | 'meeting';

export class SimCall {
  state: CallState;
  readonly stateHistory: CallState[];
  resultInfo?: Json;
  readonly participants = new Map<string, SimParticipant>();
  readonly removedParticipantIds: string[] = [];
  readonly pending = new Map<string, PendingParty>();
  rosterSequenceNumber = 0;
  readonly operations = new Map<string, SimOperation>();
  readonly tones: { sequenceId: number; tone: string }[] = [];
  toneSequence = 0;
  toneSubscribed = false;
  readonly sessions = new Map<string, SimSession>();
  mediaState: Json | null = null;
  /** Every timer of this call: cancelled when it ends. */
  readonly timers = new Set<TaskHandle>();
  keepAliveTimer?: TaskHandle;
  answerDeadline?: TaskHandle;
  notificationCount = 0;
  /** Listeners for state changes (scripts waiting for a state). */
  readonly stateListeners = new Set<(state: CallState) => void>();
  /** A transfer under way: no second one until it ends. */
  transferring = false;
  endedAt?: number;
  /** Meetings: who is there when the bot gets in. */
  attendees: readonly AttendeeSpec[] = [];
  /** Incoming calls: the bot's identity as the caller dialled it (application or application instance). */
  botIdentity?: Json;
  recordingStatus?: string;
  /** beta: whether the bot's transcription of the call is on (`startTranscription` / `stopTranscription`). */
  transcriptionActive = false;
  /** Audio routing groups by id (`POST /calls/{id}/audioRoutingGroups`). */
  readonly audioRoutingGroups = new Map<string, Json>();

  constructor(
    readonly id: string,
    readonly appId: string,
    readonly direction: 'incoming' | 'outgoing',
    public kind: CallKind,
    initial: CallState,
    public callbackUri: string,
    readonly myParticipantId: string,
    readonly chainId: string,
    /** The call resource's properties as Graph shows them (not state, resultInfo, toneInfo, mediaState). */
    readonly resource: Json,
    readonly rng: Rng,
    readonly script: RemoteScript | undefined,
    public contentSharingNotified: boolean,
    readonly apiVersion: 'v1.0' | 'beta',
  ) {
    this.state = initial;
    this.stateHistory = [initial];
  }

  get rosterNotified(): boolean {
    return this.kind !== 'peerToPeer';
  }

  get terminated(): boolean {
    return this.state === 'terminated';
  }

  bot(): SimParticipant | undefined {
    return this.participants.get(this.myParticipantId);
  }

  /** A participant by id, script key or identity id. */
  findParticipant(who: string): SimParticipant | undefined {
    const direct = this.participants.get(who);
    if (direct) return direct;
    for (const p of this.participants.values()) if (p.key === who || identityIds(p.identity).includes(who)) return p;
    return undefined;
  }

  /** The primary remote party: the callee of an outgoing call, the caller of an incoming one. */
  primary(): SimParticipant | undefined {
    for (const p of this.participants.values()) if (!p.isBot) return p;
    return undefined;
  }
}

/** The ids in an identity set (`user.id`, `phone.id`, ...). */
export function identityIds(identitySet: Json): string[] {
  const ids: string[] = [];
  for (const [kind, value] of Object.entries(identitySet)) {
    if (kind.startsWith('@')) continue;
    if (isJson(value) && typeof value['id'] === 'string') ids.push(value['id']);
  }
  return ids;
}

export function identityKindOf(identitySet: Json): IdentityKind | undefined {
  for (const kind of ['applicationInstance', 'application', 'phone', 'guest', 'user'] as const) {
    if (isJson(identitySet[kind])) return kind;
  }
  return undefined;
}

export function identitySet(kind: IdentityKind, id: string, displayName?: string, tenantId?: string): Json {
  return {
    '@odata.type': '#microsoft.graph.identitySet',
    [kind]: {
      '@odata.type': '#microsoft.graph.identity',
      id,
      ...(displayName !== undefined ? { displayName } : {}),
      ...(tenantId !== undefined && kind !== 'phone' ? { tenantId } : {}),
    },
  };
}

/** Audio for bots and phones; users also get video and screen-sharing streams, as in the docs' roster. */
export function mediaStreamsFor(kind: IdentityKind | undefined, rng: Rng): Json[] {
  const base = rng.int(1, 900);
  const stream = (mediaType: string, offset: number, direction: string): Json => ({
    '@odata.type': '#microsoft.graph.mediaStream',
    mediaType,
    sourceId: String(base + offset),
    direction,
    serverMuted: false,
  });
  if (kind === 'user' || kind === 'guest') {
    return [stream('audio', 0, 'sendReceive'), stream('video', 1, 'receiveOnly'), stream('videoBasedScreenSharing', 7, 'receiveOnly')];
  }
  return [stream('audio', 0, 'sendReceive')];
}

/** A participant as Graph shows it in a roster or `GET participants`. */
export function participantJson(p: SimParticipant, rosterSequenceNumber: number): Json {
  return {
    '@odata.type': '#microsoft.graph.participant',
    info: {
      '@odata.type': '#microsoft.graph.participantInfo',
      identity: p.identity,
      endpointType: 'default',
      participantId: p.id,
      ...(p.isBot ? {} : { languageId: 'en-US' }),
    },
    mediaStreams: p.mediaStreams,
    isMuted: p.isMuted,
    isInLobby: p.isInLobby,
    rosterSequenceNumber,
    id: p.id,
  };
}

export function operationJson(op: SimOperation): Json {
  return {
    '@odata.type': `#microsoft.graph.${op.type}`,
    ...op.extra,
    status: op.status,
    clientContext: op.clientContext ?? null,
    resultInfo: op.resultInfo ?? null,
    id: op.id,
  };
}

export function sessionJson(s: SimSession): Json {
  return { '@odata.type': '#microsoft.graph.contentSharingSession', id: s.id };
}

/** The call as `GET /calls/{id}` returns it. */
export function callJson(call: SimCall, baseUrl: string): Json {
  const last = call.tones[call.tones.length - 1];
  return {
    '@odata.type': '#microsoft.graph.call',
    '@odata.context': `${baseUrl}/${call.apiVersion}/$metadata#app/calls/$entity`,
    ...call.resource,
    state: call.state,
    direction: call.direction,
    mediaState: call.mediaState,
    resultInfo: call.resultInfo ?? null,
    toneInfo: last ? { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: last.sequenceId, tone: last.tone } : null,
    id: call.id,
  };
}

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
