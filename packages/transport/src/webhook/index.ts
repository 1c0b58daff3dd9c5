export { createWebhookReceiver } from './receiver.js';
export type { WebhookReceiver, WebhookReceiverOptions, WebhookDelivery, WebhookLogger } from './receiver.js';
export { KeySet } from './keys.js';
export type { KeySetOptions } from './keys.js';
