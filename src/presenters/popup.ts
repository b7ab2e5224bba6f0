/**
 * Popup presenter. `openPaymentWindow` must run synchronously inside the payer's click: browsers (Safari
 * first of all) block windows opened after an `await`. The window starts blank and is navigated once the
 * session arrives. Not `noopener`: the return page posts its message to `window.opener`.
 */
export function openPaymentWindow(): Window | null {
  const width = Math.min(520, screen.availWidth);
  const height = Math.min(760, screen.availHeight);
  const left = Math.max(0, (screen.availWidth - width) / 2);
  const top = Math.max(0, (screen.availHeight - height) / 2);
  return window.open('about:blank', `pay-checkout-${Date.now()}`, `popup,width=${width},height=${height},left=${left},top=${top}`);
}

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
