import { operationJson, type SimCall, type SimOperation } from '../call.js';
import { badRequest, notFound } from '../http.js';
import { RESULTS } from '../notifications.js';
import type { Json } from '../types.js';
import { ACTIVE, type Reply, type ServiceContext } from './context.js';
import { emit } from './plumbing.js';

/**
 * Operations (`commsOperation`s): created by the media and participant actions, answered with
 * their `Location`, and ended by a `deleted` notification on `/operations/{id}`.
 */

/** Graph's 400 unless the call is established (or on hold). */
export function requireActive(call: SimCall, what: string): void {
  if (!ACTIVE.includes(call.state)) throw badRequest(`Cannot ${what}: the call is ${call.state}, not established.`);
}

/** A new operation of the call, in `status`. */
export function newOperation(
  call: SimCall,
  type: string,
  status: SimOperation['status'],
  extra: Json,
  clientContext: string | undefined,
): SimOperation {
  const op: SimOperation = {
    id: call.rng.uuid(),
    type,
    status,
    extra: { ...extra },
    ...(clientContext !== undefined ? { clientContext } : {}),
  };
  call.operations.set(op.id, op);
  return op;
}

/** The answer to an action that started `op`: its JSON and its `Location`. */
export function operationReply(ctx: ServiceContext, call: SimCall, op: SimOperation, status: number): Reply {
  return {
    status,
    body: operationJson(op),
    headers: { Location: `${ctx.o.baseUrl()}/${call.apiVersion}/communications/calls/${call.id}/operations/${op.id}` },
  };
}

/** An operation ends: `deleted` on `/operations/{id}`, as in the recorded prompt completion. */
export function completeOperation(
  ctx: ServiceContext,
  call: SimCall,
  op: SimOperation,
  status: 'completed' | 'failed',
  info: Json | undefined,
  extra: Json = {},
): void {
  if (op.status === 'completed' || op.status === 'failed' || call.terminated) return;
  op.status = status;
  if (info) op.resultInfo = info;
  Object.assign(op.extra, extra);
  const suffix = `/operations/${op.id}`;
  const data = { ...operationJson(op), '@odata.id': `/communications/calls/${call.id}${suffix}` };
  emit(ctx, call, [{ changeType: 'deleted', suffix, data }]);
}

/** An invitee answered (`failure` undefined), declined or did not answer; the last one decides the invitation. */
export function decideInvite(ctx: ServiceContext, call: SimCall, operationId: string, key: string, failure: Json | undefined): void {
  const op = call.operations.get(operationId);
  if (!op?.waitingFor) return;
  op.waitingFor.delete(key);
  if (failure) {
    op.failed = true;
    op.resultInfo = failure;
  }
  if (op.waitingFor.size > 0) return;
  if (op.failed) completeOperation(ctx, call, op, 'failed', op.resultInfo ?? RESULTS.inviteDeclined());
  else completeOperation(ctx, call, op, 'completed', undefined);
}

/** GET /calls/{id}/operations/{operationId}. */
export function getOperation(call: SimCall, operationId: string): Json {
  const op = call.operations.get(operationId);
  if (!op) throw notFound(`The operation '${operationId}' was not found in call '${call.id}'.`);
  return operationJson(op);
}
