import { errors as joseErrors, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { clip, problem, type Answer } from './answers.js';
import type { KeySet } from './keys.js';
import type { Logger } from '@switchboard/core';

/**
 * Who sent a delivery: the Bearer JWT on every POST, checked against Graph's published keys,
 * the accepted issuers, the bot's app id as audience, and time (`exp`, `nbf`, `iat` within the
 * clock skew, a lifetime within the bound). A refusal is the answer to give (401, 403, or 503
 * when the keys cannot be loaded), never an exception.
 */

/** What the token check needs, its options resolved. */
export interface TokenCheckOptions {
  /** The audience every token must name. */
  readonly appId: string;
  readonly issuers: readonly string[];
  readonly clockSkewSeconds: number;
  readonly maxTokenLifetimeSeconds: number;
  /** False only with `verification: 'disabled-insecure'`: every request passes, with no claims. */
  readonly verify: boolean;
  readonly keys: KeySet;
  readonly now: () => number;
  readonly log: Logger;
}

/** A request that passed: the verified token's claims (null when verification is off). */
export interface Authenticated {
  readonly claims: JWTPayload | null;
}

/** The signature algorithms accepted (asymmetric only: `none` and HMAC are refused). */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/**
 * Makes the check of an `Authorization` header. Graph reuses a token across deliveries: one
 * verified is remembered until it expires (the memory is cleared when it holds over a thousand).
 */
export function tokenCheck(o: TokenCheckOptions): (header: string | null) => Promise<Authenticated | Answer> {
  const { verify, keys, now, log } = o;
  const issuers = [...o.issuers];
  const skew = o.clockSkewSeconds;
  const maxLifetime = o.maxTokenLifetimeSeconds;
  const verified = new Map<string, { claims: JWTPayload; expiresAt: number }>();

  return async function authenticate(header: string | null): Promise<Authenticated | Answer> {
    // Authorization holds one value. Two headers reach node:http as a list and a Fetch Request
    // joined with ", "; a token has no comma, so a comma is how both handlers see two of them.
    if (header?.includes(',')) {
      return problem(400, 'duplicate-authorization', 'Bad Request', 'the Authorization header must hold one Bearer token, not several', {
        'www-authenticate': 'Bearer error="invalid_request"',
      });
    }
    if (!verify) return { claims: null };
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) return problem(401, 'missing-token', 'Unauthorized', 'a Bearer token is required', { 'www-authenticate': 'Bearer' });
    const token = match[1]!;
    const cached = verified.get(token);
    if (cached && cached.expiresAt > now()) return { claims: cached.claims };
    try {
      const alg = decodeProtectedHeader(token).alg;
      if (!alg || !ALGORITHMS.includes(alg)) {
        return problem(401, 'invalid-token', 'Unauthorized', `tokens signed with '${clip(String(alg))}' are not accepted`, {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
      const { payload } = await jwtVerify(token, (h) => keys.keyFor(h), {
        issuer: issuers,
        audience: o.appId,
        algorithms: ALGORITHMS,
        clockTolerance: skew,
        currentDate: new Date(now()),
        requiredClaims: ['exp'],
      });
      // jose checks `iat` only against a maximum age; a token issued in the future (beyond the
      // skew) was minted by a clock nobody should trust, whatever its `exp` says.
      if (typeof payload.iat === 'number' && payload.iat * 1000 > now() + skew * 1000) {
        log.debug({ claim: 'iat' }, 'webhook token refused');
        return problem(401, 'invalid-token', 'Unauthorized', "the token's iat claim is in the future", {
          'www-authenticate': 'Bearer error="invalid_token"',
        });
      }
      // Graph's tokens live about an hour; one valid for years was not minted by Graph, or was
      // minted to be replayed. Without iat or nbf, its life is counted from now (skew allowed).
      const starts = [payload.iat, payload.nbf].filter((t): t is number => typeof t === 'number');
      const lifetime = (payload.exp ?? 0) - (starts.length > 0 ? Math.min(...starts) : Math.floor(now() / 1000) + skew);
      if (lifetime > maxLifetime) {
        log.debug({ claim: 'exp', lifetime }, 'webhook token refused');
        return problem(
          401,
          'invalid-token',
          'Unauthorized',
          `the token is valid for ${lifetime} s, longer than the ${maxLifetime} s accepted`,
          { 'www-authenticate': 'Bearer error="invalid_token"' },
        );
      }
      if (verified.size > 1000) verified.clear();
      verified.set(token, { claims: payload, expiresAt: (payload.exp ?? 0) * 1000 + skew * 1000 });
      return { claims: payload };
    } catch (error) {
      if (error instanceof joseErrors.JWTClaimValidationFailed && (error.claim === 'aud' || error.claim === 'iss')) {
        log.warn({ claim: error.claim }, 'webhook token for another audience or issuer');
        return problem(
          403,
          'wrong-audience-or-issuer',
          'Forbidden',
          `the token's ${error.claim === 'aud' ? 'audience' : 'issuer'} is not accepted here`,
        );
      }
      if ((error as { code?: string }).code === 'SWB_WEBHOOK_KEYS_UNAVAILABLE') {
        log.error({ err: (error as Error).message }, 'webhook signing keys unavailable');
        return problem(503, 'keys-unavailable', 'Service Unavailable', 'the signing keys cannot be loaded right now', {
          'retry-after': '5',
        });
      }
      const reason =
        error instanceof joseErrors.JWTExpired
          ? 'the token has expired'
          : error instanceof joseErrors.JWTClaimValidationFailed
            ? `the token's ${error.claim} claim is not valid`
            : 'the token is not valid';
      log.debug({ code: (error as { code?: string }).code }, 'webhook token refused');
      return problem(401, 'invalid-token', 'Unauthorized', reason, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
  };
}
