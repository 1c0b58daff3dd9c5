import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, SwitchboardError, type CommandName } from '@switchboard/core';
import { callStateBody, notificationBody, operationBody } from '@switchboard/core/testing';
import { createSwitchboard, type Switchboard } from './switchboard.js';
import type { GraphPort, GraphResponse, SendParams } from '@switchboard/core';

/**
 * How the runtime ends what Graph ends without saying so plainly: an operation deleted without a
 * status, a call whose keep-alive answers 404. Graph here is a script of answers per command.
 */
type Answer = GraphResponse | SwitchboardError;

function notFound(command: CommandName): SwitchboardError {
  const error = new SwitchboardError('SWB_GRAPH_NOT_FOUND', `${command}: 404 Not Found`) as SwitchboardError & { status: number };
  error.status = 404;
  return error;
}

function scriptedGraph(answers: Partial<Record<CommandName, Answer>>): GraphPort & { sent: Array<[CommandName, SendParams]> } {
  const sent: Array<[CommandName, SendParams]> = [];
  return {
    sent,
    async send(command, params) {
      sent.push([command, params]);
      const answer = answers[command] ?? { status: 202, body: null };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

const CALL = '57dab8b1-894c-409a-b240-bd8beae78896';
let running: Switchboard[] = [];

afterEach(async () => {
  for (const sw of running) await sw.stop();
  running = [];
});

function start(graph: GraphPort, config: { keepAliveIntervalMs?: number } = {}): Switchboard {
  const sw = createSwitchboard({ graph, store: new InMemoryEventStore(), operationTimeoutMs: 5_000, snapshotWhenQuietMs: 0, ...config });
  running.push(sw);
  return sw;
}

describe('what Graph ends without a plain end', () => {
  it('an invite Graph deletes without a status settles its handle: outcome unknown', async () => {
    const graph = scriptedGraph({
      invite: { status: 200, body: { '@odata.type': '#microsoft.graph.inviteParticipantsOperation', id: 'op-1', status: 'running' } },
    });
    const sw = start(graph);
    await sw.sink({ body: callStateBody(CALL, 'established') });
    const op = await sw.call(CALL)!.invite({ participants: [{ identity: { user: { id: 'u' } } }] });
    const settled = op.completed.then(
      () => 'resolved',
      (error: { code?: string; operation?: { status?: string } }) => [error.code, error.operation?.status],
    );
    // microsoft-graph-comms-samples issue 795: the invite ends as `deleted` on /operations/{id}, no status
    await sw.sink({
      body: notificationBody(CALL, 'deleted', 'operations/op-1', {
        '@odata.type': '#microsoft.graph.inviteParticipantsOperation',
        id: 'op-1',
      }),
    });
    expect(await settled).toEqual(['SWB_OPERATION_OUTCOME_UNKNOWN', 'ended']);
    // a handle taken afterwards settles at once, the same way
    await expect(sw.call(CALL)!.operation('op-1')!.completed).rejects.toMatchObject({ name: 'OperationOutcomeUnknownError' });
  });

  it('a completed operation still resolves, and one Graph deleted with its status', async () => {
    const graph = scriptedGraph({
      playPrompt: { status: 200, body: { '@odata.type': '#microsoft.graph.playPromptOperation', id: 'op-2', status: 'running' } },
    });
    const sw = start(graph);
    await sw.sink({ body: callStateBody(CALL, 'established') });
    const op = await sw.call(CALL)!.playPrompt({ prompts: [] });
    await sw.sink({ body: operationBody(CALL, 'op-2', 'playPromptOperation', 'completed') });
    await expect(op.completed).resolves.toMatchObject({ status: 'completed' });
  });

  it('a keep-alive answered 404 ends the call, and the runtime resyncs (its GET answers 404 too)', async () => {
    const graph = scriptedGraph({ keepAlive: notFound('keepAlive'), get: notFound('get'), listParticipants: notFound('listParticipants') });
    const sw = start(graph, { keepAliveIntervalMs: 20 });
    const ended = new Promise<void>((resolve) => sw.once('callEnded', () => resolve()));
    // an organizer ending a meeting for everyone: the bot hears only a roster update, never a
    // deleted call (microsoft-graph-comms-samples issue 77); the next keep-alive finds no call
    await sw.sink({ body: callStateBody(CALL, 'established') });
    await ended;
    const view = sw.call(CALL)!.view;
    expect(view.state).toBe('terminated');
    expect(Object.values(view.commands).map((c) => [c.command, c.outcome, c.status])).toContainEqual(['keepAlive', 'failed', 404]);
    await until(() => graph.sent.some(([command]) => command === 'get'));
    expect(graph.sent.filter(([command]) => command === 'keepAlive')).toHaveLength(1); // none after the end
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
