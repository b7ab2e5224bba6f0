/**
 * Opens the popup for the payment page. Must run synchronously inside the payer's click: browsers (Safari
 * first of all) block windows opened after an `await`. The window starts blank and is navigated once the
 * session arrives. Not `noopener`: the return page posts its message to `window.opener` (and closes on the element's
 * answer, src/return-listener.ts). The name tells the return page, should that answer not come, that this window is
 * the element's: it stays and links back to the shop rather than loading the shop in the popup.
 */
export function openPaymentWindow(): Window | null {
  const width = Math.min(520, screen.availWidth);
  const height = Math.min(760, screen.availHeight);
  const left = Math.max(0, (screen.availWidth - width) / 2);
  const top = Math.max(0, (screen.availHeight - height) / 2);
  return window.open('about:blank', `pay-checkout-${Date.now()}`, `popup,width=${width},height=${height},left=${left},top=${top}`);
}
