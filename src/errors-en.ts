import type { HeldSentences } from './i18n.js';
import type { RefusalSentences } from './strings.js';

// The sentences for the helper's refusals and for each reason a payment is held, in English: a chunk of their own,
// loaded the first time the helper refuses something, or a payment is held, on a page showing this language (the
// dialog's texts, in strings-en.ts, come with the checkout flow).
// Shoppers see these, never a provider's raw message. Plain data, registered by the element (see strings-en.ts).

/**
 * Built-in English: a sentence for each helper error code without an alias (strings.ts), for the sentences codes share,
 * and for the element's own `invalid_config` and `bad_response`; and what happens next with a payment held for each
 * reason (`held.<reason>`).
 */
export const strings = {
  'error.unknown_order': 'The order was not found.',
  'error.order_paid': 'This order has already been paid.',
  'error.order_held': 'A payment for this order is under review. There is no need to pay again.',
  'error.order_lookup_failed': 'The shop could not look up the order. Please try again shortly.',
  'error.invalid_request': 'The payment could not be created: the request was rejected.',
  'error.unsupported_provider': 'This payment provider is not available right now.',
  'error.unsupported_method': 'This payment method is not supported.',
  'error.amount_too_small': 'The amount is below the minimum for this payment method.',
  'error.amount_too_large': 'The amount is above the maximum for this payment method.',
  'error.amount_not_supported': 'This amount cannot be paid with this payment method. Choose another method or contact the shop.',
  'error.provider_unavailable': 'The payment provider is temporarily unavailable. Please try again shortly.',
  'error.provider_error': 'The payment provider could not take this payment. Choose another method or contact the shop.',
  'error.customer_blocked': 'Payment is temporarily unavailable. Please contact the shop.',
  'error.merchant_disabled': 'The shop is not accepting payments at the moment.',
  'error.previous_request_open': 'You have an unfinished payment. Complete it or wait until it is cancelled.',
  'error.rate_limited': 'Too many payment attempts for this order. Please try again later or contact the shop.',
  'error.origin_not_allowed': 'Payments from this site are not allowed.',
  'error.unauthorized': 'The payment session has expired. Please start again.',
  'error.not_found': 'The payment was not found. Please start again.',
  'error.invalid_config': 'Payment is not set up correctly on this page.',
  'error.bad_response': 'The server sent an unexpected response. Please try again.',
  'held.amount_mismatch':
    'A different amount was paid than the order\'s. The shop will check the payment and contact you to take the rest or refund the difference. There is no need to pay again.',
  'held.amount_unknown': 'The payment service did not confirm the amount. The shop will check the payment and tell you the result. There is no need to pay again.',
  'held.duplicate_payment': 'This order had already been paid, so the shop will refund this second payment. There is no need to pay again.',
  'held.order_changed': 'The order changed while it was being paid. The shop will check the payment and contact you. There is no need to pay again.',
  'held.provider_review': 'The payment service is checking this payment. The shop will tell you the result. There is no need to pay again.',
} satisfies RefusalSentences & HeldSentences;
