import type { CallState, Logger } from '@switchboard/core';

/** A loose JSON object, the shape of Graph's wire values. */
export type Json = { [key: string]: unknown };

/** A bot registered with the simulated tenant (an Entra app registration plus its calling webhook). */
export interface AppRegistration {
  readonly appId: string;
  readonly tenantId: string;
  readonly clientSecret: string;
  /** Where incoming-call notifications go (the bot's calling webhook). Plain http is accepted on loopback. */
  readonly callbackUri: string;
  /** Shown as the application identity's displayName. */
  readonly displayName?: string;
  /**
   * The public half of the app's certificate (SPKI or X.509 PEM). When given, a
   * `client_assertion` must be signed by it; without it an assertion is only checked for shape.
   */
  readonly assertionKey?: string;
}

/**
 * Sink for the simulator's own diagnostics: core's `Logger` (pino-compatible).
 * @deprecated Use `Logger` from `@switchboard/core`.
 */
export type SimulatorLogger = Logger;

/**
 * Fault rates (0..1) and their knobs. Every decision is drawn from the seeded PRNG, per
 * call, so a seed gives the same faults on every run. All durations are Graph milliseconds
 * (scaled by `timeScale`).
 */
export interface FaultOptions {
  /** Hold a webhook delivery back until 1..`reorderWindow` later deliveries of the same call went out. */
  readonly reorder?: number;
  /** How many later deliveries may overtake a reordered one (default 3). */
  readonly reorderWindow?: number;
  /** A held delivery goes out after this long even if nothing overtook it (default 2000). */
  readonly reorderMaxHoldMs?: number;
  /** Deliver the same message (same message id, same body) a second time. */
  readonly duplicate?: number;
  /** How much later the copy goes out, [min, max] (default [0, 1500]). */
  readonly duplicateDelayMs?: readonly [number, number];
  /** Add an extra delay to a delivery. */
  readonly delay?: number;
  /** The extra delay, [min, max] (default [200, 3000]). */
  readonly delayMs?: readonly [number, number];
  /** Lose a delivery's first attempt (never sent) and redeliver it later. */
  readonly drop?: number;
  /** When a dropped delivery comes again, [min, max] (default [1000, 4000]). */
  readonly redeliverMs?: readonly [number, number];
  /** Split a multi-notification batch into one POST per notification. */
  readonly split?: number;
  /** Hold a batch and send it in one POST with the next batch for the same webhook. */
  readonly merge?: number;
  /** A merged batch waits at most this long for a partner (default 1000). */
  readonly mergeMaxHoldMs?: number;
  /** Start a burst of `429 Too Many Requests` on the Graph API. */
  readonly throttle?: number;
  /** Start a burst of `503 Service Unavailable` on the Graph API. */
  readonly unavailable?: number;
  /** How many consecutive requests a 429/503 burst answers, [min, max] (default [1, 3]). */
  readonly burstLength?: readonly [number, number];
  /** `Retry-After` in Graph seconds, sent scaled and rounded up (default 2). */
  readonly retryAfterSeconds?: number;
  /** Answer a Graph API request slowly (the request takes effect at once, the response waits). */
  readonly slow?: number;
  /** The extra response time, [min, max] (default [500, 3000]). */
  readonly slowMs?: readonly [number, number];
}

/** Graph's timers and the simulated world's pace, in Graph milliseconds. */
export interface GraphTimings {
  /** An incoming call not answered within this is dropped (Graph: 15 s). */
  readonly incomingAnswerMs: number;
  /** A call without keepAlive for this long is ended (Graph: 45 min). */
  readonly keepAliveMs: number;
  /** Outgoing ringing timeout when the request has no `ringingTimeoutInSeconds` (60 s). */
  readonly ringingMs: number;
  /** A remote party with no script answers after this (1 s). */
  readonly answerDelayMs: number;
  /** establishing -> established for answered incoming calls, group calls and meeting joins (300 ms). */
  readonly establishMs: number;
  /** A guest/lobby bot with no script is admitted after this (2 s). */
  readonly lobbyAdmitMs: number;
  /** Each prompt of a playPrompt plays this long (2 s). */
  readonly promptMs: number;
  /** An invited party with no script answers after this (1.5 s). */
  readonly inviteAnswerMs: number;
  /** A transfer target with no script accepts after this (1 s). */
  readonly transferMs: number;
  /** Base webhook latency, [min, max] (default [5, 25]). */
  readonly deliveryLatencyMs: readonly [number, number];
  /** First retry after a failed delivery; doubles per attempt (1 s). */
  readonly retryBackoffMs: number;
  /**
   * How long a finished recording is served at its `recordingLocation` with its
   * `recordingAccessToken`, from the end of the recording (10 min: the simulator's choice,
   * Graph's documentation gives no figure); later the token is refused with 401.
   */
  readonly recordingAccessMs: number;
}

/** How remote parties without a script behave: always answer, or behave at random from the seed. */
export type RemoteBehaviour = 'answer' | 'random';

export interface SimulatorOptions {
  readonly apps: readonly AppRegistration[];
  /** Seeds every random choice and fault (default 1). */
  readonly seed?: number;
  /** Real time per Graph time: 1 = real time, 0.01 = 100x faster (default 1). */
  readonly timeScale?: number;
  /** TCP port on 127.0.0.1 (default 0: an ephemeral port). */
  readonly port?: number;
  readonly faults?: FaultOptions;
  /** The simulator's own diagnostics (a pino-compatible logger); silent by default. */
  readonly logger?: Logger;
  /** Scripts for remote parties, keyed as {@link Simulator.scriptRemote} keys them. */
  readonly remotes?: { readonly [key: string]: Script };
  /** Behaviour of unscripted remote parties (default 'answer'). */
  readonly remoteBehaviour?: RemoteBehaviour;
  readonly timings?: Partial<GraphTimings>;
  /** Attempts per webhook delivery before the simulator gives up (default 5). */
  readonly maxDeliveryAttempts?: number;
  /** Webhook POSTs in flight at once per callback URL (default 1: arrival order is reproducible). */
  readonly deliveryConcurrency?: number;
  /** Real milliseconds a webhook POST may take before it counts as failed (default 5000). */
  readonly deliveryTimeoutMs?: number;
  /** Also send the older `resource` (`/app/calls/...`) beside `resourceUrl`, as real traffic does (default true). */
  readonly legacyResource?: boolean;
  /** Lifetime of issued access tokens, real seconds (default 3599, like Entra). */
  readonly tokenLifetimeSeconds?: number;
  /**
   * Give this simulator its own signing keys. By default the simulators of one process start
   * with the same key pair (RSA generation is slow); rotation always makes a fresh key.
   */
  readonly isolatedKeys?: boolean;
}

/**
 * One thing a remote party (or the meeting around the bot) does. Steps run in order; `after`
 * is a Graph-millisecond wait before the step. `participant` names an attendee by the key
 * given when it joined (or its identity id); without it the step concerns the primary
 * remote party (the callee of an outgoing call, the caller of an incoming one).
 */
export type ScriptStep =
  | { readonly do: 'wait'; readonly ms: number }
  | { readonly do: 'waitFor'; readonly state: CallState }
  | { readonly do: 'ring'; readonly after?: number }
  | { readonly do: 'answer'; readonly after?: number }
  | { readonly do: 'reject'; readonly after?: number }
  | { readonly do: 'noAnswer' }
  | { readonly do: 'hangUp'; readonly after?: number; readonly participant?: string }
  | { readonly do: 'dtmf'; readonly digits: string; readonly intervalMs?: number; readonly after?: number }
  | { readonly do: 'shareScreen'; readonly after?: number; readonly participant?: string }
  | { readonly do: 'updateSharing'; readonly after?: number }
  | { readonly do: 'stopSharing'; readonly after?: number }
  | {
      readonly do: 'join';
      readonly participant: string;
      readonly displayName?: string;
      readonly lobby?: boolean;
      readonly identity?: 'user' | 'guest' | 'phone';
      readonly after?: number;
    }
  | { readonly do: 'admit'; readonly participant: string; readonly after?: number }
  | { readonly do: 'remove'; readonly participant: string; readonly after?: number }
  | { readonly do: 'mute'; readonly participant?: string; readonly after?: number }
  | { readonly do: 'unmute'; readonly participant?: string; readonly after?: number }
  | { readonly do: 'hold'; readonly after?: number }
  | { readonly do: 'resume'; readonly after?: number }
  | { readonly do: 'admitBot'; readonly after?: number }
  | { readonly do: 'denyBot'; readonly after?: number }
  | { readonly do: 'endCall'; readonly after?: number };

/** Someone already in a meeting when the bot joins. */
export interface AttendeeSpec {
  /** The name scripts use for it; `organizer` is the meeting's organizer, with its identity from meetingInfo. */
  readonly participant: string;
  readonly displayName?: string;
  readonly identity?: 'user' | 'guest' | 'phone';
  readonly lobby?: boolean;
  readonly muted?: boolean;
}

/** What a remote party (or meeting) does, and how it reacts to the bot's requests. */
export interface RemoteScript {
  readonly steps?: readonly ScriptStep[];
  /** Meetings: who is there when the bot joins (default: the organizer, when meetingInfo names one). */
  readonly attendees?: readonly AttendeeSpec[];
  /** Meetings: the bot waits in the lobby until an `admitBot` / `denyBot` step (guest joins default to true). */
  readonly botLobby?: boolean;
  /** A transfer of this call (or to this party) is accepted, or fails with subcode 7000 / 7700. */
  readonly onTransfer?: 'accept' | 'fail' | { readonly fail: 7000 | 7700 };
  /**
   * When the bot invites this party (`participants/invite`): it answers, declines (the
   * invitation fails), or never answers (it fails when the ringing times out). It replaces the
   * script's own answer / reject / noAnswer steps for invitations; without it, the steps
   * decide (and an unscripted party answers).
   */
  readonly onInvite?: 'accept' | 'decline' | 'noAnswer';
}

/** A script: a list of steps, or the full form. */
export type Script = RemoteScript | readonly ScriptStep[];

/** Who calls the bot: an identity set, or a shorthand (`+1555...` is a phone number, anything else a user id). */
export type CallerSpec = string | Json;

export interface IncomingCallOptions {
  readonly appId: string;
  readonly from: CallerSpec;
  readonly script?: Script;
  /** The caller's display name when `from` is a shorthand. */
  readonly displayName?: string;
  /** Ring an application instance (a PSTN number) rather than the application itself. */
  readonly applicationInstanceId?: string;
  readonly requestedModalities?: readonly string[];
}

/** A participant as Graph reports it. */
export interface ParticipantTruth {
  readonly '@odata.type': '#microsoft.graph.participant';
  readonly id: string;
  readonly info: Json;
  readonly mediaStreams: readonly Json[];
  readonly isMuted: boolean;
  readonly isInLobby: boolean;
  readonly rosterSequenceNumber: number;
  readonly [key: string]: unknown;
}

export interface OperationTruth {
  readonly id: string;
  readonly '@odata.type': string;
  readonly status: 'notStarted' | 'running' | 'completed' | 'failed';
  readonly resultInfo?: Json;
  readonly clientContext?: string;
  readonly [key: string]: unknown;
}

/** The simulator's authoritative view of one call, in Graph's shapes. */
export interface GroundTruthCall {
  readonly id: string;
  readonly appId: string;
  readonly state: CallState;
  readonly direction: 'incoming' | 'outgoing';
  readonly kind: 'peerToPeer' | 'group' | 'meeting';
  readonly resultInfo?: Json;
  /** Every state the call was in, in order (each was notified). */
  readonly stateHistory: readonly CallState[];
  /** Present participants only. */
  readonly participants: readonly ParticipantTruth[];
  readonly removedParticipantIds: readonly string[];
  readonly rosterSequenceNumber: number;
  /** False for peer-to-peer calls: Graph sends them call-state notifications only. */
  readonly rosterNotified: boolean;
  readonly operations: { readonly [id: string]: OperationTruth };
  /** DTMF tones as notified (only after subscribeToTone). */
  readonly tones: readonly { readonly sequenceId: number; readonly tone: string }[];
  /** Content-sharing sessions by id; `deleted` once the sharing ended. */
  readonly contentSharingSessions: { readonly [id: string]: { readonly id: string; readonly deleted: boolean } };
  /** Whether content-sharing notifications are sent (`callOptions.isContentSharingNotificationEnabled`). */
  readonly contentSharingNotified: boolean;
  readonly myParticipantId: string;
  readonly callbackUri: string;
  /** The call resource as GET returns it (also after termination, for inspection). */
  readonly resource: Json;
  /** How many notifications were emitted for this call. */
  readonly notificationCount: number;
}

/** One commsNotification the simulator emitted, and what became of it. */
export interface NotificationRecord {
  /** Emission order across the simulator, from 1. */
  readonly seq: number;
  readonly callId: string;
  readonly appId: string;
  /** Graph time (ms) of emission. */
  readonly emittedAt: number;
  readonly notification: Json;
  /** True once a POST carrying it got a 2xx answer. */
  readonly acknowledged: boolean;
  /** POSTs that carried it (duplicates and redeliveries included). */
  readonly attempts: number;
}

export type DeliveryFault = 'reordered' | 'duplicate' | 'delayed' | 'dropped' | 'split' | 'merged' | 'redelivery' | 'retry';

/** One webhook POST (or a dropped attempt that never left). */
export interface DeliveryRecord {
  /** Order of the attempts, from 1. */
  readonly index: number;
  /** `X-Microsoft-Skype-Message-ID`: the same for a duplicate or a redelivery of one message. */
  readonly messageId: string;
  readonly callbackUri: string;
  readonly appId: string;
  /** 1 for a message's first attempt. */
  readonly attempt: number;
  /** The notifications carried (their `seq`s). */
  readonly notificationSeqs: readonly number[];
  readonly callIds: readonly string[];
  readonly faults: readonly DeliveryFault[];
  readonly outcome: 'acknowledged' | 'rejected' | 'error' | 'dropped';
  readonly status?: number;
  readonly error?: string;
  /** Graph time (ms) the POST started. */
  readonly at: number;
}

/** One Graph API request the simulator answered. */
export interface RequestRecord {
  readonly method: string;
  /** The path as received. */
  readonly path: string;
  /** The path with ids replaced: `/calls/{id}/participants/{participantId}/mute`. */
  readonly template: string;
  readonly apiVersion: 'v1.0' | 'beta';
  readonly callId?: string;
  readonly status: number;
  readonly appId?: string;
  readonly clientRequestId?: string;
  readonly at: number;
}

/** Options of a raw webhook POST (transport tests of signature checking). */
export interface RawDeliveryOptions {
  readonly appId: string;
  readonly body: unknown;
  /** Override the app's callbackUri. */
  readonly callbackUri?: string;
  /** `valid` (default), `none` (no Authorization), `expired`, `wrongAudience`, `wrongIssuer`, `unknownKey`. */
  readonly token?: 'valid' | 'none' | 'expired' | 'wrongAudience' | 'wrongIssuer' | 'unknownKey';
  readonly headers?: { readonly [name: string]: string };
}
