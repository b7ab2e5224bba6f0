/**
 * The one interface every provider adapter implements. Vendor specifics (URLs, signatures, status names, error
 * codes) live only in the adapter files; the rest of the helper speaks unified statuses and error codes, and asks an
 * adapter's `capabilities` (declared once through `defineProvider()`, define.ts) instead of testing provider ids.
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
  /** What resolveOrder() says of the customer's trust (Repay's anti-fraud flag); undefined: it does not say. */
  trusted?: boolean;
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

/**
 * A callback as parsed, before verification: only used to find the session it is about (BoxExchanger's hash is keyed
 * by the session's own IPN secret). Nothing in it is relied on until `verifyCallback()` turns it into a VerifiedClaim.
 */
export interface ParsedCallback {
  /** Our reference the callback names (Repay `order_id`, age.trading `merchant_request_id`, the IPN URL's session). */
  reference?: string;
  providerPaymentId?: string;
  /** The provider's event time (ms), when it sends one. */
  eventTimestamp?: number;
  /** What the callback claims: its status (raw, and unified when known) and the paid amount (kopecks). */
  claim?: { rawStatus: string; status?: SessionStatus; paidAmountMinor?: number };
  /**
   * Identifies the notification by what its signature covers, so a captured callback with a changed unsigned field or
   * extra whitespace counts as the same one. Unsigned callbacks are not deduplicated by it (sessions/callbacks.ts).
   */
  dedupeKey: string;
  /** Parsed fields, for the event log. */
  fields: Record<string, unknown>;
}

/**
 * A callback that passed verification: what the helper may rely on. `callbackPolicy()` (transitions.ts) decides what
 * it does to the session.
 */
export interface VerifiedClaim {
  /** True when the provider's signature was checked; false: an unsigned callback, accepted as a trigger only. */
  readonly authenticated: boolean;
  /**
   * What the signature covers: the notification's identity, so a replay with a changed unsigned field or extra
   * whitespace is the same notification. Unused for an unsigned callback, which is throttled instead.
   */
  readonly covers: string;
  /** The provider's payment it names (Repay deal id, BoxExchanger order id, age.trading request id). */
  readonly providerPaymentId?: string;
  /** Our reference it names (Repay `order_id`, age.trading `merchant_request_id`, the session in the IPN URL). */
  readonly reference?: string;
  /** The paid amount it reports (kopecks). */
  readonly paidAmountMinor?: number;
  /**
   * The amount the signature vouches the payer paid, in the session's currency, from a provider whose callback says
   * what was actually paid (Repay's deposit callback: sent on success only, its signed amount "can be changed if the
   * user has paid another amount", also later in a dispute). A status answer naming another amount is held.
   */
  readonly signedPaidAmountMinor?: number;
  /** The status it claims: as the provider names it, and unified when the name is known. */
  readonly status?: { readonly raw: string; readonly unified?: SessionStatus };
  /** The provider's event time (ms), when it stamps notifications: an older one than the last applied is out of order. */
  readonly eventTimestamp?: number;
  /**
   * The claimed status must not be applied as it stands: the provider's status is re-read with the helper's own
   * credentials and that is applied. True for every adapter today (their callbacks leave the status unsigned, or
   * their format is unconfirmed).
   */
  readonly reread: boolean;
  /** Parsed fields, for the event log. */
  readonly fields: Record<string, unknown>;
}

/** Where a provider sends its callbacks: one URL for all payments, or one per session (BoxExchanger's `ipnUrl`). */
export type WebhookPathKind = 'shared' | 'per-session';

/** What a provider can do and how it deviates from the common flow, declared once through `defineProvider()`. */
export interface ProviderCapabilities {
  /** The provider has a cancel call; otherwise a cancel is recorded locally and the payment stays watched. */
  readonly cancel: boolean;
  /** `shared`: `/webhooks/<provider>`; `per-session`: `/webhooks/<provider>/<session id>`. */
  readonly webhookPath: WebhookPathKind;
  /**
   * The provider appends `status=success|error` to the return URL it was given (BoxExchanger's `clientCallbackUrl`),
   * with `&` or glued to the session parameter by a second `?`; that status overrides the return path's outcome.
   */
  readonly returnStatusParam: boolean;
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
  readonly capabilities: ProviderCapabilities;

  /** Throws a CheckoutError when the provider cannot take this amount/currency (checked before any call). */
  checkAmount(amountMinor: number, currency: string): void;
  /** Provider data to generate and store before the create call. */
  prepare(): Record<string, unknown>;
  create(input: CreatePaymentInput): Promise<CreatedPayment>;
  /** Parses a callback body; throws `invalid_webhook` when it is not the provider's shape. */
  parseCallback(input: CallbackInput): ParsedCallback;
  /**
   * Throws `invalid_signature` / `stale_notification`; `session` is the session the callback names. Returns what the
   * helper may rely on: authenticated, or (a provider whose callbacks may be unsigned) a trigger only.
   */
  verifyCallback(input: CallbackInput, parsed: ParsedCallback, session: SessionRecord | undefined): VerifiedClaim;
  /** The answer the provider expects for an accepted callback. */
  callbackReply(): CallbackReply;
  /** Whether `fetchStatus()` can query this session (it knows the provider's payment and any credentials needed). */
  canFetchStatus(session: SessionRecord): boolean;
  /**
   * Whether the provider's last status says the payer has paid and the provider is still checking or paying out
   * (BoxExchanger `inProgress`, `inProgressPayout`): such a session is neither ended at its window nor replaced by a
   * new payment.
   */
  paymentUnderway(session: SessionRecord): boolean;
  /** The unified status a raw status of this provider means for `session`; undefined for one it does not know. */
  mapStatus(rawStatus: string, session?: SessionRecord): SessionStatus | undefined;
  fetchStatus(session: SessionRecord): Promise<ProviderStatusResult>;
  /** Cancels at the provider (only called when `capabilities.cancel`). */
  cancel(session: SessionRecord): Promise<void>;
}
