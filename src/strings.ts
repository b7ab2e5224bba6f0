// Loaded with the first refusal from the helper: how its codes map onto the sentences of errors-ru.ts / errors-en.ts.

/**
 * Helper codes that share a sentence with another code (the helper's full list is in docs/server.md).
 * A code neither translated nor aliased gets `error.generic`; merchants can still give it its own sentence
 * with `defineStrings(locale, { 'error.<code>': '…' })`.
 */
export const ERROR_ALIASES: Record<string, string> = {
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
  invalid_payment_field: 'unsupported_method',
  amount_not_supported: 'unsupported_method',
  unsupported_currency: 'unsupported_method',
  provider_rate_limited: 'rate_limited',
  insufficient_reserve: 'provider_unavailable',
  route_unavailable: 'provider_unavailable',
  provider_auth_failed: 'provider_error',
  provider_not_found: 'provider_error',
  provider_rejected: 'provider_error',
  unknown_session: 'not_found',
  duplicate_request: 'previous_request_open',
  session_creating: 'previous_request_open',
};
