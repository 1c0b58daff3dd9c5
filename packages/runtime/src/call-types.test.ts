import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS, type CallState } from '@switchboard/core';
import { Call, ParticipantHandle } from './call.js';

/**
 * What a bot author's compiler says about the handles. This function is never run: `pnpm
 * typecheck` compiles it, and each `@ts-expect-error` fails the typecheck when the line
 * after it compiles.
 */
export async function compiledOnly(call: Call): Promise<void> {
  // @ts-expect-error a prompt is a mediaPrompt, not a number
  await call.playPrompt({ prompts: [42] });
  // @ts-expect-error a mediaPrompt needs its mediaInfo's uri
  await call.playPrompt({ prompts: [{ mediaInfo: {} }] });
  // @ts-expect-error a participant-scoped command cannot be called without a participant
  await call.startHoldMusic();
  // @ts-expect-error nor with a body in the participant's place
  await call.muteParticipant({ clientContext: 'x' });
  // @ts-expect-error answer needs acceptedModalities
  await call.answer({
    callbackUri: 'https://bot.contoso.com/calls',
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
  });
  // @ts-expect-error get sends no body
  await call.get({});
  // @ts-expect-error an unknown recording status
  await call.updateRecordingStatus({ status: 'paused' });
  // @ts-expect-error a participant handle has only the participant commands
  await call.participant('p1').playPrompt({ prompts: [] });
  // @ts-expect-error tones are Graph's tone names
  await call.sendDtmfTones({ tones: ['1'] });

  const recording = await call.record({ maxRecordDurationInSeconds: 10, playBeep: true });
  const done = await recording.completed;
  const location: string | null | undefined = done.recordingLocation;
  const token: string | null | undefined = done.recordingAccessToken;
  const got = await call.get();
  const state: string | null | undefined = got.body.state;
  const roster = await call.listParticipants();
  const firstMuted: boolean | undefined = roster.body.value[0]?.isMuted;
  const group = await call.createAudioRoutingGroup({ routingMode: 'multicast', sources: ['a'], receivers: ['b'] });
  const groupId: string = group.body.id;
  const hold = await call.participant('p1').startHoldMusic();
  const holdDone = await hold.completed;
  void [location, token, state, firstMuted, groupId, holdDone.id, (await call.participant('p1').remove()).status];
  // @ts-expect-error a terminator is a key ('#'), not Graph's tone name
  await call.collectDigits({ terminator: 'pound', timeoutMs: 1_000 });
  // @ts-expect-error a collection always has a time limit
  await call.collectDigits({ maxDigits: 4 });
  const collected = await call.collectDigits({ maxDigits: 4, terminator: '#', timeoutMs: 5_000 });
  const reason: 'maxDigits' | 'terminator' | 'timeout' | 'interDigitTimeout' = collected.reason;
  const transfer = await call.transfer({ transferTarget: { identity: { user: { id: 'op' } } } });
  const outcome = await transfer.outcome;
  const failure = outcome.result === 'failed' ? outcome.resultInfo.code : undefined;
  // @ts-expect-error a participant condition Graph's roster cannot say
  await call.participant('p1').waitFor('gone');
  // @ts-expect-error one who left may never have been seen: the view may be undefined
  const gone: { id: string } = await call.participant('p1').waitFor('left');
  const admitted: { id: string } = await call.participant('p1').waitFor('admitted', { timeoutMs: 1_000 });
  const talking = await call.participant('p1').waitFor((p, view) => p.isMuted === false && view.state === 'established');
  void [collected.digits, reason, transfer.status, failure, gone, admitted.id, talking.id];
  const states: (CallState | 'pending')[] = [call.state];
  void states;
}

describe('the handles derive their methods from the command table', () => {
  it('every row with a Call method has it on Call, every participant row on ParticipantHandle', () => {
    for (const name of COMMAND_NAMES) {
      const spec = COMMANDS[name];
      if (spec.call !== null)
        expect([name, typeof (Call.prototype as unknown as Record<string, unknown>)[spec.call]]).toEqual([name, 'function']);
      if (spec.participant !== null) {
        expect([name, typeof (ParticipantHandle.prototype as unknown as Record<string, unknown>)[spec.participant]]).toEqual([
          name,
          'function',
        ]);
      }
    }
    expect(typeof compiledOnly).toBe('function');
  });
});
