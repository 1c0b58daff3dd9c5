import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './testkit.js';
import type { Json } from './types.js';

/**
 * The documentation's own requests (test/fixtures/graph/docs, copied from Graph's reference pages),
 * sent to the simulator: every documented create-call scenario and invite must be accepted,
 * answered in the documented shape, and play out to the documented notifications.
 */

const DOCS = fileURLToPath(new URL('../../../test/fixtures/graph/docs/', import.meta.url));

interface Exchange {
  readonly kind: 'request' | 'response' | 'notification';
  readonly path: string | null;
  readonly status: number | null;
  readonly body: Json | null;
}

function load(prefix: string): { name: string; lines: Exchange[] }[] {
  return readdirSync(DOCS)
    .filter((f) => f.startsWith(prefix))
    .sort()
    .map((name) => ({
      name,
      lines: readFileSync(`${DOCS}${name}`, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Exchange),
    }));
}

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const creates = load('beta-application-post-calls--');

describe('documented create-call scenarios', () => {
  it('has all twelve scenarios to run', () => {
    expect(creates).toHaveLength(12);
  });

  it.each(creates.map((c) => [c.name.replace('beta-application-post-calls--', '').replace('.jsonl', ''), c.lines] as const))(
    '%s',
    async (_name, lines) => {
      h = await harness();
      if (lines.some((l) => JSON.stringify(l.body).includes('/contentsharingsessions'))) {
        // the page shows a remote party sharing its screen
        h.sim.scriptRemote('*', [
          { do: 'answer', after: 500 },
          { do: 'shareScreen', after: 500 },
          { do: 'updateSharing', after: 500 },
          { do: 'stopSharing', after: 500 },
        ]);
      }
      const request = lines.find((l) => l.kind === 'request')!;
      const documented = lines.find((l) => l.kind === 'response');
      const res = await h.graph.request('POST', request.path!, { ...request.body!, callbackUri: h.receiver.url });
      expect(res.status).toBe(201);
      expect(res.body['state']).toBe('establishing');
      for (const key of Object.keys(documented?.body ?? {})) expect(res.body, `response property ${key}`).toHaveProperty(key);
      const id = res.body['id'] as string;
      await h.sim.waitForState(id, 'established');
      await h.sim.waitForIdle();

      // the documented notifications, in kind: same resource, same change, same type of data
      const ours = h.receiver.notifications();
      for (const doc of lines.filter((l) => l.kind === 'notification')) {
        for (const n of doc.body!['value'] as Json[]) {
          const suffix = (n['resourceUrl'] ?? n['resource']) as string;
          const sub = suffix.replace(/^\/(communications|app)\/calls\/[^/]+/, '');
          const data = n['resourceData'];
          const type = Array.isArray(data) ? (data[0] as Json)['@odata.type'] : (data as Json)['@odata.type'];
          const state = Array.isArray(data) ? undefined : (data as Json)['state'];
          const match = ours.find((o) => {
            const od = o['resourceData'];
            const otype = Array.isArray(od) ? (od[0] as Json | undefined)?.['@odata.type'] : (od as Json)['@odata.type'];
            return (
              o['resourceUrl'] === `/communications/calls/${id}${sub}` &&
              o['changeType'] === n['changeType'] &&
              otype === type &&
              (state === undefined || (od as Json)['state'] === state)
            );
          });
          expect(match, `a ${String(n['changeType'])} ${sub || 'call'} ${String(state ?? type)} notification`).toBeDefined();
          if (Array.isArray(data) && (data[0] as Json)['isInLobby'] === true) {
            expect(((match!['resourceData'] as Json[])[0] as Json)['isInLobby']).toBe(true);
          }
        }
      }
    },
  );
});

describe('documented invites', () => {
  const invites = load('v1.0-participant-invite-');
  it.each(invites.map((c) => [c.name.replace('.jsonl', ''), c.lines] as const))('%s', async (_name, lines) => {
    h = await harness();
    const created = await h.graph.request('POST', '/v1.0/communications/calls', {
      callbackUri: h.receiver.url,
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      targets: [{ identity: { user: { id: 'first' } } }, { identity: { user: { id: 'second' } } }],
    });
    const id = created.body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const request = lines.find((l) => l.kind === 'request')!;
    const documented = lines.find((l) => l.kind === 'response')!;
    const res = await h.graph.request('POST', `/v1.0/communications/calls/${id}/participants/invite`, request.body);
    expect(res.status).toBe(documented.status);
    for (const key of Object.keys(documented.body!)) expect(res.body, `response property ${key}`).toHaveProperty(key);
    expect(res.body['@odata.type']).toBe('#microsoft.graph.inviteParticipantsOperation');
    await h.sim.waitForIdle();
    const opId = res.body['id'] as string;
    const done = h.receiver.notifications().find((n) => n['resourceUrl'] === `/communications/calls/${id}/operations/${opId}`);
    expect(done).toMatchObject({ changeType: 'deleted', resourceData: { status: 'completed' } });
    const invited = (request.body!['participants'] as Json[]).length;
    expect(h.sim.groundTruth(id)!.participants).toHaveLength(3 + invited);
  });
});
