import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore } from '@switchboard/core';
import { createSwitchboard, type Switchboard } from './switchboard.js';
import { createFileRecorder } from './recorder.js';
import type { GraphPort } from '@switchboard/core';

/** A group call Graph recorded: its last notification carries `meetingInfo`, a tokenMeetingInfo whose token is a JWT. */
const GROUP_CALL = join(import.meta.dirname, '../../../test/fixtures/graph/recorded/sambetts-graph-calling-bots--groupcall.jsonl');

const graph: GraphPort = {
  async send(command) {
    throw Object.assign(new Error(`no Graph in this test (${command})`), { code: 'SWB_GRAPH_HTTP' });
  },
};

function notifications(): unknown[] {
  return readFileSync(GROUP_CALL, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => (JSON.parse(line) as { body: unknown }).body);
}

function meetingToken(bodies: unknown[]): string {
  const match = /"token":"(ey[^"]+)"/.exec(JSON.stringify(bodies));
  if (!match) throw new Error('the fixture has no tokenMeetingInfo token');
  return match[1]!;
}

let dir: string | undefined;
let sw: Switchboard | undefined;
afterEach(async () => {
  await sw?.stop();
  sw = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("the exchange recorder and a meeting's join token (tokenMeetingInfo.token)", () => {
  it('records a meeting call without its token in any form, while the event log keeps it (the log is the truth)', async () => {
    const bodies = notifications();
    const token = meetingToken(bodies);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    dir = mkdtempSync(join(tmpdir(), 'swb-recorder-'));
    const path = join(dir, 'exchange.jsonl');
    const lines: string[] = [];
    const write = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    const store = new InMemoryEventStore();
    sw = createSwitchboard({
      graph,
      store,
      recorder: createFileRecorder(path),
      logger: { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') },
      onAnswerDeadline: { action: 'none' },
    });
    for (const body of bodies) await sw.sink({ body, receivedAt: 0 });
    // and a body cut off mid-token, as a broken proxy would send it: not JSON, so it is recorded
    // as its first 256 characters, where the token's header and the start of its claims fit
    const cut = `{"value":[{"resourceData":{"meetingInfo":{"@odata.type":"#microsoft.graph.tokenMeetingInfo","token":"${token}"}}}]}`.slice(
      0,
      300,
    );
    await expect(sw.sink({ body: cut, receivedAt: 0 })).rejects.toThrow();
    const recording = readFileSync(path, 'utf8');
    expect(recording).toContain('tokenMeetingInfo');
    for (const [form, text] of [
      ['whole', token],
      ['signature', signature],
      ['header.payload', `${header}.${payload}`],
      ['cut after the start of its claims', `${header}.${payload.slice(0, 8)}`],
    ] as const) {
      expect({ form, inRecording: recording.includes(text), inLogs: lines.some((l) => l.includes(text)) }).toEqual({
        form,
        inRecording: false,
        inLogs: false,
      });
    }
    // the store holds notifications as Graph sent them: the token is there (docs/reliability.md says so)
    const streams = await store.listStreams();
    const logged = JSON.stringify(await Promise.all([...streams].map((id) => store.readStream(id))));
    expect(logged).toContain(signature);
  });
});
