import { resolveSessionUrl } from './helper-url.js';
import type { SessionData } from './session-client.js';

/**
 * One purchase attempt per order, kept in `sessionStorage` so that a double click, a retry or a reload reuses
 * the same `Idempotency-Key` (and so the same provider payment) until that payment reaches a final status.
 * The token stays in this tab only; redirect mode needs it to resume after the payer comes back.
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

export function loadAttempt(storageKey: string): Attempt | undefined {
  try {
    const raw = sessionStorage.getItem(storageKey);
    return raw ? (JSON.parse(raw) as Attempt) : undefined;
  } catch {
    return undefined;
  }
}
