/**
 * Runs the demo bot against the Graph simulator and shows each call's state changing live.
 *
 *   pnpm demo                                   # simulator in-process, three scenarios, exits when done
 *   pnpm demo --faults heavy --seed 7           # the same with reordered, duplicated, dropped notifications
 *   pnpm switchboard simulate --time-scale 0.2  # or a simulator of its own (another terminal) ...
 *   pnpm demo --simulator http://127.0.0.1:4100 --stay   # ... kill this mid-call, start it again:
 *                                               #     the calls come back from .switchboard/demo.db
 *
 * The scenarios are set up through the simulator's control API over HTTP, so they work the
 * same against an in-process simulator and a separate `switchboard simulate` process.
 */
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { CallEvent } from '@switchboard/core';
import { createSimulator, type FaultOptions, type GraphTimings, type Simulator } from '@switchboard/simulator';
import { startDemoBot, type DemoBot } from './bot.js';

/** The simulator's defaults for `switchboard simulate`, so the two find each other. */
export const DEMO_APP = {
  appId: '00000000-0000-0000-0000-00000000b07',
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  clientSecret: 'local-secret',
} as const;

export const FAULTS: Record<string, FaultOptions> = {
  none: {},
  light: { reorder: 0.1, duplicate: 0.05, delay: 0.1 },
  heavy: { reorder: 0.3, duplicate: 0.2, delay: 0.2, drop: 0.1, split: 0.1, merge: 0.1, throttle: 0.05, unavailable: 0.02 },
};

export interface DemoOptions {
  /** A running simulator's URL; when absent one is started in-process. */
  readonly simulatorUrl?: string;
  readonly dbPath?: string;
  /** Keep the log in PostgreSQL (shared by several instances) instead of SQLite; `shards`: further databases calls are partitioned across. */
  readonly postgres?: { readonly connectionString: string; readonly schema?: string; readonly shards?: readonly string[] };
  /** This instance's name in leases. */
  readonly instanceId?: string;
  /** The URL Graph should call back (a load balancer in front of several instances); default the bot's own. */
  readonly callbackUri?: string;
  /** Keep-alive interval in Graph ms (default Graph's advice, 15 minutes). */
  readonly keepAliveMs?: number;
  readonly seed?: number;
  readonly faults?: keyof typeof FAULTS | FaultOptions;
  /** Graph-time scale of the in-process simulator (0.2: five times faster than real time). */
  readonly timeScale?: number;
  /** Graph's timings in the in-process simulator, in Graph ms (default Graph's). */
  readonly timings?: Partial<GraphTimings>;
  /** The bot's webhook port (a separate simulator posts to `--callback`, default 3978). */
  readonly port?: number;
  /** Place the scenarios (default true); false only serves (after a restart, say). */
  readonly scenarios?: boolean;
  /** Keep running after the scenarios end (until SIGINT). */
  readonly stay?: boolean;
  /** Where the live view goes (default stdout). */
  readonly print?: (line: string) => void;
  /** Resolves to stop a `stay` run (tests). */
  readonly until?: Promise<void>;
}

export interface DemoCall {
  readonly id: string;
  readonly scenario: string;
  /** The states the bot saw the call go through, in order. */
  readonly states: readonly string[];
  /** The bot's final view of the call. */
  readonly state: string;
  readonly participants: readonly string[];
  /** What the in-process simulator says happened (absent with `--simulator`). */
  readonly truth?: {
    readonly state: string;
    readonly states: readonly string[];
    readonly participants: readonly string[];
    /** Whether Graph sent any roster for the call (it does not for most peer-to-peer calls). */
    readonly rosterNotified: boolean;
    /** Requests Graph answered for this call, per `METHOD /template`, refusals apart (`POST /calls/{id}/answer 429`). */
    readonly requests: Readonly<Record<string, number>>;
  };
}

export interface DemoResult {
  readonly simulatorUrl: string;
  readonly calls: readonly DemoCall[];
  /** Calls the bot restored from its log at start. */
  readonly restored: number;
}

const SCENARIOS = {
  caller: 'incoming call: greeted, presses 0#, transferred to the operator',
  caller2: 'incoming call: greeted, presses 4 2 #, hears a goodbye, bot hangs up',
  outbound: 'outbound call to Adele: she answers, hears a reminder, bot hangs up',
  guest: 'guest join: waits in the lobby, admitted, the meeting ends',
} as const;

async function control(simulatorUrl: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${simulatorUrl}/_simulator/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`simulator control ${path} answered ${res.status}: ${await res.text()}`);
  return res.status === 204 ? undefined : res.json();
}

function requestsOf(sim: Simulator, callId: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of sim.requests()) {
    if (r.callId !== callId) continue;
    const key = `${r.template}${r.status >= 400 ? ` ${r.status}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A participant's display name, from Graph's `info.identity` (user, guest, phone or application). */
function nameOf(participant: { readonly id: string; readonly [k: string]: unknown }): string {
  const identity = (participant['info'] as { identity?: Record<string, { displayName?: unknown; id?: unknown } | undefined> } | undefined)
    ?.identity;
  for (const kind of ['user', 'guest', 'phone', 'application', 'applicationInstance']) {
    const name = identity?.[kind]?.displayName ?? identity?.[kind]?.id;
    if (typeof name === 'string' && name) return kind === 'application' ? `${name} (bot)` : name;
  }
  return short(participant.id);
}

function short(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dbPath = options.dbPath ?? '.switchboard/demo.db';
  if (dbPath !== ':memory:' && !options.postgres) mkdirSync(dirname(dbPath), { recursive: true });
  const faults = typeof options.faults === 'object' ? options.faults : FAULTS[options.faults ?? 'none'];
  if (!faults) throw new Error(`unknown fault preset '${String(options.faults)}' (none, light, heavy)`);
  const timeScale = options.timeScale ?? 0.2;
  const started = Date.now();
  const stamp = () => `+${((Date.now() - started) / 1000).toFixed(2).padStart(6)}s`;

  let sim: Simulator | undefined;
  let bot: DemoBot | undefined;
  let simulatorUrl = options.simulatorUrl;
  // the in-process simulator needs the bot's URL and the bot needs the simulator's: the bot
  // listens first, the simulator learns its callback, then the bot's clients find the simulator
  const scenarioOf = new Map<string, string>();
  const states = new Map<string, string[]>();
  const onEvent = (event: CallEvent) => {
    const label = scenarioOf.get(event.callId) ?? 'call';
    const who = `${label.padEnd(8)} ${short(event.callId)}`;
    switch (event.type) {
      case 'stateChanged': {
        const path = states.get(event.callId) ?? [];
        path.push(event.to);
        states.set(event.callId, path);
        print(`${stamp()}  ${who}  ${event.from} -> ${event.to}`);
        break;
      }
      case 'participantEnteredLobby':
        print(`${stamp()}  ${who}  ${nameOf(event.participant)} waits in the lobby`);
        break;
      case 'participantAdmitted':
        print(`${stamp()}  ${who}  ${nameOf(event.participant)} admitted`);
        break;
      case 'participantJoined':
        print(`${stamp()}  ${who}  ${nameOf(event.participant)} joined`);
        break;
      case 'participantLeft':
        print(`${stamp()}  ${who}  ${nameOf(event.participant)} left`);
        break;
      case 'toneReceived':
        print(`${stamp()}  ${who}  key ${event.tone.tone}`);
        break;
      case 'operationSettled':
        print(`${stamp()}  ${who}  ${event.operation.type ?? 'operation'} ${event.operation.status}`);
        break;
      case 'staleEntryIgnored':
        print(`${stamp()}  ${who}  (late notification reconciled: ${event.stale.reason})`);
        break;
      default:
        break;
    }
  };

  // an in-process simulator must know the bot's webhook URL before the bot can know the
  // simulator's: pick the bot's port first
  const port = options.port ?? (simulatorUrl ? 3978 : await freePort());
  let restored = 0;
  try {
    if (!simulatorUrl) {
      sim = createSimulator({
        apps: [{ ...DEMO_APP, callbackUri: `http://127.0.0.1:${port}/api/calls` }],
        seed: options.seed ?? 1,
        timeScale,
        faults,
        ...(options.timings ? { timings: options.timings } : {}),
      });
      simulatorUrl = (await sim.start()).url;
    }
    const url = simulatorUrl;
    bot = await startDemoBot({
      ...DEMO_APP,
      graphBaseUrl: url,
      authorityHost: url,
      openIdConfigurationUrl: `${url}/v1/.well-known/OpenIdConfiguration`,
      dbPath,
      ...(options.postgres ? { postgres: options.postgres } : {}),
      ...(options.instanceId ? { instanceId: options.instanceId } : {}),
      ...(options.callbackUri ? { callbackUri: options.callbackUri } : {}),
      ...(options.keepAliveMs ? { keepAliveMs: options.keepAliveMs } : {}),
      port,
      timeScale,
      operator: { id: 'operator', displayName: 'Operator' },
    });
    bot.switchboard.on('event', onEvent);
    restored = bot.switchboard.calls().filter((c) => c.state !== 'terminated').length;
    // (restored calls first: a supervisor reading the start line knows the restore is done)
    if (restored > 0) print(`restored ${restored} live call(s) from the log`);
    const log = options.postgres ? `PostgreSQL schema ${options.postgres.schema ?? 'switchboard'}` : dbPath;
    print(
      `switchboard demo: simulator ${simulatorUrl}, webhook ${bot.callbackUri}, log ${log}${options.instanceId ? `, instance ${options.instanceId}` : ''}`,
    );
    for (const call of bot.switchboard.calls()) if (call.state !== 'terminated') scenarioOf.set(call.id, 'restored');

    if (options.scenarios !== false) {
      // remote parties
      await control(url, 'remotes/operator', [{ do: 'answer', after: 1_000 }]);
      await control(url, 'remotes/adele', [{ do: 'answer', after: 2_000 }]);
      const thread = `19:meeting_demo-${options.seed ?? 1}@thread.v2`;
      await control(url, `remotes/${encodeURIComponent(thread)}`, {
        attendees: [{ participant: 'organizer' }, { participant: 'carol', displayName: 'Carol' }],
        botLobby: true,
        steps: [
          { do: 'admitBot', after: 4_000 },
          { do: 'endCall', after: 6_000 },
        ],
      });
      const ended = new Map<string, Promise<void>>();
      const watch = (id: string, scenario: string) => {
        scenarioOf.set(id, scenario);
        print(`${stamp()}  ${scenario.padEnd(8)} ${short(id)}  ${SCENARIOS[scenario as keyof typeof SCENARIOS]}`);
        ended.set(
          id,
          bot!.switchboard
            .call(id)
            ?.waitFor('terminated', { timeoutMs: 600_000 })
            .then(() => undefined) ?? Promise.resolve(),
        );
      };
      const incoming = (scenario: string) =>
        new Promise<void>((resolve) => {
          const listener = (call: { id: string }) => {
            if (scenarioOf.has(call.id)) return;
            bot!.switchboard.off('incomingCall', listener);
            watch(call.id, scenario);
            resolve();
          };
          bot!.switchboard.on('incomingCall', listener);
        });
      // incoming calls: the caller presses keys a second into the greeting (the bot subscribed to
      // tones before it played it; keys pressed before a subscription are lost, as on Graph)
      let next = incoming('caller');
      await control(url, 'incomingCalls', {
        appId: DEMO_APP.appId,
        from: '+14255550100',
        displayName: 'Caller One',
        script: [{ do: 'waitForPrompt' }, { do: 'dtmf', digits: '0#', intervalMs: 300, after: 1_000 }],
      });
      await next;
      next = incoming('caller2');
      await control(url, 'incomingCalls', {
        appId: DEMO_APP.appId,
        from: '+14255550111',
        displayName: 'Caller Two',
        script: [{ do: 'waitForPrompt' }, { do: 'dtmf', digits: '42#', intervalMs: 300, after: 1_000 }],
      });
      await next;
      watch((await bot.callUser('adele', 'Adele Vance')).id, 'outbound');
      watch((await bot.joinAsGuest({ threadId: thread, organizerId: 'organizer', tenantId: DEMO_APP.tenantId }, 'Demo Bot')).id, 'guest');
      await Promise.all(ended.values());
    }
    if (options.stay) {
      print('serving; Ctrl-C stops');
      await (options.until ??
        new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        }));
    }
    const calls: DemoCall[] = bot.switchboard.calls().map((call) => {
      const view = call.view;
      const truth = sim?.groundTruth(call.id);
      return {
        id: call.id,
        scenario: scenarioOf.get(call.id) ?? 'earlier',
        states: states.get(call.id) ?? [],
        state: view.state,
        participants: Object.keys(view.participants).sort(),
        ...(truth
          ? {
              truth: {
                state: truth.state,
                states: truth.stateHistory,
                participants: truth.participants.map((p) => p.id).sort(),
                rosterNotified: truth.rosterNotified,
                requests: requestsOf(sim!, call.id),
              },
            }
          : {}),
      };
    });
    for (const call of calls) print(`${call.scenario.padEnd(8)} ${short(call.id)}  ${call.state}`);
    return { simulatorUrl: url, calls, restored };
  } finally {
    await bot?.close();
    await sim?.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      simulator: { type: 'string' },
      db: { type: 'string', default: '.switchboard/demo.db' },
      postgres: { type: 'string' },
      'pg-schema': { type: 'string' },
      'pg-shard': { type: 'string', multiple: true },
      instance: { type: 'string' },
      'callback-uri': { type: 'string' },
      'keep-alive-ms': { type: 'string' },
      seed: { type: 'string', default: '1' },
      faults: { type: 'string', default: 'none' },
      'time-scale': { type: 'string', default: '0.2' },
      port: { type: 'string' },
      'no-scenarios': { type: 'boolean', default: false },
      stay: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: pnpm demo [options]

Runs the demo bot (examples/demo-bot) against the Graph simulator and prints each call's
state changes as they happen: two incoming calls (DTMF menu, transfer), an outbound call,
and a guest meeting join that waits in the lobby.

Options:
  --simulator <url>   use a running simulator (switchboard simulate) instead of an in-process one
  --db <path>         the SQLite log (default .switchboard/demo.db); calls in it are restored at start
  --postgres <url>    keep the log in PostgreSQL instead (several instances can share it)
  --pg-schema <name>  the PostgreSQL schema (default switchboard)
  --pg-shard <url>    a further database calls are partitioned across by call id (repeat it;
                      every instance lists the same ones in the same order)
  --instance <id>     this instance's name in the per-call leases
  --callback-uri <u>  the URL Graph calls back (a load balancer in front of several instances)
  --keep-alive-ms <n> keep-alive interval in Graph ms (default 900000, Graph's advice)
  --seed <n>          the in-process simulator's seed (default 1)
  --faults <preset>   none | light | heavy (in-process simulator)
  --time-scale <x>    Graph time scale of the in-process simulator (default 0.2)
  --port <n>          the bot's webhook port (default 3978 with --simulator, else any)
  --no-scenarios      do not place calls, only serve (after a restart)
  --stay              keep serving after the scenarios end, until Ctrl-C
`);
    return 0;
  }
  const faults = values.faults;
  if (!(faults in FAULTS)) {
    process.stderr.write(`--faults is one of ${Object.keys(FAULTS).join(', ')}\n`);
    return 2;
  }
  await runDemo({
    ...(values.simulator ? { simulatorUrl: values.simulator } : {}),
    dbPath: values.db,
    ...(values.postgres
      ? {
          postgres: {
            connectionString: values.postgres,
            ...(values['pg-schema'] ? { schema: values['pg-schema'] } : {}),
            ...(values['pg-shard']?.length ? { shards: values['pg-shard'] } : {}),
          },
        }
      : {}),
    ...(values.instance ? { instanceId: values.instance } : {}),
    ...(values['callback-uri'] ? { callbackUri: values['callback-uri'] } : {}),
    ...(values['keep-alive-ms'] ? { keepAliveMs: Number(values['keep-alive-ms']) } : {}),
    seed: Number(values.seed),
    faults,
    timeScale: Number(values['time-scale']),
    ...(values.port ? { port: Number(values.port) } : {}),
    scenarios: !values['no-scenarios'],
    stay: values.stay,
  });
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
