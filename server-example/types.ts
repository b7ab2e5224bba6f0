/** Types shared by the helper's modules; exported from index.ts for merchants. */
export type ProviderId = 'repay' | 'boxexchanger' | 'agetrading';
export type MethodId = 'sbp' | 'card';

export const PROVIDER_IDS: readonly ProviderId[] = ['repay', 'boxexchanger', 'agetrading'];
export const METHOD_IDS: readonly MethodId[] = ['sbp', 'card'];

export type SessionStatus = 'created' | 'pending' | 'paid' | 'held' | 'refunded' | 'failed' | 'cancelled' | 'expired';

export const SESSION_STATUSES: readonly SessionStatus[] = [
  'created',
  'pending',
  'paid',
  'held',
  'refunded',
  'failed',
  'cancelled',
  'expired',
];

/** Where a status change came from (DESIGN §5). */
export type EventSource = 'webhook' | 'poll' | 'return' | 'manual';

export type ReturnOutcome = 'success' | 'error' | 'cancel';

/** What the merchant's `resolveOrder()` returns. */
export interface ResolvedOrder {
  /**
   * The amount to charge: a decimal string ("1500", "1500.00") or a whole number of rubles. Never a float with
   * kopecks: pass "1500.50" as a string.
   */
  amount: string | number;
  currency: string;
  description?: string;
  /** The merchant's own customer id: hashed before it reaches a provider (Repay user_id, age.trading client). */
  customerId?: string;
  /** Repay's anti-fraud `trusted` flag for this customer (default false). */
  trusted?: boolean;
  /** BoxExchanger forms may ask for the payer's e-mail. */
  email?: string;
  /** True when the merchant already considers the order paid: the helper answers 409 `order_paid`. */
  paid?: boolean;
}

export interface ResolveOrderContext {
  /** The customer id the browser claimed, if any: a hint only, never proof of identity. */
  claimedCustomerId?: string;
  locale?: string;
  /** The incoming request (cookies, auth headers): lets the merchant check that the order is the caller's. */
  request?: Request;
}

/** The merchant's hook: the only source of amount, currency, description and customer id. */
export type ResolveOrder = (
  orderId: string,
  context: ResolveOrderContext,
) => ResolvedOrder | null | undefined | Promise<ResolvedOrder | null | undefined>;

/** The public view of a session (DESIGN §5). */
export interface SessionView {
  id: string;
  status: SessionStatus;
  provider: ProviderId;
  method: MethodId;
  paymentUrl: string | null;
  frameable: boolean;
  /** Decimal string with two decimals, e.g. "1500.00". */
  amount: string;
  currency: string;
  orderId: string;
  /** The merchant's description of the order (from resolveOrder()), for the payer's eyes; null when none. */
  description: string | null;
  /** ISO 8601. */
  expiresAt: string;
  /** Decimal string; present once a provider reported what was paid. */
  paidAmount?: string;
  /** Only while `held`: why a person reviews the payment, so the page can say what happens next. */
  heldReason?: HeldReason;
}

/**
 * Why a payment is `held`: another amount arrived than the order's, the provider did not say how much, the order
 * was already paid by another session (one payment must be refunded), the order changed while it was being
 * paid, or the provider itself holds it (dispute, manual check).
 */
export type HeldReason = 'amount_mismatch' | 'amount_unknown' | 'duplicate_payment' | 'order_changed' | 'provider_review';

export interface CreatedSessionView extends SessionView {
  token: string;
}

/** What the merchant's backend is told (signed webhooks, and the in-process `onEvent` hook). */
export type MerchantEventType =
  | 'payment.paid'
  | 'payment.held'
  | 'payment.failed'
  | 'payment.cancelled'
  | 'payment.expired'
  | 'payment.refunded'
  | 'payment.revived'
  | 'order.paid_twice';

/** A session as the merchant's backend sees it: no token, no payment URL, no provider secrets. */
export interface MerchantSessionView {
  id: string;
  orderId: string;
  status: SessionStatus;
  provider: ProviderId;
  method: MethodId;
  /** Decimal strings with two decimals. */
  amount: string;
  currency: string;
  /** What the provider reported as paid, when it did. */
  paidAmount: string | null;
  /** The provider's id of the payment (Repay deal, BoxExchanger order, age.trading request), for support. */
  providerPaymentId: string | null;
  description: string | null;
  /** Why the session is held or ended, e.g. `amount_mismatch`, `duplicate_payment`, `order_changed`. */
  errorCode: string | null;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
}

export interface MerchantEvent {
  /** `msg_…`: also the `webhook-id` header, the same on every retry. */
  id: string;
  type: MerchantEventType;
  /** ISO 8601. */
  createdAt: string;
  data: {
    session: MerchantSessionView;
    previousStatus: SessionStatus | null;
    /** Why: `provider_status`, `revived`, `amount_mismatch`, `duplicate_payment`, `manual`, `window_passed`, … */
    reason: string | null;
    /** A person's note, for a manual resolution. */
    note?: string;
  };
}

