import { parseArgs } from 'node:util';
import { createSimulator, type FaultOptions } from '@switchboard/simulator';
import { UsageError, type Output } from '../output.js';

export const SIMULATE_HELP = `Usage: switchboard simulate [options]

Runs the local Graph calls simulator until interrupted (Ctrl-C): the calls API under
/v1.0 and /beta, a client-credentials token endpoint, the webhook signing keys, and signed
notifications to your bot's callback URL.

Options:
  --port <n>           port on 127.0.0.1 (default 4100; 0 picks a free one)
  --app-id <id>        the bot's app id (default 00000000-0000-0000-0000-00000000b07)
  --tenant <id>        tenant id (default 00000000-0000-0000-0000-0000000000aa)
  --secret <s>         client secret the token endpoint accepts (default "local-secret")
  --callback <url>     the bot's callback URL (default http://127.0.0.1:3978/api/calls)
  --seed <n>           seed for remote parties and faults (default 1)
  --time-scale <x>     Graph's timers scaled by x (default 1; 0.1 = ten times faster)
  --faults <preset>    none | light | heavy (reorder, duplicate, delay, drop and redeliver, 429/503)
  -h, --help           show this help

Exit codes: 0 stopped; 2 bad usage.`;

export const FAULT_PRESETS: Record<string, FaultOptions> = {
  none: {},
  light: { reorder: 0.1, duplicate: 0.05, delay: 0.1 },
  heavy: { reorder: 0.3, duplicate: 0.2, delay: 0.2, drop: 0.1, split: 0.1, merge: 0.1, throttle: 0.05, unavailable: 0.02 },
};

export async function simulateCommand(argv: readonly string[], out: Output, until?: Promise<void>): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string', default: '4100' },
      'app-id': { type: 'string', default: '00000000-0000-0000-0000-00000000b07' },
      tenant: { type: 'string', default: '00000000-0000-0000-0000-0000000000aa' },
      secret: { type: 'string', default: 'local-secret' },
      callback: { type: 'string', default: 'http://127.0.0.1:3978/api/calls' },
      seed: { type: 'string', default: '1' },
      'time-scale': { type: 'string', default: '1' },
      faults: { type: 'string', default: 'none' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.stdout(SIMULATE_HELP);
    return 0;
  }
  const port = Number(values.port);
  const seed = Number(values.seed);
  const timeScale = Number(values['time-scale']);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a port number, not '${values.port}'`, SIMULATE_HELP);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed takes a whole number, not '${values.seed}'`, SIMULATE_HELP);
  if (!(timeScale > 0)) throw new UsageError(`--time-scale takes a positive number, not '${values['time-scale']}'`, SIMULATE_HELP);
  const faults = FAULT_PRESETS[values.faults];
  if (!faults) throw new UsageError(`--faults is one of ${Object.keys(FAULT_PRESETS).join(', ')}`, SIMULATE_HELP);
  let callback: URL;
  try {
    callback = new URL(values.callback);
  } catch {
    throw new UsageError(`--callback is not a URL: '${values.callback}'`, SIMULATE_HELP);
  }

  const sim = createSimulator({
    apps: [{ appId: values['app-id'], tenantId: values.tenant, clientSecret: values.secret, callbackUri: callback.href }],
    seed,
    timeScale,
    port,
    faults,
  });
  const { url } = await sim.start();
  out.stdout(
    [
      `simulator listening on ${url}`,
      `  Graph base URL      ${url}  (v1.0 and beta)`,
      `  token endpoint      ${url}/${values.tenant}/oauth2/v2.0/token  (client ${values['app-id']}, secret as given)`,
      `  webhook keys        ${url}/v1/.well-known/OpenIdConfiguration`,
      `  notifications to    ${callback.href}`,
      `  faults              ${values.faults}, seed ${seed}, time scale ${timeScale}`,
    ].join('\n'),
  );
  await (until ?? waitForSignal());
  await sim.stop();
  out.stdout('simulator stopped');
  return 0;
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
