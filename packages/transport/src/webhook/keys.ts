import { importJWK, type CryptoKey, type JWK, type JWTHeaderParameters } from 'jose';

type VerifyKey = CryptoKey | Uint8Array;
import { SwitchboardError } from '@switchboard/core';
import { WEBHOOK_DEFAULTS } from './defaults.js';

export interface KeySetOptions {
  /** The OpenID configuration whose `jwks_uri` lists the signing keys. */
  readonly openIdConfigurationUrl: string;
  /** Fewest milliseconds between two refreshes caused by an unknown `kid` (default `WEBHOOK_DEFAULTS.minKeyRefreshIntervalMs`). */
  readonly minRefreshIntervalMs?: number;
  readonly now: () => number;
  readonly fetch?: typeof fetch;
}

/**
 * The signing keys Graph uses for webhook tokens, fetched from the OpenID configuration and
 * cached by `kid`. An unknown `kid` refreshes the set once (keys rotate), at most once per
 * `minRefreshIntervalMs`, so a flood of tokens with made-up kids cannot make us hammer the
 * key endpoint.
 */
export class KeySet {
  readonly #options: KeySetOptions;
  readonly #fetch: typeof fetch;
  #keys = new Map<string, { key: VerifyKey; alg?: string }>();
  #lastRefresh = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  /** How many times the key set was fetched (for tests and metrics). */
  refreshes = 0;

  constructor(options: KeySetOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
  }

  /** The key for a token header; refreshes once for an unknown kid. Throws SWB_WEBHOOK_UNKNOWN_KEY. */
  async keyFor(header: JWTHeaderParameters): Promise<VerifyKey> {
    const kid = header.kid;
    if (kid === undefined) throw new SwitchboardError('SWB_WEBHOOK_UNKNOWN_KEY', 'the token names no signing key (kid)');
    let found = this.#keys.get(kid);
    const minInterval = this.#options.minRefreshIntervalMs ?? WEBHOOK_DEFAULTS.minKeyRefreshIntervalMs;
    if (!found && (this.#keys.size === 0 || this.#options.now() - this.#lastRefresh >= minInterval)) {
      await this.refresh();
      found = this.#keys.get(kid);
    }
    if (!found) throw new SwitchboardError('SWB_WEBHOOK_UNKNOWN_KEY', `no signing key '${kid}' in the published key set`);
    return found.key;
  }

  /** Fetches the OpenID configuration and its key set (one fetch at a time). */
  refresh(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    this.#lastRefresh = this.#options.now();
    this.refreshes += 1;
    try {
      const config = (await this.#json(this.#options.openIdConfigurationUrl)) as { jwks_uri?: unknown };
      if (typeof config.jwks_uri !== 'string') throw new Error('the OpenID configuration has no jwks_uri');
      const set = (await this.#json(config.jwks_uri)) as { keys?: unknown };
      if (!Array.isArray(set.keys)) throw new Error('the key set has no keys[]');
      const keys = new Map<string, { key: VerifyKey; alg?: string }>();
      for (const jwk of set.keys as JWK[]) {
        if (typeof jwk.kid !== 'string' || jwk.kty === 'oct') continue; // symmetric keys are never trusted
        try {
          keys.set(jwk.kid, { key: await importJWK({ ...jwk, alg: jwk.alg ?? 'RS256' }), ...(jwk.alg ? { alg: jwk.alg } : {}) });
        } catch {
          // a key we cannot use (unknown type) is skipped, not fatal
        }
      }
      this.#keys = keys;
    } catch (error) {
      throw new SwitchboardError('SWB_WEBHOOK_KEYS_UNAVAILABLE', `cannot load the webhook signing keys: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async #json(url: string): Promise<unknown> {
    const res = await this.#fetch(url, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`${url} answered ${res.status}`);
    return res.json();
  }
}
