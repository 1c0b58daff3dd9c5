export { createWebhookReceiver } from './receiver.js';
export { WEBHOOK_DEFAULTS, DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_DISCARD_BYTES, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './defaults.js';
export type { WebhookReceiver, WebhookReceiverOptions, WebhookDelivery, WebhookLogger } from './receiver.js';
export { KeySet } from './keys.js';
export type { KeySetOptions } from './keys.js';
