import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandName } from '@switchboard/core';
import { commandOf } from '@switchboard/core/replay';
import { createGraphClient, type GraphClient, type GraphClientOptions } from './client.js';
import { COMMAND_ROUTES, IDEMPOTENT_COMMANDS } from './commands.js';
import { GraphError } from './errors.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

type Handler = (req: Seen, res: ServerResponse, index: number, raw: IncomingMessage) => void;

interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];
const clients: GraphClient[] = [];

async function startServer(handler: Handler, port = 0): Promise<TestServer> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      handler(s, res, seen.length - 1, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  const t: TestServer = {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  servers.push(t);
  return t;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
  res.end(text);
}

/** A virtual clock that the injected sleep advances; sleeps are recorded. */
function virtualTime(start = Date.UTC(2025, 0, 1, 12, 0, 0)) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw signal.reason;
      sleeps.push(ms);
      t += ms;
    },
  };
}

function client(url: string, extra: Partial<GraphClientOptions> = {}): GraphClient {
  const c = createGraphClient({ baseUrl: url, getToken: async () => 'token-abc', ...extra });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<GraphError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(GraphError);
  return e as GraphError;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A valid playPrompt body (the resilience tests need some non-idempotent command that passes validation). */
const PLAY = { prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/beep.wav' } }] };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('every method goes where the docs say', () => {
  const prompt = {
    '@odata.type': '#microsoft.graph.mediaPrompt',
    mediaInfo: { uri: 'https://cdn.contoso.com/beep.wav', resourceId: 'r1' },
  };
  const user = { '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'u1' } } };
  const cases: [CommandName, (c: GraphClient) => Promise<unknown>, string, string, unknown][] = [
    [
      'create',
      (c) =>
        c.createCall({
          callbackUri: 'https://bot.contoso.com/cb',
          requestedModalities: ['audio'],
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
          targets: [user],
        }),
      'POST',
      '/v1.0/communications/calls',
      {
        callbackUri: 'https://bot.contoso.com/cb',
        requestedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        targets: [user],
      },
    ],
    ['get', (c) => c.getCall('c1'), 'GET', '/v1.0/communications/calls/c1', undefined],
    ['delete', (c) => c.hangUp('c1'), 'DELETE', '/v1.0/communications/calls/c1', undefined],
    ['delete', (c) => c.deleteCall('c1'), 'DELETE', '/v1.0/communications/calls/c1', undefined],
    ['keepAlive', (c) => c.keepAlive('c1'), 'POST', '/v1.0/communications/calls/c1/keepAlive', undefined],
    [
      'answer',
      (c) =>
        c.answer('c1', {
          callbackUri: 'https://bot/cb',
          mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: 'b' },
          acceptedModalities: ['audio'],
        }),
      'POST',
      '/v1.0/communications/calls/c1/answer',
      {
        callbackUri: 'https://bot/cb',
        mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: 'b' },
        acceptedModalities: ['audio'],
      },
    ],
    ['reject', (c) => c.reject('c1', { reason: 'busy' }), 'POST', '/v1.0/communications/calls/c1/reject', { reason: 'busy' }],
    [
      'redirect',
      (c) => c.redirect('c1', { targets: [user], timeout: 30 }),
      'POST',
      '/v1.0/communications/calls/c1/redirect',
      { targets: [user], timeout: 30 },
    ],
    [
      'transfer',
      (c) => c.transfer('c1', { transferTarget: user }),
      'POST',
      '/v1.0/communications/calls/c1/transfer',
      { transferTarget: user },
    ],
    ['listParticipants', (c) => c.listParticipants('c1'), 'GET', '/v1.0/communications/calls/c1/participants', undefined],
    [
      'invite',
      (c) => c.invite('c1', { participants: [user], clientContext: 'x' }),
      'POST',
      '/v1.0/communications/calls/c1/participants/invite',
      { participants: [user], clientContext: 'x' },
    ],
    [
      'muteAll',
      (c) => c.muteAll('c1', { participants: ['p1'] }),
      'POST',
      '/v1.0/communications/calls/c1/participants/muteAll',
      { participants: ['p1'] },
    ],
    [
      'muteParticipant',
      (c) => c.muteParticipant('c1', 'p:1', { clientContext: 'm' }),
      'POST',
      '/v1.0/communications/calls/c1/participants/p%3A1/mute',
      { clientContext: 'm' },
    ],
    ['deleteParticipant', (c) => c.deleteParticipant('c1', 'p1'), 'DELETE', '/v1.0/communications/calls/c1/participants/p1', undefined],
    [
      'createAudioRoutingGroup',
      (c) => c.createAudioRoutingGroup('c1', { routingMode: 'oneToOne', sources: ['a'], receivers: ['b'] }),
      'POST',
      '/v1.0/communications/calls/c1/audioRoutingGroups',
      { routingMode: 'oneToOne', sources: ['a'], receivers: ['b'] },
    ],
    ['listAudioRoutingGroups', (c) => c.listAudioRoutingGroups('c1'), 'GET', '/v1.0/communications/calls/c1/audioRoutingGroups', undefined],
    [
      'addLargeGalleryView',
      (c) => c.addLargeGalleryView('c1', { clientContext: 'g' }),
      'POST',
      '/v1.0/communications/calls/c1/addLargeGalleryView',
      { clientContext: 'g' },
    ],
    [
      'playPrompt',
      (c) => c.playPrompt('c1', { prompts: [prompt] }),
      'POST',
      '/v1.0/communications/calls/c1/playPrompt',
      { prompts: [prompt] },
    ],
    [
      'record',
      (c) => c.record('c1', { maxRecordDurationInSeconds: 10, playBeep: true }),
      'POST',
      '/v1.0/communications/calls/c1/recordResponse',
      { maxRecordDurationInSeconds: 10, playBeep: true },
    ],
    [
      'record',
      (c) => c.recordResponse('c1', { bargeInAllowed: true }),
      'POST',
      '/v1.0/communications/calls/c1/recordResponse',
      { bargeInAllowed: true },
    ],
    [
      'cancelMediaProcessing',
      (c) => c.cancelMediaProcessing('c1', { clientContext: 'k' }),
      'POST',
      '/v1.0/communications/calls/c1/cancelMediaProcessing',
      { clientContext: 'k' },
    ],
    [
      'subscribeToTone',
      (c) => c.subscribeToTone('c1', { clientContext: 't' }),
      'POST',
      '/v1.0/communications/calls/c1/subscribeToTone',
      { clientContext: 't' },
    ],
    [
      'sendDtmfTones',
      (c) => c.sendDtmfTones('c1', { tones: ['tone1', 'pound'], delayBetweenTonesMs: 200 }),
      'POST',
      '/v1.0/communications/calls/c1/sendDtmfTones',
      { tones: ['tone1', 'pound'], delayBetweenTonesMs: 200 },
    ],
    ['mute', (c) => c.mute('c1'), 'POST', '/v1.0/communications/calls/c1/mute', {}],
    ['unmute', (c) => c.unmute('c1', { clientContext: 'u' }), 'POST', '/v1.0/communications/calls/c1/unmute', { clientContext: 'u' }],
    [
      'changeScreenSharingRole',
      (c) => c.changeScreenSharingRole('c1', { role: 'viewer' }),
      'POST',
      '/v1.0/communications/calls/c1/changeScreenSharingRole',
      { role: 'viewer' },
    ],
    [
      'updateRecordingStatus',
      (c) => c.updateRecordingStatus('c1', { status: 'recording', clientContext: 'r' }),
      'POST',
      '/v1.0/communications/calls/c1/updateRecordingStatus',
      { status: 'recording', clientContext: 'r' },
    ],
    [
      'startRecording',
      (c) => c.startRecording('c1', { clientContext: 'sr' }),
      'POST',
      '/v1.0/communications/calls/c1/startRecording',
      { clientContext: 'sr' },
    ],
    ['stopRecording', (c) => c.stopRecording('c1'), 'POST', '/v1.0/communications/calls/c1/stopRecording', {}],
    ['startTranscription', (c) => c.startTranscription('c1'), 'POST', '/v1.0/communications/calls/c1/startTranscription', {}],
    ['stopTranscription', (c) => c.stopTranscription('c1'), 'POST', '/v1.0/communications/calls/c1/stopTranscription', {}],
    [
      'logTeleconferenceDeviceQuality',
      (c) => c.logTeleconferenceDeviceQuality({ quality: { callChainId: 'x' } }),
      'POST',
      '/v1.0/communications/calls/logTeleconferenceDeviceQuality',
      { quality: { callChainId: 'x' } },
    ],
    [
      'startHoldMusic',
      (c) => c.startHoldMusic('c1', 'p1', { clientContext: 'h' }),
      'POST',
      '/v1.0/communications/calls/c1/participants/p1/startHoldMusic',
      { clientContext: 'h' },
    ],
    ['stopHoldMusic', (c) => c.stopHoldMusic('c1', 'p1'), 'POST', '/v1.0/communications/calls/c1/participants/p1/stopHoldMusic', {}],
  ];

  it('covers every command', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(Object.keys(COMMAND_ROUTES)));
    expect([...IDEMPOTENT_COMMANDS].sort()).toEqual(['delete', 'get', 'keepAlive', 'listAudioRoutingGroups', 'listParticipants']);
  });

  it.each(cases.map((c, i) => [i, ...c] as const))('#%i %s', async (_i, command, run, method, path, body) => {
    const server = await startServer((req, res) =>
      json(res, req.method === 'POST' && req.path.endsWith('/calls') ? 201 : 200, { id: 'c1' }, { 'request-id': 'rq-1' }),
    );
    const c = client(server.url);
    const result = (await run(c)) as { status: number; requestId?: string; clientRequestId?: string };
    expect(result.requestId).toBe('rq-1');
    expect(server.seen).toHaveLength(1);
    const seen = server.seen[0]!;
    expect(seen.method).toBe(method);
    expect(seen.path).toBe(path);
    expect(seen.headers.authorization).toBe('Bearer token-abc');
    expect(seen.headers['client-request-id']).toMatch(UUID);
    expect(result.clientRequestId).toBe(seen.headers['client-request-id']);
    if (body === undefined) {
      expect(seen.body).toBe('');
    } else {
      expect(JSON.parse(seen.body)).toEqual(body);
      expect(seen.headers['content-type']).toBe('application/json');
    }
    expect(c.urlOf(command, { callId: 'c1', participantId: 'p1' }).startsWith(`${server.url}/v1.0/communications/calls`)).toBe(true);
    // replay maps every URL the client sends back to its command
    expect(commandOf(method, path)?.command).toBe(command);
  });

  it('send() (the GraphPort) reaches the same routes and echoes the given client-request-id', async () => {
    const server = await startServer((_req, res) => json(res, 202, undefined));
    const c = client(server.url);
    const r = await c.send('subscribeToTone', { callId: 'c9', body: { clientContext: 'z' }, clientRequestId: 'my-crid' });
    expect(r).toMatchObject({ status: 202, body: null, clientRequestId: 'my-crid' });
    expect(server.seen[0]!.path).toBe('/v1.0/communications/calls/c9/subscribeToTone');
    expect(server.seen[0]!.headers['client-request-id']).toBe('my-crid');
  });

  it('beta paths: /beta/app/calls and /beta/communications/calls', async () => {
    const server = await startServer((_req, res) => json(res, 200, { id: 'c1' }));
    await client(server.url, { apiVersion: 'beta', betaPathStyle: 'app' }).getCall('c1');
    await client(server.url, { apiVersion: 'beta' }).playPrompt('c1', PLAY);
    expect(server.seen.map((s) => s.path)).toEqual(['/beta/app/calls/c1', '/beta/communications/calls/c1/playPrompt']);
    for (const s of server.seen) expect(commandOf(s.method, s.path)).toBeDefined();
  });

  it('bad arguments are SWB_INVALID_ARGUMENT and send nothing', async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const c = client(server.url);
    await expect(c.send('get', {})).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(c.getCall('a/b')).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(c.send('muteParticipant', { callId: 'c1' })).rejects.toThrow(/participantId/);
    await expect(c.send('nope' as CommandName, { callId: 'c1' })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(c.send('get', { callId: 'c1', body: { x: 1 } })).rejects.toThrow(/takes no body/);
    await expect(c.send('get', { callId: 'c1', clientRequestId: 'bad\r\nheader' })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(
      c.createCall({
        callbackUri: 'http://bot.example/cb',
        requestedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      }),
    ).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
      violations: [
        { path: '$.callbackUri', message: 'must be https' },
        { path: '$.targets', message: expect.stringContaining('is required') },
      ],
    });
    expect(server.seen).toHaveLength(0);
    expect(() => createGraphClient({ baseUrl: server.url })).toThrow(/auth or getToken/);
  });
});

describe('errors', () => {
  it('maps a Graph error body to GraphError with every field', async () => {
    const server = await startServer((req, res) =>
      json(
        res,
        404,
        {
          error: {
            code: '7503',
            message: 'Call not found.',
            innerError: { 'request-id': 'rq-404', date: '2025-01-01T00:00:00', 'client-request-id': req.headers['client-request-id'] },
          },
        },
        { 'request-id': 'rq-404', 'client-request-id': String(req.headers['client-request-id']) },
      ),
    );
    const e = await failure(client(server.url).getCall('gone', { clientRequestId: 'crid-404' }));
    expect(e.code).toBe('SWB_GRAPH_NOT_FOUND');
    expect(e.status).toBe(404);
    expect(e.graphCode).toBe('7503');
    expect(e.message).toContain('Call not found.');
    expect(e.requestId).toBe('rq-404');
    expect(e.clientRequestId).toBe('crid-404');
    expect(e.date).toBe('2025-01-01T00:00:00');
    expect(e.innerError).toEqual({ 'request-id': 'rq-404', date: '2025-01-01T00:00:00', 'client-request-id': 'crid-404' });
    expect(e.name).toBe('GraphError');
    expect(server.seen).toHaveLength(1); // a 404 is never retried
  });

  it.each([
    [400, 'SWB_GRAPH_BAD_REQUEST'],
    [403, 'SWB_GRAPH_UNAUTHORIZED'],
    [409, 'SWB_GRAPH_HTTP'],
    [500, 'SWB_GRAPH_HTTP'],
  ] as const)('%i on a non-idempotent command → %s, sent once', async (status, code) => {
    const server = await startServer((_req, res) => json(res, status, { error: { code: 'X', message: 'no' } }));
    const e = await failure(client(server.url).playPrompt('c1', PLAY));
    expect(e.code).toBe(code);
    expect(e.status).toBe(status);
    expect(server.seen).toHaveLength(1);
  });
});

describe('throttling and Retry-After', () => {
  it('a 429 storm on a non-idempotent command waits Retry-After seconds each time, then succeeds', async () => {
    const server = await startServer((_req, res, i) =>
      i < 3
        ? json(res, 429, { error: { code: 'TooManyRequests', message: 'slow down' } }, { 'retry-after': String(i + 2) })
        : json(res, 200, { status: 'running' }),
    );
    const time = virtualTime();
    const r = await client(server.url, { now: time.now, sleep: time.sleep, random: () => 0.99 }).playPrompt('c1', PLAY, {
      clientRequestId: 'crid-429',
    });
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(4);
    expect(time.sleeps).toEqual([2000, 3000, 4000]);
    expect(server.seen).toHaveLength(4);
    // the same client-request-id on every attempt
    expect(new Set(server.seen.map((s) => s.headers['client-request-id']))).toEqual(new Set(['crid-429']));
  });

  it('Retry-After as an HTTP-date, measured from the response Date header', async () => {
    const serverNow = Date.UTC(2030, 5, 1, 8, 0, 0);
    const server = await startServer((_req, res, i) => {
      if (i === 0) {
        res.setHeader('date', new Date(serverNow).toUTCString());
        json(res, 429, {}, { 'retry-after': new Date(serverNow + 7000).toUTCString() });
      } else json(res, 200, {});
    });
    const time = virtualTime(); // the local clock is years off: the server's Date is the reference
    await client(server.url, { now: time.now, sleep: time.sleep }).getCall('c1');
    expect(time.sleeps).toEqual([7000]);
  });

  it('Retry-After as an HTTP-date without a Date header, measured from now()', async () => {
    const time = virtualTime(Date.UTC(2030, 5, 1, 8, 0, 0));
    const server = await startServer((_req, res, i) => {
      res.sendDate = false;
      if (i === 0) json(res, 503, {}, { 'retry-after': new Date(time.now() + 12_000).toUTCString() });
      else json(res, 201, { id: 'new' });
    });
    const r = await client(server.url, { now: time.now, sleep: time.sleep }).createCall({
      callbackUri: 'https://bot/cb',
      requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      targets: [{ identity: { user: { id: 'u' } } }],
    });
    // 503 with Retry-After: Graph did not act, so even a create is retried
    expect(r.status).toBe(201);
    expect(time.sleeps).toEqual([12_000]);
    expect(server.seen).toHaveLength(2);
  });

  it('429 without Retry-After backs off exponentially with full jitter; exhausted → SWB_GRAPH_THROTTLED', async () => {
    const server = await startServer((_req, res) =>
      json(res, 429, { error: { code: 'TooManyRequests', message: 'throttled' } }, { 'request-id': 'rq-t' }),
    );
    const time = virtualTime();
    const e = await failure(
      client(server.url, {
        now: time.now,
        sleep: time.sleep,
        random: () => 0.5,
        retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 300 },
      }).sendDtmfTones('c1', { tones: ['tone1'] }),
    );
    expect(e.code).toBe('SWB_GRAPH_THROTTLED');
    expect(e.status).toBe(429);
    expect(e.attempts).toBe(4);
    expect(e.requestId).toBe('rq-t');
    expect(e.cause).toBeInstanceOf(GraphError); // chained to the previous attempt
    expect(time.sleeps).toEqual([50, 100, 150]); // 0.5 × min(300, 100·2^(n-1))
    expect(server.seen).toHaveLength(4);
  });

  it('stops early when Retry-After would pass the deadline', async () => {
    const server = await startServer((_req, res) => json(res, 429, {}, { 'retry-after': '30' }));
    const time = virtualTime();
    const e = await failure(client(server.url, { now: time.now, sleep: time.sleep, deadlineMs: 10_000 }).getCall('c1'));
    expect(e.code).toBe('SWB_GRAPH_THROTTLED');
    expect(time.sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });
});

describe('ambiguity', () => {
  const resetFirst: Handler = (_req, res, i, raw) => {
    if (i === 0)
      raw.socket.destroy(); // after the whole body was read
    else json(res, 200, { id: 'c1', state: 'established' });
  };

  it('a non-idempotent command is never sent twice after a connection reset → SWB_GRAPH_AMBIGUOUS', async () => {
    const server = await startServer(resetFirst);
    const time = virtualTime();
    const e = await failure(
      client(server.url, { now: time.now, sleep: time.sleep }).playPrompt('c1', PLAY, { clientRequestId: 'crid-amb' }),
    );
    expect(e.code).toBe('SWB_GRAPH_AMBIGUOUS');
    expect(e.clientRequestId).toBe('crid-amb');
    expect(e.cause).toBeDefined();
    expect(server.seen).toHaveLength(1);
    expect(JSON.parse(server.seen[0]!.body)).toEqual(PLAY); // the body did arrive
    // give a straggling retry a chance to show up
    await new Promise((r) => setTimeout(r, 50));
    expect(server.seen).toHaveLength(1);
  });

  it('an idempotent get is retried after a connection reset', async () => {
    const server = await startServer(resetFirst);
    const time = virtualTime();
    const r = await client(server.url, { now: time.now, sleep: time.sleep, random: () => 0 }).getCall('c1');
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(2);
    expect(server.seen).toHaveLength(2);
    expect(server.seen[0]!.headers['client-request-id']).toBe(server.seen[1]!.headers['client-request-id']);
  });

  it.each([502, 504, 503])('%i: a create fails ambiguous and is sent once; a keepAlive is retried', async (status) => {
    const server = await startServer((req, res) =>
      req.path.endsWith('/keepAlive') && server.seen.filter((s) => s.path.endsWith('/keepAlive')).length > 1
        ? json(res, 200, undefined)
        : json(res, status, { error: { code: 'Gateway', message: 'bad gateway' } }),
    );
    const time = virtualTime();
    const c = client(server.url, { now: time.now, sleep: time.sleep, random: () => 0 });
    const e = await failure(
      c.createCall({
        callbackUri: 'https://bot/cb',
        requestedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        targets: [{ identity: { user: { id: 'u' } } }],
      }),
    );
    expect(e.code).toBe('SWB_GRAPH_AMBIGUOUS');
    expect(e.status).toBe(status);
    expect(e.graphCode).toBe('Gateway');
    expect(server.seen.filter((s) => s.method === 'POST' && s.path === '/v1.0/communications/calls')).toHaveLength(1);
    const k = await c.keepAlive('c1');
    expect(k.status).toBe(200);
    expect(k.attempts).toBe(2);
  });

  it('ECONNREFUSED on a non-idempotent command is retried (nothing was sent)', async () => {
    const probe = await startServer(() => undefined);
    const port = probe.port;
    await probe.close();
    servers.splice(servers.indexOf(probe), 1);
    let revived: TestServer | undefined;
    const time = virtualTime();
    const c = client(`http://127.0.0.1:${port}`, {
      now: time.now,
      random: () => 0.5,
      sleep: async (ms) => {
        time.sleeps.push(ms);
        revived ??= await startServer((_req, res) => json(res, 200, { status: 'running' }), port);
      },
    });
    const r = await c.sendDtmfTones('c1', { tones: ['tone5'] });
    expect(r.status).toBe(200);
    expect(r.attempts).toBe(2);
    expect(time.sleeps).toEqual([250]);
    expect(revived!.seen).toHaveLength(1);
  });

  it('ECONNREFUSED until the attempts run out → SWB_GRAPH_NETWORK (not ambiguous)', async () => {
    const probe = await startServer(() => undefined);
    const port = probe.port;
    await probe.close();
    servers.splice(servers.indexOf(probe), 1);
    const time = virtualTime();
    const e = await failure(
      client(`http://127.0.0.1:${port}`, { now: time.now, sleep: time.sleep, retry: { maxAttempts: 3 } }).answer('c1', {
        callbackUri: 'https://b/cb',
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
        acceptedModalities: ['audio'],
      }),
    );
    expect(e.code).toBe('SWB_GRAPH_NETWORK');
    expect(e.attempts).toBe(3);
    expect(e.message).toContain('ECONNREFUSED');
    expect(time.sleeps).toHaveLength(2);
  });
});

describe('deadlines and cancellation', () => {
  const hang: Handler = () => undefined; // never answers

  it('an idempotent get past its deadline → SWB_GRAPH_TIMEOUT, quickly', async () => {
    const server = await startServer(hang);
    const started = Date.now();
    const e = await failure(client(server.url, { deadlineMs: 300, attemptTimeoutMs: 120, random: () => 0 }).getCall('c1'));
    expect(e.code).toBe('SWB_GRAPH_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(server.seen.length).toBeGreaterThanOrEqual(2); // timed-out gets are retried within the deadline
  });

  it('a non-idempotent command that times out is ambiguous and not resent', async () => {
    const server = await startServer(hang);
    const e = await failure(
      client(server.url, { deadlineMs: 2000, attemptTimeoutMs: 100 }).transfer('c1', {
        transferTarget: { identity: { user: { id: 'u2' } } },
      }),
    );
    expect(e.code).toBe('SWB_GRAPH_AMBIGUOUS');
    expect(e.message).toContain('timeout');
    expect(server.seen).toHaveLength(1);
  });

  // A Graph that cannot be reached: the connection does not complete (a black-holed address, a
  // DNS lookup that hangs) until undici's connect timeout, here after 500 ms. No request is
  // ever handed to a connection; the attempt's own timeout (the deadline's remainder) ends it
  // first. Before, that timeout made the command ambiguous once the connect error came.
  const unreachable = (): Agent =>
    new Agent({
      connect: (_options, callback) => {
        setTimeout(() => callback(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), null), 500);
      },
    });

  it('a non-idempotent command whose connection never completes is SWB_GRAPH_NETWORK, not ambiguous', async () => {
    const agent = unreachable();
    const e = await failure(
      client('http://graph.invalid', { dispatcher: agent, deadlineMs: 300, random: () => 0 }).transfer('c1', {
        transferTarget: { identity: { user: { id: 'u2' } } },
      }),
    );
    await agent.destroy();
    expect(e.code).toBe('SWB_GRAPH_NETWORK');
    expect(e.message).toContain('could not reach Graph (timeout before connecting');
  });

  it('a non-idempotent command aborted while still connecting is SWB_GRAPH_ABORTED (nothing left)', async () => {
    const agent = unreachable();
    const a = new AbortController();
    const p = failure(client('http://graph.invalid', { dispatcher: agent }).playPrompt('c1', PLAY, { signal: a.signal }));
    setTimeout(() => a.abort(), 20);
    const e = await p;
    await agent.destroy();
    expect(e.code).toBe('SWB_GRAPH_ABORTED');
  });

  it('an already-aborted signal sends nothing', async () => {
    const server = await startServer(hang);
    const e = await failure(client(server.url).playPrompt('c1', PLAY, { signal: AbortSignal.abort() }));
    expect(e.code).toBe('SWB_GRAPH_ABORTED');
    expect(server.seen).toHaveLength(0);
  });

  it('aborting an in-flight get is SWB_GRAPH_ABORTED; an in-flight playPrompt is SWB_GRAPH_AMBIGUOUS', async () => {
    const server = await startServer(hang);
    const c = client(server.url);
    const a1 = new AbortController();
    const p1 = failure(c.getCall('c1', { signal: a1.signal }));
    const a2 = new AbortController();
    const p2 = failure(c.playPrompt('c1', PLAY, { signal: a2.signal }));
    while (server.seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    a1.abort();
    a2.abort();
    expect((await p1).code).toBe('SWB_GRAPH_ABORTED');
    expect((await p2).code).toBe('SWB_GRAPH_AMBIGUOUS');
  });

  it('aborting during a Retry-After wait stops at once', async () => {
    const server = await startServer((_req, res) => json(res, 429, {}, { 'retry-after': '5' }));
    const a = new AbortController();
    const started = Date.now();
    const p = failure(client(server.url).getCall('c1', { signal: a.signal }));
    while (server.seen.length < 1) await new Promise((r) => setTimeout(r, 5));
    setTimeout(() => a.abort(), 20);
    const e = await p;
    expect(e.code).toBe('SWB_GRAPH_ABORTED');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(server.seen).toHaveLength(1);
  });
});

describe('auth', () => {
  it('401 once → refresh the token and retry once, even for a non-idempotent command', async () => {
    const server = await startServer((req, res) =>
      req.headers.authorization === 'Bearer fresh'
        ? json(res, 200, { status: 'running' })
        : json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'expired' } }),
    );
    const asked: boolean[] = [];
    const logs: string[] = [];
    const line = (obj: object, msg?: string) => logs.push(JSON.stringify(obj) + (msg ?? ''));
    const c = client(server.url, {
      getToken: async ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? 'fresh' : 'stale';
      },
      logger: { debug: line, info: line, warn: line, error: line },
    });
    const r = await c.record('c1', { maxRecordDurationInSeconds: 5 });
    expect(r.status).toBe(200);
    expect(asked).toEqual([false, true]);
    expect(server.seen.map((s) => s.headers.authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toMatch(/stale|fresh|Bearer/);
  });

  it('401 twice → SWB_GRAPH_UNAUTHORIZED after one refresh', async () => {
    const server = await startServer((_req, res) => json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'nope' } }));
    let calls = 0;
    const e = await failure(client(server.url, { getToken: async () => `t${++calls}` }).getCall('c1'));
    expect(e.code).toBe('SWB_GRAPH_UNAUTHORIZED');
    expect(e.graphCode).toBe('InvalidAuthenticationToken');
    expect(calls).toBe(2);
    expect(server.seen).toHaveLength(2);
  });

  it('a failing token source is SWB_GRAPH_AUTH and sends nothing', async () => {
    const server = await startServer((_req, res) => json(res, 200, {}));
    const e = await failure(client(server.url, { getToken: async () => Promise.reject(new Error('boom')) }).getCall('c1'));
    expect(e.code).toBe('SWB_GRAPH_AUTH');
    expect(server.seen).toHaveLength(0);
  });
});
