/**
 * The helper's error type and the HTTP status of every error code it answers with. The codes themselves are the
 * contract's `HelperErrorCode` (contract/index.d.ts), which the browser element maps to translated sentences: add
 * new ones there, never rename or reuse them. This table must name each exactly once (a missing or unknown code is
 * a type error). Every code is listed, with its HTTP status, in docs/server.md.
 */
import type { ErrorBody, HelperErrorCode } from '../contract/index.js';

export type { ErrorBody } from '../contract/index.js';

export const ERROR_CODES = {
  // Request shape
  invalid_json: 400,
  invalid_request: 400,
  missing_field: 400,
  invalid_field: 400,
  unsupported_media_type: 415,
  payload_too_large: 413,
  unknown_provider: 400,
  unknown_method: 400,
  invalid_idempotency_key: 400,
  idempotency_key_reused: 409,
  origin_not_allowed: 403,
  return_url_not_allowed: 400,
  not_found: 404,
  method_not_allowed: 405,
  rate_limited: 429,
  // Orders and sessions
  unknown_order: 404,
  order_paid: 409,
  order_held: 409,
  invalid_order: 500,
  order_lookup_failed: 502,
  unsupported_currency: 422,
  amount_too_small: 422,
  amount_too_large: 422,
  amount_not_supported: 422,
  unauthorized: 401,
  unknown_session: 404,
  session_not_cancellable: 409,
  session_creating: 409,
  session_not_held: 409,
  session_changed: 412,
  delivery_superseded: 409,
  delivery_in_flight: 409,
  // Provider callbacks
  invalid_signature: 401,
  stale_notification: 401,
  invalid_webhook: 400,
  // Provider answers
  provider_unavailable: 503,
  provider_rate_limited: 503,
  provider_auth_failed: 502,
  provider_not_found: 502,
  provider_rejected: 502,
  provider_error: 502,
  unsupported_payment_method: 422,
  invalid_payment_field: 422,
  insufficient_reserve: 503,
  route_unavailable: 503,
  customer_blocked: 403,
  merchant_disabled: 502,
  previous_request_open: 409,
  duplicate_request: 409,
  interrupted: 500,
  internal_error: 500,
} as const satisfies Record<HelperErrorCode, number>;

/** The helper's error codes (the contract's `HelperErrorCode`). */
export type ErrorCode = HelperErrorCode;

/** Codes whose failure may go away on its own: the element offers "try again". */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'rate_limited',
  'provider_unavailable',
  'provider_rate_limited',
  'insufficient_reserve',
  'route_unavailable',
  'previous_request_open',
  'session_creating',
  'delivery_in_flight',
  'order_lookup_failed',
  'internal_error',
]);

export class CheckoutError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Detail for the merchant's log only (provider's raw message); never sent to the browser. */
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, options: { status?: number; retryable?: boolean; detail?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CheckoutError';
    this.code = code;
    this.status = options.status ?? ERROR_CODES[code];
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    if (options.detail !== undefined) this.detail = options.detail;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, retryable: this.retryable } };
  }
}

export function isCheckoutError(value: unknown): value is CheckoutError {
  return value instanceof CheckoutError;
}
