// What the checkout needs of its element, as a type: the checkout never imports the element's class, so the
// element can load the checkout lazily without an import cycle.
import type { ReactiveControllerHost } from 'lit';
import type { PayCheckoutMode, PayCheckoutState } from '../events.js';

export interface CheckoutHost extends ReactiveControllerHost, HTMLElement {
  readonly renderRoot: HTMLElement | DocumentFragment;
  readonly orderId: string | null;
  readonly sessionUrl: string;
  readonly amount: string | number | null;
  readonly currency: string;
  readonly provider: string | null;
  readonly method: string | null;
  readonly mode: PayCheckoutMode;
  readonly returnUrl: string | null;
  /** What the payer sees (the element's `state` when its configuration is valid). */
  readonly _state: PayCheckoutState;
  /** Shows a state and the status line under the button. */
  setState(state: PayCheckoutState, note?: string): void;
  /** The status line under the button, written by the checkout at each render in the language of that render. */
  _note: string;
  methodList(): string[];
  /** Several methods and none preselected: a click shows the method picker. */
  wantsPicker(): boolean;
  currentLocale(): string;
  focusButton(): void;
  /** The tab now remembers the order of attempt `key` as paid: the other elements for it show that. */
  paidElsewhere(key: string): void;
  /** Renders pending changes now instead of at the end of the task. */
  renderNow(): void;
}
