/**
 * The session state machine (DESIGN §5), as pure functions so every rule is testable on its own:
 *   created → pending → paid; held (needs a person); refunded; failed, cancelled, expired.
 * - Nothing moves backwards (pending never returns to created; paid never becomes pending, failed, …).
 * - Only verified sources (a verified webhook or a provider status query) set `paid`.
 * - A paid amount different from the order's, or unknown, gives `held`, never `paid`.
 * - A later verified `paid` revives a failed / cancelled / expired session (and is logged as such).
 */
import type { EventSource, HeldReason, SessionStatus } from './types.js';

export interface Observation {
  status: SessionStatus;
  paidAmountMinor?: number;
}

export interface Decision {
  to: SessionStatus;
  reason: 'provider_status' | 'amount_mismatch' | 'amount_unknown' | 'revived' | 'duplicate_payment' | 'order_changed';
}

/** What the rest of the order says about a payment reported for one of its sessions. */
export interface OrderFacts {
  /** Another session of the order is paid already: a second payment needs a person (one must be refunded). */
  paidElsewhere: boolean;
  /** The session was ended because the order's price changed: its old amount must not count as paid. */
  orderChanged: boolean;
}

const NO_FACTS: OrderFacts = { paidElsewhere: false, orderChanged: false };

/** Held reasons that a person must resolve: stored as the session's error code. */
export const HELD_REASONS: ReadonlySet<Decision['reason']> = new Set(['amount_mismatch', 'amount_unknown', 'duplicate_payment', 'order_changed']);

/** Why a `held` session waits for a person, as the payer's page and the session view name it. */
export function heldReason(session: { errorCode: string | null }): HeldReason {
  return HELD_REASONS.has(session.errorCode as Decision['reason']) ? (session.errorCode as HeldReason) : 'provider_review';
}

const ALLOWED: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  created: ['pending', 'paid', 'held', 'refunded', 'failed', 'cancelled', 'expired'],
  pending: ['paid', 'held', 'refunded', 'failed', 'cancelled', 'expired'],
  paid: ['held', 'refunded'],
  held: ['paid', 'refunded', 'failed'],
  failed: ['paid', 'held'],
  cancelled: ['paid', 'held'],
  expired: ['paid', 'held'],
  refunded: [],
};

export function isOpen(status: SessionStatus): boolean {
  return status === 'created' || status === 'pending';
}

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return ALLOWED[from].includes(to);
}

/**
 * What an observation does to a session in `current` status with `amountMinor`; undefined = no change. A payment
 * is held, never paid, when its amount is unknown or differs, when the order is paid by another session already,
 * or when the session was ended because the order changed.
 */
export function decide(
  current: SessionStatus,
  amountMinor: number,
  observed: Observation,
  source: EventSource,
  order: OrderFacts = NO_FACTS,
): Decision | undefined {
  let to = observed.status;
  let reason: Decision['reason'] = 'provider_status';
  if (to === 'paid') {
    if (source !== 'webhook' && source !== 'poll') return undefined;
    if (observed.paidAmountMinor === undefined) {
      to = 'held';
      reason = 'amount_unknown';
    } else if (observed.paidAmountMinor !== amountMinor) {
      to = 'held';
      reason = 'amount_mismatch';
    } else if (order.paidElsewhere) {
      to = 'held';
      reason = 'duplicate_payment';
    } else if (order.orderChanged) {
      to = 'held';
      reason = 'order_changed';
    }
  }
  if (to === current || !canTransition(current, to)) return undefined;
  if (to === 'paid' && (current === 'failed' || current === 'cancelled' || current === 'expired')) reason = 'revived';
  return { to, reason };
}
