import { describe, expect, it } from 'vitest';
import type { CommandName, UndecodableEvent } from '@switchboard/core';
import type { GraphPort, GraphResponse, SendParams } from '@switchboard/core';
import { createSwitchboard } from './switchboard.js';

/** A Graph that answers from a table and remembers what it was sent. */
function fakeGraph(answer: (command: CommandName, params: SendParams) => GraphResponse) {
  const sent: { command: CommandName; callId: string | undefined }[] = [];
  const graph: GraphPort = {
    async send(command, params) {
      sent.push({ command, callId: params.callId });
      return answer(command, params);
    },
  };
  return { graph, sent };
}

const noTimers = () => () => {};
const note = (resourceUrl: string, resourceData: unknown, changeType = 'updated') => ({
  '@odata.type': '#microsoft.graph.commsNotifications',
  value: [{ '@odata.type': '#microsoft.graph.commsNotification', changeType, resourceUrl, resourceData }],
});

describe('one GUID, two spellings, in the runtime (call: playPrompt and call: answer pages)', () => {
  it("createCall's 201 id and Graph's notifications in another spelling land on one call; commands go out as Graph spelled the call", async () => {
    const { graph, sent } = fakeGraph((command) =>
      command === 'create'
        ? {
            status: 201,
            body: { '@odata.type': '#microsoft.graph.call', id: '57dab8b1-894c-409a-b240-bd8beae78896', state: 'establishing' },
          }
        : {
            status: 200,
            body: { '@odata.type': '#microsoft.graph.playPromptOperation', id: '0fe0623f-d628-42ed-b4bd-8ac290072cc5', status: 'running' },
          },
    );
    const sw = createSwitchboard({ graph, setTimer: noTimers, leases: false });
    const call = await sw.createCall({ callbackUri: 'https://bot.contoso.com/api/calls' } as unknown as Parameters<
      typeof sw.createCall
    >[0]); // the fake Graph reads no body
    await sw.sink({
      body: note('/communications/calls/57DAB8B1894C409AB240BD8BEAE78896', {
        '@odata.type': '#microsoft.graph.call',
        state: 'established',
      }),
    });
    expect(sw.calls().map((c) => c.id)).toEqual(['57dab8b1-894c-409a-b240-bd8beae78896']);
    expect(call.state).toBe('established');
    expect(sw.call('57DAB8B1894C409AB240BD8BEAE78896')).toBe(call);
    await call.playPrompt({ prompts: [] });
    expect(sent.map((s) => [s.command, s.callId])).toEqual([
      ['create', undefined],
      ['playPrompt', '57dab8b1-894c-409a-b240-bd8beae78896'],
    ]);
    await sw.stop();
  });

  it('an incoming call Graph spells 57DAB8B1894C409AB240BD8BEAE78896 is answered at that spelling', async () => {
    const { graph, sent } = fakeGraph(() => ({ status: 202, body: null }));
    const sw = createSwitchboard({ graph, setTimer: noTimers, leases: false });
    const incoming = new Promise<string>((resolve) => sw.once('incomingCall', (c) => resolve(c.id)));
    await sw.sink({
      body: note(
        '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896',
        { '@odata.type': '#microsoft.graph.call', state: 'incoming', direction: 'incoming' },
        'created',
      ),
    });
    const id = await incoming;
    expect(id).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(sw.call(id)!.view.graphId).toBe('57DAB8B1894C409AB240BD8BEAE78896');
    await sw.call(id)!.answer({
      callbackUri: 'https://bot.contoso.com/api/calls',
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      acceptedModalities: ['audio'],
    });
    expect(sent).toEqual([{ command: 'answer', callId: '57DAB8B1894C409AB240BD8BEAE78896' }]);
    await sw.stop();
  });
});

describe('quarantine in the runtime', () => {
  it('the sink resolves (the webhook answers 202), the rest of the delivery is applied, `undecodable` is emitted, and a live call is resynced', async () => {
    const { graph, sent } = fakeGraph((command) =>
      command === 'get' ? { status: 200, body: { id: 'c1', state: 'terminated' } } : { status: 200, body: { value: [] } },
    );
    const sw = createSwitchboard({ graph, setTimer: noTimers, leases: false });
    const seen: UndecodableEvent[] = [];
    sw.on('undecodable', (e) => seen.push(e));
    await sw.sink({ body: note('/communications/calls/c1', { '@odata.type': '#microsoft.graph.call', state: 'established' }) });
    await sw.sink({
      body: {
        value: [
          { changeType: 'updated', resourceUrl: '/communications/calls/c2', resourceData: { state: 'established' } },
          { changeType: 'deleted', resourceUrl: '/communications/calls/c1', resourceData: { state: { odd: true } } },
          { changeType: 'whatever' },
        ],
      },
    });
    expect(seen.map((e) => [e.callId, e.error.reason, e.error.path])).toEqual([
      ['c1', 'wrong-type', '$.value[1].resourceData.state'],
      [null, 'invalid-value', '$.value[2].changeType'],
    ]);
    expect(sw.call('c2')?.state).toBe('established');
    // c1 was live: Graph is asked, and its answer ends the call
    await expect.poll(() => sw.call('c1')?.state).toBe('terminated');
    expect(sent.map((s) => [s.command, s.callId])).toEqual([
      ['get', 'c1'],
      ['listParticipants', 'c1'],
    ]);
    await sw.stop();
  });

  it('what cannot be a delivery still throws (the webhook answers 400)', async () => {
    const { graph } = fakeGraph(() => ({ status: 200, body: null }));
    const sw = createSwitchboard({ graph, setTimer: noTimers, leases: false });
    await expect(
      sw.sink({ body: '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"n":1e400}}]}' }),
    ).rejects.toMatchObject({
      code: 'SWB_DECODE',
      reason: 'unstorable',
      path: '$.value[0].resourceData.n',
    });
    await expect(sw.sink({ body: { value: 'nope' } })).rejects.toMatchObject({ code: 'SWB_DECODE' });
    await sw.stop();
  });
});
