import type { Logger } from '@switchboard/core';
import type { SimCall } from '../call.js';
import type { NotificationRec } from '../delivery.js';
import { notFound } from '../http.js';
import type { Scheduler } from '../scheduler.js';
import type { ScriptHost } from '../scripts.js';
import type { IncomingCallOptions, RemoteScript, ScriptStep } from '../types.js';
import { createServiceContext, type Reply, type ServiceContext, type ServiceOptions } from './context.js';
import { placeIncoming } from './incoming.js';
import { cancelTimers } from './lifecycle.js';
import { serveRecording } from './media.js';
import { act, run } from './remote.js';

export type { Reply, ServiceContext, ServiceOptions } from './context.js';

/**
 * The simulated calls service: Graph's side of every call. Routes call into it for the
 * bot's requests, scripts call into it for the remote parties' actions, and every change it
 * makes is emitted as the notifications Graph would send. It owns the ground truth.
 *
 * The work is done by functions of its {@link ServiceContext}, one module per concern:
 * `outgoing.ts` (create), `incoming.ts` (answer, reject, redirect), `lifecycle.ts` (establish,
 * keep alive, hang up, end), `transfer.ts`, `participants.ts`, `media.ts` (IVR operations and
 * content sharing), `operations.ts`, `meeting.ts` (attendees, lobby), `remote.ts` (the remote
 * parties' steps) and `plumbing.ts` (roster, state and notifications). The routes call those
 * with `ctx`; this class keeps the lookups and is the scripts' host.
 */
export class CallService implements ScriptHost {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** What the service's parts share. */
  readonly ctx: ServiceContext;

  constructor(o: ServiceOptions) {
    this.scheduler = o.scheduler;
    this.logger = o.logger;
    this.ctx = createServiceContext(o, this);
  }

  // ---------------------------------------------------------------- lookups

  all(): SimCall[] {
    return [...this.ctx.calls.values()];
  }

  get(callId: string): SimCall | undefined {
    return this.ctx.calls.get(callId);
  }

  notifications(): readonly NotificationRec[] {
    return this.ctx.log;
  }

  /** The app's live call, or Graph's 404: unknown ids, other apps' calls and ended calls alike. */
  live(appId: string, callId: string): SimCall {
    const call = this.ctx.calls.get(callId);
    if (!call || call.appId.toLowerCase() !== appId.toLowerCase() || call.terminated) {
      throw notFound(`The call '${callId}' was not found.`);
    }
    return call;
  }

  /** `GET /recordings/{id}` (a finished recording's `recordingLocation`), its `Authorization` header checked. */
  recording(id: string, authorization: string | undefined): Reply {
    return serveRecording(this.ctx, id, authorization);
  }

  stop(): void {
    for (const runner of this.ctx.runners) runner.stop();
    this.ctx.runners.clear();
    for (const call of this.ctx.calls.values()) cancelTimers(call);
  }

  // ---------------------------------------------------------------- the testkit's and the scripts' way in

  /** A call to the bot (see `incoming.ts`). */
  placeIncoming(options: IncomingCallOptions): SimCall {
    return placeIncoming(this.ctx, options);
  }

  /** Performs a script step now. Returns why it does not apply, or undefined when it did. */
  act(call: SimCall, step: ScriptStep, participant: string | undefined): string | undefined {
    return act(this.ctx, call, step, participant);
  }

  /** Starts a script on a call; steps without a participant concern `participant`. */
  run(call: SimCall, script: RemoteScript, participant: string | undefined): void {
    run(this.ctx, call, script, participant);
  }
}
