/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): every request the helper sends to the merchant's
 * backend — the merchant webhooks and the order lookups over HTTP (ORDER_RESOLVE_URL) — carries
 *
 *   webhook-id:        msg_…   (unique per message; a retried delivery keeps its id, so receivers can dedupe)
 *   webhook-timestamp: unix seconds
 *   webhook-signature: v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>
 *
 * with the key = the base64 part of a `whsec_…` secret. The signature is made by the `standardwebhooks` package
 * itself, so every Standard Webhooks verifier (Node, PHP, Python, Go, …) accepts it.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec asks for 24 to 64 random bytes; fewer is refused. */
export const MIN_WEBHOOK_SECRET_BYTES = 24;

export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A `whsec_…` value that is not a usable secret; config.ts turns it into a ConfigError. */
export class WebhookSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSecretError';
  }
}

/**
 * Checks a `whsec_…` secret (e.g. MERCHANT_WEBHOOK_SECRET) and returns it trimmed. It must be `whsec_` followed by
 * standard base64 (with padding) of at least 24 bytes; anything else throws a WebhookSecretError naming `variable`
 * and saying how to make a good one.
 */
export function validateWebhookSecret(value: string, variable = 'MERCHANT_WEBHOOK_SECRET'): string {
  const secret = value.trim();
  const howTo = `Generate one with: node -e "console.log('whsec_' + require('crypto').randomBytes(32).toString('base64'))"`;
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new WebhookSecretError(`${variable} must start with "${WEBHOOK_SECRET_PREFIX}" (a Standard Webhooks secret). ${howTo}`);
  }
  const base64 = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  // Strict standard base64: what every Standard Webhooks library decodes (base64url or missing padding is not).
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(base64) || base64.length === 0) {
    throw new WebhookSecretError(`${variable}: the part after "${WEBHOOK_SECRET_PREFIX}" must be standard base64 (A–Z a–z 0–9 + / and = padding). ${howTo}`);
  }
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length < MIN_WEBHOOK_SECRET_BYTES) {
    throw new WebhookSecretError(`${variable} is too short: ${bytes.length} bytes, at least ${MIN_WEBHOOK_SECRET_BYTES} random bytes are needed. ${howTo}`);
  }
  return secret;
}

/** A fresh random secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** A fresh message id: `msg_` + 22 URL-safe characters (128 random bits). */
export function newWebhookId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}

export interface SignWebhookOptions {
  /** The message id; default a fresh one. A retried delivery must pass its first id again. */
  id?: string;
  /** Default now. Signed as whole unix seconds. */
  timestamp?: Date;
}

/**
 * Signs `body` (the exact bytes that will be sent) and returns the three headers. Several secrets (key rotation)
 * give several space-separated signatures; a receiver accepts the message when any one of them verifies.
 */
export function signWebhook(secret: string | readonly string[], body: string, options: SignWebhookOptions = {}): WebhookSignatureHeaders {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new WebhookSecretError('No webhook secret to sign with.');
  const id = options.id ?? newWebhookId();
  if (!/^[\x21-\x7e]{1,255}$/.test(id)) throw new TypeError('A webhook id must be 1–255 visible ASCII characters.');
  // Standard Webhooks signs whole seconds: drop the milliseconds so the header and the signature agree.
  const timestamp = new Date(Math.floor((options.timestamp ?? new Date()).getTime() / 1000) * 1000);
  const signatures = secrets.map((item) => new Webhook(validateWebhookSecret(item, 'webhook secret')).sign(id, timestamp, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp.getTime() / 1000),
    'webhook-signature': signatures.join(' '),
  };
}
