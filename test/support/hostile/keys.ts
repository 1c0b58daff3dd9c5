import { KeyObject, sign as rsaSign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://api.botframework.com';

interface TokenOptions {
  readonly aud?: string | string[] | null;
  readonly iss?: string | null;
  /** seconds since the epoch; null leaves the claim out */
  readonly exp?: number | null;
  readonly nbf?: number | null;
  readonly iat?: number | null;
  readonly kid?: string | null;
  readonly alg?: string;
  readonly extraHeader?: Record<string, unknown>;
  readonly claims?: JWTPayload;
  /** sign with this key instead of the published one */
  readonly key?: CryptoKey;
}

/**
 * Graph's webhook signing side on loopback: an RS256 key pair whose public half is published
 * as an OpenID configuration + JWKS (issuer api.botframework.com), and a token signer.
 */
export interface KeyServer {
  readonly openIdConfigurationUrl: string;
  readonly kid: string;
  readonly appId: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** A token as Graph would sign it (RS256, current kid), with overrides. */
  token(options?: TokenOptions): Promise<string>;
  /** The public key as PEM (SPKI) and as a JWK: what an alg-confusion attacker knows. */
  readonly publicPem: string;
  readonly publicJwk: JWK;
  /** The real signing key, for hand-made tokens (`forge.rawRs256`). */
  readonly privateKey: CryptoKey;
  close(): Promise<void>;
}

export async function startKeyServer(appId: string, kid = 'graph-key-1'): Promise<KeyServer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const publicPem = await exportSPKI(publicKey);
  let fetches = 0;
  let base = '';
  const server: Server = createServer((req, res) => {
    if (req.url === '/v1/.well-known/OpenIdConfiguration') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${base}/v1/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/v1/keys') {
      fetches += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function token(o: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims: JWTPayload = { serviceurl: 'https://smba.trafficmanager.net/amer/', ...o.claims };
    const set = (name: string, value: unknown) => {
      if (value !== null) claims[name] = value;
    };
    set('iss', o.iss === undefined ? ISSUER : o.iss);
    set('aud', o.aud === undefined ? appId : o.aud);
    set('iat', o.iat === undefined ? now : o.iat);
    set('nbf', o.nbf === undefined ? now - 60 : o.nbf);
    set('exp', o.exp === undefined ? now + 3600 : o.exp);
    const header: Record<string, unknown> = {
      alg: o.alg ?? 'RS256',
      typ: 'JWT',
      ...(o.kid === null ? {} : { kid: o.kid ?? kid }),
      ...o.extraHeader,
    };
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(o.key ?? (privateKey as CryptoKey));
  }

  return {
    openIdConfigurationUrl: `${base}/v1/.well-known/OpenIdConfiguration`,
    kid,
    appId,
    jwksFetches: () => fetches,
    token,
    publicPem,
    publicJwk,
    privateKey: privateKey as CryptoKey,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Forged or damaged tokens, each the way an attacker (or a broken proxy) would make it. */
export const forge = {
  /** `alg: none`, no signature. */
  algNone(claims: JWTPayload, kid: string): string {
    return `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`;
  },
  /** HS256 keyed with the published public key (the classic RS/HS confusion). */
  async hmacWith(claims: JWTPayload, kid: string, secret: string, alg = 'HS256'): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg, kid }).sign(new TextEncoder().encode(secret));
  },
  /** The payload swapped for another one, the original signature kept. */
  tamperPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    change(claims);
    return `${h}.${b64(claims)}.${s}`;
  },
  /** The header swapped (e.g. another alg), the original signature kept. */
  tamperHeader(token: string, change: (header: Record<string, unknown>) => void): string {
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>;
    change(header);
    return `${b64(header)}.${p}.${s}`;
  },
  /** RS256 over any header, signed by hand (jose refuses to sign a `crit` it does not know). */
  rawRs256(header: Record<string, unknown>, claims: JWTPayload, key: CryptoKey): string {
    const input = `${b64(header)}.${b64(claims)}`;
    return `${input}.${rsaSign('sha256', Buffer.from(input), KeyObject.from(key)).toString('base64url')}`;
  },
  /** One character of the signature changed. */
  flipSignature(token: string): string {
    const i = token.lastIndexOf('.') + 10;
    const c = token[i] === 'A' ? 'B' : 'A';
    return token.slice(0, i) + c + token.slice(i + 1);
  },
  /** A fresh RS256 key nobody published. */
  async strangerKey(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    return { privateKey: privateKey as CryptoKey, jwk: await exportJWK(publicKey) };
  },
};
