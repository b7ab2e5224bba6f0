import { resolveSessionUrl } from './helper-url.js';
import type { SessionData } from './session-client.js';

/**
 * One purchase attempt per order, kept in `sessionStorage` so that a double click, a retry or a reload reuses
 * the same `Idempotency-Key` (and so the same provider payment) until that payment reaches a final status.
 * The token stays in this tab only: a redirect payment needs it to resume when the payer comes back, and a reload
 * needs it to re-read a held payment.
 */
export interface Attempt {
  key: string;
  provider?: string;
  method?: string;
  done?: boolean;
  /**
   * The order is paid, or a payment for it is held for review: a reload of this tab shows that instead of
   * offering "Pay" again (from this attempt's session, or from the helper's `order_paid` / `order_held` answer).
   */
  settled?: 'paid' | 'held';
  session?: Omit<SessionData, 'paymentUrl'>;
}

/** Where an order's attempt is kept: one per helper and order. */
export function attemptKey(sessionUrl: string, orderId: string): string {
  return `pay-checkout:${resolveSessionUrl(sessionUrl)}:${orderId.trim()}`;
}

/** Something of this document has read the tab's attempts: reading them again costs nothing. */
let read = false;
/** The page was reloaded, reached through the history, or came back from a redirect payment. */
let returning: boolean | undefined;

/**
 * Whether the tab's attempts may be read for the element's first frame. The first `sessionStorage` access of a
 * document is a synchronous call to the browser process, which loads the origin's storage for the tab: on a page of
 * buttons it was about a sixth of their first render, a cost every page view paid while a paid or held order is
 * rare. It is paid at once where that first frame needs it: a reload or a history traversal (a paid order must never
 * flash "Pay"), a return from a redirect payment, or once anything has read the storage. A page reached through a
 * link or a typed address reads it when the browser is idle (the element's `readAttemptsWhenIdle`).
 */
export function attemptsAtHand(): boolean {
  if (returning === undefined) {
    const type = (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined)?.type;
    returning = type === 'reload' || type === 'back_forward' || location.hash.startsWith('#pay-checkout=');
  }
  return read || returning;
}

export function loadAttempt(storageKey: string): Attempt | undefined {
  read = true;
  try {
    const raw = sessionStorage.getItem(storageKey);
    return raw ? (JSON.parse(raw) as Attempt) : undefined;
  } catch {
    return undefined;
  }
}
