import { CALL_STATES, type CallState } from '../log/entries.js';

/**
 * The documented `callState` lifecycle, as data. Everything the machine does with call
 * states is derived from these two tables, so tests can check the machine against them.
 */

/**
 * Rank orders states along the lifecycle: a notification that would move a call to a lower
 * rank is stale. `established` and `hold` share a rank (a call moves both ways between them).
 *
 * The design card ranks `incoming` and `establishing` together; they are split here because
 * an answered incoming call goes incoming -> establishing and never back.
 */
export const STATE_RANK: Readonly<Record<CallState, number>> = {
  incoming: 0,
  establishing: 1,
  ringing: 2,
  established: 3,
  hold: 3,
  transferring: 4,
  redirecting: 4,
  transferAccepted: 5,
  terminating: 6,
  terminated: 7,
};

/** The documented direct transitions (Graph's state diagram and the call methods' pages). */
export const DOCUMENTED_TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  // answer -> establishing; redirect -> redirecting; reject or caller hang-up -> terminated
  incoming: ['establishing', 'redirecting', 'terminating', 'terminated'],
  // outgoing calls ring the target; meetings and answered calls establish directly
  establishing: ['ringing', 'established', 'terminating', 'terminated'],
  ringing: ['established', 'terminating', 'terminated'],
  established: ['hold', 'transferring', 'terminating', 'terminated'],
  hold: ['established', 'terminating', 'terminated'],
  transferring: ['transferAccepted', 'established', 'terminating', 'terminated'],
  transferAccepted: ['established', 'terminating', 'terminated'],
  redirecting: ['terminating', 'terminated'],
  terminating: ['terminated'],
  terminated: [],
};

/**
 * Backward moves Graph documents, each applied only with its proof: a failed transfer returns
 * the call to `established` carrying a failure `resultInfo` (500/7000, 500/7700).
 */
export const PROOF_REQUIRED: ReadonlyArray<readonly [CallState, CallState]> = [
  ['transferring', 'established'],
  ['transferAccepted', 'established'],
];

/**
 * Notifications can be lost or arrive late, so a call may skip states it passed through:
 * a move to any state reachable along documented, rank-increasing edges is accepted.
 * Same-rank moves (established <-> hold) and the proof-carrying backward moves are accepted
 * only as direct edges.
 */
export const REACHABLE: Readonly<Record<CallState, ReadonlySet<CallState>>> = (() => {
  const out = {} as Record<CallState, Set<CallState>>;
  for (const from of CALL_STATES) {
    const seen = new Set<CallState>();
    const stack: CallState[] = [from];
    while (stack.length > 0) {
      const s = stack.pop()!;
      for (const next of DOCUMENTED_TRANSITIONS[s]) {
        if (STATE_RANK[next] <= STATE_RANK[s] || seen.has(next)) continue;
        seen.add(next);
        stack.push(next);
      }
    }
    for (const next of DOCUMENTED_TRANSITIONS[from]) seen.add(next);
    out[from] = seen;
  }
  return out;
})();

/** The states a transfer passes through: a move into one needs a transfer that has not failed (`transferOpen`). */
export const TRANSFER_STATES: ReadonlySet<CallState> = new Set<CallState>(['transferring', 'transferAccepted']);

/** Whether `from -> to` is a documented backward move, applied only with its proof (`PROOF_REQUIRED`). */
export function isProofRequired(from: CallState, to: CallState): boolean {
  return PROOF_REQUIRED.some(([a, b]) => a === from && b === to);
}

const BY_LOWERCASE = new Map<string, CallState>(CALL_STATES.map((s) => [s.toLowerCase(), s]));

/** `Established`, `ESTABLISHED` and `established` are the same state; unknown strings are undefined. */
export function normalizeCallState(value: unknown): CallState | undefined {
  return typeof value === 'string' ? BY_LOWERCASE.get(value.toLowerCase()) : undefined;
}
