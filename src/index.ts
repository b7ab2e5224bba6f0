// Side-effect-free entry: import the class and types, register the tag yourself (or import './define.js').
export { PayCheckout } from './pay-checkout.js';
export { PayCheckoutError } from './errors.js';
export type { PayErrorCode, HelperErrorCode, ClientErrorCode } from './errors.js';
export { defineStrings, DEFAULT_LOCALE, formatMoney } from './i18n.js';
export type { PayCheckoutStrings } from './i18n.js';
export type * from './events.js';
