import type { CallState } from '@switchboard/core';
import { identityIds, participantJson, sessionJson, type PendingParty, type SimCall, type SimParticipant } from '../call.js';
import type { NotificationRec } from '../delivery.js';
import { callData, commsNotification } from '../notifications.js';
import type { TaskHandle } from '../scheduler.js';
import type { Json } from '../types.js';
import type { Emission, ServiceContext } from './context.js';

/**
 * Roster and state plumbing: how every other part changes a call. A participant joins or
 * leaves, the roster's sequence number moves, the state changes, and each change goes out as
 * the notifications Graph would send (recorded in the log, then handed to webhook delivery).
 * Call timers are cancelled when the call ends.
 */

/** Puts `p` in the roster (without notifying: the caller does, with `rosterChanged`). */
export function addParticipant(call: SimCall, p: SimParticipant): SimParticipant {
  call.participants.set(p.id, p);
  return p;
}

/** A party being called (callee, group target, invitee), keyed by its identity id. */
export function addPending(call: SimCall, identity: Json, role: PendingParty['role'], operationId?: string): PendingParty {
  let key = identityIds(identity)[0] ?? call.rng.uuid();
  if (call.pending.has(key)) key = `${key}#${call.rng.hex(4)}`;
  const party: PendingParty = { key, identity, role, ...(operationId !== undefined ? { operationId } : {}) };
  call.pending.set(key, party);
  return party;
}

/** `p` leaves: its sharing ends and the roster is notified. */
export function removeParticipant(ctx: ServiceContext, call: SimCall, p: SimParticipant): void {
  call.participants.delete(p.id);
  call.removedParticipantIds.push(p.id);
  stopSharing(ctx, call, p.id);
  emit(ctx, call, rosterChanged(call));
}

/**
 * The roster moved on: its sequence number goes up (notified or not), and for calls that
 * have roster notifications the full roster is returned for emission. Every participant
 * carries the roster's number, so a receiver can order whole rosters by it.
 */
export function rosterChanged(call: SimCall): Emission[] {
  call.rosterSequenceNumber++;
  if (!call.rosterNotified) return [];
  const bot = call.bot();
  const visible = bot?.isInLobby ? [bot] : [...call.participants.values()];
  return [{ changeType: 'updated', suffix: '/participants', data: visible.map((p) => participantJson(p, call.rosterSequenceNumber)) }];
}

/** Moves the call to `state`, notifies it (with `also` in the same batch), and wakes the state listeners. */
export function setState(ctx: ServiceContext, call: SimCall, state: CallState, extra: Json = {}, also: Emission[] = []): void {
  call.state = state;
  call.stateHistory.push(state);
  emitState(ctx, call, state, extra, also);
  notifyListeners(call);
}

function notifyListeners(call: SimCall): void {
  for (const listener of [...call.stateListeners]) listener(call.state);
}

/** A call-resource notification with its state; `deleted` once terminated. */
export function emitState(ctx: ServiceContext, call: SimCall, state: CallState, extra: Json = {}, also: Emission[] = []): void {
  const meeting = call.kind === 'meeting' ? { chatInfo: call.resource['chatInfo'], meetingInfo: call.resource['meetingInfo'] } : {};
  const data = callData(call.id, state, { callChainId: call.chainId, ...meeting, ...extra });
  emit(ctx, call, [{ changeType: state === 'terminated' ? 'deleted' : 'updated', suffix: '', data }, ...also]);
}

/** Records notifications and hands them, as one batch, to webhook delivery. */
export function emit(ctx: ServiceContext, call: SimCall, items: readonly Emission[]): void {
  if (items.length === 0) return;
  const resource = { callId: call.id, callbackUri: call.callbackUri, legacyResource: ctx.o.legacyResource };
  const now = ctx.o.scheduler.now();
  const records = items.map((item): NotificationRec => {
    const rec: NotificationRec = {
      seq: ctx.log.length + 1,
      callId: call.id,
      appId: call.appId,
      chainId: call.chainId,
      emittedAt: now,
      notification: commsNotification(resource, item.changeType, item.suffix, item.data),
      acknowledged: false,
      attempts: 0,
    };
    ctx.log.push(rec);
    return rec;
  });
  call.notificationCount += records.length;
  ctx.o.dispatcher.enqueue(call.id, call.appId, call.callbackUri, records);
}

/** A call timer: cancelled when the call ends. Tracked timers count as pending work for waitForIdle. */
export function timer(ctx: ServiceContext, call: SimCall, delayMs: number, run: () => void, tracked = true): TaskHandle {
  const handle = ctx.o.scheduler.after(
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

/** `sharer` starts a content-sharing session (one at a time), notified when the call asked for it. */
export function startSharing(ctx: ServiceContext, call: SimCall, sharer: string): void {
  if ([...call.sessions.values()].some((s) => !s.deleted && s.sharer === sharer)) return;
  const session = { id: call.rng.hex(64).toUpperCase(), sharer, deleted: false };
  call.sessions.set(session.id, session);
  if (call.contentSharingNotified)
    emit(ctx, call, [{ changeType: 'created', suffix: '/contentsharingsessions', data: [sessionJson(session)] }]);
}

/** Ends `sharer`'s sessions. */
export function stopSharing(ctx: ServiceContext, call: SimCall, sharer: string): void {
  for (const s of call.sessions.values()) {
    if (s.deleted || s.sharer !== sharer) continue;
    s.deleted = true;
    if (call.contentSharingNotified)
      emit(ctx, call, [{ changeType: 'deleted', suffix: '/contentsharingsessions', data: [sessionJson(s)] }]);
  }
}
