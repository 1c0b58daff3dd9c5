import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../engine/engine.js';
import { InMemoryEventStore } from '../log/store.js';
import { arbCallScenario, arbDeliverySchedule } from '../testing/arbitraries.js';
import { archiveRecordOf } from './archive.js';
import { exchangeEntries, parseExchangeLine } from './exchange.js';
import { replay } from './replay.js';

describe('archive lines', () => {
  it('replaying the archived lines of calls gives the views the engine gave them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          arbCallScenario({ holds: true }).chain((s) =>
            fc.tuple(fc.constant(s.callId), arbDeliverySchedule(s.bodies, { maxDuplicates: 2 }), fc.boolean()),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (calls) => {
          let t = 0;
          const store = new InMemoryEventStore();
          const engine = createEngine({ store, clock: () => ++t });
          for (const [callId, bodies, withRecords] of calls) {
            for (const [i, body] of bodies.entries()) {
              await engine.ingest(body, { receivedAt: 1_000 + i });
              if (withRecords && i === 1) {
                await engine.record(callId, { kind: 'command', id: `cmd:${i}`, command: 'keepAlive', clientRequestId: `r${i}` });
                await engine.record(callId, {
                  kind: 'commandResult',
                  id: `res:${i}`,
                  commandId: `cmd:${i}`,
                  command: 'keepAlive',
                  outcome: 'succeeded',
                  status: 200,
                });
                await engine.record(callId, { kind: 'timer', id: `t:${i}`, timer: 'keepAliveDue' });
              }
            }
          }
          const lines: string[] = [];
          for (const callId of new Set(calls.map(([id]) => id))) {
            for (const entry of await store.readStream(callId)) lines.push(JSON.stringify(archiveRecordOf(entry)));
          }
          const records = lines.map((line, i) => parseExchangeLine(line, i + 1)!);
          const result = replay(exchangeEntries(records), { timeline: false });
          for (const view of engine.calls()) expect(result.calls[view.id]).toEqual(view);
          expect(Object.keys(result.calls).sort()).toEqual(
            engine
              .calls()
              .map((v) => v.id)
              .sort(),
          );
        },
      ),
      { numRuns: 60 },
    );
  });
});
