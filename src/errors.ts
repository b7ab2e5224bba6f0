import type { HelperErrorCode } from '../contract/index.js';

/**
 * Codes the helper returns in `{ error: { code } }`: the contract shared with the helper (contract/index.d.ts; the
 * helper's `ERROR_CODES` gives each its HTTP status, docs/server.md lists them). Each has a sentence of its own in
 * errors-ru.ts / errors-en.ts or shares one through `ERROR_ALIASES` (strings.ts); the types make sure of it.
 */
export type { HelperErrorCode } from '../contract/index.js';

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
