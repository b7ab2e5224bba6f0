import type { Presenter } from './presenter.js';

/**
 * Popup presenter: the window opened by `openPaymentWindow` (./open-window.ts, in the initial bundle because it
 * must run inside the click) is navigated, watched and closed from here. Panels use the same helpers for the
 * window their header opens.
 */
export class PopupPresenter implements Presenter {
  readonly mode = 'popup';

  constructor(public window: Window | null | undefined) {}

  /** Navigates the window to the payment page. */
  show(url: string): void {
    if (this.window && !this.window.closed) this.window.location.href = url;
  }

  hide(): void {
    closeWindow(this.window);
  }

  focus(): void {
    this.window?.focus();
  }
}

/** Calls `onClosed` once when the payer closes the window; stops with `signal`. */
export function watchWindow(win: Window, onClosed: () => void, signal: AbortSignal): void {
  const timer = setInterval(() => {
    if (win.closed) {
      clearInterval(timer);
      onClosed();
    }
  }, 500);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}

export function closeWindow(win: Window | null | undefined): void {
  try {
    if (win && !win.closed) win.close();
  } catch {
    // cross-origin windows may refuse; nothing else to do
  }
}
