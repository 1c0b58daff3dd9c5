/**
 * Runs the IVR bot against a Graph simulator until interrupted:
 *
 *   pnpm switchboard simulate                       # one terminal: the simulator on :4100
 *   pnpm ivr --simulator http://127.0.0.1:4100      # another: the bot on :3978
 *
 * and a caller, through the simulator's control API, who presses 0 three seconds in:
 *
 *   curl -X POST http://127.0.0.1:4100/_simulator/incomingCalls -d '{"appId":
 *     "00000000-0000-0000-0000-00000000b07", "from": "+14255550100", "script": [{"do":
 *     "waitFor", "state": "established"}, {"do": "dtmf", "digits": "0", "after": 3000}]}'
 *
 * It prints one line when it listens, and one per call when the call's flow ended.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { startIvrBot } from './bot.js';

const { values } = parseArgs({
  options: {
    simulator: { type: 'string', default: 'http://127.0.0.1:4100' },
    port: { type: 'string', default: '3978' },
    db: { type: 'string', default: '.switchboard/ivr.db' },
    'app-id': { type: 'string', default: '00000000-0000-0000-0000-00000000b07' },
    tenant: { type: 'string', default: '00000000-0000-0000-0000-0000000000aa' },
    secret: { type: 'string', default: 'local-secret' },
    operator: { type: 'string', default: 'operator' },
    'menu-timeout-ms': { type: 'string', default: '10000' },
  },
});

const simulator = values.simulator;
mkdirSync(dirname(values.db), { recursive: true });
const bot = await startIvrBot({
  appId: values['app-id'],
  tenantId: values.tenant,
  clientSecret: values.secret,
  graphBaseUrl: simulator,
  authorityHost: simulator,
  openIdConfigurationUrl: `${simulator}/v1/.well-known/OpenIdConfiguration`,
  dbPath: values.db,
  port: Number(values.port),
  operator: { identity: { user: { id: values.operator, displayName: 'Operator' } } },
  menuTimeoutMs: Number(values['menu-timeout-ms']),
  onOutcome: (callId, outcome) => console.log(`call ${callId}: ${outcome}`),
});
console.log(`ivr bot: listening on ${bot.callbackUri}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void bot.close().then(() => process.exit(0));
  });
}
