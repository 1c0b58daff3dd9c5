import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandName, LogEntry } from '@switchboard/core';
import { commandOf, convergentView, exchangeToEntries, parseExchangeLog, replay } from '@switchboard/core/replay';
import { redact } from '@switchboard/core/replay';
import { requestOf, toExchangeLog } from './exchange.js';

const RECORDED = join(import.meta.dirname, '..', '..', '..', '..', 'test/fixtures/graph/recorded');

const COMMANDS = {
  create: true,
  get: true,
  delete: true,
  keepAlive: true,
  answer: true,
  reject: true,
  redirect: true,
  transfer: true,
  listParticipants: true,
  invite: true,
  muteAll: true,
  muteParticipant: true,
  deleteParticipant: true,
  createAudioRoutingGroup: true,
  listAudioRoutingGroups: true,
  addLargeGalleryView: true,
  playPrompt: true,
  record: true,
  cancelMediaProcessing: true,
  subscribeToTone: true,
  sendDtmfTones: true,
  mute: true,
  unmute: true,
  changeScreenSharingRole: true,
  updateRecordingStatus: true,
  startRecording: true,
  stopRecording: true,
  startTranscription: true,
  stopTranscription: true,
  logTeleconferenceDeviceQuality: true,
  startHoldMusic: true,
  stopHoldMusic: true,
} satisfies Record<CommandName, true>;

describe('the exchange log a call downloads as', () => {
  it('names every command by a request replay maps back to it', () => {
    for (const command of Object.keys(COMMANDS) as CommandName[]) {
      const { method, path } = requestOf(command, '6f1f5c00-8c1b-47f1-be9d-660c501041a9');
      expect(commandOf(method, path)?.command, `${command}: ${method} ${path}`).toBe(command);
    }
  });

  for (const name of readdirSync(RECORDED)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    it(`${name}: each call replays from its download to the same call (secrets redacted)`, () => {
      const entries = exchangeToEntries(parseExchangeLog(readFileSync(join(RECORDED, name), 'utf8')));
      const original = replay(entries);
      for (const callId of Object.keys(original.calls)) {
        const own = entries.filter((e) => e.callId === callId);
        const again = replay(exchangeToEntries(parseExchangeLog(toExchangeLog(own))));
        expect(again.calls[callId]?.state, callId).toBe(original.calls[callId]!.state);
        expect(convergentView(again.calls[callId]!), callId).toEqual(redact(convergentView(original.calls[callId]!)));
      }
    });
  }

  it('redacts tokens and secrets, answers a command before the next request, and leaves timers out', () => {
    const callId = 'c1';
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJl';
    const entries: LogEntry[] = [
      {
        kind: 'command',
        id: 'cmd:1',
        callId,
        at: 1,
        command: 'answer',
        args: { callbackUri: `https://bot/cb?t=${jwt}`, clientSecret: 'hunter2' },
      },
      { kind: 'command', id: 'cmd:2', callId, at: 2, command: 'playPrompt', args: {} },
      { kind: 'timer', id: 't:1', callId, at: 3, timer: 'keepAliveDue' },
      { kind: 'commandResult', id: 'res:1', callId, at: 4, commandId: 'cmd:1', command: 'answer', outcome: 'succeeded', status: 202 },
      {
        kind: 'commandResult',
        id: 'res:2',
        callId,
        at: 5,
        commandId: 'cmd:2',
        command: 'playPrompt',
        outcome: 'succeeded',
        status: 200,
        body: { id: 'op1', status: 'running', access_token: 'secret' },
      },
    ];
    const text = toExchangeLog(entries);
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('"secret"');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; status: number | null; path: string | null });
    expect(lines.map((l) => `${l.kind} ${l.status ?? l.path}`)).toEqual([
      'request /v1.0/communications/calls/c1/answer',
      'response 202',
      'request /v1.0/communications/calls/c1/playPrompt',
      'response 200',
    ]);
  });
});
