import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clearMsalApplications, createMsalTokenProvider } from './auth.js';
import { createGraphClient } from './client.js';
import { GraphError } from './errors.js';

/**
 * A token endpoint that cannot be reached: the error names the host and the network's cause,
 * where MSAL alone says only `endpoints_resolution_error`.
 */

/** A loopback port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

afterEach(() => clearMsalApplications());

async function rejection(promise: Promise<unknown>): Promise<GraphError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphError);
  return error as GraphError;
}

describe('an unreachable token endpoint', () => {
  it('connection refused: SWB_GRAPH_AUTH naming the host and ECONNREFUSED, the network error as cause', async () => {
    const port = await closedPort();
    const warnings: string[] = [];
    const provider = createMsalTokenProvider({
      tenantId: 'tenant-closed',
      clientId: 'app-closed',
      clientSecret: 'secret-closed-port',
      authorityHost: `http://127.0.0.1:${port}`,
      logger: { debug() {}, info() {}, warn: (obj, msg) => void warnings.push(`${msg} ${JSON.stringify(obj)}`), error() {} },
    });
    const e = await rejection(provider.getToken({ forceRefresh: false }));
    expect(e.code).toBe('SWB_GRAPH_AUTH');
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).toContain('ECONNREFUSED');
    expect(e.message).toContain('app-closed');
    expect((e.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(e.message).not.toContain('secret-closed-port');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`127.0.0.1:${port}`);
  });

  it('through the Graph client: the command fails with the same error, nothing sent to Graph', async () => {
    const port = await closedPort();
    const graph = createGraphClient({
      baseUrl: 'http://127.0.0.1:9',
      auth: { tenantId: 'tenant-closed-2', clientId: 'app-closed-2', clientSecret: 's', authorityHost: `http://127.0.0.1:${port}` },
    });
    try {
      const e = await rejection(graph.getCall('call-1'));
      expect(e.code).toBe('SWB_GRAPH_AUTH');
      expect(e.message).toContain(`127.0.0.1:${port}`);
      expect(e.message).toContain('ECONNREFUSED');
    } finally {
      await graph.close();
    }
  });

  it('a host that does not resolve: SWB_GRAPH_AUTH naming the host and the DNS failure', async () => {
    // .invalid never resolves (RFC 2606)
    const provider = createMsalTokenProvider({
      tenantId: 'tenant-dns',
      clientId: 'app-dns',
      clientSecret: 'secret-dns',
      authorityHost: 'https://login.switchboard.invalid',
      timeoutMs: 5_000,
    });
    const e = await rejection(provider.getToken({ forceRefresh: false }));
    expect(e.code).toBe('SWB_GRAPH_AUTH');
    expect(e.message).toContain('login.switchboard.invalid');
    // ENOTFOUND, or EAI_AGAIN where no resolver answers, or our timeout where it never does
    expect(e.message).toMatch(/ENOTFOUND|EAI_AGAIN|TimeoutError/);
  });
});
