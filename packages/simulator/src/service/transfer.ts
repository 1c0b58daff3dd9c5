import { identityIds, type SimCall } from '../call.js';
import { badRequest } from '../http.js';
import { RESULTS } from '../notifications.js';
import { stream } from '../random.js';
import { decisionOf } from '../scripts.js';
import type { Json, RemoteScript } from '../types.js';
import { checkTransfer } from '../validate.js';
import type { Reply, ServiceContext } from './context.js';
import { emitState, setState, timer } from './plumbing.js';
import { terminate } from './lifecycle.js';

/** Transfer: the transferee accepts (the call ends) or fails (the call stays established). */

/** POST /calls/{id}/transfer: `transferring`, then accepted (the call ends) or failed (back to established with the failure). */
export function transfer(ctx: ServiceContext, call: SimCall, body: unknown): Reply {
  if (call.state !== 'established') throw badRequest(`Cannot transfer the call in state '${call.state}': it must be established.`);
  if (call.transferring) throw badRequest('A transfer of this call is already in progress.');
  const t = checkTransfer(body);
  call.transferring = true;
  const targetKeys = identityIds(t.target['identity'] as Json);
  const outcome = transferOutcome(ctx, call, targetKeys);
  const draw = stream(ctx.o.seed, `transfer:${call.id}:${++ctx.transfers}`);
  timer(ctx, call, 100, () => {
    if (call.state !== 'established') return void (call.transferring = false);
    setState(ctx, call, 'transferring');
  });
  timer(ctx, call, 100 + ctx.o.timings.transferMs, () => {
    if (call.state !== 'transferring') return void (call.transferring = false);
    if (outcome === 'accept') {
      // "Transfer accepted may happen after or before media state audio inactive."
      const mediaFirst = draw.chance(0.5);
      const inactive = (): void => {
        call.mediaState = { '@odata.type': '#microsoft.graph.callMediaState', audio: 'inactive' };
        emitState(ctx, call, call.state, { mediaState: call.mediaState });
      };
      if (mediaFirst) inactive();
      setState(ctx, call, 'transferAccepted');
      if (!mediaFirst) inactive();
      timer(ctx, call, 300, () => {
        if (t.replacesCallId) {
          const consulted = ctx.calls.get(t.replacesCallId);
          if (consulted && consulted.appId === call.appId)
            terminate(ctx, consulted, RESULTS.transferCompleted(), { terminationReason: 'AppTransferred' });
          terminate(ctx, call, RESULTS.transferCompleted(), { terminationReason: 'AppTransferred' });
        } else {
          terminate(ctx, call, RESULTS.transferCompleted());
        }
      });
      return;
    }
    call.transferring = false;
    const info = RESULTS.transferFailed(outcome.fail);
    call.resultInfo = info;
    setState(ctx, call, 'established', { resultInfo: info });
  });
  return { status: 202 };
}

/** How the transfer ends: as the call's own script says, else as the target's script says or decides, else accepted. */
function transferOutcome(ctx: ServiceContext, call: SimCall, targetKeys: readonly string[]): 'accept' | { fail: 7000 | 7700 } {
  const normalize = (v: RemoteScript['onTransfer']): 'accept' | { fail: 7000 | 7700 } | undefined =>
    v === undefined ? undefined : v === 'fail' ? { fail: 7000 } : v;
  const own = normalize(call.script?.onTransfer);
  if (own) return own;
  const targetScript = ctx.o.registry.peek(targetKeys);
  const declared = normalize(targetScript?.onTransfer);
  if (declared) return declared;
  const decision = decisionOf(targetScript);
  if (decision === 'reject') return { fail: 7700 };
  if (decision === 'noAnswer') return { fail: 7000 };
  return 'accept';
}
