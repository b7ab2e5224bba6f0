/**
 * The one interface every provider adapter implements. Vendor specifics (URLs, signatures, status names, error
 * codes) live only in the adapter files; the rest of the helper speaks unified statuses and error codes.
 */
import type { CheckoutError } from '../errors.js';
import type { SessionRecord } from '../store.js';
import type { MethodId, ProviderId, SessionStatus } from '../types.js';

export interface ProviderStatusResult {
  /** The provider's own status name, as received. */
  rawStatus: string;
  status: SessionStatus;
  /** What the provider says was paid (kopecks), when it says. */
  paidAmountMinor?: number;
  /** When the provider will give up on the payment (ms since epoch), when it says. */
  expiresAt?: number;
  /** The provider's answer, for the event log. */
  raw: unknown;
}

export interface CreatePaymentInput {
  sessionId: string;
  /**
   * Our reference for this payment as the provider shows it (Repay `order_id`, age.trading `merchant_request_id`):
   * the merchant's order id with a per-session suffix, so support finds a payment by order number.
   */
  reference: string;
  amountMinor: number;
  currency: string;
  method: MethodId;
  description: string | null;
  /** Hashed customer id (≤ 36 chars). */
  customerRef: string;
  trusted: boolean;
  email?: string;
  locale: 'ru' | 'en';
  urls: { success: string; error: string; cancel: string; webhook: string };
  /** Provider data prepared (and stored) before the call, e.g. BoxExchanger's per-order IPN secret. */
  providerData: Record<string, unknown>;
}

export interface CreatedPayment {
  providerPaymentId: string;
  paymentUrl: string;
  rawStatus: string;
  status: SessionStatus;
  expiresAt?: number;
  /** Merged into the session's provider data. */
  providerData?: Record<string, unknown>;
  /** Set when the provider accepted the request but the payment is already dead (e.g. a banned customer). */
  rejection?: CheckoutError;
  /**
   * The reference the provider's payment carries, when it is not the one sent: age.trading hands a customer's
   * unclosed earlier request back instead of creating a new one.
   */
  reference?: string;
  raw: unknown;
}

export interface CallbackInput {
  rawBody: string;
  contentType: string;
  headers: Headers;
  /** Session id carried in the callback URL (BoxExchanger's ipnUrl). */
  sessionIdFromUrl?: string;
}

export interface ParsedCallback {
  /** Our reference the callback names (Repay `order_id`, age.trading `merchant_request_id`, the IPN URL's session). */
  reference?: string;
  providerPaymentId?: string;
  /** The provider's event time (ms), when it sends one. */
  eventTimestamp?: number;
  /**
   * What the callback claims. Never applied as it stands: the helper re-reads the provider's status and applies
   * that. Only an authenticated "paid" that cannot be re-read is used, and then only to hold the payment.
   */
  claim?: { rawStatus: string; status?: SessionStatus; paidAmountMinor?: number };
  /**
   * Identifies the notification by what its signature covers (or, unsigned, by its parsed fields), so a captured
   * callback with a changed unsigned field or extra whitespace counts as the same one.
   */
  dedupeKey: string;
  /** Parsed fields, for the event log. */
  fields: Record<string, unknown>;
}

export interface CallbackReply {
  status: number;
  body: string;
  contentType: string;
}

export interface PaymentProvider {
  readonly id: ProviderId;
  readonly name: string;
  readonly methods: readonly MethodId[];
  readonly minAmountMinor: number;
  /** 0 = no maximum. */
  readonly maxAmountMinor: number;
  readonly frameable: boolean;
  readonly sandbox: boolean;
  /** Whether `cancel()` cancels at the provider; otherwise a cancel is only recorded locally. */
  readonly canCancel: boolean;

  /** Throws a CheckoutError when the provider cannot take this amount/currency (checked before any call). */
  checkAmount(amountMinor: number, currency: string): void;
  /** Provider data to generate and store before the create call. */
  prepare(): Record<string, unknown>;
  create(input: CreatePaymentInput): Promise<CreatedPayment>;
  /** Parses a callback body; throws `invalid_webhook` when it is not the provider's shape. */
  parseCallback(input: CallbackInput): ParsedCallback;
  /**
   * Throws `invalid_signature` / `stale_notification`; `session` is the session the callback names. Returns true
   * when the callback is cryptographically authenticated (false: accepted as an unauthenticated trigger only).
   */
  verifyCallback(input: CallbackInput, parsed: ParsedCallback, session: SessionRecord | undefined): boolean;
  /** The answer the provider expects for an accepted callback. */
  callbackReply(): CallbackReply;
  /** Whether `fetchStatus()` can query this session (it knows the provider's payment and any credentials needed). */
  canFetchStatus(session: SessionRecord): boolean;
  fetchStatus(session: SessionRecord): Promise<ProviderStatusResult>;
  cancel(session: SessionRecord): Promise<void>;
}
