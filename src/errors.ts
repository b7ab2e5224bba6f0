/** Codes the helper returns in `{ error: { code } }`. */
export type HelperErrorCode =
  | 'unknown_order'
  | 'order_paid'
  | 'order_held'
  | 'order_lookup_failed'
  | 'invalid_request'
  | 'unsupported_provider'
  | 'unsupported_method'
  | 'amount_too_small'
  | 'amount_too_large'
  | 'provider_unavailable'
  | 'provider_error'
  | 'customer_blocked'
  | 'merchant_disabled'
  | 'previous_request_open'
  | 'rate_limited'
  | 'origin_not_allowed'
  | 'unauthorized'
  | 'not_found';

/** Codes the element produces itself. */
export type ClientErrorCode =
  | 'invalid_config'
  | 'network_error'
  | 'timeout'
  | 'bad_response'
  | 'popup_blocked'
  | 'failed'
  | 'expired';

/** Every `code` a `pay-error` can carry. Unknown helper codes pass through as plain strings. */
export type PayErrorCode = HelperErrorCode | ClientErrorCode | (string & {});

/**
 * The one error type of the element: a stable `code` for merchants, a `retryable` flag for the UI,
 * the HTTP status when there was one, and the original error as `cause`.
 */
export class PayCheckoutError extends Error {
  override name = 'PayCheckoutError';

  constructor(
    readonly code: PayErrorCode,
    readonly retryable: boolean,
    message = code,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    this.status = options?.status;
  }

  readonly status?: number;
}
