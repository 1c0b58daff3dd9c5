import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { attemptOnce, type AttemptRequest } from './attempt.js';

const servers: Server[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.destroy()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A server that reads each whole request, then lets `handler` answer (or not). */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function agent(options?: Agent.Options): Agent {
  const a = new Agent(options);
  agents.push(a);
  return a;
}

function req(url: string, over: Partial<AttemptRequest> = {}): AttemptRequest {
  return {
    method: 'POST',
    url: `${url}/v1.0/communications/calls/c1/playPrompt`,
    headers: { 'content-type': 'application/json' },
    body: '{}',
    timeoutMs: 5_000,
    signal: undefined,
    ...over,
  };
}

describe('one attempt: what came back', () => {
  it('any status is a response: JSON parsed, an empty body null, other text kept, header names lower case', async () => {
    const url = await serve((r, res) => {
      if (r.url?.endsWith('/c1')) res.writeHead(202, { 'Request-Id': 'rq-1' }).end();
      else if (r.url?.endsWith('/c2')) res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>');
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"7503"}}');
    });
    const a = agent();
    expect(await attemptOnce(a, req(url, { method: 'DELETE', url: `${url}/c1`, body: undefined }))).toEqual({
      kind: 'response',
      status: 202,
      headers: expect.objectContaining({ 'request-id': 'rq-1' }),
      body: null,
    });
    expect(await attemptOnce(a, req(url, { url: `${url}/c2` }))).toMatchObject({
      kind: 'response',
      status: 502,
      body: '<html>bad gateway</html>',
    });
    expect(await attemptOnce(a, req(url, { url: `${url}/c3` }))).toMatchObject({
      kind: 'response',
      status: 404,
      body: { error: { code: '7503' } },
    });
  });
});

describe('one attempt: how a failure is classed', () => {
  it('connection refused: a network failure that never left', async () => {
    const url = await serve(() => undefined);
    const port = new URL(url).port;
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    const outcome = await attemptOnce(agent(), req(`http://127.0.0.1:${port}`));
    expect(outcome).toMatchObject({ kind: 'failure', reason: 'network', sent: false, errorCode: 'ECONNREFUSED' });
  });

  it('a reset after the body arrived: a network failure that was sent', async () => {
    const url = await serve((r) => r.socket.destroy());
    expect(await attemptOnce(agent(), req(url))).toMatchObject({ kind: 'failure', reason: 'network', sent: true });
  });

  it('no answer within the attempt timeout: a timeout that was sent', async () => {
    const url = await serve(() => undefined);
    expect(await attemptOnce(agent(), req(url, { timeoutMs: 100 }))).toMatchObject({ kind: 'failure', reason: 'timeout', sent: true });
  });

  // A connection that never completes (a black-holed address): the request is never handed to
  // a connection, so the attempt's timeout or the caller's abort ends it with nothing sent.
  const unreachable = (): Agent =>
    agent({
      connect: (_options, callback) => {
        setTimeout(() => callback(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), null), 500);
      },
    });

  it('the attempt timeout while still connecting: a timeout that never left', async () => {
    const outcome = await attemptOnce(unreachable(), req('http://graph.invalid', { timeoutMs: 50 }));
    expect(outcome).toMatchObject({ kind: 'failure', reason: 'timeout', sent: false });
  });

  it("the caller's abort while still connecting: aborted, never left", async () => {
    const signal = AbortSignal.timeout(20);
    const outcome = await attemptOnce(unreachable(), req('http://graph.invalid', { signal }));
    expect(outcome).toMatchObject({ kind: 'failure', reason: 'aborted', sent: false });
  });

  it("the caller's abort after sending: aborted, sent", async () => {
    const controller = new AbortController();
    const url = await serve(() => controller.abort());
    expect(await attemptOnce(agent(), req(url, { signal: controller.signal }))).toMatchObject({
      kind: 'failure',
      reason: 'aborted',
      sent: true,
    });
  });

  it('the connect error itself: never left, whatever undici wraps it in', async () => {
    const outcome = await attemptOnce(unreachable(), req('http://graph.invalid'));
    expect(outcome).toMatchObject({ kind: 'failure', reason: 'network', sent: false, errorCode: 'UND_ERR_CONNECT_TIMEOUT' });
  });
});
