import type { Attempt } from './attempts.js';

// Writing attempts is the checkout flow's business, so it loads with the flow; the element's initial bundle only
// reads them (./attempts.ts: a reload shows a paid or held order from the first frame).

export function saveAttempt(storageKey: string, attempt: Attempt): void {
  try {
    sessionStorage.setItem(storageKey, JSON.stringify(attempt));
  } catch {
    // storage disabled or full: the attempt lives as long as the page
  }
}

export function newKey(): string {
  // randomUUID only exists in secure contexts
  return crypto.randomUUID?.() ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}
