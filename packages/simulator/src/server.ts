import type { Logger } from '@switchboard/core';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiFaultInjector } from './faults.js';
import { BodyTooLargeError, GraphError, graphErrorBody, parseJsonBody, readBody, send } from './http.js';
import type { Identity } from './identity.js';
import type { Rng } from './random.js';
import { matchRoute, type GraphRoute } from './routes.js';
import type { Scheduler } from './scheduler.js';
import type { CallService, Reply } from './service/index.js';
import type { RequestRecord } from './types.js';

/**
 * The simulator's HTTP front: one node:http server on 127.0.0.1 serving the identity
 * endpoints (token, discovery, key sets), the Graph calls API under `/v1.0` and `/beta`, and
 * a small control API under `/_simulator` for tools that drive the simulator from outside.
 */

export interface ControlApi {
  handle(method: string, segments: readonly string[], body: unknown): Reply | undefined;
}

export interface ServerDeps {
  readonly identity: Identity;
  readonly service: CallService;
  readonly apiFaults: ApiFaultInjector;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly requestIds: Rng;
  readonly control: ControlApi;
  readonly baseUrl: () => string;
}

export class SimServer {
  private server: Server | undefined;
  private readonly log: RequestRecord[] = [];
  private readonly counts = new Map<string, number>();

  constructor(private readonly d: ServerDeps) {}

  requests(): readonly RequestRecord[] {
    return this.log;
  }

  /** Requests per `METHOD /template`, whatever their status. */
  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  listen(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => {
        this.handle(req, res).catch((error: unknown) => {
          this.d.logger.error({ err: error }, 'unhandled error in the simulator server');
          send(res, 500, { error: { code: 'generalException', message: 'The simulator failed on this request.' } });
        });
      });
      server.keepAliveTimeout = 5_000;
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.server = server;
        const address = server.address() as AddressInfo;
        resolve(`http://127.0.0.1:${address.port}`);
      });
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeSegment);
    const first = segments[0]?.toLowerCase();

    if (first === 'v1.0' || first === 'beta') return this.graph(req, res, method, url, segments);
    if (first === '_simulator') return this.controlRequest(req, res, method, segments.slice(1));
    if (first === 'recordings' && segments.length === 2 && (method === 'GET' || method === 'HEAD')) {
      // a record operation's recordingLocation, for the holder of its recordingAccessToken
      const reply = this.d.service.recording(segments[1]!, header(req, 'authorization'));
      if (!Buffer.isBuffer(reply.body)) return send(res, reply.status, reply.body, reply.headers);
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': reply.body.length });
      res.end(method === 'HEAD' ? undefined : reply.body);
      return;
    }
    if (await this.identityRequest(req, res, method, url, segments)) return;
    send(res, 404, { error: 'not_found', error_description: `The simulator serves nothing at ${url.pathname}.` });
  }

  // ------------------------------------------------------------ identity

  private async identityRequest(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
    segments: readonly string[],
  ): Promise<boolean> {
    const lower = segments.map((s) => s.toLowerCase());
    const path = lower.join('/');
    const base = this.d.baseUrl();
    const noStore = { 'Cache-Control': 'no-store, no-cache' };
    // Graph's webhook signing identity (api.aps.skype.com in production).
    if (method === 'GET' && path === 'v1/.well-known/openidconfiguration') {
      send(res, 200, this.d.identity.webhookOpenIdConfiguration(base));
      return true;
    }
    if (method === 'GET' && path === 'v1/keys') {
      send(res, 200, this.d.identity.webhookJwks(), noStore);
      return true;
    }
    const tenant = segments[0];
    if (tenant === undefined) return false;
    const rest = lower.slice(1).join('/');
    if (method === 'POST' && (rest === 'oauth2/v2.0/token' || rest === 'oauth2/token')) {
      let text: string;
      try {
        text = await readBody(req, 64 * 1024);
      } catch {
        send(res, 413, { error: 'invalid_request', error_description: 'The request body is too large.' });
        return true;
      }
      const result = await this.d.identity.tokenRequest(tenant, new URLSearchParams(text), header(req, 'authorization'));
      send(res, result.status, result.body, noStore);
      return true;
    }
    if (method !== 'GET') return false;
    if (rest === 'v2.0/.well-known/openid-configuration' || rest === '.well-known/openid-configuration') {
      send(res, 200, this.d.identity.openIdConfiguration(base, tenant));
      return true;
    }
    if (rest === 'discovery/instance') {
      send(res, 200, this.d.identity.instanceDiscovery(base, url.searchParams.get('authorization_endpoint')));
      return true;
    }
    if (rest === 'discovery/v2.0/keys' || rest === 'discovery/keys') {
      send(res, 200, this.d.identity.entraJwks(), noStore);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------ Graph

  private async graph(req: IncomingMessage, res: ServerResponse, method: string, url: URL, segments: readonly string[]): Promise<void> {
    const apiVersion = segments[0]!.toLowerCase() === 'beta' ? 'beta' : 'v1.0';
    const requestId = this.d.requestIds.uuid();
    const clientRequestId = header(req, 'client-request-id') ?? requestId;
    const at = this.d.scheduler.now();
    const headers = { 'request-id': requestId, 'client-request-id': clientRequestId };
    let appId: string | undefined;
    let route: GraphRoute | undefined;
    let template = `${method} ${url.pathname}`;

    const finish = (reply: Reply): void => {
      const record: RequestRecord = {
        method,
        path: url.pathname,
        template,
        apiVersion,
        ...(route?.callId !== undefined ? { callId: route.callId } : {}),
        status: reply.status,
        ...(appId !== undefined ? { appId } : {}),
        ...(header(req, 'client-request-id') !== undefined ? { clientRequestId } : {}),
        at,
      };
      this.log.push(record);
      this.counts.set(template, (this.counts.get(template) ?? 0) + 1);
      send(res, reply.status, reply.body, { ...reply.headers, ...headers });
    };
    const fail = (error: GraphError): void =>
      finish({ status: error.status, body: graphErrorBody(error.code, error.message, requestId, clientRequestId), headers: error.headers });

    try {
      const [, scope, collection, ...rest] = segments;
      const scopeOk = scope?.toLowerCase() === 'communications' || scope?.toLowerCase() === 'app';
      if (!scopeOk || collection?.toLowerCase() !== 'calls') {
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${scope ?? ''}'.`);
      }
      let routeError: GraphError | undefined;
      try {
        route = matchRoute(method, rest);
        template = route.template;
      } catch (error) {
        if (!(error instanceof GraphError)) throw error;
        routeError = error;
      }
      const access = await this.d.identity.checkAccess(header(req, 'authorization'));
      if (!access.ok) {
        throw new GraphError(401, 'InvalidAuthenticationToken', access.reason, {
          'WWW-Authenticate': `Bearer realm="", authorization_uri="${this.d.baseUrl()}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
        });
      }
      appId = access.appId;
      const fault = this.d.apiFaults.next();
      if (fault.kind === 'throttle' || fault.kind === 'unavailable') {
        const retryAfter = String(fault.retryAfterSeconds);
        throw fault.kind === 'throttle'
          ? new GraphError(429, 'TooManyRequests', 'Too many requests. Retry after the interval in Retry-After.', {
              'Retry-After': retryAfter,
            })
          : new GraphError(503, 'serviceNotAvailable', 'The service is temporarily unavailable. Retry after the interval in Retry-After.', {
              'Retry-After': retryAfter,
            });
      }
      if (routeError) throw routeError;
      let body: unknown = {};
      if (route!.hasBody) {
        try {
          body = parseJsonBody(await readBody(req));
        } catch (error) {
          if (error instanceof BodyTooLargeError) throw new GraphError(413, 'RequestEntityTooLarge', error.message);
          throw error;
        }
      }
      const reply = route!.handle(this.d.service, appId, body, apiVersion);
      if (fault.kind === 'slow') {
        // It already happened; only the answer is late (a client timeout here is ambiguous).
        await new Promise<void>((resolve) => this.d.scheduler.after(fault.delayMs, resolve));
      }
      finish(reply);
    } catch (error) {
      if (error instanceof GraphError) return fail(error);
      this.d.logger.error({ method, path: url.pathname, err: error }, 'simulator error');
      fail(new GraphError(500, 'generalException', 'An unexpected error occurred in the simulator.'));
    }
  }

  // ------------------------------------------------------------ control

  private async controlRequest(req: IncomingMessage, res: ServerResponse, method: string, segments: readonly string[]): Promise<void> {
    let body: unknown = {};
    try {
      if (method === 'POST') body = parseJsonBody(await readBody(req));
      const reply = this.d.control.handle(method, segments, body);
      if (!reply) return send(res, 404, { error: { code: 'notFound', message: 'No such control endpoint.' } });
      send(res, reply.status, reply.body, reply.headers);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      send(res, error instanceof GraphError ? error.status : 400, { error: { code: 'BadRequest', message } });
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
