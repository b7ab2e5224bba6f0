// Loaded with the first refusal from the helper: how its codes map onto the sentences of errors-ru.ts / errors-en.ts.
import type { HelperErrorCode } from './errors.js';

/** Sentences that several helper codes share, named after what they say rather than after a code. */
export type SharedSentence = 'unsupported_provider' | 'unsupported_method';

/**
 * Helper codes that share a sentence with another code, or show the generic one (`generic`: codes that only
 * answer the providers' callbacks or the merchant API, or say nothing the payer can act on). Every helper code
 * (contract/index.d.ts, docs/server.md) is either here or has a sentence of its own (`RefusalSentences`).
 * Merchants can still give any code its own sentence with `defineStrings(locale, { 'error.<code>': '…' })`.
 */
export const ERROR_ALIASES = {
  invalid_json: 'invalid_request',
  missing_field: 'invalid_request',
  invalid_field: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  payload_too_large: 'invalid_request',
  method_not_allowed: 'invalid_request',
  invalid_idempotency_key: 'invalid_request',
  idempotency_key_reused: 'invalid_request',
  return_url_not_allowed: 'origin_not_allowed',
  unknown_provider: 'unsupported_provider',
  unknown_method: 'unsupported_method',
  unsupported_payment_method: 'unsupported_method',
  invalid_payment_field: 'invalid_request',
  unsupported_currency: 'unsupported_method',
  // The provider's own flood limit, not the payer's attempts.
  provider_rate_limited: 'provider_unavailable',
  insufficient_reserve: 'provider_unavailable',
  route_unavailable: 'provider_unavailable',
  // The shop's credentials or configuration: nothing the payer can retry.
  provider_auth_failed: 'merchant_disabled',
  provider_not_found: 'merchant_disabled',
  provider_rejected: 'provider_error',
  unknown_session: 'not_found',
  // A reference the provider has seen (a repeated request): refused as any request the provider will not take.
  duplicate_request: 'provider_error',
  session_creating: 'previous_request_open',
  invalid_order: 'generic',
  session_not_cancellable: 'generic',
  internal_error: 'generic',
  interrupted: 'generic',
  session_not_held: 'generic',
  session_changed: 'generic',
  delivery_superseded: 'generic',
  delivery_in_flight: 'generic',
  invalid_signature: 'generic',
  stale_notification: 'generic',
  invalid_webhook: 'generic',
} satisfies Partial<Record<HelperErrorCode, HelperErrorCode | SharedSentence | 'generic'>>;

/**
 * The sentences of errors-ru.ts and errors-en.ts: one for each helper code that has no alias, the shared ones, and
 * the element's `invalid_config` and `bad_response`; a code left out, or one that is not a helper code, is a type
 * error there.
 */
export type RefusalSentences = Record<
  `error.${Exclude<HelperErrorCode, keyof typeof ERROR_ALIASES> | SharedSentence | 'invalid_config' | 'bad_response'}`,
  string
>;
