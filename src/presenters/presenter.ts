import type { PresentedMode } from '../events.js';

/**
 * One way of showing the payment page (./modal.ts, ./inline.ts, ./popup.ts, ./redirect.ts). Each owns what it
 * shows it with: the dialog, the popup window, the page's location.
 */
export interface Presenter {
  readonly mode: PresentedMode;
  /** A window showing the payment page: the popup itself, or one opened from a panel's header. */
  window?: Window | null;
  /** Shows the payment surface (for a popup or a redirect: navigates it to `url`). */
  show(url?: string): void;
  /** Takes it away; `returnFocus` gives focus back to the button. */
  hide(returnFocus: boolean): void;
  /** Brings it to the payer's attention again (a second click). */
  focus(): void;
}
