/**
 * What `createWebhookReceiver` uses for every option not given. Docs name these fields
 * (`WEBHOOK_DEFAULTS.bodyTimeoutMs`) rather than restate the figures.
 */
export const WEBHOOK_DEFAULTS = Object.freeze({
  /** Where Graph's webhook signing keys are published. */
  openIdConfigurationUrl: 'https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration',
  /** The issuer of Graph's webhook tokens (the Bot Framework's token service). */
  issuers: Object.freeze(['https://api.botframework.com']) as readonly string[],
  /** Tolerated clock difference on `exp`, `nbf` and `iat`, seconds: the Bot Framework's "industry-standard" 5 minutes. */
  clockSkewSeconds: 300,
  /**
   * The longest a token may be valid, seconds: two hours. Graph's webhook tokens come from the
   * Bot Framework's token service (issuer `https://api.botframework.com`): the Bot Connector
   * authentication page's connector-to-bot example token runs 3,900 s from `nbf` to `exp`
   * (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication),
   * Microsoft's answer in github.com/microsoft/botframework-sdk/issues/6000 says they are issued
   * for an hour, and a Teams callback token quoted in github.com/MicrosoftDocs/bot-docs/issues/2242
   * runs 300 s (it has no `iat`). Twice the hour leaves room for a back-dated `nbf`; a token
   * valid for longer was not minted the way Graph mints them.
   */
  maxTokenLifetimeSeconds: 2 * 60 * 60,
  /** Bodies past this many bytes are refused with 413 (1 MiB). */
  maxBodyBytes: 1024 * 1024,
  /** A body not fully received this long after its headers is refused with 408, ms. */
  bodyTimeoutMs: 10_000,
  /** How much of a refused body is read and thrown away so its sender can read the answer (16 MiB). */
  maxDiscardBytes: 16 * 1024 * 1024,
  /** Fewest ms between two key refreshes caused by unknown `kid`s. */
  minKeyRefreshIntervalMs: 30_000,
} as const);

/** `WEBHOOK_DEFAULTS.maxTokenLifetimeSeconds`, under the name it was first exported as. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = WEBHOOK_DEFAULTS.maxTokenLifetimeSeconds;

/** `WEBHOOK_DEFAULTS.clockSkewSeconds`, under the name it was first exported as. */
export const DEFAULT_CLOCK_SKEW_SECONDS = WEBHOOK_DEFAULTS.clockSkewSeconds;

/** `WEBHOOK_DEFAULTS.maxDiscardBytes`, under the name it was first exported as. */
export const DEFAULT_MAX_DISCARD_BYTES = WEBHOOK_DEFAULTS.maxDiscardBytes;
