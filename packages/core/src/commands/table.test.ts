import { describe, expect, it } from 'vitest';
import { commandOf } from '../replay/exchange.js';
import {
  COMMAND_NAMES,
  COMMANDS,
  commandPathOf,
  matchCommand,
  type CommandBodyArgs,
  type CommandName,
  type CommandSpec,
  type CommandTargetArgs,
} from './table.js';

const ROOTS = [
  '/v1.0/communications/calls',
  '/beta/communications/calls',
  '/beta/app/calls',
  'https://graph.microsoft.com/v1.0/communications/calls',
  'http://127.0.0.1:4000/beta/app/calls',
];

const CALL_ID = '491f0b00-ffff-4bc9-a43e-b226498ec22a';
const PARTICIPANT_ID = 'a7ebfb2d-871e-419c-87af-27290b22e8db';

const rows = COMMAND_NAMES.map((name) => [name, COMMANDS[name] as CommandSpec] as const);

describe('the command table', () => {
  it.each(rows)('%s: its route maps back to it (commandOf), under every root', (name, spec) => {
    for (const root of ROOTS) {
      const path = root + commandPathOf(name, { callId: CALL_ID, participantId: PARTICIPANT_ID });
      expect(commandOf(spec.method, path), `${spec.method} ${path}`).toEqual({
        command: name,
        callId: spec.scope === 'collection' ? undefined : CALL_ID,
      });
    }
    const segments = commandPathOf(name, { callId: CALL_ID, participantId: PARTICIPANT_ID }).split('/').filter(Boolean);
    expect(matchCommand(spec.method, segments)).toEqual({
      command: name,
      ...(spec.scope === 'collection' ? {} : { callId: CALL_ID }),
      ...(spec.scope === 'participant' ? { participantId: PARTICIPANT_ID } : {}),
    });
  });

  it.each(rows)('%s: its path names exactly the ids its scope needs', (_name, spec) => {
    expect(spec.path.includes('{callId}')).toBe(spec.scope !== 'collection');
    expect(spec.path.includes('{participantId}')).toBe(spec.scope === 'participant');
  });

  it.each(rows)('%s: action names match in any case, with the microsoft.graph. prefix, and by their aliases', (name, spec) => {
    const segments = commandPathOf(name, { callId: CALL_ID, participantId: PARTICIPANT_ID }).split('/').filter(Boolean);
    const last = segments.at(-1)!;
    if (last === CALL_ID || last === PARTICIPANT_ID || segments.length === 0) return; // the route ends in an id
    for (const spelling of [last.toUpperCase(), `microsoft.graph.${last}`, ...(spec.aliases ?? [])]) {
      expect(matchCommand(spec.method, [...segments.slice(0, -1), spelling])?.command).toBe(name);
    }
  });

  it('no two routes are the same request', () => {
    const seen = new Map<string, CommandName>();
    for (const [name, spec] of rows) {
      const key = `${spec.method} ${spec.path}`;
      expect(seen.get(key), key).toBeUndefined();
      seen.set(key, name);
    }
  });

  it('handle method names are unique, and every participant command is on both handles', () => {
    const callNames = rows.map(([, s]) => s.call).filter((n): n is string => n !== null);
    expect(new Set(callNames).size).toBe(callNames.length);
    const participantNames = rows.map(([, s]) => s.participant).filter((n): n is string => n !== null);
    expect(new Set(participantNames).size).toBe(participantNames.length);
    for (const [name, spec] of rows) {
      if (spec.scope === 'participant') expect([name, spec.call !== null && spec.participant !== null]).toEqual([name, true]);
      else expect([name, spec.participant]).toEqual([name, null]);
      // only the collection's commands are not on the Call handle (create is the switchboard's createCall)
      expect([name, spec.call === null]).toEqual([name, spec.scope === 'collection']);
    }
  });

  it('a request that is no command maps to nothing', () => {
    expect(commandOf('PATCH', `/v1.0/communications/calls/${CALL_ID}`)).toBeUndefined();
    expect(commandOf('POST', `/v1.0/communications/calls/${CALL_ID}/dance`)).toBeUndefined();
    expect(commandOf('GET', `/v1.0/communications/calls/${CALL_ID}/participants/${PARTICIPANT_ID}`)).toBeUndefined();
    expect(commandOf('GET', '/v1.0/users/me')).toBeUndefined();
  });

  it('types the ids and the body each command takes', () => {
    const participantTarget: CommandTargetArgs<'startHoldMusic'> = ['call', 'participant'];
    const callTarget: CommandTargetArgs<'playPrompt'> = ['call'];
    const noTarget: CommandTargetArgs<'create'> = [];
    const noBody: CommandBodyArgs<'get'> = [];
    const optionalBody: CommandBodyArgs<'mute'> = [];
    const requiredBody: CommandBodyArgs<'playPrompt'> = [{ prompts: [{ mediaInfo: { uri: 'https://cdn.contoso.com/a.wav' } }] }];
    // @ts-expect-error a participant-scoped command needs the participant id
    const missingParticipant: CommandTargetArgs<'startHoldMusic'> = ['call'];
    // @ts-expect-error playPrompt's body is required
    const missingBody: CommandBodyArgs<'playPrompt'> = [];
    // @ts-expect-error a prompt is a mediaPrompt, not a number
    const wrongPrompt: CommandBodyArgs<'playPrompt'> = [{ prompts: [42] }];
    expect([participantTarget, callTarget, noTarget, noBody, optionalBody, requiredBody].map((a) => a.length)).toEqual([2, 1, 0, 0, 0, 1]);
    expect([missingParticipant, missingBody, wrongPrompt].length).toBe(3);
  });
});
