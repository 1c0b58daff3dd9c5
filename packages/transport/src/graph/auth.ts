import { createHash } from 'node:crypto';
import {
  ConfidentialClientApplication,
  LogLevel,
  type Configuration,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import { request, type Dispatcher } from 'undici';
import { SwitchboardError, silentLogger, type Logger } from '@switchboard/core';
import { GraphError } from './errors.js';

/**
 * Gets a bearer token for Graph. `forceRefresh` asks for a fresh one (after a 401), bypassing
 * any cache.
 */
export type GetToken = (options: { readonly forceRefresh: boolean; readonly signal?: AbortSignal | undefined }) => Promise<string>;

/** A client certificate for the client-credentials grant (PEM private key, hex thumbprint). */
export interface ClientCertificate {
  /** SHA-1 thumbprint, hex (deprecated by MSAL; prefer `thumbprintSha256`). */
  readonly thumbprint?: string;
  /** SHA-256 thumbprint, hex. */
  readonly thumbprintSha256?: string;
  /** PEM `-----BEGIN PRIVATE KEY-----`. */
  readonly privateKey: string;
  /** Optional public certificate chain (subject name / issuer auth). */
  readonly x5c?: string;
}

/** Options of {@link createMsalTokenProvider}. Give exactly one of `clientSecret` and `certificate`. */
export interface MsalTokenProviderOptions {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly certificate?: ClientCertificate;
  /**
   * The authority host (`https://login.microsoftonline.com` by default; `https://login.microsoftonline.us`
   * for US Gov...). A plain `http://` host is accepted only on loopback (127.0.0.1, localhost, [::1]),
   * for the simulator: see {@link createMsalTokenProvider}.
   */
  readonly authorityHost?: string;
  /** A full authority URL (host + tenant); overrides `authorityHost` + `tenantId`. */
  readonly authority?: string;
  /** Default `['https://graph.microsoft.com/.default']`. */
  readonly scopes?: readonly string[];
  /** The undici dispatcher MSAL's requests go through (default: undici's global dispatcher). */
  readonly dispatcher?: Dispatcher;
  /** Timeout of one token-endpoint request, ms (default 10 s). */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
}

/** A token source backed by one MSAL `ConfidentialClientApplication` (and its token cache). */
export interface MsalTokenProvider {
  /** A cached token while valid; a new one from the token endpoint when `forceRefresh` or expired. */
  readonly getToken: GetToken;
  /** The shared MSAL application (one per authority, app and credential in this process). */
  readonly application: ConfidentialClientApplication;
  /** The authority MSAL was configured with (always https; see loopback note). */
  readonly authority: string;
}

const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
const DEFAULT_SCOPES = ['https://graph.microsoft.com/.default'] as const;

const applications = new Map<string, { readonly application: ConfidentialClientApplication; readonly network: UndiciNetworkModule }>();

/** Forgets the process-wide MSAL applications (and so their token caches). For tests. */
export function clearMsalApplications(): void {
  applications.clear();
}

function isLoopback(hostname: string): boolean {
  return hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]' || hostname === '::1';
}

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('SWB_INVALID_ARGUMENT', message);
}

/** A request of the token endpoint's that got no usable answer: where it went, and why. */
export interface TokenNetworkFailure {
  /** The host (and port) the request went to. */
  readonly host: string;
  /** The network error's code (`ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_CONNECT_TIMEOUT`, ...) or name. */
  readonly code: string | undefined;
  readonly error: unknown;
}

/** The most telling code on an error or its causes (undici wraps some connect errors). */
function errorCodeOf(error: unknown): string | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '' && !/^UND_ERR_(SOCKET|ABORTED)$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== 'Error' ? name : undefined;
}

/**
 * An MSAL `INetworkModule` on undici. `rewrite` maps the URLs MSAL asks for to the URLs really
 * fetched (the loopback https → http mapping for the simulator); everything else passes through.
 *
 * MSAL turns a network error into its own (`endpoints_resolution_error`, `network_error`)
 * without the cause; the module keeps its requests' failures (`failures`, `failureSince`) so
 * that the token provider can say which host could not be reached, and why.
 */
export class UndiciNetworkModule implements INetworkModule {
  /** How many requests failed so far (a mark for {@link UndiciNetworkModule.failureSince}). */
  failures = 0;
  #last: TokenNetworkFailure | undefined;

  /** The last failure after `mark` (a value of `failures` read earlier), if any. */
  failureSince(mark: number): TokenNetworkFailure | undefined {
    return this.failures > mark ? this.#last : undefined;
  }

  constructor(
    private readonly options: {
      readonly dispatcher?: Dispatcher | undefined;
      readonly rewrite?: ((url: string) => string) | undefined;
      readonly timeoutMs?: number | undefined;
    } = {},
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options, undefined);
  }

  private async send<T>(
    method: 'GET' | 'POST',
    url: string,
    options: NetworkRequestOptions | undefined,
    timeout: number | undefined,
  ): Promise<NetworkResponse<T>> {
    const target = this.options.rewrite ? this.options.rewrite(url) : url;
    const fail = (error: unknown): never => {
      this.failures++;
      this.#last = { host: new URL(target).host, code: errorCodeOf(error), error };
      throw error;
    };
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(target, {
        method,
        headers: options?.headers ?? {},
        ...(options?.body !== undefined ? { body: options.body } : {}),
        ...(this.options.dispatcher ? { dispatcher: this.options.dispatcher } : {}),
        signal: AbortSignal.timeout(timeout ?? this.options.timeoutMs ?? 10_000),
      });
      text = await res.body.text();
    } catch (error) {
      return fail(error);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch (error) {
      return fail(
        new Error(
          `${method} ${new URL(target).origin}${new URL(target).pathname} answered ${res.statusCode} with a body that is not JSON`,
          {
            cause: error,
          },
        ),
      );
    }
    return { headers, body: body as T, status: res.statusCode };
  }
}

/**
 * Creates a client-credentials token provider on MSAL (`@azure/msal-node` 7).
 *
 * - One `ConfidentialClientApplication` per (authority, client id, credential) in the process:
 *   providers created for the same app share it, and so share its token cache.
 * - MSAL's `system.networkClient` is an undici {@link UndiciNetworkModule}.
 * - Loopback authorities: MSAL refuses a non-https authority (`authority_uri_insecure`). Given
 *   `http://127.0.0.1:<port>` (or localhost) as host, MSAL is configured with
 *   `https://127.0.0.1:<port>/<tenant>` and `knownAuthorities: ['127.0.0.1:<port>']` (so it
 *   skips instance discovery against login.microsoftonline.com), and the network module sends
 *   MSAL's `https://127.0.0.1:<port>/...` requests to `http://127.0.0.1:<port>/...`. The
 *   tenant's openid-configuration is still fetched (its `issuer` must name the https authority
 *   host; the simulator's does) and its `token_endpoint` is used as given.
 *
 * Errors: bad options → `SWB_INVALID_ARGUMENT`; a failed token request → `GraphError`
 * `SWB_GRAPH_AUTH` (the secret is never part of a message or log).
 */
export function createMsalTokenProvider(options: MsalTokenProviderOptions): MsalTokenProvider {
  const problems: string[] = [];
  if (typeof options.tenantId !== 'string' || options.tenantId.trim() === '') problems.push('tenantId is required');
  if (typeof options.clientId !== 'string' || options.clientId.trim() === '') problems.push('clientId is required');
  const hasSecret = typeof options.clientSecret === 'string' && options.clientSecret !== '';
  const cert = options.certificate;
  if (hasSecret === (cert !== undefined)) problems.push('give exactly one of clientSecret and certificate');
  if (cert && !cert.thumbprint && !cert.thumbprintSha256) problems.push('certificate needs thumbprint or thumbprintSha256');
  if (cert && (typeof cert.privateKey !== 'string' || !cert.privateKey.includes('PRIVATE KEY')))
    problems.push('certificate.privateKey must be a PEM private key');
  if (problems.length > 0) throw invalid(`createMsalTokenProvider: ${problems.join('; ')}`);

  const raw = options.authority ?? `${(options.authorityHost ?? DEFAULT_AUTHORITY_HOST).replace(/\/+$/, '')}/${options.tenantId}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `authority '${raw}' is not a URL`, { cause: error });
  }
  let rewrite: ((u: string) => string) | undefined;
  if (url.protocol === 'http:') {
    if (!isLoopback(url.hostname))
      throw invalid(`authority '${url.origin}' is plain http; only loopback hosts may be (for a local token endpoint)`);
    const secureOrigin = `https://${url.host}`;
    const plainOrigin = `http://${url.host}`;
    rewrite = (u) => (u.startsWith(`${secureOrigin}/`) || u === secureOrigin ? plainOrigin + u.slice(secureOrigin.length) : u);
    url = new URL(`https://${url.host}${url.pathname}`);
  } else if (url.protocol !== 'https:') {
    throw invalid(`authority '${raw}' must be https`);
  }
  const authority = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const knownAuthorities = url.hostname === new URL(DEFAULT_AUTHORITY_HOST).hostname ? [] : [url.host];
  const logger = options.logger ?? silentLogger;

  const credentialKey = hasSecret
    ? `s:${createHash('sha256').update(options.clientSecret!).digest('hex')}`
    : `c:${cert!.thumbprintSha256 ?? cert!.thumbprint}`;
  const key = `${authority.toLowerCase()}|${options.clientId.toLowerCase()}|${credentialKey}`;
  let shared = applications.get(key);
  if (!shared) {
    const network = new UndiciNetworkModule({ dispatcher: options.dispatcher, rewrite, timeoutMs: options.timeoutMs });
    const config: Configuration = {
      auth: {
        clientId: options.clientId,
        authority,
        ...(knownAuthorities.length > 0 ? { knownAuthorities } : {}),
        ...(hasSecret ? { clientSecret: options.clientSecret! } : {}),
        ...(cert
          ? {
              clientCertificate: {
                ...(cert.thumbprint ? { thumbprint: cert.thumbprint } : {}),
                ...(cert.thumbprintSha256 ? { thumbprintSha256: cert.thumbprintSha256 } : {}),
                privateKey: cert.privateKey,
                ...(cert.x5c ? { x5c: cert.x5c } : {}),
              },
            }
          : {}),
      },
      system: {
        networkClient: network,
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          // debug: MSAL warns on every token fetched for an app ("No client info in response":
          // the client-credentials grant never has any), and what fails reaches the caller as
          // a GraphError (and the warning below)
          loggerCallback: (level, message) => logger.debug({ component: 'msal', level: LogLevel[level] }, message),
        },
      },
    };
    shared = { application: new ConfidentialClientApplication(config), network };
    applications.set(key, shared);
  }
  const app = shared.application;
  const network = shared.network;
  const scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
  let pending: Promise<string> | undefined;
  let pendingForced: Promise<string> | undefined;

  const fetchToken = async (forceRefresh: boolean): Promise<string> => {
    let result;
    const mark = network.failures;
    try {
      result = await app.acquireTokenByClientCredential({ scopes, ...(forceRefresh ? { skipCache: true } : {}) });
    } catch (error) {
      const e = error as { errorCode?: string; errorMessage?: string; message?: string };
      const unreachable = network.failureSince(mark);
      const what = `no token for app ${options.clientId} in tenant ${options.tenantId}`;
      if (unreachable) {
        // MSAL's own error says only that endpoints could not be resolved: name the host and the cause
        const cause = unreachable.error instanceof Error ? unreachable.error.message : String(unreachable.error);
        logger.warn(
          { tenantId: options.tenantId, clientId: options.clientId, host: unreachable.host, cause: unreachable.code ?? cause },
          'token endpoint unreachable',
        );
        throw new GraphError(
          'SWB_GRAPH_AUTH',
          `${what}: the token endpoint's host ${unreachable.host} could not be reached (${unreachable.code !== undefined && !cause.includes(unreachable.code) ? `${unreachable.code}: ` : ''}${cause}; MSAL: ${e.errorCode ?? 'error'})`,
          { cause: unreachable.error },
        );
      }
      logger.warn({ tenantId: options.tenantId, clientId: options.clientId, errorCode: e.errorCode }, 'token request failed');
      throw new GraphError('SWB_GRAPH_AUTH', `${what}: ${e.errorCode ?? 'error'}: ${e.errorMessage ?? e.message ?? String(error)}`, {
        cause: error,
      });
    }
    if (!result?.accessToken) throw new GraphError('SWB_GRAPH_AUTH', `MSAL returned no token for app ${options.clientId}`);
    // a token from the cache is no news: one line per token fetched from the endpoint (about one an hour)
    if (!result.fromCache)
      logger.debug({ tenantId: options.tenantId, clientId: options.clientId, expiresOn: result.expiresOn?.toISOString() }, 'token fetched');
    return result.accessToken;
  };

  const getToken: GetToken = ({ forceRefresh }) => {
    // concurrent callers share one token request (of each kind)
    if (forceRefresh) {
      pendingForced ??= fetchToken(true).finally(() => {
        pendingForced = undefined;
      });
      return pendingForced;
    }
    if (pendingForced) return pendingForced;
    pending ??= fetchToken(false).finally(() => {
      pending = undefined;
    });
    return pending;
  };

  return { getToken, application: app, authority };
}
