// Purchase attempts and their Idempotency-Key, as the checkout writes them to `sessionStorage`. Reading them is
// ../attempts.ts, in the element's initial bundle (a reload shows a paid or held order from the first frame);
// writing is the checkout's business, so it loads with the checkout.
import { attemptKey, loadAttempt, type Attempt } from '../attempts.js';
import type { CreateSessionBody, SessionClient, SessionData } from '../session-client.js';

export type { Attempt };

/** A session as `POST /sessions` answered it, with the attempt whose key it was created under. */
export interface Created {
  session: SessionData;
  reused: boolean;
  attempt: Attempt;
}

function save(storageKey: string, attempt: Attempt): void {
  try {
    sessionStorage.setItem(storageKey, JSON.stringify(attempt));
  } catch {
    // storage disabled or full: the attempt lives as long as the page
  }
}

function newKey(): string {
  // randomUUID only exists in secure contexts
  return crypto.randomUUID?.() ?? Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One order's attempt in this tab: the key a double click, a retry or a reload reuses until the payment ends. */
export class AttemptStore {
  readonly key: string;

  constructor(sessionUrl: string, orderId: string) {
    this.key = attemptKey(sessionUrl, orderId);
  }

  load(): Attempt | undefined {
    return loadAttempt(this.key);
  }

  /**
   * POSTs the session with this attempt's Idempotency-Key: the stored one while the attempt is open for the same
   * provider and method, a new one when `fresh` or the attempt ended.
   */
  async request(http: SessionClient, body: CreateSessionBody, fresh: boolean, signal: AbortSignal): Promise<Created> {
    const known = this.load();
    const { provider, method } = body;
    const reused = !!known && !fresh && !known.done && known.provider === provider && known.method === method;
    const attempt = reused ? known : { key: newKey(), provider, method };
    save(this.key, attempt);
    const session = await http.create(body, attempt.key, signal);
    return { session, reused, attempt };
  }

  /** Keeps the session (never its payment URL) with the attempt, for a redirect's return and a reload. */
  saveSession(session: SessionData | undefined, attempt = this.load()): void {
    if (!attempt || !session) return;
    const { paymentUrl: _omit, ...rest } = session;
    save(this.key, { ...attempt, session: rest });
  }

  remember(change: Partial<Attempt>): void {
    const attempt = this.load();
    if (attempt) save(this.key, { ...attempt, ...change });
  }
}
