// A bot author's file: every package's root (and core's subpaths) imported, and the types a bot author leans on.
// test/consumer-types.test.ts compiles it with ./tsconfig.json (strict,
// exactOptionalPropertyTypes, no skipLibCheck) against the packages' built declarations;
// `pnpm typecheck` compiles it against their sources.
import * as adapters from '@switchboard/adapters';
import * as cli from '@switchboard/cli';
import * as core from '@switchboard/core';
import * as coreMachine from '@switchboard/core/machine';
import * as coreReplay from '@switchboard/core/replay';
import * as coreTesting from '@switchboard/core/testing';
import * as runtime from '@switchboard/runtime';
import * as simulator from '@switchboard/simulator';
import * as transport from '@switchboard/transport';

export const roots = [adapters, cli, core, coreMachine, coreReplay, coreTesting, runtime, simulator, transport] as const;

export const machine: coreMachine.CallMachine = coreMachine.callMachine;

export async function handle(
  switchboard: runtime.Switchboard,
  call: runtime.Call,
  spec: transport.CreateCallSpec,
): Promise<string | undefined> {
  // @ts-expect-error Graph requires acceptedModalities
  await call.answer({
    callbackUri: 'https://bot.contoso.com/api/calls',
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
  });
  await call.answer({
    callbackUri: 'https://bot.contoso.com/api/calls',
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    acceptedModalities: ['audio'],
  });
  // @ts-expect-error hold music is for a participant
  await call.startHoldMusic();
  await (await call.startHoldMusic('participant-id')).completed;
  await switchboard.createCall(spec);
  // a PSTN caller's number, without a cast
  return call.view.source?.identity?.phone?.id ?? undefined;
}
