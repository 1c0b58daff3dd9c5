import { afterEach, describe, expect, it } from 'vitest';
import { harness, p2pRequest, type Harness } from './testkit.js';
import type { Json } from './types.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const V1 = '/v1.0/communications/calls';

describe('outgoing peer-to-peer call', () => {
  it('answers 201 establishing, then notifies establishing and established, signed', async () => {
    h = await harness();
    const res = await h.graph.request('POST', V1, p2pRequest(h.receiver.url), { 'client-request-id': 'crid-1' });
    expect(res.status).toBe(201);
    expect(res.body['state']).toBe('establishing');
    expect(res.body['direction']).toBe('outgoing');
    expect(res.body['@odata.type']).toBe('#microsoft.graph.call');
    expect(res.headers.get('client-request-id')).toBe('crid-1');
    expect(res.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const id = res.body['id'] as string;
    expect(res.headers.get('location')).toBe(`${h.sim.url}/v1.0/communications/calls/${id}`);

    await h.sim.waitForState(id, 'established');
    await h.sim.waitForIdle();
    expect(h.receiver.states(id)).toEqual(['establishing', 'established', 'established']);
    for (const post of h.receiver.posts) {
      expect(post.verifyError).toBeUndefined();
      expect(post.claims?.iss).toBe('https://api.botframework.com');
      expect(post.claims?.aud).toBe(h.app.appId);
      expect(typeof post.claims?.exp).toBe('number');
      expect(post.kid).toBe(h.sim.signingKeyId());
    }
    const [first] = h.receiver.notifications();
    expect(first).toMatchObject({
      '@odata.type': '#microsoft.graph.commsNotification',
      changeType: 'updated',
      resource: `/app/calls/${id}`,
      resourceUrl: `/communications/calls/${id}`,
      resourceData: { '@odata.type': '#microsoft.graph.call', state: 'establishing' },
    });
    const truth = h.sim.groundTruth(id)!;
    expect(truth.state).toBe('established');
    expect(truth.rosterNotified).toBe(false);
    expect(truth.participants.map((p) => p.info['identity'])).toContainEqual(
      expect.objectContaining({ user: expect.objectContaining({ id: 'user-john' }) }),
    );
    expect(h.sim.notifications({ callId: id }).every((n) => n.acknowledged)).toBe(true);
  });

  it('runs playPrompt: 200 running, then a deleted operation notification, completed', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const prompt = {
      '@odata.type': '#microsoft.graph.mediaPrompt',
      mediaInfo: { uri: 'https://cdn.contoso.com/beep.wav', resourceId: 'beep' },
    };
    const res = await h.graph.request('POST', `${V1}/${id}/playPrompt`, { clientContext: 'ctx-1', prompts: [prompt] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ '@odata.type': '#microsoft.graph.playPromptOperation', status: 'running', clientContext: 'ctx-1' });
    const opId = res.body['id'] as string;
    await h.sim.waitForIdle();
    const done = h.receiver.notifications().find((n) => n['resourceUrl'] === `/communications/calls/${id}/operations/${opId}`);
    expect(done).toMatchObject({
      changeType: 'deleted',
      resource: `/app/calls/${id}/operations/${opId}`,
      resourceData: {
        '@odata.type': '#microsoft.graph.playPromptOperation',
        status: 'completed',
        completionReason: 'completedSuccessfully',
        clientContext: 'ctx-1',
        resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0 },
        id: opId,
      },
    });
    expect(h.sim.groundTruth(id)!.operations[opId]).toMatchObject({
      status: 'completed',
      '@odata.type': '#microsoft.graph.playPromptOperation',
    });
    expect(h.sim.requestCount('POST', '/calls/{id}/playPrompt')).toBe(1);
  });

  it('hangs up with DELETE: 204, a deleted/terminated notification, then 404', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    expect((await h.graph.request('DELETE', `${V1}/${id}`)).status).toBe(204);
    await h.sim.waitForIdle();
    const last = h.receiver.notifications().at(-1)!;
    expect(last).toMatchObject({ changeType: 'deleted', resourceData: { state: 'terminated', resultInfo: { code: 200, subcode: 5002 } } });
    const gone = await h.graph.request('GET', `${V1}/${id}`);
    expect(gone.status).toBe(404);
  });
});

describe('errors', () => {
  it('answers an unknown call with 404 and Graph error body', async () => {
    h = await harness();
    const res = await h.graph.request('GET', `${V1}/00000000-dead-4000-8000-000000000000`, undefined, { 'client-request-id': 'abc' });
    expect(res.status).toBe(404);
    const error = res.body['error'] as Json;
    expect(error['code']).toBe('itemNotFound');
    expect(typeof error['message']).toBe('string');
    expect(error['innerError']).toMatchObject({ 'request-id': res.headers.get('request-id'), 'client-request-id': 'abc' });
    expect(typeof (error['innerError'] as Json)['date']).toBe('string');
  });

  it('rejects bad create requests with 400', async () => {
    h = await harness();
    const base = p2pRequest(h.receiver.url);
    const cases: Json[] = [
      { ...base, callbackUri: undefined },
      { ...base, callbackUri: 'http://bot.contoso.com/callback' },
      { ...base, mediaConfig: undefined },
      { ...base, targets: [] },
      { ...base, targets: undefined },
      { ...base, ringingTimeoutInSeconds: 116 },
    ];
    for (const body of cases) {
      const res = await h.graph.request('POST', V1, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.body['error'] as Json)['code']).toBe('BadRequest');
    }
    expect(h.sim.calls()).toHaveLength(0);
  });

  it('requires a Bearer token issued by the simulator', async () => {
    h = await harness();
    const none = await fetch(`${h.sim.url}${V1}`, { method: 'POST', body: '{}' });
    expect(none.status).toBe(401);
    expect(((await none.json()) as Json)['error']).toMatchObject({ code: 'InvalidAuthenticationToken' });
    const forged = await fetch(`${h.sim.url}${V1}/x`, { headers: { Authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } });
    expect(forged.status).toBe(401);
  });
});

describe('incoming call', () => {
  it('notifies created/incoming; answered, it establishes; the caller hangs up', async () => {
    h = await harness();
    const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller-user-1', displayName: 'Alice' });
    await h.sim.waitUntil(() => h!.receiver.notifications().length > 0);
    const created = h.receiver.notifications()[0]!;
    expect(created).toMatchObject({
      changeType: 'created',
      resourceUrl: `/communications/calls/${callId}`,
      resourceData: {
        '@odata.type': '#microsoft.graph.call',
        state: 'incoming',
        direction: 'incoming',
        source: { identity: { user: { id: 'caller-user-1', displayName: 'Alice' } } },
        targets: [{ identity: { application: { id: h.app.appId } } }],
        incomingContext: { '@odata.type': '#microsoft.graph.incomingContext' },
      },
    });
    const answer = await h.graph.request('POST', `${V1}/${callId}/answer`, {
      callbackUri: h.receiver.url,
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      acceptedModalities: ['audio'],
    });
    expect(answer.status).toBe(202);
    expect(
      (
        await h.graph.request('POST', `${V1}/${callId}/answer`, {
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        })
      ).status,
    ).toBe(400);
    await h.sim.waitForState(callId, 'established');
    await h.sim.waitForIdle();
    expect(h.sim.act(callId, { do: 'hangUp' })).toEqual({ applied: true });
    await h.sim.waitForState(callId, 'terminated');
    await h.sim.waitForIdle();
    expect(h.receiver.states(callId)).toEqual(['incoming', 'establishing', 'established', 'established', 'terminated']);
    expect(h.sim.groundTruth(callId)!.resultInfo).toMatchObject({ code: 200, subcode: 5002 });
  });

  it('drops an incoming call not answered within the scaled 15 s', async () => {
    h = await harness({ timeScale: 0.005, timings: { incomingAnswerMs: 15_000 } }); // Graph's
    const started = Date.now();
    const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: '+14255550123' });
    const truth = await h.sim.waitForState(callId, 'terminated');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(70); // 15 s * 0.005 = 75 ms, give or take a timer tick
    expect(elapsed).toBeLessThan(2000);
    expect(truth.stateHistory).toEqual(['incoming', 'terminated']);
    expect(truth.resultInfo).toMatchObject({ '@odata.type': '#microsoft.graph.resultInfo', code: 408 });
    await h.sim.waitForIdle();
    expect(h.receiver.states(callId)).toEqual(['incoming', 'terminated']);
    expect(
      (
        await h.graph.request('POST', `${V1}/${callId}/answer`, {
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        })
      ).status,
    ).toBe(404);
  });

  it('rejects: 202 then terminated', async () => {
    h = await harness();
    const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller-2' });
    expect((await h.graph.request('POST', `${V1}/${callId}/reject`, { reason: 'busy' })).status).toBe(202);
    expect((await h.graph.request('POST', `${V1}/${callId}/reject`, { reason: 'nope' })).status).toBe(404);
    const truth = await h.sim.waitForState(callId, 'terminated');
    expect(truth.stateHistory).toEqual(['incoming', 'terminated']);
  });
});

function meetingRequest(callbackUri: string, extra: Json = {}): Json {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri,
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: '19:meeting_abc@thread.v2', messageId: '0' },
    meetingInfo: {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: 'org-bob', displayName: 'Bob' },
      },
      allowConversationWithoutHost: true,
    },
    ...extra,
  };
}

function rosters(h: Harness, callId: string): Json[][] {
  return h.receiver
    .notifications()
    .filter((n) => n['resourceUrl'] === `/communications/calls/${callId}/participants`)
    .map((n) => n['resourceData'] as Json[]);
}

describe('meetings', () => {
  it('joins a scheduled meeting: establishing, established, and a full roster with sequence numbers', async () => {
    h = await harness();
    h.sim.scriptRemote('19:meeting_abc@thread.v2', {
      attendees: [{ participant: 'organizer' }, { participant: 'carol', displayName: 'Carol', muted: true }],
      steps: [
        { do: 'waitFor', state: 'established' },
        { do: 'join', participant: 'dave', displayName: 'Dave', lobby: true, after: 500 },
        { do: 'admit', participant: 'dave', after: 500 },
        { do: 'hangUp', participant: 'carol', after: 500 },
      ],
    });
    const res = await h.graph.request('POST', V1, meetingRequest(h.receiver.url));
    expect(res.status).toBe(201);
    expect(res.body['chatInfo']).toMatchObject({ threadId: '19:meeting_abc@thread.v2' });
    const id = res.body['id'] as string;
    await h.sim.waitForIdle();
    const truth = h.sim.groundTruth(id)!;
    expect(truth.kind).toBe('meeting');
    expect(truth.rosterNotified).toBe(true);
    const all = rosters(h, id);
    expect(all.length).toBe(4);
    const seqs = all.map((r) => r.map((p) => p['rosterSequenceNumber']));
    for (const [i, r] of seqs.entries()) expect(new Set(r)).toEqual(new Set([i + 1]));
    // dave: in the lobby, then admitted
    const dave = (r: Json[]) =>
      r.find(
        (p) =>
          ((p['info'] as Json)['identity'] as Json)['user'] &&
          (((p['info'] as Json)['identity'] as Json)['user'] as Json)['displayName'] === 'Dave',
      );
    expect(dave(all[1]!)?.['isInLobby']).toBe(true);
    expect(dave(all[2]!)?.['isInLobby']).toBe(false);
    expect(all[3]!.length).toBe(3); // carol left
    expect(truth.participants.map((p) => p.id).sort()).toEqual(all[3]!.map((p) => p['id']).sort());
    expect(truth.removedParticipantIds).toHaveLength(1);
    expect(h.receiver.states(id)).toEqual(['establishing', 'established']);
    const established = h.receiver.notifications().find((n) => (n['resourceData'] as Json)['state'] === 'established')!;
    expect((established['resourceData'] as Json)['meetingInfo']).toMatchObject({ '@odata.type': '#microsoft.graph.organizerMeetingInfo' });
  });

  it('puts a guest in the lobby until admitted', async () => {
    h = await harness();
    // an admission far in the future stops the automatic one; the test admits the bot itself
    h.sim.scriptRemote('1234567', [{ do: 'admitBot', after: 3_600_000 }]);
    const res = await h.graph.request('POST', V1, {
      ...meetingRequest(h.receiver.url),
      chatInfo: undefined,
      meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '1234567', passcode: 'psw123' },
      source: { '@odata.type': '#microsoft.graph.participantInfo', identity: { guest: { id: 'guest-1', displayName: 'Guest User' } } },
    });
    expect(res.status).toBe(201);
    const id = res.body['id'] as string;
    await h.sim.waitUntil(() => rosters(h!, id).length === 1);
    const [lobby] = rosters(h, id);
    expect(lobby).toHaveLength(1);
    expect(lobby![0]).toMatchObject({ isInLobby: true, info: { identity: { guest: { id: 'guest-1' } } } });
    expect(h.sim.groundTruth(id)!.state).toBe('establishing');
    expect(h.sim.act(id, { do: 'admitBot' })).toEqual({ applied: true });
    expect(h.sim.act(id, { do: 'admitBot' })).toMatchObject({ applied: false });
    await h.sim.waitForState(id, 'established');
    await h.sim.waitForIdle();
    const bot = rosters(h, id)
      .at(-1)!
      .find((p) => p['id'] === res.body['myParticipantId']);
    expect(bot?.['isInLobby']).toBe(false);
  });

  it('ends the call when the bot is denied entry from the lobby', async () => {
    h = await harness();
    h.sim.scriptRemote('19:meeting_abc@thread.v2', { botLobby: true, steps: [{ do: 'denyBot', after: 1000 }] });
    const id = (await h.graph.request('POST', V1, meetingRequest(h.receiver.url))).body['id'] as string;
    const truth = await h.sim.waitForState(id, 'terminated');
    expect(truth.stateHistory).toEqual(['establishing', 'terminated']);
    expect(truth.resultInfo).toMatchObject({ code: 403 });
  });

  it('accepts the joinMeetingId and token meeting infos and rejects incomplete ones', async () => {
    h = await harness();
    const base = meetingRequest(h.receiver.url);
    const ok = [
      {
        ...base,
        chatInfo: undefined,
        meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '1234567', passcode: null },
      },
      { ...base, meetingInfo: { '@odata.type': '#microsoft.graph.tokenMeetingInfo', token: 'eyJ0b2tlbiI6dHJ1ZX0' } },
    ];
    for (const body of ok) expect((await h.graph.request('POST', V1, body)).status).toBe(201);
    const bad = [
      { ...base, chatInfo: undefined },
      { ...base, meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo' } },
      { ...base, meetingInfo: { '@odata.type': '#microsoft.graph.tokenMeetingInfo' } },
    ];
    for (const body of bad) expect((await h.graph.request('POST', V1, body)).status).toBe(400);
  });
});

describe('transfer', () => {
  it('succeeds: transferring, transferAccepted, then terminated 0/7015', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const res = await h.graph.request('POST', `${V1}/${id}/transfer`, {
      transferTarget: { endpointType: 'default', identity: { user: { id: 'heidi', displayName: 'Heidi Steen' } } },
    });
    expect(res.status).toBe(202);
    const truth = await h.sim.waitForState(id, 'terminated');
    expect(truth.stateHistory).toEqual(['establishing', 'established', 'transferring', 'transferAccepted', 'terminated']);
    expect(truth.resultInfo).toMatchObject({ code: 0, subcode: 7015, message: 'GracefulTransferCompleted' });
    await h.sim.waitForIdle();
    expect(h.receiver.states(id).filter((s, i, all) => s !== all[i - 1])).toEqual([
      'establishing',
      'established',
      'transferring',
      'transferAccepted',
      'terminated',
    ]);
  });

  it.each([7000, 7700] as const)('fails back to established with resultInfo 500/%i', async (subcode) => {
    h = await harness();
    h.sim.scriptRemote('heidi', { onTransfer: { fail: subcode } });
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    await h.graph.request('POST', `${V1}/${id}/transfer`, { transferTarget: { identity: { user: { id: 'heidi' } } } });
    // transferring is transient: wait on the history, not on the current state
    await h.sim.waitUntil(
      () => h!.sim.groundTruth(id)!.stateHistory.includes('transferring') && h!.sim.groundTruth(id)!.state === 'established',
    );
    await h.sim.waitForIdle();
    const truth = h.sim.groundTruth(id)!;
    expect(truth.state).toBe('established');
    expect(truth.stateHistory.slice(-2)).toEqual(['transferring', 'established']);
    const last = h.receiver.notifications().at(-1)!;
    expect(last).toMatchObject({ changeType: 'updated', resourceData: { state: 'established', resultInfo: { code: 500, subcode } } });
  });
});

describe('group calls and participants', () => {
  it('invites a participant: running, then the operation completes and the roster grows', async () => {
    h = await harness();
    const group = {
      ...p2pRequest(h.receiver.url),
      targets: ['u1', 'u2'].map((id) => ({
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: { user: { id, displayName: id } },
      })),
    };
    const created = await h.graph.request('POST', V1, group);
    const id = created.body['id'] as string;
    await h.sim.waitForState(id, 'established');
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(id)!.participants).toHaveLength(3);
    const res = await h.graph.request('POST', `${V1}/${id}/participants/invite`, {
      participants: [{ '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'u3', displayName: 'u3' } } }],
      clientContext: 'invite-1',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      '@odata.type': '#microsoft.graph.inviteParticipantsOperation',
      status: 'running',
      clientContext: 'invite-1',
    });
    await h.sim.waitForIdle();
    const opId = res.body['id'] as string;
    const done = h.receiver.notifications().find((n) => n['resourceUrl'] === `/communications/calls/${id}/operations/${opId}`);
    expect(done).toMatchObject({
      changeType: 'deleted',
      resourceData: { status: 'completed', '@odata.type': '#microsoft.graph.inviteParticipantsOperation' },
    });
    const truth = h.sim.groundTruth(id)!;
    expect(truth.participants).toHaveLength(4);
    expect(rosters(h, id).at(-1)).toHaveLength(4);

    const list = await h.graph.request('GET', `${V1}/${id}/participants`);
    expect((list.body['value'] as Json[]).length).toBe(4);
    const u1 = truth.participants.find((p) => JSON.stringify(p.info).includes('"u1"'))!;
    const mute = await h.graph.request('POST', `${V1}/${id}/participants/${u1.id}/mute`, { clientContext: 'm' });
    expect(mute.body).toMatchObject({ '@odata.type': '#microsoft.graph.muteParticipantOperation', status: 'completed' });
    expect((await h.graph.request('DELETE', `${V1}/${id}/participants/${u1.id}`)).status).toBe(204);
    await h.sim.waitForIdle();
    const after = h.sim.groundTruth(id)!;
    expect(after.removedParticipantIds).toContain(u1.id);
    expect(after.participants).toHaveLength(3);
    expect((await h.graph.request('GET', `${V1}/${id}/participants/${u1.id}`)).status).toBe(404);
  });

  it('fails an invite the invitee declines', async () => {
    h = await harness();
    h.sim.scriptRemote('nope', [{ do: 'reject', after: 200 }]);
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const res = await h.graph.request('POST', `${V1}/${id}/participants/invite`, {
      participants: [{ identity: { user: { id: 'nope' } } }],
    });
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(id)!.operations[res.body['id'] as string]).toMatchObject({ status: 'failed', resultInfo: { code: 603 } });
  });

  it("a remote's onInvite decides how it answers an invitation, over its script's own answer or reject", async () => {
    h = await harness({ timings: { ringingMs: 3_000 } });
    // the steps say answer, onInvite says decline: the invitation fails as declined
    h.sim.scriptRemote('decliner', { steps: [{ do: 'answer', after: 100 }], onInvite: 'decline' });
    // the steps say reject, onInvite says accept: it answers, and then presses its key
    h.sim.scriptRemote('acceptor', {
      steps: [
        { do: 'reject', after: 100 },
        { do: 'dtmf', digits: '5', after: 100 },
      ],
      onInvite: 'accept',
    });
    // the steps say answer, onInvite says never: the invitation fails when the ringing times out
    h.sim.scriptRemote('silent', { steps: [{ do: 'answer', after: 100 }], onInvite: 'noAnswer' });
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    await h.graph.request('POST', `${V1}/${id}/subscribeToTone`, {});
    const invite = async (user: string) =>
      (
        await h!.graph.request('POST', `${V1}/${id}/participants/invite`, {
          participants: [{ identity: { user: { id: user, displayName: user } } }],
        })
      ).body['id'] as string;
    const declined = await invite('decliner');
    const accepted = await invite('acceptor');
    const unanswered = await invite('silent');
    // the ringing timeout is not work waitForIdle waits for: wait for its outcome
    await h.sim.waitUntil(() => h!.sim.groundTruth(id)!.operations[unanswered]?.status === 'failed', { timeoutMs: 10_000 });
    await h.sim.waitForIdle();
    const truth = h.sim.groundTruth(id)!;
    expect(truth.operations[declined]).toMatchObject({ status: 'failed', resultInfo: { code: 603 } });
    expect(truth.operations[accepted]).toMatchObject({ status: 'completed' });
    expect(truth.operations[unanswered]).toMatchObject({ status: 'failed', resultInfo: { code: 408 } });
    const ids = truth.participants.map((p) => JSON.stringify(p.info));
    expect(ids.some((info) => info.includes('"acceptor"'))).toBe(true);
    expect(ids.some((info) => info.includes('"decliner"') || info.includes('"silent"'))).toBe(false);
    expect(truth.tones.map((t) => t.tone)).toEqual(['tone5']);
  });
});

describe('media', () => {
  it('runs a script step that waits for a prompt to play (waitForPrompt), however late the prompt', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    h.sim.runScript(id, [{ do: 'waitForPrompt' }, { do: 'dtmf', digits: '7' }]);
    await h.graph.request('POST', `${V1}/${id}/subscribeToTone`, {});
    // 30 s of Graph time (0.01 time scale) with no prompt: nobody pressed anything
    await h.sim.waitForIdle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.sim.groundTruth(id)!.tones).toEqual([]);
    const play = await h.graph.request('POST', `${V1}/${id}/playPrompt`, {
      prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav' } }],
    });
    expect(play.status).toBe(200);
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(id)!.tones).toEqual([{ sequenceId: 1, tone: 'tone7' }]);
  });

  it('notifies DTMF tones after subscribeToTone, with increasing sequence ids', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    expect(h.sim.act(id, { do: 'dtmf', digits: '9' })).toEqual({ applied: true });
    const sub = await h.graph.request('POST', `${V1}/${id}/subscribeToTone`, { clientContext: 'tones' });
    expect(sub.body).toMatchObject({ '@odata.type': '#microsoft.graph.subscribeToToneOperation', status: 'completed' });
    h.sim.runScript(id, [{ do: 'dtmf', digits: '12#', intervalMs: 100 }]);
    await h.sim.waitForIdle();
    const tones = h.receiver
      .notifications()
      .map((n) => (n['resourceData'] as Json)['toneInfo'] as Json | undefined)
      .filter((t): t is Json => t !== undefined);
    // the '9' came before the subscription: Graph does not send it
    expect(tones.map((t) => t['tone'])).toEqual(['tone1', 'tone2', 'pound']);
    expect(tones.map((t) => t['sequenceId'])).toEqual([1, 2, 3]);
    expect(h.sim.groundTruth(id)!.tones).toEqual([
      { sequenceId: 1, tone: 'tone1' },
      { sequenceId: 2, tone: 'tone2' },
      { sequenceId: 3, tone: 'pound' },
    ]);
  });

  it('queues media operations and cancelMediaProcessing fails them with 400/8508', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const prompt = { mediaInfo: { uri: 'https://cdn.contoso.com/long.wav' } };
    const play = await h.graph.request('POST', `${V1}/${id}/playPrompt`, { prompts: [prompt], loop: true });
    const rec = await h.graph.request('POST', `/beta/communications/calls/${id}/recordResponse`, {
      maxRecordDurationInSeconds: 120,
      stopTones: ['#'],
    });
    expect(rec.body).toMatchObject({ '@odata.type': '#microsoft.graph.recordOperation', status: 'running' });
    const cancel = await h.graph.request('POST', `${V1}/${id}/cancelMediaProcessing`, { clientContext: 'c' });
    expect(cancel.body).toMatchObject({ '@odata.type': '#microsoft.graph.cancelMediaProcessingOperation', status: 'completed' });
    await h.sim.waitForIdle();
    const ops = h.sim.groundTruth(id)!.operations;
    expect(ops[play.body['id'] as string]).toMatchObject({
      status: 'failed',
      completionReason: 'mediaOperationCanceled',
      resultInfo: { code: 400, subcode: 8508 },
    });
    expect(ops[rec.body['id'] as string]).toMatchObject({ status: 'failed', completionReason: 'operationCanceled' });
  });

  it('ends a recording on a stop tone', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const rec = await h.graph.request('POST', `${V1}/${id}/record`, { maxRecordDurationInSeconds: 60, stopTones: ['#'] });
    expect(h.sim.act(id, { do: 'dtmf', digits: '#' })).toEqual({ applied: true });
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(id)!.operations[rec.body['id'] as string]).toMatchObject({
      status: 'completed',
      completionReason: 'stopToneDetected',
    });
  });

  it('notifies content sharing created, updated and deleted when enabled', async () => {
    h = await harness();
    h.sim.scriptRemote('user-john', [
      { do: 'answer', after: 100 },
      { do: 'shareScreen', after: 500 },
      { do: 'updateSharing', after: 500 },
      { do: 'stopSharing', after: 500 },
    ]);
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    await h.sim.waitForIdle();
    const sharing = h.receiver.notifications().filter((n) => n['resourceUrl'] === `/communications/calls/${id}/contentsharingsessions`);
    expect(sharing.map((n) => n['changeType'])).toEqual(['created', 'updated', 'deleted']);
    const sessionId = ((sharing[0]!['resourceData'] as Json[])[0] as Json)['id'] as string;
    expect(sessionId).toMatch(/^[0-9A-F]{64}$/);
    expect(h.sim.groundTruth(id)!.contentSharingSessions).toEqual({ [sessionId]: { id: sessionId, deleted: true } });
  });

  it('mutes and unmutes the bot, and keeps the call alive', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', `/beta/app/calls`, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const mute = await h.graph.request('POST', `/beta/app/calls/${id}/mute`, {});
    expect(mute.status).toBe(200);
    expect(mute.body).toMatchObject({ '@odata.type': '#microsoft.graph.muteParticipantOperation', status: 'completed' });
    const truth = h.sim.groundTruth(id)!;
    expect(truth.participants.find((p) => p.id === truth.myParticipantId)?.isMuted).toBe(true);
    const unmute = await h.graph.request('POST', `${V1}/${id}/unmute`, {});
    expect(unmute.body['@odata.type']).toBe('#microsoft.graph.unmuteParticipantOperation');
    expect((await h.graph.request('POST', `${V1}/${id}/keepAlive`)).status).toBe(200);
    expect((await h.graph.request('POST', `${V1}/${id}/microsoft.graph.keepAlive`)).status).toBe(200);
    expect(h.sim.requestCount('POST', '/calls/{id}/keepAlive')).toBe(2);
  });

  it('ends a call that got no keepAlive for 45 (scaled) minutes', async () => {
    h = await harness({ timeScale: 0.00005 }); // 45 min = 135 ms
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    const truth = await h.sim.waitForState(id, 'terminated', { timeoutMs: 5000 });
    expect(truth.stateHistory).toContain('established');
    expect(truth.resultInfo).toMatchObject({ code: 408 });
  });
});

describe('PSTN', () => {
  it('needs an application instance source for a phone target', async () => {
    h = await harness();
    const phoneTarget = { targets: [{ identity: { phone: { id: '+12345678901' } } }] };
    expect((await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'x', phoneTarget))).status).toBe(400);
    const res = await h.graph.request(
      'POST',
      V1,
      p2pRequest(h.receiver.url, 'x', {
        ...phoneTarget,
        source: { identity: { applicationInstance: { id: '3d913abb-aec0-4964-8fa6-3c6850c4f278', displayName: 'Calling Bot' } } },
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<Media Session Configuration>' },
      }),
    );
    expect(res.status).toBe(201);
    expect(res.body['mediaConfig']).toMatchObject({ '@odata.type': '#microsoft.graph.appHostedMediaConfig' });
    await h.sim.waitForState(res.body['id'] as string, 'established');
    expect(
      (await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'x', { targets: [{ identity: { phone: { id: '555-1234' } } }] })))
        .status,
    ).toBe(400);
  });
});

describe('more of the call resource', () => {
  it('redirects an incoming call: redirecting, then terminated', async () => {
    h = await harness();
    const { callId } = h.sim.placeIncomingCall({ appId: h.app.appId, from: 'caller-r' });
    const res = await h.graph.request('POST', `${V1}/${callId}/redirect`, { targets: [{ identity: { user: { id: 'someone-else' } } }] });
    expect(res.status).toBe(202);
    const truth = await h.sim.waitForState(callId, 'terminated');
    expect(truth.stateHistory).toEqual(['incoming', 'redirecting', 'terminated']);
    expect((await h.graph.request('POST', `${V1}/${callId}/redirect`, {})).status).toBe(404);
  });

  it('rings, answers, goes on hold and back, as the remote party does', async () => {
    h = await harness();
    h.sim.scriptRemote('user-john', [
      { do: 'ring', after: 100 },
      { do: 'answer', after: 500 },
      { do: 'hold', after: 500 },
      { do: 'resume', after: 500 },
    ]);
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(id)!.stateHistory).toEqual(['establishing', 'ringing', 'established', 'hold', 'established']);
    expect(h.receiver.states(id).filter((s, i, all) => s !== all[i - 1])).toEqual([
      'establishing',
      'ringing',
      'established',
      'hold',
      'established',
    ]);
  });

  it('ends an unanswered outgoing call at its ringing timeout, and a rejected one at once', async () => {
    h = await harness();
    h.sim.scriptRemote('silent', [{ do: 'noAnswer' }]);
    h.sim.scriptRemote('busy', [{ do: 'reject', after: 200 }]);
    const silent = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'silent', { ringingTimeoutInSeconds: 20 }))).body[
      'id'
    ] as string;
    const busy = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'busy'))).body['id'] as string;
    expect((await h.sim.waitForState(silent, 'terminated')).resultInfo).toMatchObject({ code: 408 });
    expect((await h.sim.waitForState(busy, 'terminated')).resultInfo).toMatchObject({ code: 603 });
  });

  it('answers operations by id, and refuses unknown segments and methods', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const op = await h.graph.request('POST', `${V1}/${id}/sendDtmfTones`, { tones: ['tone1', 'pound'], delayBetweenTonesMs: 200 });
    expect(op.body).toMatchObject({ '@odata.type': '#microsoft.graph.sendDtmfTonesOperation', status: 'running' });
    expect(op.headers.get('location')).toBe(`${h.sim.url}/v1.0/communications/calls/${id}/operations/${op.body['id'] as string}`);
    await h.sim.waitForIdle();
    const got = await h.graph.request('GET', `${V1}/${id}/operations/${op.body['id'] as string}`);
    expect(got.body).toMatchObject({ status: 'completed', completionReason: 'completedSuccessfully' });
    expect((await h.graph.request('POST', `${V1}/${id}/fly`, {})).status).toBe(400);
    expect((await h.graph.request('GET', `${V1}/${id}/playPrompt`)).status).toBe(405);
    expect((await h.graph.request('GET', V1)).status).toBe(405);
    expect((await h.graph.request('POST', `${V1}/${id}/playPrompt`, {})).status).toBe(400);
    const bad = await fetch(`${h.sim.url}${V1}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${h.graph.token}` },
      body: '{not json',
    });
    expect(bad.status).toBe(400);
  });

  it('puts a participant on hold music (202) and changes the screen sharing role', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    const remote = h.sim.groundTruth(id)!.participants.find((p) => p.id !== h!.sim.groundTruth(id)!.myParticipantId)!;
    const music = await h.graph.request('POST', `${V1}/${id}/participants/${remote.id}/startHoldMusic`, { clientContext: 'hm' });
    expect(music.status).toBe(202);
    expect(music.body).toMatchObject({ '@odata.type': '#microsoft.graph.startHoldMusicOperation', status: 'running' });
    const role = await h.graph.request('POST', `${V1}/${id}/changeScreenSharingRole`, { role: 'sharer' });
    expect(role.status).toBe(200);
    await h.sim.waitForIdle();
    expect(Object.values(h.sim.groundTruth(id)!.contentSharingSessions)).toEqual([expect.objectContaining({ deleted: false })]);
    expect((await h.graph.request('GET', `${V1}/${id}/contentSharingSessions`)).body['value']).toHaveLength(1);
    await h.graph.request('POST', `${V1}/${id}/changeScreenSharingRole`, { role: 'viewer' });
    expect(Object.values(h.sim.groundTruth(id)!.contentSharingSessions)).toEqual([expect.objectContaining({ deleted: true })]);
    expect((await h.graph.request('POST', `${V1}/${id}/changeScreenSharingRole`, { role: 'boss' })).status).toBe(400);
    expect(h.sim.groundTruth(id)!.operations[music.body['id'] as string]?.status).toBe('completed');
  });

  it('keeps a call from another app out of reach (404)', async () => {
    h = await harness();
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    const other = await fetch(`${h.sim.url}/${h.app.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'nobody',
        client_secret: 'x',
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    expect(other.status).toBe(400);
    expect((await h.graph.request('GET', `${V1}/${id}`)).status).toBe(200);
    expect((await h.graph.request('GET', `/beta/app/calls/${id}`)).body['@odata.type']).toBe('#microsoft.graph.call');
  });

  it('offers a control API for tools that drive it over HTTP', async () => {
    h = await harness();
    const placed = await fetch(`${h.sim.url}/_simulator/incomingCalls`, {
      method: 'POST',
      body: JSON.stringify({ appId: h.app.appId, from: '+14255550100' }),
    });
    expect(placed.status).toBe(201);
    const { callId } = (await placed.json()) as { callId: string };
    const truth = (await (await fetch(`${h.sim.url}/_simulator/calls/${callId}`)).json()) as Json;
    expect(truth).toMatchObject({ id: callId, state: 'incoming', direction: 'incoming' });
    expect(
      (await fetch(`${h.sim.url}/_simulator/calls/${callId}/steps`, { method: 'POST', body: JSON.stringify({ do: 'hangUp' }) })).status,
    ).toBe(202);
    await h.sim.waitForState(callId, 'terminated');
    const list = (await (await fetch(`${h.sim.url}/_simulator/calls`)).json()) as { value: Json[] };
    expect(list.value).toHaveLength(1);
  });
});

describe('consultative transfer and group controls', () => {
  it('completes a consultative transfer: both calls end, AppTransferred', async () => {
    h = await harness();
    const main = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'customer'))).body['id'] as string;
    const consult = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url, 'agent'))).body['id'] as string;
    await h.sim.waitForState(main, 'established');
    await h.sim.waitForState(consult, 'established');
    const res = await h.graph.request('POST', `${V1}/${main}/transfer`, {
      transferTarget: {
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: { user: { id: 'agent' } },
        replacesCallId: consult,
      },
    });
    expect(res.status).toBe(202);
    await h.sim.waitForState(main, 'terminated');
    await h.sim.waitForIdle();
    expect(h.sim.groundTruth(consult)!.state).toBe('terminated');
    const last = h.receiver
      .notifications()
      .filter((n) => n['resourceUrl'] === `/communications/calls/${main}`)
      .at(-1)!;
    expect(last).toMatchObject({ changeType: 'deleted', resourceData: { state: 'terminated', terminationReason: 'AppTransferred' } });
    expect((await h.graph.request('POST', `${V1}/${main}/transfer`, { transferTarget: { identity: { user: { id: 'x' } } } })).status).toBe(
      404,
    );
  });

  it('refuses a second transfer while one is under way, and a transfer of a call not established', async () => {
    // 0.4 s of wall time to answer (within the 0.6 s ringing) and 1 s to transfer: the early and the second transfer
    // must find the call still establishing and still transferring, even on a loaded machine
    h = await harness({ timings: { answerDelayMs: 40_000, transferMs: 100_000 } });
    const id = (await h.graph.request('POST', V1, p2pRequest(h.receiver.url))).body['id'] as string;
    const early = await h.graph.request('POST', `${V1}/${id}/transfer`, { transferTarget: { identity: { user: { id: 'x' } } } });
    expect(early.status).toBe(400);
    await h.sim.waitForState(id, 'established');
    expect((await h.graph.request('POST', `${V1}/${id}/transfer`, { transferTarget: { identity: { user: { id: 'x' } } } })).status).toBe(
      202,
    );
    expect((await h.graph.request('POST', `${V1}/${id}/transfer`, { transferTarget: { identity: { user: { id: 'x' } } } })).status).toBe(
      400,
    );
    expect((await h.graph.request('POST', `${V1}/${id}/transfer`, {})).status).toBe(400);
  });

  it('mutes everyone but the bot with muteAll, and records the recording status', async () => {
    h = await harness();
    const id = (
      await h.graph.request('POST', V1, {
        ...p2pRequest(h.receiver.url),
        targets: ['m1', 'm2'].map((u) => ({ identity: { user: { id: u } } })),
      })
    ).body['id'] as string;
    await h.sim.waitForState(id, 'established');
    await h.sim.waitForIdle();
    const res = await h.graph.request('POST', `/beta/communications/calls/${id}/participants/muteAll`, { clientContext: 'all' });
    expect(res.status).toBe(200);
    const truth = h.sim.groundTruth(id)!;
    expect(truth.participants.filter((p) => p.id !== truth.myParticipantId).every((p) => p.isMuted)).toBe(true);
    expect(truth.participants.find((p) => p.id === truth.myParticipantId)!.isMuted).toBe(false);
    const rec = await h.graph.request('POST', `${V1}/${id}/updateRecordingStatus`, { status: 'recording', clientContext: 'r' });
    expect(rec.body).toMatchObject({ '@odata.type': '#microsoft.graph.updateRecordingStatusOperation', status: 'completed' });
    expect((await h.graph.request('POST', `${V1}/${id}/updateRecordingStatus`, { status: 'maybe' })).status).toBe(400);
  });
});
