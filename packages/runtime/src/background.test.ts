import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type AppendOptions, type AppendResult, type LogEntry } from '@switchboard/core';
import { createSwitchboard, type GraphPort, type Switchboard } from './index.js';

/**
 * The runtime's background work (timers, lease handling, reactions to events) runs outside
 * any caller's promise: whatever fails there goes to the `error` event, never to an unhandled
 * rejection (which fails a test run after its tests passed, or ends a process run with
 * `--unhandled-rejections=throw`, Node's default).
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
let open: Switchboard[] = [];
afterEach(async () => {
  process.off('unhandledRejection', onUnhandled);
  unhandled.length = 0;
  await Promise.all(open.map((sw) => sw.stop()));
  open = [];
});

/** An in-memory store that refuses to append the entries `refuse` picks. */
class RefusingStore extends InMemoryEventStore {
  constructor(private readonly refuse: (entry: LogEntry) => boolean) {
    super();
  }
  override appendToStream(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): Promise<AppendResult> {
    if (entries.some(this.refuse)) return Promise.reject(Object.assign(new Error('the disk is full'), { code: 'SWB_STORE_FAILED' }));
    return super.appendToStream(streamId, entries, options);
  }
}

const noGraph: GraphPort = {
  async send(command) {
    throw Object.assign(new Error(`no Graph here (${command})`), { code: 'SWB_GRAPH_HTTP' });
  },
};

const incomingCall = (callId: string) => ({
  value: [
    {
      changeType: 'created',
      resourceUrl: `/communications/calls/${callId}`,
      resourceData: { '@odata.type': '#microsoft.graph.call', state: 'incoming', direction: 'incoming' },
    },
  ],
});

async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('the runtime in the background', () => {
  it('an answer deadline whose timer entry cannot be stored reports the failure on `error`, not as an unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    const store = new RefusingStore((entry) => entry.kind === 'timer' && entry.timer === 'answerDeadline');
    const sw = createSwitchboard({ graph: noGraph, store, answerDeadlineMs: 50, deadlineMarginMs: 0, snapshotWhenQuietMs: 0 });
    open.push(sw);
    const errors: Error[] = [];
    sw.on('error', (error) => void errors.push(error));
    await sw.sink({ body: incomingCall('c1') });
    await eventually(() => errors.length > 0 || unhandled.length > 0, 'the deadline to fire');
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['the disk is full']);
  });

  it('an incomingCall handler that throws is reported on `error`, not as an unhandled rejection', async () => {
    process.on('unhandledRejection', onUnhandled);
    const sw = createSwitchboard({ graph: noGraph, answerDeadlineMs: 60_000, snapshotWhenQuietMs: 0 });
    open.push(sw);
    const errors: Error[] = [];
    sw.on('error', (error) => void errors.push(error));
    sw.on('incomingCall', () => {
      throw new Error('a bug in the bot');
    });
    await sw.sink({ body: incomingCall('c2') });
    await eventually(() => errors.length > 0 || unhandled.length > 0, 'the incomingCall event');
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(['a bug in the bot']);
  });

  it('an operation whose `completed` nobody awaits, and that times out, leaves no unhandled rejection (who awaits it still gets the timeout)', async () => {
    process.on('unhandledRejection', onUnhandled);
    const graph: GraphPort = {
      async send(command) {
        return command === 'playPrompt' ? { status: 200, body: { id: `op-${command}`, status: 'running' } } : { status: 202, body: null };
      },
    };
    const sw = createSwitchboard({ graph, answerDeadlineMs: 60_000, operationTimeoutMs: 30, snapshotWhenQuietMs: 0 });
    open.push(sw);
    await sw.sink({ body: incomingCall('c3') });
    const call = sw.call('c3')!;
    const prompt = { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/a.wav' } };
    await call.playPrompt({ prompts: [prompt] }); // its `completed` is left alone, as a bot may
    const awaited = await call.playPrompt({ prompts: [prompt] });
    await expect(awaited.completed).rejects.toMatchObject({ code: 'SWB_OPERATION_TIMEOUT' });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(unhandled).toEqual([]);
  });
});
