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
  session?: Omit<SessionData, 'paymentUrl'>;
}

export function loadAttempt(storageKey: string): Attempt | undefined {
  try {
    const raw = sessionStorage.getItem(storageKey);
    return raw ? (JSON.parse(raw) as Attempt) : undefined;
  } catch {
    return undefined;
  }
}

export function saveAttempt(storageKey: string, attempt: Attempt): void {
  try {
    sessionStorage.setItem(storageKey, JSON.stringify(attempt));
  } catch {
    // storage disabled or full: the attempt lives as long as the page
  }
}

export function clearAttempt(storageKey: string): void {
  try {
    sessionStorage.removeItem(storageKey);
  } catch {
    // see saveAttempt
  }
}

export function newKey(): string {
  // randomUUID only exists in secure contexts
  return crypto.randomUUID?.() ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
