/**
 * The session state machine (docs/server.md → Statuses and the event log), and what a verified provider callback may
 * do to a session, as pure functions so every rule is testable on its own:
 *   created → pending → paid; held (needs a person); refunded; failed, cancelled, expired.
 * - Nothing moves backwards (pending never returns to created; paid never becomes pending, failed, …: a paid payment
 *   the provider reports failed is held for a person).
 * - Only verified sources (a verified webhook or a provider status query) set `paid`.
 * - A paid amount different from the order's, or unknown, or than the provider's signed callback said, gives `held`,
 *   never `paid`.
 * - A later verified `paid` revives a failed / cancelled / expired session (and is logged as such).
 */
import type { VerifiedClaim } from './providers/types.js';
import type { EventSource, HeldReason, SessionStatus } from './types.js';

export interface Observation {
  status: SessionStatus;
  paidAmountMinor?: number;
  /** An authenticated report of a payment that cannot be confirmed by a status read: held for a person, never paid. */
  unconfirmed?: boolean;
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
  /** Why the session is held now, if it is (its error code). */
  heldFor?: string | null;
  /**
   * The amounts the provider's signed callbacks reported as paid since a person last looked (sessions/sync.ts,
   * SIGNED_PAID_AMOUNTS). A status answer that names another amount is not the payment's last word (Repay's callback
   * carries what the payer actually paid, which "can be changed if the user has paid another amount"): held.
   */
  signedPaidAmounts?: readonly number[];
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
 * is held, never paid, when its amount is unknown or differs (from the order's, or from what the provider's signed
 * callback said), when the order is paid by another session already, or when the session was ended because the order
 * changed.
 */
export function decide(
  current: SessionStatus,
  amountMinor: number,
  observed: Observation,
  source: EventSource,
  order: OrderFacts = NO_FACTS,
): Decision | undefined {
  // A paid payment the provider reports failed, cancelled or expired after all (a dispute lost after a person accepted
  // it, an order deleted before its payout): a person must look, and the shop, told it was paid, must hear of it. A
  // paid session never ends unpaid on a provider's word alone.
  let to = current === 'paid' && (observed.status === 'failed' || observed.status === 'cancelled' || observed.status === 'expired') ? 'held' : observed.status;
  let reason: Decision['reason'] = 'provider_status';
  if (to === 'paid') {
    if (source !== 'webhook' && source !== 'poll') return undefined;
    // A second payment for a paid order is that first, whatever its amount: one of the two must be refunded.
    if (order.paidElsewhere) {
      to = 'held';
      reason = 'duplicate_payment';
    } else if (observed.unconfirmed) {
      // A person checks it with the provider (see claimChange() in sessions/callbacks.ts).
      to = 'held';
    } else if (observed.paidAmountMinor === undefined) {
      to = 'held';
      reason = 'amount_unknown';
    } else if (observed.paidAmountMinor !== amountMinor || order.signedPaidAmounts?.some((signed) => signed !== observed.paidAmountMinor)) {
      to = 'held';
      reason = 'amount_mismatch';
    } else if (order.orderChanged) {
      to = 'held';
      reason = 'order_changed';
    }
  }
  // Held already, and now for another reason a person must know (a dispute that ended in a payment of an order paid
  // meanwhile is a second payment): told as such. The order's change stays the reason once it is (see apply()).
  if (
    current === 'held' &&
    to === 'held' &&
    HELD_REASONS.has(reason) &&
    order.heldFor !== reason &&
    order.heldFor !== 'order_changed'
  ) {
    return { to, reason };
  }
  if (to === current || !canTransition(current, to)) return undefined;
  if (to === 'paid' && (current === 'failed' || current === 'cancelled' || current === 'expired')) reason = 'revived';
  return { to, reason };
}

/** What the session a callback names says about it (the payment as the session recorded it). */
export interface CallbackFacts {
  /** The provider payment the session recorded; null when its creation was interrupted before the answer was stored. */
  providerPaymentId: string | null;
  amountMinor: number;
  /** Whether the provider's status can be re-read for the session, once it knows the callback's payment. */
  canReread: boolean;
  /** The claim's status is one of a payment made and being processed (`PaymentProvider.paymentUnderway()`). */
  underway?: boolean;
}

/**
 * After a callback is accepted and stored: `reread` the provider's status and apply that; `apply` the claim as it
 * stands (only a claim that needs no re-read); `hold` the payment for a person (an authenticated "paid" that cannot be
 * re-read, e.g. BoxExchanger order credentials lost in a crash); `record`: nothing more than the stored callback.
 */
export type CallbackFollowUp = 'reread' | 'apply' | 'hold' | 'record';

export type CallbackPlan =
  /** Refused, and kept only as a rejected-callback digest. */
  | { action: 'reject'; message: string }
  /**
   * Stored in the event log (once: its identity is what the signature covers), then followed up. `adopt`: the
   * provider payment the session takes over first. A duplicate, or one older than the last applied, is stored once,
   * answered, and goes no further (the store decides that atomically).
   */
  | { action: 'accept'; adopt?: string; then: CallbackFollowUp };

/**
 * What a verified callback does to the session it names. A callback never moves a session on its own word: its
 * status is re-read from the provider (`claim.reread`), and an authenticated "paid" that cannot be re-read only holds
 * the payment, as does one of a payment under way (received, being checked or paid out: nothing would follow it up,
 * and the session would end unpaid with its window). A session left without its provider payment by a crash learns it
 * from a callback only when the callback is authenticated and reports exactly the session's amount.
 */
export function callbackPolicy(claim: VerifiedClaim, session: CallbackFacts): CallbackPlan {
  let adopt: string | undefined;
  if (!session.providerPaymentId && claim.providerPaymentId) {
    if (!claim.authenticated || claim.paidAmountMinor !== session.amountMinor) {
      return { action: 'reject', message: 'The callback names a payment the session never recorded, without a signed matching amount.' };
    }
    adopt = claim.providerPaymentId;
  }
  // Only an authenticated claim of a known status that needs no re-read stands on its own.
  const then: CallbackFollowUp = !claim.reread && claim.authenticated && claim.status?.unified !== undefined
    ? 'apply'
    : session.canReread
      ? 'reread'
      : claim.authenticated && (claim.status?.unified === 'paid' || session.underway)
        ? 'hold'
        : 'record';
  return adopt === undefined ? { action: 'accept', then } : { action: 'accept', adopt, then };
}
