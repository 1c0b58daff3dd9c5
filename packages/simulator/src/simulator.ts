import { silentLogger, type CallState, type Logger } from '@switchboard/core';
import { Dispatcher } from './delivery.js';
import { ApiFaultInjector, normalizeFaults } from './faults.js';
import { groundTruthOf, notificationRecordOf } from './ground-truth.js';
import { Identity } from './identity.js';
import { stream } from './random.js';
import { Scheduler } from './scheduler.js';
import { ScriptRegistry, normalizeScript } from './scripts.js';
import { SimServer, type ControlApi } from './server.js';
import { CallService, type Reply } from './service/index.js';
import type {
  DeliveryRecord,
  GraphTimings,
  GroundTruthCall,
  IncomingCallOptions,
  NotificationRecord,
  RawDeliveryOptions,
  RequestRecord,
  Script,
  ScriptStep,
  SimulatorOptions,
} from './types.js';

/** The simulator: start it, point a bot at its URL, drive remote parties, read the ground truth. */
export interface Simulator {
  /** Listens on 127.0.0.1 (ephemeral port unless `port` was given) and creates the signing keys. */
  start(): Promise<{ url: string }>;
  /** Stops the server, every timer and every delivery. Idempotent. */
  stop(): Promise<void>;
  /** The base URL (after start): Graph under `/v1.0` and `/beta`, identity under `/{tenantId}/...`. */
  readonly url: string;
  /** Graph time now, ms since the epoch (runs `1 / timeScale` times as fast as real time). */
  now(): number;

  /** A new webhook signing key becomes current; the previous one stays published unless retired. */
  rotateSigningKey(options?: { readonly retirePrevious?: boolean }): Promise<{ kid: string }>;
  /** The `kid` webhook POSTs are signed with now. */
  signingKeyId(): string;
  /** An access token for `appId`, as the token endpoint would issue (a shortcut for tests). */
  accessToken(appId: string): Promise<string>;
  /** A webhook Bearer token for `appId`, as the simulator signs its POSTs. */
  webhookToken(appId: string): Promise<string>;

  /** Rings the bot: a `created` notification with state `incoming` goes to the app's callbackUri. */
  placeIncomingCall(options: IncomingCallOptions): { callId: string };
  /**
   * Scripts the remote party known by `key`: a target's identity id or phone number, or for
   * meetings a chat thread id, join meeting id, organizer id or `meeting`; `*` is any callee.
   * Used by every later call that reaches it, or by the next one only with `once`.
   */
  scriptRemote(key: string, script: Script, options?: { readonly once?: boolean }): void;
  /** Runs more steps on a live call, beside whatever script it already has. */
  runScript(callId: string, script: Script): void;
  /** Performs one remote-party step now. */
  act(callId: string, step: ScriptStep): { applied: true } | { applied: false; reason: string };

  /** The authoritative view of one call (ended ones included), or undefined. */
  groundTruth(callId: string): GroundTruthCall | undefined;
  /** Every call, in creation order. */
  calls(): GroundTruthCall[];
  /** Every notification emitted, in order, with whether a delivery of it was acknowledged. */
  notifications(filter?: { readonly callId?: string }): NotificationRecord[];
  /** Every webhook POST attempt (dropped ones included), in the order they started. */
  deliveries(): readonly DeliveryRecord[];
  /** Every Graph API request answered. */
  requests(): readonly RequestRecord[];
  /** Requests per `METHOD /template` (`POST /calls/{id}/playPrompt`), any status. */
  requestCounts(): Record<string, number>;
  /** Requests with this method and template; `status` narrows to one status (e.g. 200). */
  requestCount(method: string, template: string, status?: number): number;

  /**
   * Resolves when nothing is scheduled that would produce a notification soon: no webhook
   * delivery queued, in flight or awaiting a retry, and no script step, operation completion
   * or state progression due within `horizonMs` Graph ms (default 60 000). Graph's long
   * timers (ringing, answer deadline, keep-alive) never count. Rejects after `timeoutMs`
   * real ms (default 10 000).
   */
  waitForIdle(options?: { readonly timeoutMs?: number; readonly horizonMs?: number }): Promise<void>;
  /** Resolves with the call's ground truth once it is in `state`. */
  waitForState(callId: string, state: CallState, options?: { readonly timeoutMs?: number }): Promise<GroundTruthCall>;
  /** Resolves once `predicate` holds (checked every few ms). */
  waitUntil(predicate: () => boolean, options?: { readonly timeoutMs?: number; readonly message?: string }): Promise<void>;

  /**
   * A finished recording (by its record operation's id): where it is served, its bytes, and
   * when (Graph time, ms since the epoch) its access token stops being accepted.
   */
  recording(operationId: string): { readonly location: string; readonly bytes: Uint8Array; readonly expiresAt: number } | undefined;

  /** POSTs `body` to an app's webhook outside the queue, with a chosen token (receiver tests). */
  deliverRaw(options: RawDeliveryOptions): Promise<{ status: number } | { error: string }>;
}

const DEFAULT_TIMINGS: GraphTimings = {
  incomingAnswerMs: 15_000,
  keepAliveMs: 45 * 60_000,
  ringingMs: 60_000,
  answerDelayMs: 1_000,
  establishMs: 300,
  lobbyAdmitMs: 2_000,
  promptMs: 2_000,
  inviteAnswerMs: 1_500,
  transferMs: 1_000,
  deliveryLatencyMs: [5, 25],
  retryBackoffMs: 1_000,
  recordingAccessMs: 10 * 60_000,
};

/**
 * Creates a simulator of the Microsoft Graph calls service: the calls API, an Entra-like
 * token endpoint, signed webhook notifications, scripted remote parties and seeded faults.
 * Nothing listens until `start()`.
 */
export function createSimulator(options: SimulatorOptions): Simulator {
  if (options.apps.length === 0) throw new TypeError('createSimulator: at least one app registration is needed');
  const seed = options.seed ?? 1;
  const timeScale = options.timeScale ?? 1;
  const logger: Logger = options.logger ?? silentLogger;
  const faults = normalizeFaults(options.faults);
  const timings: GraphTimings = { ...DEFAULT_TIMINGS, ...options.timings };
  const scheduler = new Scheduler(timeScale, (error) => logger.error({ err: error }, 'simulator task failed'));
  const identity = new Identity(
    options.apps,
    stream(seed, 'identity'),
    options.tokenLifetimeSeconds ?? 3599,
    options.isolatedKeys ?? false,
  );
  const dispatcher = new Dispatcher({
    scheduler,
    identity,
    faults,
    seed,
    logger,
    maxAttempts: options.maxDeliveryAttempts ?? 5,
    concurrency: Math.max(1, options.deliveryConcurrency ?? 1),
    timeoutMs: options.deliveryTimeoutMs ?? 5_000,
    latencyMs: timings.deliveryLatencyMs,
    retryBackoffMs: timings.retryBackoffMs,
  });
  const registry = new ScriptRegistry();
  for (const [key, script] of Object.entries(options.remotes ?? {})) registry.set(key, script);
  let baseUrl: string | undefined;
  const requireUrl = (): string => {
    if (baseUrl === undefined) throw new Error('the simulator is not started: call start() first');
    return baseUrl;
  };
  const service = new CallService({
    scheduler,
    dispatcher,
    identity,
    registry,
    seed,
    timings,
    legacyResource: options.legacyResource ?? true,
    remoteBehaviour: options.remoteBehaviour ?? 'answer',
    logger,
    baseUrl: () => baseUrl ?? 'http://127.0.0.1',
  });

  const liveCall = (callId: string) => {
    const call = service.get(callId);
    if (!call) throw new Error(`no call '${callId}' in the simulator`);
    return call;
  };

  const sim: Simulator = {
    async start() {
      if (baseUrl !== undefined) return { url: baseUrl };
      await identity.init();
      baseUrl = await server.listen(options.port ?? 0);
      logger.info({ baseUrl }, 'Graph calls simulator listening');
      return { url: baseUrl };
    },
    async stop() {
      scheduler.stop();
      dispatcher.stop();
      service.stop();
      await server.close();
    },
    get url() {
      return requireUrl();
    },
    now: () => scheduler.now(),
    rotateSigningKey: (o) => identity.rotateSigningKey(o),
    signingKeyId: () => identity.currentWebhookKid(),
    async accessToken(appId) {
      const app = identity.app(appId);
      if (!app) throw new Error(`unknown appId '${appId}'`);
      return identity.issueAccessToken(app);
    },
    webhookToken: (appId) => identity.webhookToken(appId),
    placeIncomingCall(o) {
      requireUrl();
      return { callId: service.placeIncoming(o).id };
    },
    scriptRemote(key, script, o) {
      registry.set(key, script, o?.once ?? false);
    },
    runScript(callId, script) {
      service.run(liveCall(callId), normalizeScript(script), undefined);
    },
    act(callId, step) {
      const reason = service.act(liveCall(callId), step, undefined);
      return reason === undefined ? { applied: true } : { applied: false, reason };
    },
    groundTruth(callId) {
      const call = service.get(callId);
      return call ? groundTruthOf(call, baseUrl ?? '') : undefined;
    },
    calls: () => service.all().map((c) => groundTruthOf(c, baseUrl ?? '')),
    notifications(filter) {
      return service
        .notifications()
        .filter((r) => filter?.callId === undefined || r.callId === filter.callId)
        .map(notificationRecordOf);
    },
    deliveries: () => dispatcher.deliveries(),
    requests: () => server.requests(),
    requestCounts: () => server.requestCounts(),
    requestCount(method, template, status) {
      return server
        .requests()
        .filter(
          (r) =>
            r.method === method.toUpperCase() &&
            r.template === `${method.toUpperCase()} ${template}` &&
            (status === undefined || r.status === status),
        ).length;
    },
    waitForIdle(o) {
      let quiet = 0;
      return sim.waitUntil(
        () => {
          // twice in a row: a delivery completion schedules its follow-up on the next turn
          const idle = dispatcher.pending() === 0 && scheduler.trackedPending(o?.horizonMs ?? 60_000) === 0;
          quiet = idle ? quiet + 1 : 0;
          return quiet >= 2;
        },
        { timeoutMs: o?.timeoutMs ?? 10_000, message: 'the simulator did not become idle' },
      );
    },
    async waitForState(callId, state, o) {
      await sim.waitUntil(() => service.get(callId)?.state === state, {
        timeoutMs: o?.timeoutMs ?? 10_000,
        message: `call ${callId} did not reach '${state}' (it is '${service.get(callId)?.state ?? 'unknown'}')`,
      });
      return sim.groundTruth(callId)!;
    },
    waitUntil(predicate, o) {
      const timeoutMs = o?.timeoutMs ?? 10_000;
      const started = Date.now();
      return new Promise((resolve, reject) => {
        const check = (): void => {
          let ok: boolean;
          try {
            ok = predicate();
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          if (ok) return resolve();
          if (Date.now() - started > timeoutMs) {
            reject(new Error(`${o?.message ?? 'condition not met'} within ${timeoutMs} ms`));
            return;
          }
          setTimeout(check, 3);
        };
        check();
      });
    },
    recording(operationId) {
      const r = service.ctx.recordings.get(operationId);
      return r && { location: `${requireUrl()}/recordings/${r.id}`, bytes: new Uint8Array(r.bytes), expiresAt: r.expiresAt };
    },
    async deliverRaw(o) {
      const app = identity.app(o.appId);
      if (!app) throw new Error(`unknown appId '${o.appId}'`);
      return dispatcher.postRaw(o.callbackUri ?? app.callbackUri, app.appId, o.body, o.token ?? 'valid', o.headers);
    },
  };

  const control: ControlApi = {
    handle(method, segments, body): Reply | undefined {
      const [first, id, action] = segments;
      if (method === 'GET' && first === 'calls' && id === undefined) return { status: 200, body: { value: sim.calls() } };
      if (method === 'GET' && first === 'calls' && id !== undefined && action === undefined) {
        const truth = sim.groundTruth(id);
        return truth ? { status: 200, body: truth } : { status: 404, body: { error: { code: 'notFound', message: `no call '${id}'` } } };
      }
      if (method === 'POST' && first === 'calls' && id !== undefined && action === 'steps') {
        const steps = Array.isArray(body) ? (body as ScriptStep[]) : [body as ScriptStep];
        sim.runScript(id, steps);
        return { status: 202 };
      }
      if (method === 'POST' && first === 'incomingCalls') return { status: 201, body: sim.placeIncomingCall(body as IncomingCallOptions) };
      if (method === 'POST' && first === 'remotes' && id !== undefined) {
        sim.scriptRemote(id, body as Script);
        return { status: 204 };
      }
      if (method === 'GET' && first === 'notifications') return { status: 200, body: { value: sim.notifications() } };
      if (method === 'GET' && first === 'deliveries') return { status: 200, body: { value: sim.deliveries() } };
      if (method === 'GET' && first === 'requests') return { status: 200, body: { value: sim.requests(), counts: sim.requestCounts() } };
      return undefined;
    },
  };

  const server = new SimServer({
    identity,
    service,
    apiFaults: new ApiFaultInjector(stream(seed, 'api'), faults, timeScale),
    scheduler,
    logger,
    requestIds: stream(seed, 'requests'),
    control,
    baseUrl: requireUrl,
  });

  return sim;
}
