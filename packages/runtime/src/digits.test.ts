import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine } from '@switchboard/core';
import { collectProgress, type CollectDigitsOptions, type CollectProgress } from './digits.js';

/**
 * `collectProgress` over the tones the real engine folds from `toneInfo` notifications that
 * arrive in any order and any number of times: no key is lost or doubled, and a collection
 * never stops early (before a key sequenced ahead of its stop key arrived).
 */

const CALL = '5a1e0000-0000-4000-8000-000000000042';
const TONES: Record<string, string> = { '*': 'star', '#': 'pound' };
const toneOf = (key: string): string => TONES[key] ?? `tone${key}`;

function toneBody(sequenceId: number, key: string): unknown {
  return {
    value: [
      {
        changeType: 'updated',
        resourceUrl: `/communications/calls/${CALL}`,
        resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established', toneInfo: { sequenceId, tone: toneOf(key) } },
      },
    ],
  };
}

/** What the collection comes to when the keys arrive in order, each once. */
function inOrder(keys: string, start: number, options: Pick<CollectDigitsOptions, 'maxDigits' | 'terminator'>): CollectProgress {
  const tones = [...keys].map((key, i) => ({ sequenceId: start + i + 1, tone: toneOf(key), position: i + 1 }));
  return collectProgress(tones, { afterSequenceId: start, afterPosition: 0 }, options, () => false);
}

describe('collectProgress over the folded tones', () => {
  it('stops where the in-order collection stops, whatever the arrival order and repeats (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom(...'0123456789*#'), minLength: 1, maxLength: 10 }),
        fc.nat({ max: 5 }),
        fc.record({ maxDigits: fc.integer({ min: 1, max: 6 }), terminator: fc.constantFrom<'#' | '*'>('#', '*') }, { requiredKeys: [] }),
        fc.infiniteStream(fc.nat()),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (keys, before, options, order, repeats) => {
          const engine = createEngine({ clock: () => 0 });
          await engine.ingest({
            value: [{ changeType: 'updated', resourceUrl: `/communications/calls/${CALL}`, resourceData: { state: 'established' } }],
          });
          // `before` keys pressed before the collection, already in the view
          for (let i = 1; i <= before; i++) await engine.ingest(toneBody(i, '1'));
          const start = { afterSequenceId: before, afterPosition: engine.getCall(CALL)!.version };
          // the collection's keys in a drawn order, some of them several times
          const bodies = [...keys].map((key, i) => toneBody(before + i + 1, key));
          const schedule = bodies.map((_, i) => i);
          for (let i = schedule.length - 1; i > 0; i--) {
            const j = order.next().value % (i + 1);
            [schedule[i], schedule[j]] = [schedule[j]!, schedule[i]!];
          }
          for (const r of repeats) schedule.splice(r % (schedule.length + 1), 0, schedule[r % schedule.length]!);
          const expected = inOrder(keys, before, options);
          for (const index of schedule) {
            await engine.ingest(bodies[index]);
            const progress = collectProgress(engine.getCall(CALL)!.tones, start, options, () => false);
            // never stops early, never on something else
            if (progress.done) expect([progress.done.digits, progress.done.reason]).toEqual([expected.done?.digits, expected.done?.reason]);
          }
          const final = collectProgress(engine.getCall(CALL)!.tones, start, options, () => false, true);
          // (an in-order collection that never stops has every key)
          expect(final.done?.digits).toBe(expected.done?.digits ?? keys);
          expect(final.done?.reason).toBe(expected.done?.reason ?? 'timeout');
          expect(final.done?.tones.map((t) => t.sequenceId)).toEqual(final.done?.tones.map((_, i) => before + i + 1));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a hole waits until it is accepted as Graph numbering; tones before the start do not count', () => {
    const tones = [
      { sequenceId: 3, tone: 'tone9', position: 2 },
      { sequenceId: 6, tone: 'tone4', position: 4 },
      { sequenceId: 7, tone: 'pound', position: 5 },
    ];
    const start = { afterSequenceId: 3, afterPosition: 3 };
    expect(collectProgress(tones, start, { terminator: '#' }, () => false)).toEqual({ holeBefore: 6 });
    expect(collectProgress(tones, start, { terminator: '#' }, (seq) => seq === 6)).toEqual({
      done: { digits: '4', tones: tones.slice(1), reason: 'terminator' },
    });
    // a tone without a sequence id counts when it was logged after the start
    const unsequenced = [...tones, { sequenceId: null, tone: 'tone1', position: 1 }, { sequenceId: null, tone: 'tone2', position: 6 }];
    expect(collectProgress(unsequenced, start, {}, () => true, true).done?.digits).toBe('4#2');
  });
});
