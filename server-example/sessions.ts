/**
 * Payment sessions: `SessionService`, the one object the routes, the reconciler and the merchant API use. Its work is
 * split by job under sessions/:
 *   create.ts     opening a payment (one open provider payment per order, Idempotency-Key, write-before-call)
 *   sync.ts       provider status re-reads, applying an observed status (transitions.ts), the poll schedule
 *   callbacks.ts  provider callbacks: verified claim → callbackPolicy() (transitions.ts) → store, re-read or hold
 *   cancel.ts     the payer's cancel, and ending an open session (at the provider where it can cancel)
 *   core.ts       the shared dependencies and the one way a status change is written (with its notifications)
 */
import type { CallbackInput, CallbackReply, PaymentProvider, ProviderStatusResult } from './providers/types.js';
import type { SessionRecord } from './store.js';
import type { EventSource, ProviderId, SessionStatus } from './types.js';
import { handleCallback } from './sessions/callbacks.js';
import { type AtProvider, cancelSession, endOpenSession } from './sessions/cancel.js';
import { SessionCore } from './sessions/core.js';
import type { RefreshTrigger, SessionServiceOptions } from './sessions/core.js';
import { createSession, markInterruptedUnlessCreating } from './sessions/create.js';
import type { CreateSessionInput, CreateSessionResult } from './sessions/create.js';
import { apply, nextPollAt, readSince, refresh, resolveHeld } from './sessions/sync.js';

export type { RefreshTrigger, SessionServiceOptions } from './sessions/core.js';
export type { CreateSessionInput, CreateSessionResult } from './sessions/create.js';
export { providerReference, SESSION_ID_PATTERN, sessionIdOfReference } from './sessions/references.js';

export class SessionService {
  readonly #core: SessionCore;

  constructor(options: SessionServiceOptions) {
    this.#core = new SessionCore(options);
  }

  /** Sessions whose provider create call is running in this process (the reconciler leaves them alone). */
  get creating(): ReadonlySet<string> {
    return this.#core.creating;
  }

  provider(id: ProviderId): PaymentProvider {
    return this.#core.provider(id);
  }

  /** Opens a payment for an order, or hands out its open one (sessions/create.ts). */
  create(input: CreateSessionInput): Promise<CreateSessionResult> {
    return createSession(this.#core, input);
  }

  /**
   * A row whose provider call never completed (the process stopped in between): failed, revivable by a payment.
   * Left alone (undefined) while a creation for its order is still under way in any instance.
   */
  markInterrupted(sessionId: string): Promise<SessionRecord | undefined> {
    return markInterruptedUnlessCreating(this.#core, sessionId);
  }

  /** Re-reads the provider's status and applies it; failures are recorded, and the session polled again later. */
  refresh(sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
    return refresh(this.#core, sessionId, trigger);
  }

  /** Whether an open session past its window may be ended: read since `since`, or not readable at all (sessions/sync.ts). */
  readSince(session: SessionRecord, since: number): boolean {
    return readSince(this.#core, session, since);
  }

  /** Applies an observed provider status atomically; returns the session after it. */
  apply(
    sessionId: string,
    observed: ProviderStatusResult,
    source: EventSource,
    meta: { trigger?: RefreshTrigger; recordPoll?: boolean } = {},
  ): Promise<SessionRecord | undefined> {
    return apply(this.#core, sessionId, observed, source, meta);
  }

  /** When the reconciler should look at a session next (sessions/sync.ts). */
  nextPollAt(session: SessionRecord, attempts: number, status: SessionStatus = session.status): number | null {
    return nextPollAt(this.#core.config, session, attempts, status);
  }

  /** Verifies a provider callback and acts on it; returns the answer the provider expects (sessions/callbacks.ts). */
  handleCallback(providerId: ProviderId, input: CallbackInput, source: string | null = null): Promise<CallbackReply> {
    return handleCallback(this.#core, providerId, input, source);
  }

  /** A person settles a held payment (merchant API): `paid`, `refunded` or `failed`. */
  resolveHeld(sessionId: string, to: 'paid' | 'refunded' | 'failed', note: string, seen?: string): Promise<SessionRecord> {
    return resolveHeld(this.#core, sessionId, to, note, seen);
  }

  /** Payer-initiated cancel; `cancelledAtProvider` is false when the provider has no cancel call (sessions/cancel.ts). */
  cancel(sessionId: string): Promise<{ session: SessionRecord; cancelledAtProvider: boolean }> {
    return cancelSession(this.#core, sessionId);
  }

  /** Ends an open session locally (cancelling at the provider where possible). */
  endOpenSession(
    session: SessionRecord,
    to: 'expired' | 'cancelled',
    reason: string,
    source: EventSource = 'poll',
    atProvider: AtProvider = 'cancel',
  ): Promise<SessionRecord | undefined> {
    return endOpenSession(this.#core, session, to, reason, source, atProvider);
  }
}
