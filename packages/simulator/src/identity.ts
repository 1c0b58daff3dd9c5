import { Buffer } from 'node:buffer';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importSPKI,
  importX509,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { AppRegistration } from './types.js';
import type { Rng } from './random.js';

/**
 * The simulator's identity side: an Entra-like client-credentials token endpoint with its
 * discovery documents, and the Bot Framework-style key set Graph signs webhook POSTs with.
 * Two separate key sets, as in the real services: access tokens are signed by "Entra",
 * webhook tokens by "api.botframework.com", and rotating one does not touch the other.
 */

/** Graph's resource id and its app id: either names Graph as a token's audience. */
export const GRAPH_AUDIENCES = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'] as const;
/** The issuer of the JWTs on Graph's webhook POSTs. */
export const WEBHOOK_ISSUER = 'https://api.botframework.com';

/** Application permissions a calling bot holds; put in `roles` as Entra would. */
const CALLING_ROLES = [
  'Calls.AccessMedia.All',
  'Calls.Initiate.All',
  'Calls.InitiateGroupCall.All',
  'Calls.JoinGroupCall.All',
  'Calls.JoinGroupCallAsGuest.All',
];

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

export interface TokenEndpointResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export type AccessCheck =
  | { readonly ok: true; readonly appId: string; readonly tenantId: string }
  | { readonly ok: false; readonly reason: string };

export type WebhookTokenVariant = 'valid' | 'expired' | 'wrongAudience' | 'wrongIssuer' | 'unknownKey';

export class Identity {
  private entraKey: SigningKey | undefined;
  private webhookKeys: SigningKey[] = [];
  private readonly apps = new Map<string, AppRegistration>();
  private readonly verified = new Map<string, { appId: string; tenantId: string; exp: number }>();
  private readonly webhookTokenCache = new Map<string, { token: string; kid: string; refreshAt: number }>();

  constructor(
    apps: readonly AppRegistration[],
    private readonly rng: Rng,
    private readonly tokenLifetimeSeconds: number,
    private readonly isolatedKeys: boolean,
  ) {
    for (const app of apps) this.apps.set(app.appId.toLowerCase(), app);
  }

  /**
   * Creates or fetches the key pairs. An RSA key takes ~150 ms of CPU, so by default the
   * simulators of one process start with the same pair (made once, on first use); with
   * `isolatedKeys` each simulator makes its own. Rotation always makes a fresh key.
   */
  async init(): Promise<void> {
    const [entra, webhook] = this.isolatedKeys ? await Promise.all([newKey(), newKey()]) : await processKeys();
    this.entraKey = entra;
    this.webhookKeys = [webhook];
  }

  app(appId: string): AppRegistration | undefined {
    return this.apps.get(appId.toLowerCase());
  }

  /**
   * A new webhook signing key becomes current. The previous key stays in the JWKS (a receiver
   * may still hold tokens signed with it) unless `retirePrevious` drops it at once.
   */
  async rotateSigningKey(options: { readonly retirePrevious?: boolean } = {}): Promise<{ kid: string }> {
    const key = await newKey();
    this.webhookKeys = options.retirePrevious ? [key] : [key, ...this.webhookKeys].slice(0, 3);
    this.webhookTokenCache.clear();
    return { kid: key.kid };
  }

  currentWebhookKid(): string {
    return this.requireWebhookKey().kid;
  }

  /** The JWKS webhook tokens verify against. */
  webhookJwks(): { keys: JWK[] } {
    return { keys: this.webhookKeys.map((k) => ({ ...k.jwk })) };
  }

  /** The JWKS access tokens verify against (Entra's `discovery/v2.0/keys`). */
  entraJwks(): { keys: JWK[] } {
    return { keys: this.entraKey ? [{ ...this.entraKey.jwk }] : [] };
  }

  /** `GET /v1/.well-known/OpenIdConfiguration`, shaped like api.aps.skype.com's. */
  webhookOpenIdConfiguration(baseUrl: string): Record<string, unknown> {
    return {
      issuer: WEBHOOK_ISSUER,
      authorization_endpoint: 'https://invalid.botframework.com',
      jwks_uri: `${baseUrl}/v1/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
    };
  }

  /** `GET /{tenant}/v2.0/.well-known/openid-configuration`: what MSAL reads to find the token endpoint. */
  openIdConfiguration(baseUrl: string, tenant: string): Record<string, unknown> {
    const root = `${baseUrl}/${tenant}`;
    return {
      token_endpoint: `${root}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${root}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      // MSAL accepts an issuer with the authority's scheme and host, and it insists on an https
      // authority; the issuer is only an identifier, so it says https on the simulator's host
      // while the endpoints above stay on the URL that really answers.
      issuer: `https://${new URL(baseUrl).host}/${tenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${baseUrl}/oidc/userinfo`,
      authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${root}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${root}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'roles'],
      tenant_region_scope: 'NA',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
    };
  }

  /**
   * MSAL's instance discovery (`/common/discovery/instance?authorization_endpoint=...`):
   * declares the simulator's host its own alias, so MSAL goes on to the tenant's metadata.
   */
  instanceDiscovery(baseUrl: string, authorizationEndpoint: string | null): Record<string, unknown> {
    const host = new URL(baseUrl).host;
    let tenant = 'common';
    if (authorizationEndpoint) {
      try {
        tenant = new URL(authorizationEndpoint).pathname.split('/').filter(Boolean)[0] ?? 'common';
      } catch {
        // a malformed parameter still gets the common tenant's answer
      }
    }
    return {
      tenant_discovery_endpoint: `${baseUrl}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    };
  }

  /**
   * `POST /{tenant}/oauth2/v2.0/token` with the client-credentials grant. The client proves
   * itself with `client_secret` (form or Basic auth) or a `client_assertion` JWT.
   * Errors are Entra's shape: `{ error, error_description, error_codes, ... }`.
   */
  async tokenRequest(tenant: string, form: URLSearchParams, authorization: string | undefined): Promise<TokenEndpointResult> {
    let clientId = form.get('client_id') ?? undefined;
    let secret = form.get('client_secret') ?? undefined;
    if (authorization?.toLowerCase().startsWith('basic ')) {
      const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        clientId ??= decodeURIComponent(decoded.slice(0, colon));
        secret ??= decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return this.entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`);
    }
    if (!clientId)
      return this.entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const scope = form.get('scope');
    if (!scope) return this.entraError(400, 'invalid_request', 90014, "The required field 'scope' is missing from the credential.");
    const app = this.app(clientId);
    const tenantKnown = [...this.apps.values()].some((a) => a.tenantId.toLowerCase() === tenant.toLowerCase());
    if (!tenantKnown) return this.entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (!app || app.tenantId.toLowerCase() !== tenant.toLowerCase()) {
      return this.entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
    }
    const assertion = form.get('client_assertion');
    if (assertion) {
      const problem = await this.checkAssertion(app, assertion, form.get('client_assertion_type'));
      if (problem) return this.entraError(401, 'invalid_client', 700027, `Client assertion failed signature validation. ${problem}`);
    } else if (secret === undefined) {
      return this.entraError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    } else if (secret !== app.clientSecret) {
      return this.entraError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.appId}'.`,
      );
    }
    const scopes = scope.split(/\s+/).filter(Boolean);
    const resource = scopes.length === 1 && scopes[0]!.endsWith('/.default') ? scopes[0]!.slice(0, -'/.default'.length) : undefined;
    if (resource === undefined) {
      return this.entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const accessToken = await this.issueAccessToken(app, resource);
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
        ext_expires_in: this.tokenLifetimeSeconds,
        access_token: accessToken,
      },
    };
  }

  /** Signs an access token for `app`, audience `resource` (Graph by default). */
  async issueAccessToken(app: AppRegistration, resource: string = GRAPH_AUDIENCES[0]): Promise<string> {
    const key = this.requireEntraKey();
    const oid = this.rng.uuid();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: resource,
      iss: `https://sts.windows.net/${app.tenantId}/`,
      idp: `https://sts.windows.net/${app.tenantId}/`,
      app_displayname: app.displayName ?? 'Calling Bot',
      appid: app.appId,
      appidacr: '1',
      idtyp: 'app',
      oid,
      sub: oid,
      roles: CALLING_ROLES,
      tid: app.tenantId,
      uti: this.rng.hex(22),
      ver: '1.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid })
      .setIssuedAt(now)
      .setNotBefore(now - 300)
      .setExpirationTime(now + this.tokenLifetimeSeconds)
      .sign(key.privateKey);
  }

  /**
   * Checks a Graph request's `Authorization` header: a Bearer token this simulator issued,
   * unexpired, for Graph, to a registered app.
   */
  async checkAccess(authorization: string | undefined): Promise<AccessCheck> {
    if (!authorization) return { ok: false, reason: 'Access token is empty.' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) return { ok: false, reason: 'Access token is empty.' };
    const token = match[1]!;
    const nowSec = Date.now() / 1000;
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp > nowSec) return { ok: true, appId: cached.appId, tenantId: cached.tenantId };
      return { ok: false, reason: 'Lifetime validation failed, the token is expired.' };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, createLocalJWKSet(this.entraJwks()), { algorithms: ['RS256'] }));
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') return { ok: false, reason: 'Lifetime validation failed, the token is expired.' };
      return { ok: false, reason: 'Invalid JWT token. The token is malformed or its signature is invalid.' };
    }
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : aud === undefined ? [] : [aud];
    if (!audiences.some((a) => (GRAPH_AUDIENCES as readonly string[]).includes(a))) {
      return { ok: false, reason: 'Invalid audience.' };
    }
    const appId = typeof payload['appid'] === 'string' ? payload['appid'] : undefined;
    const app = appId === undefined ? undefined : this.app(appId);
    if (!app) return { ok: false, reason: 'The token was issued to an unknown application.' };
    this.verified.set(token, { appId: app.appId, tenantId: app.tenantId, exp: payload.exp ?? 0 });
    if (this.verified.size > 10_000) this.verified.clear();
    return { ok: true, appId: app.appId, tenantId: app.tenantId };
  }

  /**
   * The Bearer token of a webhook POST to `appId`: RS256 with the current key's `kid`,
   * `iss` api.botframework.com, `aud` the app id. Valid tokens are reused for a few minutes,
   * as Graph does not sign every POST afresh; the variants exist to test a receiver's checks.
   */
  async webhookToken(appId: string, variant: WebhookTokenVariant = 'valid'): Promise<string> {
    const key = this.requireWebhookKey();
    const nowMs = Date.now();
    if (variant === 'valid') {
      const cached = this.webhookTokenCache.get(appId);
      if (cached && cached.kid === key.kid && cached.refreshAt > nowMs) return cached.token;
    }
    const now = Math.floor(nowMs / 1000);
    const signer = variant === 'unknownKey' ? await newKey() : key;
    const exp = variant === 'expired' ? now - 600 : now + 3600;
    const token = await new SignJWT({ serviceurl: 'https://api.botframework.com', appid: appId })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: signer.kid, x5t: signer.kid })
      .setIssuer(variant === 'wrongIssuer' ? 'https://sts.windows.net/not-botframework/' : WEBHOOK_ISSUER)
      .setAudience(variant === 'wrongAudience' ? '00000000-0000-0000-0000-000000000000' : appId)
      .setIssuedAt(variant === 'expired' ? now - 4200 : now)
      .setNotBefore(variant === 'expired' ? now - 4200 : now - 300)
      .setExpirationTime(exp)
      .sign(signer.privateKey);
    if (variant === 'valid') this.webhookTokenCache.set(appId, { token, kid: key.kid, refreshAt: nowMs + 5 * 60_000 });
    return token;
  }

  private async checkAssertion(app: AppRegistration, assertion: string, type: string | null): Promise<string | undefined> {
    if (type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return "client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.";
    }
    let claims: JWTPayload;
    try {
      claims = decodeJwt(assertion);
    } catch {
      return 'The assertion is not a JWT.';
    }
    if (claims.iss !== app.appId || claims.sub !== app.appId) return 'The assertion iss and sub must be the client id.';
    if (claims.exp !== undefined && claims.exp < Date.now() / 1000) return 'The assertion has expired.';
    if (app.assertionKey) {
      try {
        const pem = app.assertionKey;
        // Entra takes RS256 (a SHA-1 x5t) and PS256 (an x5t#S256, what MSAL signs with for a SHA-256 thumbprint)
        const alg = decodeProtectedHeader(assertion).alg;
        if (alg !== 'RS256' && alg !== 'PS256') return `The assertion is signed with '${String(alg)}'; RS256 or PS256 is required.`;
        const key = pem.includes('BEGIN CERTIFICATE') ? await importX509(pem, alg) : await importSPKI(pem, alg);
        // Entra allows five minutes of clock skew on nbf/exp (MSAL rounds its nbf to the second)
        await jwtVerify(assertion, key, { algorithms: [alg], clockTolerance: 300 });
      } catch (error) {
        if (error instanceof joseErrors.JWTClaimValidationFailed || error instanceof joseErrors.JWTExpired) {
          return `The assertion's ${error.claim} claim is not valid.`;
        }
        return 'The assertion signature does not match the registered certificate.';
      }
    }
    return undefined;
  }

  private entraError(status: number, error: string, code: number, description: string): TokenEndpointResult {
    const traceId = this.rng.uuid();
    const correlationId = this.rng.uuid();
    const timestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      },
    };
  }

  private requireEntraKey(): SigningKey {
    if (!this.entraKey) throw new Error('the simulator is not started: identity keys are created by start()');
    return this.entraKey;
  }

  private requireWebhookKey(): SigningKey {
    const key = this.webhookKeys[0];
    if (!key) throw new Error('the simulator is not started: identity keys are created by start()');
    return key;
  }
}

let shared: Promise<[SigningKey, SigningKey]> | undefined;

function processKeys(): Promise<[SigningKey, SigningKey]> {
  shared ??= Promise.all([newKey(), newKey()]);
  shared.catch(() => {
    shared = undefined; // a failed generation is retried by the next simulator
  });
  return shared;
}

async function newKey(): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  // The thumbprint is a stable, unique kid, as Microsoft's kids are.
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, jwk: { ...jwk, kid, use: 'sig', alg: 'RS256' } };
}
