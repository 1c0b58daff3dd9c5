import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CallEvent } from './events.js';
import { createEngine } from '../engine/engine.js';
import { callStateBody, contentSharingBody } from '../testing/scenarios.js';

/**
 * Content-sharing sessions (Graph notifies `/contentsharingsessions` created, updated, deleted
 * when the call asked for it) become `contentSharingStarted` and `contentSharingEnded`, in
 * pairs, whatever order the notifications arrive in.
 */

const CALL = 'share-call';
const SESSION = 'F7D9EF30FF0A9BD3F64B274387FB8FF8E96B6CFBA8F87F8305A74DE99AF007BC';
let now = 0;
const clock = () => ++now;

async function run(bodies: readonly unknown[]) {
  const engine = createEngine({ clock });
  const events: CallEvent[] = [];
  engine.on('event', (e) => {
    if (e.type.startsWith('contentSharing')) events.push(e);
  });
  await engine.ingest(callStateBody(CALL, 'established'));
  for (const body of bodies) await engine.ingest(JSON.stringify(body));
  return { events, view: engine.getCall(CALL)! };
}

const kinds = (events: readonly CallEvent[]) => events.map((e) => `${e.type}:${'session' in e ? (e.session as { id: string }).id : ''}`);

describe('content-sharing events', () => {
  it('created, updated, deleted: started once, ended once, and the view keeps the session', async () => {
    const { events, view } = await run([
      contentSharingBody(CALL, 'created', SESSION),
      contentSharingBody(CALL, 'updated', SESSION),
      contentSharingBody(CALL, 'deleted', SESSION),
    ]);
    expect(kinds(events)).toEqual([`contentSharingStarted:${SESSION}`, `contentSharingEnded:${SESSION}`]);
    expect(events[0]).toMatchObject({ callId: CALL, session: { id: SESSION, deleted: false }, cause: { kind: 'notification' } });
    expect(events[1]).toMatchObject({ session: { id: SESSION, deleted: true } });
    expect(view.contentSharingSessions[SESSION]).toMatchObject({ id: SESSION, deleted: true });
  });

  it('the `created` lost: `updated` starts it; a late `created` starts nothing again', async () => {
    const { events } = await run([
      contentSharingBody(CALL, 'updated', SESSION),
      contentSharingBody(CALL, 'created', SESSION),
      contentSharingBody(CALL, 'deleted', SESSION),
    ]);
    expect(kinds(events)).toEqual([`contentSharingStarted:${SESSION}`, `contentSharingEnded:${SESSION}`]);
  });

  it('`deleted` first: the session never started for the view, so neither event; the late `created` is stale', async () => {
    const { events, view } = await run([contentSharingBody(CALL, 'deleted', SESSION), contentSharingBody(CALL, 'created', SESSION)]);
    expect(events).toEqual([]);
    expect(view.contentSharingSessions[SESSION]?.deleted).toBe(true);
    expect(view.stale.map((s) => s.reason)).toEqual(['session-deleted']);
  });

  it('two sessions at once are told apart', async () => {
    const { events } = await run([
      contentSharingBody(CALL, 'created', 's1'),
      contentSharingBody(CALL, 'created', 's2'),
      contentSharingBody(CALL, 'deleted', 's1'),
      contentSharingBody(CALL, 'deleted', 's2'),
    ]);
    expect(kinds(events)).toEqual([
      'contentSharingStarted:s1',
      'contentSharingStarted:s2',
      'contentSharingEnded:s1',
      'contentSharingEnded:s2',
    ]);
  });

  it('any order, any repeats: started at most once, ended exactly as often as started', async () => {
    const notification = fc.constantFrom('created' as const, 'updated' as const, 'deleted' as const);
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray<'created' | 'updated' | 'deleted'>(['created', 'updated', 'deleted'], { minLength: 3, maxLength: 3 }),
        fc.array(notification, { maxLength: 3 }),
        async (order, repeats) => {
          const bodies = [...order, ...repeats].map((change) => contentSharingBody(CALL, change, SESSION));
          const { events } = await run(bodies);
          const started = events.filter((e) => e.type === 'contentSharingStarted').length;
          const ended = events.filter((e) => e.type === 'contentSharingEnded').length;
          expect(started).toBe(order[0] === 'deleted' ? 0 : 1);
          expect(ended).toBe(started);
        },
      ),
      { numRuns: 60 },
    );
  });
});
