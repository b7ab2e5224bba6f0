/**
 * Popup presenter: the window opened by `openPaymentWindow` (./open-window.ts, in the initial bundle because it
 * must run inside the click) is navigated, watched and closed from here.
 */

/** Navigates the window to the payment page; false when the payer already closed it. */
export function navigateWindow(win: Window, url: string): boolean {
  if (win.closed) return false;
  win.location.href = url;
  return true;
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
