import { afterEach, describe, expect, it } from 'vitest';
import { harness, p2pRequest, type Harness } from './testkit.js';
import type { GroundTruthCall, Json, NotificationRecord } from './types.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Folded {
  state?: string;
  roster?: string[];
  tones: { sequenceId: number; tone: string }[];
  operations: Record<string, string>;
  sessions: Record<string, boolean>;
}

/** Applies notifications in emission order, the simplest possible bot: what Graph said last wins. */
function fold(records: readonly NotificationRecord[]): Map<string, Folded> {
  const calls = new Map<string, Folded>();
  for (const { callId, notification: n } of records) {
    const f = calls.get(callId) ?? { tones: [], operations: {}, sessions: {} };
    calls.set(callId, f);
    const url = n['resourceUrl'] as string;
    const data = n['resourceData'];
    const sub = url.slice(`/communications/calls/${callId}`.length);
    if (sub === '') {
      const call = data as Json;
      f.state = call['state'] as string;
      const tone = call['toneInfo'] as Json | undefined;
      if (tone) f.tones.push({ sequenceId: tone['sequenceId'] as number, tone: tone['tone'] as string });
    } else if (sub === '/participants') {
      f.roster = (data as Json[]).map((p) => p['id'] as string).sort();
    } else if (sub.startsWith('/operations/')) {
      f.operations[(data as Json)['id'] as string] = (data as Json)['status'] as string;
    } else if (sub === '/contentsharingsessions') {
      for (const s of data as Json[]) f.sessions[s['id'] as string] = n['changeType'] === 'deleted';
    }
  }
  return calls;
}

function expectAgreement(truth: GroundTruthCall, f: Folded | undefined): void {
  expect(f?.state, `call ${truth.id}`).toBe(truth.state);
  expect(truth.stateHistory.at(-1)).toBe(truth.state);
  if (truth.rosterNotified && f?.roster) expect(f.roster).toEqual(truth.participants.map((p) => p.id).sort());
  expect(f?.tones ?? []).toEqual(truth.tones);
  for (const [id, status] of Object.entries(f?.operations ?? {})) expect(truth.operations[id]?.status).toBe(status);
  if (truth.contentSharingNotified) {
    const sessions = Object.fromEntries(Object.values(truth.contentSharingSessions).map((s) => [s.id, s.deleted]));
    expect(f?.sessions ?? {}).toEqual(sessions);
  }
}

describe('self-consistency', () => {
  it('with random remote parties, the notifications it sent fold back to its ground truth', async () => {
    h = await harness({ seed: 2024, timeScale: 0.002, remoteBehaviour: 'random' });
    const V1 = '/v1.0/communications/calls';
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await h.graph.request('POST', V1, p2pRequest(h.receiver.url, `user-${i}`));
      ids.push(res.body['id'] as string);
    }
    const group = await h.graph.request('POST', V1, {
      ...p2pRequest(h.receiver.url),
      targets: ['g1', 'g2', 'g3'].map((id) => ({ identity: { user: { id } } })),
    });
    ids.push(group.body['id'] as string);
    for (let i = 0; i < 3; i++) {
      const res = await h.graph.request('POST', V1, {
        ...p2pRequest(h.receiver.url),
        targets: undefined,
        chatInfo: { threadId: `19:meeting_${i}@thread.v2`, messageId: '0' },
        meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: `org-${i}` } } },
      });
      ids.push(res.body['id'] as string);
    }
    for (let i = 0; i < 4; i++) {
      const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: `caller-${i}` });
      ids.push(callId);
      if (i < 3) {
        await h.graph.request('POST', `${V1}/${callId}/answer`, {
          callbackUri: h.receiver.url,
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
          callOptions: { isContentSharingNotificationEnabled: true },
        });
      }
    }
    // the bot does things on whatever is up: prompts, tone subscriptions, invites
    await h.sim.waitUntil(() => h!.sim.calls().filter((c) => c.state === 'established').length >= 3, { timeoutMs: 5000 });
    for (const c of h.sim.calls().filter((x) => x.state === 'established')) {
      await h.graph.request('POST', `${V1}/${c.id}/subscribeToTone`, {});
      await h.graph.request('POST', `${V1}/${c.id}/playPrompt`, { prompts: [{ mediaInfo: { uri: 'https://x/y.wav' } }] });
      if (c.kind !== 'peerToPeer')
        await h.graph.request('POST', `${V1}/${c.id}/participants/invite`, {
          participants: [{ identity: { user: { id: `inv-${c.id}` } } }],
        });
    }
    await h.sim.waitForIdle({ timeoutMs: 15_000 });

    const folded = fold(h.sim.notifications());
    const truths = h.sim.calls();
    expect(truths).toHaveLength(ids.length);
    for (const truth of truths) expectAgreement(truth, folded.get(truth.id));
    // random behaviour really varied: several outcomes happened
    const finals = new Set(truths.map((t) => `${t.kind}:${t.state}`));
    expect(finals.size).toBeGreaterThanOrEqual(3);
    expect(h.sim.notifications().every((n) => n.acknowledged)).toBe(true);
  });
});
