import fc from 'fast-check';
import { arbCallScenario } from '@switchboard/core/testing';

/**
 * A realistic mix of notification bodies: generated call scenarios (lifecycles, rosters with
 * lobby and admission, operations, tones, content sharing), interleaved across calls the way a
 * busy bot receives them. Seeded, so every run measures the same bytes.
 */
export function workload(calls: number, seed = 42): { bodies: string[]; callIds: Set<string> } {
  const scenarios = fc.sample(arbCallScenario(), { numRuns: calls, seed });
  const bodies: string[] = [];
  const callIds = new Set<string>();
  const queues = scenarios.map((s, i) => {
    // scenario ids can repeat across samples; make every call distinct
    const callId = `${s.callId}-${i}`;
    callIds.add(callId);
    return s.bodies.map((b) => JSON.stringify(b).replaceAll(s.callId, callId));
  });
  let left = true;
  while (left) {
    left = false;
    for (const q of queues) {
      const next = q.shift();
      if (next !== undefined) {
        bodies.push(next);
        left = true;
      }
    }
  }
  return { bodies, callIds };
}

/** A workload body for its `lap`-th pass: the same notifications for new call ids (lap 0: as it is), so repeated passes stay distinct calls. */
export function lapBody(body: string, lap: number): string {
  return lap === 0 ? body : body.replaceAll('/calls/call-', `/calls/l${lap}-call-`);
}
