/**
 * Types shared by the helper's modules; exported from index.ts for merchants. What crosses HTTP (ids, statuses,
 * session views, merchant events) is the contract shared with the element and the demo: contract/index.d.ts.
 */
import type { MethodId, ProviderId, SessionStatus } from '../contract/index.js';

export type {
  ConfigView,
  CreatedSessionView,
  EventSource,
  HeldReason,
  HeldResolution,
  MerchantEvent,
  MerchantEventType,
  MerchantSessionView,
  MethodId,
  ProviderConfigView,
  ProviderId,
  ReturnOutcome,
  SessionStatus,
  SessionView,
} from '../contract/index.js';

export const PROVIDER_IDS: readonly ProviderId[] = ['repay', 'boxexchanger', 'agetrading'];
export const METHOD_IDS: readonly MethodId[] = ['sbp', 'card'];

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
