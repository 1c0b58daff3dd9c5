import type { CallState, Logger } from '@switchboard/core';
import type { SimCall, SimOperation } from '../call.js';
import type { Dispatcher, NotificationRec } from '../delivery.js';
import type { Identity } from '../identity.js';
import type { ChangeType } from '../notifications.js';
import { stream, type Rng } from '../random.js';
import type { Scheduler } from '../scheduler.js';
import type { ScriptHost, ScriptRegistry, ScriptRunner } from '../scripts.js';
import type { GraphTimings, RemoteBehaviour } from '../types.js';

/**
 * What every part of the calls service shares: its options and the state of the simulated
 * Graph (the calls, the notification log, the running scripts, the media queues). The parts
 * are functions of this context, one module per concern; `CallService` holds it.
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
  readonly logger: Logger;
  readonly baseUrl: () => string;
}

/** A response the routes send as is. */
export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: { readonly [name: string]: string };
}

/** One notification to emit: the change, the path after the call's resource, the data. */
export interface Emission {
  readonly changeType: ChangeType;
  readonly suffix: string;
  readonly data: unknown;
}

/** States in which a call carries media and accepts media and roster commands. */
export const ACTIVE: readonly CallState[] = ['established', 'hold'];

export interface ServiceContext {
  readonly o: ServiceOptions;
  /** Every call, ended ones included (they answer 404 but keep their ground truth). */
  readonly calls: Map<string, SimCall>;
  /** Call ids. */
  readonly ids: Rng;
  /** Every notification emitted, in order. */
  readonly log: NotificationRec[];
  readonly runners: Set<ScriptRunner>;
  /** What scripts act through: the service's `act`. */
  readonly host: ScriptHost;
  /** Media operations (playPrompt, record) queue per call: Graph processes them in order. */
  readonly mediaQueues: Map<string, SimOperation[]>;
  /** Transfers started, for each one's random stream. */
  transfers: number;
  /** Finished recordings by operation id, served at their `recordingLocation`. */
  readonly recordings: Map<string, SimRecording>;
}

/** A finished `recordResponse`: what `GET /recordings/{id}` serves, to the holder of its token until it expires. */
interface SimRecording {
  readonly id: string;
  readonly callId: string;
  readonly accessToken: string;
  /** Graph time after which the token is refused. */
  readonly expiresAt: number;
  /** A WAV file (8 kHz, 16-bit mono PCM: a 440 Hz tone as long as the recording). */
  readonly bytes: Buffer;
}

export function createServiceContext(o: ServiceOptions, host: ScriptHost): ServiceContext {
  return {
    o,
    calls: new Map(),
    ids: stream(o.seed, 'ids'),
    log: [],
    runners: new Set(),
    host,
    mediaQueues: new Map(),
    transfers: 0,
    recordings: new Map(),
  };
}
