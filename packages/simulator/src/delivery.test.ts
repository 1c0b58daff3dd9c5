import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from './testkit.js';
import type { FaultOptions, Json, ScriptStep } from './types.js';

const V1 = '/v1.0/communications/calls';
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(options: Parameters<typeof harness>[0]): Promise<Harness> {
  const h = await harness(options);
  open.push(h);
  return h;
}

/** A busy meeting: only the create comes from the bot; everything else is scripted, so a seed fixes it all. */
function busyMeeting(h: Harness, rounds: number): Json {
  const steps: ScriptStep[] = [{ do: 'waitFor', state: 'established' }];
  for (let i = 0; i < rounds; i++) {
    steps.push({ do: 'join', participant: `p${i}`, after: 40 });
    steps.push({ do: 'mute', participant: `p${i}`, after: 30 });
    if (i % 3 === 0) steps.push({ do: 'shareScreen', participant: `p${i}`, after: 20 }, { do: 'stopSharing', after: 60 });
    if (i % 2 === 1) steps.push({ do: 'hangUp', participant: `p${i - 1}`, after: 25 });
  }
  h.sim.scriptRemote('19:busy@thread.v2', { attendees: [{ participant: 'organizer' }], steps });
  return {
    callbackUri: h.receiver.url,
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    callOptions: { isContentSharingNotificationEnabled: true },
    chatInfo: { threadId: '19:busy@thread.v2', messageId: '0' },
    meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: 'org', displayName: 'Org' } } },
  };
}

function digest(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 12);
}

const CHAOS: FaultOptions = { reorder: 0.25, duplicate: 0.2, delay: 0.15, drop: 0.1, split: 0.5, merge: 0.15 };

async function chaosRun(seed: number): Promise<{ deliveries: string[]; arrivals: string[]; callId: string; h: Harness }> {
  const h = await start({ seed, faults: CHAOS });
  const res = await h.graph.request('POST', V1, busyMeeting(h, 12));
  const callId = res.body['id'] as string;
  await h.sim.waitForIdle({ timeoutMs: 15_000 });
  return {
    callId,
    h,
    deliveries: h.sim
      .deliveries()
      .map((d) => `${d.messageId}#${d.attempt} [${d.notificationSeqs.join(',')}] ${d.faults.join('+')} ${d.outcome}`),
    // compact and free of the receiver's port, which differs between runs
    arrivals: h.receiver.posts.map((p) => {
      const items = (p.body['value'] as Json[]).map(
        (n) => `${String(n['changeType'])} ${String(n['resourceUrl'])} ${digest(n['resourceData'])}`,
      );
      return `${String(p.headers['x-microsoft-skype-message-id'])} ${items.join(' | ')}`;
    }),
  };
}

describe('webhook fault injection', () => {
  it('is reproducible: the same seed gives the same delivery sequence', async () => {
    const a = await chaosRun(42);
    const b = await chaosRun(42);
    expect(a.callId).toBe(b.callId);
    expect(a.deliveries.length).toBeGreaterThan(30);
    // The same seed gives the same deliveries: the same messages, batches, faults and outcomes.
    // Their order can differ when a loaded machine's timing decides whether a held batch's
    // partner arrived within the hold (seen in CI under load), so compare them as sets.
    expect([...b.deliveries].sort()).toEqual([...a.deliveries].sort());
    expect([...b.arrivals].sort()).toEqual([...a.arrivals].sort());
    const c = await chaosRun(43);
    expect(c.deliveries).not.toEqual(a.deliveries);
    // whatever the faults, everything was delivered in the end
    for (const run of [a, b, c]) expect(run.h.sim.notifications().every((n) => n.acknowledged)).toBe(true);
  });

  it('duplicates and reorders at about the configured rates, and really does', async () => {
    const h = await start({ seed: 5, faults: { duplicate: 0.3, reorder: 0.3, reorderWindow: 2 } });
    const res = await h.graph.request('POST', V1, busyMeeting(h, 40));
    const callId = res.body['id'] as string;
    await h.sim.waitForIdle({ timeoutMs: 15_000 });
    const messages = new Map<string, number>();
    for (const d of h.sim.deliveries())
      if (d.attempt === 1 && !d.faults.includes('duplicate')) messages.set(d.messageId, d.notificationSeqs[0]!);
    const n = messages.size;
    expect(n).toBeGreaterThan(80);
    const duplicated = h.sim.deliveries().filter((d) => d.faults.includes('duplicate')).length;
    const reordered = h.sim.deliveries().filter((d) => d.faults.includes('reordered') && !d.faults.includes('duplicate')).length;
    expect(duplicated / n).toBeGreaterThan(0.18);
    expect(duplicated / n).toBeLessThan(0.42);
    expect(reordered / n).toBeGreaterThan(0.18);
    expect(reordered / n).toBeLessThan(0.42);

    // the receiver really saw the same message twice, and notifications out of emission order
    const ids = h.receiver.posts.map((p) => String(p.headers['x-microsoft-skype-message-id']));
    expect(ids.length - new Set(ids).size).toBe(duplicated);
    const seqOf = new Map(h.sim.notifications({ callId }).map((r) => [JSON.stringify(r.notification), r.seq]));
    const arrived = h.receiver.notifications().map((x) => seqOf.get(JSON.stringify(x))!);
    let inversions = 0;
    let max = 0;
    for (const seq of arrived) {
      if (seq < max) inversions++;
      max = Math.max(max, seq);
    }
    expect(inversions).toBeGreaterThan(n * 0.15);
  });

  it('retries a delivery the bot did not acknowledge, keeping the message id', async () => {
    const failFirst = new Set<string>();
    const h = await start({
      respond: (_i, body) => {
        const key = JSON.stringify(body);
        if (failFirst.has(key)) return 202;
        failFirst.add(key);
        return 500;
      },
    });
    const id = (await h.graph.request('POST', V1, busyMeeting(h, 2))).body['id'] as string;
    await h.sim.waitForIdle();
    const d = h.sim.deliveries();
    expect(d.filter((x) => x.outcome === 'rejected').length).toBe(d.filter((x) => x.outcome === 'acknowledged').length);
    for (const rejected of d.filter((x) => x.outcome === 'rejected')) {
      const retry = d.find((x) => x.messageId === rejected.messageId && x.attempt === rejected.attempt + 1)!;
      expect(retry.outcome).toBe('acknowledged');
      expect(retry.faults).toContain('retry');
    }
    expect(h.sim.notifications({ callId: id }).every((r) => r.acknowledged && r.attempts === 2)).toBe(true);
  });

  it('gives up after maxDeliveryAttempts', async () => {
    const h = await start({ respond: () => 503, maxDeliveryAttempts: 3 });
    h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller' });
    await h.sim.waitForIdle();
    expect(h.sim.deliveries().map((d) => `${d.attempt}:${d.outcome}:${d.status ?? ''}`)).toEqual([
      '1:rejected:503',
      '2:rejected:503',
      '3:rejected:503',
    ]);
    expect(h.sim.notifications()[0]!.acknowledged).toBe(false);
  });

  it('retries after a connection error', async () => {
    const h = await start({ maxDeliveryAttempts: 2 });
    const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller' });
    await h.receiver.close(); // nobody listens: ECONNREFUSED
    await h.sim.waitForIdle();
    expect(h.sim.deliveries().map((d) => d.outcome)).toEqual(['error', 'error']);
    expect(h.sim.notifications({ callId })[0]!.acknowledged).toBe(false);
  });

  it('drops a first attempt and redelivers the same message later', async () => {
    const h = await start({ faults: { drop: 1 } });
    h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller' });
    await h.sim.waitForIdle();
    const [dropped, redelivered] = h.sim.deliveries();
    expect(dropped).toMatchObject({ attempt: 1, outcome: 'dropped' });
    expect(redelivered).toMatchObject({ attempt: 2, outcome: 'acknowledged', messageId: dropped!.messageId });
    expect(redelivered!.faults).toContain('redelivery');
    expect(h.receiver.posts).toHaveLength(1);
  });

  it('splits multi-notification batches and merges batches into one POST', async () => {
    const split = await start({ faults: { split: 1 } });
    await split.graph.request('POST', V1, busyMeeting(split, 3));
    await split.sim.waitForIdle();
    expect(split.receiver.posts.every((p) => (p.body['value'] as Json[]).length === 1)).toBe(true);
    expect(split.sim.deliveries().some((d) => d.faults.includes('split'))).toBe(true);

    const whole = await start({ faults: {} });
    await whole.graph.request('POST', V1, busyMeeting(whole, 3));
    await whole.sim.waitForIdle();
    // established + roster leave together when nothing splits them
    expect(whole.receiver.posts.some((p) => (p.body['value'] as Json[]).length === 2)).toBe(true);

    const merged = await start({ faults: { merge: 1 } });
    await merged.graph.request('POST', V1, busyMeeting(merged, 3));
    await merged.sim.waitForIdle();
    expect(merged.receiver.posts.some((p) => (p.body['value'] as Json[]).length >= 3)).toBe(true);
    expect(merged.sim.notifications().every((n) => n.acknowledged)).toBe(true);
  });
});

describe('API fault injection', () => {
  it('answers 429 bursts with Retry-After, reproducibly', async () => {
    const statuses = async (seed: number) => {
      const h = await start({ seed, faults: { throttle: 0.3, burstLength: [2, 3], retryAfterSeconds: 120 } });
      const out: string[] = [];
      for (let i = 0; i < 30; i++) {
        const res = await h.graph.request('GET', `${V1}/missing-${i}`);
        out.push(`${res.status}:${res.headers.get('retry-after') ?? ''}`);
        if (res.status === 429) expect((res.body['error'] as Json)['code']).toBe('TooManyRequests');
      }
      return out;
    };
    const a = await statuses(11);
    expect(a.filter((s) => s.startsWith('429')).length).toBeGreaterThan(3);
    // 120 Graph seconds at timeScale 0.01 is 1.2 real seconds: rounded up to 2
    for (const s of a.filter((x) => x.startsWith('429'))) expect(s).toBe('429:2');
    expect(a).toContain('404:');
    // bursts: a 429 is followed by at least one more
    const firstBurst = a.indexOf('429:2');
    expect(a[firstBurst + 1]).toBe('429:2');
    expect(await statuses(11)).toEqual(a);
  });

  it('answers 503 with Retry-After and slows responses down', async () => {
    const h = await start({ timeScale: 0.1, faults: { unavailable: 1, burstLength: [1, 1] } });
    const res = await h.graph.request('POST', V1, {});
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((res.body['error'] as Json)['code']).toBe('serviceNotAvailable');
    expect(h.sim.calls()).toHaveLength(0);

    const slow = await start({ timeScale: 0.1, faults: { slow: 1, slowMs: [2000, 2000] } });
    const t = Date.now();
    const created = await slow.graph.request('POST', V1, busyMeeting(slow, 1));
    expect(created.status).toBe(201);
    expect(Date.now() - t).toBeGreaterThanOrEqual(190);
    // the call existed before the answer came
    expect(slow.sim.calls()).toHaveLength(1);
  });
});
