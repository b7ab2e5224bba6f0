import type { ReturnOutcome } from './events.js';

const OUTCOMES: readonly string[] = ['success', 'error', 'cancel'];

/**
 * Listens for the return page's `{ type: 'pay-checkout:return', v: 1, sessionId, outcome }` message.
 * A message counts only when it comes from the helper's exact origin *and* from one of our own windows
 * (the payment frame or popup): another tab or frame on the helper's origin cannot fake a return.
 * The message only triggers a status check; it is never proof of payment.
 *
 * A counted message about the current session is answered `{ type: 'pay-checkout:return-ack', v: 1, sessionId }`, to
 * that window on the helper's origin, before anything else runs (the merchant's `pay-return` listeners may take a
 * while): the return page in a popup closes itself on that answer only. A window with an opener that gets none (a
 * storefront tab another window opened, paying in redirect mode) goes back to the return URL instead.
 */
export function listenForReturn(
  origin: string,
  sources: () => (Window | null | undefined)[],
  sessionId: () => string | undefined,
  onReturn: (outcome: ReturnOutcome) => void,
  signal: AbortSignal,
): void {
  window.addEventListener(
    'message',
    (event: MessageEvent) => {
      if (event.origin !== origin || !event.source) return;
      if (!sources().some((win) => win != null && win === event.source)) return;
      const data = event.data as { type?: unknown; v?: unknown; sessionId?: unknown; outcome?: unknown } | null;
      if (
        !data ||
        data.type !== 'pay-checkout:return' ||
        data.v !== 1 ||
        typeof data.sessionId !== 'string' ||
        data.sessionId !== sessionId() ||
        !OUTCOMES.includes(data.outcome as string)
      ) {
        return;
      }
      try {
        (event.source as Window).postMessage({ type: 'pay-checkout:return-ack', v: 1, sessionId: data.sessionId }, origin);
      } catch {
        // A window closed meanwhile, or one that is not a window: nothing waits for the answer.
      }
      onReturn(data.outcome as ReturnOutcome);
    },
    { signal },
  );
}
