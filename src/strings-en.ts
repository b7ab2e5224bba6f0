import type { PayCheckoutStrings } from './i18n.js';

// The dialog's texts and the sentences for errors that need no helper (no network, a timeout, a blocked popup, a
// failed or expired payment), in English; loaded with the checkout flow only on pages that show this language (each
// language is its own chunk; the helper's refusals and the held reasons' sentences are in errors-en.ts). Shoppers see these, never a provider's raw message.
// Plain data, registered by the element: the package is marked free of side effects, so a module that only
// registered itself on import would be dropped by bundlers.

/** Built-in English. */
export const strings = {
  title: 'Order {order}',
  close: 'Close',
  newWindow: 'Open in a new window',
  frameTitle: '{provider} payment page',
  creating: 'Creating the payment…',
  loading: 'Loading the payment page…',
  waiting: 'Waiting for the payment to be confirmed.',
  waitingWindow: 'Complete the payment in the window that opened. We are waiting for the confirmation.',
  notFrameable: 'The payment page opens in a separate window.',
  openPage: 'Go to payment',
  confirming: 'Confirming the payment…',
  redirecting: 'Taking you to the payment page…',
  paid: 'Paid. Thank you!',
  held: 'The payment is under review: the shop will check it and tell you the result. There is no need to pay again.',
  refunded: 'The payment was refunded.',
  failed: 'The payment did not go through.',
  expired: 'The time to pay has run out.',
  cancelled: 'The payment was cancelled.',
  timeLeft: '{time} left',
  retry: 'Try again',
  done: 'Done',
  showWindow: 'Show the payment window',
  chooseMethod: 'Payment method',
  'error.network_error': 'Cannot reach the server. Check your internet connection.',
  'error.timeout': 'The server did not respond in time. Please try again.',
  'error.popup_blocked': 'The browser blocked the payment window; taking you to the payment page instead.',
  'error.failed': 'The payment did not go through. Please try again.',
  'error.expired': 'The time to pay has run out. Please start again.',
  'error.generic': 'Something went wrong. Please try again.',
} satisfies Partial<PayCheckoutStrings>;

/** The sentences for the helper's refusals in this language: a chunk of their own, loaded with the first refusal. */
export const errors = () => import('./errors-en.js');
