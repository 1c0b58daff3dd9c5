import type { SimCall } from '../call.js';
import { RESULTS } from '../notifications.js';
import type { Json } from '../types.js';
import { ACTIVE, type Reply, type ServiceContext } from './context.js';
import { decideInvite } from './operations.js';
import { emitState, setState, timer } from './plumbing.js';

/** A call's life: established, kept alive, ended (by the bot, a timeout or a remote party). */

/** DELETE /calls/{id}: the bot hangs up. */
export function hangUp(ctx: ServiceContext, call: SimCall): Reply {
  terminate(ctx, call, RESULTS.ended());
  return { status: 204 };
}

/** POST /calls/{id}/keepAlive: the call's keep-alive clock starts again. */
export function keepAlive(ctx: ServiceContext, call: SimCall): Reply {
  armKeepAlive(ctx, call);
  return { status: 200 };
}

/** The callee answered (or the bot did): established, then audio active. */
export function establish(ctx: ServiceContext, call: SimCall): void {
  if (call.state !== 'establishing' && call.state !== 'ringing') return;
  setState(ctx, call, 'established', { direction: call.direction });
  // Recorded traffic follows `established` with a media-state update.
  timer(ctx, call, 100, () => {
    if (!ACTIVE.includes(call.state)) return;
    call.mediaState = { '@odata.type': '#microsoft.graph.callMediaState', audio: 'active' };
    emitState(ctx, call, call.state, { mediaState: call.mediaState });
  });
}

/** Nobody answered in time: a callee's call ends, an invitee's invitation fails. */
export function ringingTimeout(ctx: ServiceContext, call: SimCall, key: string): void {
  const party = call.pending.get(key);
  if (!party) return;
  call.pending.delete(key);
  if (party.role === 'callee' && (call.state === 'establishing' || call.state === 'ringing')) terminate(ctx, call, RESULTS.notAnswered());
  if (party.role === 'invitee' && party.operationId) decideInvite(ctx, call, party.operationId, key, RESULTS.inviteNotAnswered());
}

/** Ends a call: `deleted` with state `terminated`; afterwards the call answers 404. */
export function terminate(ctx: ServiceContext, call: SimCall, info: Json, extra: Json = {}): void {
  if (call.terminated) return;
  call.resultInfo = info;
  call.endedAt = ctx.o.scheduler.now();
  cancelTimers(call);
  for (const runner of ctx.runners) {
    if (runner.call !== call) continue;
    runner.stop();
    ctx.runners.delete(runner);
  }
  setState(ctx, call, 'terminated', { resultInfo: info, ...extra });
}

/** Ends the call unless it is kept alive within `keepAliveMs`. */
export function armKeepAlive(ctx: ServiceContext, call: SimCall): void {
  call.keepAliveTimer?.cancel();
  call.keepAliveTimer = timer(ctx, call, ctx.o.timings.keepAliveMs, () => terminate(ctx, call, RESULTS.keepAliveExpired()), false);
}

/** Cancels every timer of the call (its ringing parties' and operations' included). */
export function cancelTimers(call: SimCall): void {
  for (const t of call.timers) t.cancel();
  call.timers.clear();
  for (const p of call.pending.values()) p.ringTimer?.cancel();
  for (const op of call.operations.values()) op.completion?.cancel();
}
