// tier: e2e (child processes, PostgreSQL)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StoredEntry } from '@switchboard/core';
import { replay } from '@switchboard/core/replay';
import { PgEventStore, ShardedPgEventStore } from '@switchboard/adapters';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { DEMO_APP } from '../examples/demo-bot/demo.js';
import { adminQueryShards, requireShardDatabases, testSchemas, TEST_SHARD_URLS } from '../packages/adapters/src/stores/postgres/test-db.js';
import { balancer } from './support/balancer.js';
import { startBotProcess, type BotProcess } from './support/bot-process.js';
import { releaseAll } from './support/cleanup.js';
import { freePort, until } from './support/net.js';

/**
 * Three instances of the demo bot, each its own process, on one log partitioned across two
 * PostgreSQL databases by call id, behind a load balancer that hands each of Graph's POSTs to
 * one of them at random. The owner of a call is killed with SIGKILL mid-call: another
 * instance takes the call over within the lease time and keeps it alive. Every call is
 * answered once and ends where the simulator says it ended.
 */
const SCALE = 0.1; // Graph time runs ten times faster: the 30 s lease lapses in 3 s
const schemas = testSchemas('procs');
const bots: BotProcess[] = [];
let sim: Simulator | undefined;
let lb: { url: string; close(): Promise<void> } | undefined;

beforeAll(requireShardDatabases);
afterEach(async () => {
  const ours = bots.splice(0);
  const [simulator, balancing] = [sim, lb];
  sim = undefined;
  lb = undefined;
  await releaseAll([
    ...ours.map((bot) => async () => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
      await bot.exited;
    }),
    () => simulator?.stop(),
    () => balancing?.close(),
  ]);
});
afterAll(() => schemas.dropAll());

describe('three bot processes on one log, sharded across two PostgreSQL databases', () => {
  it('answer each call once, and take over the calls of an owner killed with SIGKILL within the lease time', async () => {
    const schema = schemas.next();
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    const urls = ports.map((p) => `http://127.0.0.1:${p}/api/calls`);
    const alive = [true, true, true];
    lb = await balancer(() => urls, 5);
    sim = createSimulator({
      apps: [{ ...DEMO_APP, callbackUri: lb.url }],
      seed: 5,
      timeScale: SCALE,
      maxDeliveryAttempts: 12,
      timings: { incomingAnswerMs: 120_000 },
    });
    const { url } = await sim.start();
    const args = (i: number) => [
      '--postgres',
      TEST_SHARD_URLS[0]!,
      '--pg-shard',
      TEST_SHARD_URLS[1]!,
      '--pg-schema',
      schema,
      '--instance',
      `bot-${i}`,
      '--time-scale',
      String(SCALE),
      '--keep-alive-ms',
      '20000',
      '--callback-uri',
      lb!.url,
    ];
    // the first creates the schema; the others start once it is there
    bots.push(startBotProcess(url, ports[0]!, args(0)));
    await bots[0]!.ready;
    bots.push(startBotProcess(url, ports[1]!, args(1)), startBotProcess(url, ports[2]!, args(2)));
    await Promise.all(bots.map((b) => b.ready));

    const callIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      callIds.push(
        sim.placeIncomingCall({
          appId: DEMO_APP.appId,
          from: `+1425555${String(2000 + i)}`,
          // the caller stays on for two minutes of Graph time (12 s here), pressing nothing
          script: [
            { do: 'waitFor', state: 'established' },
            { do: 'hangUp', after: 120_000 },
          ],
        }).callId,
      );
    }
    await until(
      () => callIds.every((id) => sim!.groundTruth(id)?.stateHistory.includes('established') ?? false),
      'every call to be answered',
      20_000,
    );

    // who runs which call, by the leases in the database
    const owners = async () =>
      new Map(
        (
          await adminQueryShards<{ stream_id: string; owner: string }>(
            `SELECT stream_id, owner FROM ${schema}.leases WHERE expires_at > now()`,
          )
        ).map((r) => [r.stream_id, r.owner]),
      );
    await until(async () => (await owners()).size >= callIds.length, 'a lease on every call', 20_000);
    const victimCall = callIds[0]!;
    const victim = Number((await owners()).get(victimCall)!.slice('bot-'.length));
    const keepAlivesBefore = sim.requests().filter((r) => r.callId === victimCall && r.template.endsWith('/keepAlive')).length;

    bots[victim]!.child.kill('SIGKILL');
    await bots[victim]!.exited;
    alive[victim] = false;
    urls[victim] = urls.find((_, i) => alive[i])!; // the balancer stops sending there (a health check would)
    const killedAt = Date.now();

    // another instance holds the lease within the lease time (3 s) plus one sweep (1.5 s)
    const takeover = await until(
      async () => {
        const owner = (await owners()).get(victimCall);
        return owner !== undefined && owner !== `bot-${victim}`;
      },
      'another instance to take the call over',
      10_000,
    );
    expect(takeover).toBeLessThan(6_000);
    // ... and keeps the call alive (keep-alive every 2 s here)
    await until(
      () =>
        sim!.requests().filter((r) => r.callId === victimCall && r.template.endsWith('/keepAlive') && r.at > 0).length > keepAlivesBefore,
      'a keep-alive from the new owner',
      10_000,
    );

    await until(() => callIds.every((id) => sim!.groundTruth(id)?.state === 'terminated'), 'every call to end', 60_000);
    // (every call's callback is the balancer's URL: Graph's retries find a live instance)
    await sim.waitForIdle({ timeoutMs: 30_000 });

    // each call was answered exactly once, by one of the three
    for (const id of callIds) {
      const answers = sim.requests().filter((r) => r.callId === id && r.template === 'POST /calls/{id}/answer' && r.status < 300);
      expect(answers.length, `answers to ${id}`).toBe(1);
    }
    // keep-alives: at most one owner at a time (two owners would double the cadence)
    const lifetimeMs = Date.now() - killedAt + 10_000;
    for (const id of callIds) {
      const keepAlives = sim.requests().filter((r) => r.callId === id && r.template.endsWith('/keepAlive')).length;
      expect(keepAlives, `keep-alives of ${id}`).toBeLessThanOrEqual(Math.ceil(lifetimeMs / 2_000) + 4);
    }

    // the instance that ran each call at its end (it ended the call's lease) saw it end: it folds
    // what the others persisted through NOTIFY (and a poll), a moment after they commit
    const endedBy = new Map(
      (await adminQueryShards<{ stream_id: string; owner: string }>(`SELECT stream_id, owner FROM ${schema}.leases`)).map((r) => [
        r.stream_id,
        Number(r.owner.slice('bot-'.length)),
      ]),
    );
    const sawEnd = (i: number, id: string) => new RegExp(`${id.slice(0, 8)}\\s+\\S+ -> terminated`).test(bots[i]!.output.join(''));
    for (const id of callIds) expect(alive[endedBy.get(id)!], `the instance that ended ${id}`).toBe(true);
    await until(() => callIds.every((id) => sawEnd(endedBy.get(id)!, id)), 'the owner of every call to see it end', 30_000);
    // the survivors stop; the shared log folds to the simulator's ground truth for every call
    for (const [i, bot] of bots.entries()) if (alive[i]) bot.child.kill('SIGTERM');
    await Promise.all(bots.map((b) => b.exited));
    const store = new ShardedPgEventStore({
      shards: TEST_SHARD_URLS.map((connectionString) => new PgEventStore({ connectionString, schema })),
    });
    try {
      const entries: StoredEntry[] = [];
      for (const id of await store.listStreams()) entries.push(...(await store.readStream(id)));
      const result = replay(entries, { timeline: false });
      for (const id of callIds) expect(result.calls[id]?.state, `call ${id}`).toBe(sim.groundTruth(id)!.state);
      // and a surviving instance lists every call ended (a bot's last lines list the calls it
      // held). Not always the one whose name the lease row ends with: when an owner's lease
      // lapsed under load just as the call ended, another instance's sweep may take the
      // lapsed lease, find the call ended, end the lease in its own name and drop the call,
      // while the instance that ran the call to its end still holds it.
      for (const id of callIds) {
        const listed = bots.filter((bot, i) => alive[i] && new RegExp(`${id.slice(0, 8)}\\s+terminated`).test(bot.output.join('')));
        expect(listed.length, `a surviving bot listing ${id} ended (lease row: bot-${endedBy.get(id)})`).toBeGreaterThan(0);
      }
      console.log(
        `instances: 3 processes, ${callIds.length} calls, owner bot-${victim} SIGKILLed, call taken over in ${takeover} ms, 1 answer per call`,
      );
    } finally {
      await store.close();
    }
  }, 180_000);
});
