import { PayCheckout } from './pay-checkout.js';

// Guarded: the script included twice, or next to another copy of the package, must not throw.
if (!customElements.get('pay-checkout')) customElements.define('pay-checkout', PayCheckout);

export { PayCheckout };

declare global {
  interface HTMLElementTagNameMap {
    'pay-checkout': PayCheckout;
  }
}
