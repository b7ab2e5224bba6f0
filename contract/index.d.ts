/**
 * The contract between the browser element (src/), the merchant backend helper (server-example/) and the demo
 * (demo/): the names and shapes that cross HTTP between them. Types only, imported with `import type` everywhere.
 *
 * A hand-written declaration file on purpose: the element and the helper compile with different `rootDir`s
 * (src/ and server-example/), and a `.ts` file outside a project's rootDir breaks its build, while a `.d.ts` is
 * only read. The build copies this file to dist/contract/index.d.ts, where the shipped declarations of both
 * (dist/types/, dist/server/) find it under the same relative path.
 *
 * The routes and their answers: docs/server.md ("HTTP API", "Error codes"); the element's side: docs/element.md.
 */

/** Provider ids the helper knows. */
export type ProviderId = 'repay' | 'boxexchanger' | 'agetrading';

/** Payment methods: СБП (the Faster Payments System) and bank cards. */
export type MethodId = 'sbp' | 'card';

/**
 * Unified payment statuses: `created` → `pending` → `paid`; `held` needs a person; `refunded`; `failed`,
 * `cancelled`, `expired` end an attempt (a later verified payment revives a `failed` or `expired` one).
 */
export type SessionStatus = 'created' | 'pending' | 'paid' | 'held' | 'refunded' | 'failed' | 'cancelled' | 'expired';

/**
 * Why a payment is `held`: another amount arrived than the order's, the provider did not say how much, the order
 * was already paid by another session (one payment must be refunded), the order changed while it was being
 * paid, or the provider itself holds it (dispute, manual check).
 */
export type HeldReason = 'amount_mismatch' | 'amount_unknown' | 'duplicate_payment' | 'order_changed' | 'provider_review';

/** Which of the provider's redirects brought the payer back (`/return/:outcome`). */
export type ReturnOutcome = 'success' | 'error' | 'cancel';

/** Where a status change came from, as the session's event log records it. */
export type EventSource = 'webhook' | 'poll' | 'return' | 'manual';

/**
 * The public view of a session: what `GET /sessions/:id` and `POST /sessions/:id/cancel` answer (never the
 * token), and with `token` what `POST /sessions` answers.
 */
export interface SessionView {
  id: string;
  status: SessionStatus;
  provider: ProviderId;
  method: MethodId;
  /**
   * The provider's payment page. null only while the provider payment is being created, or when that call never
   * completed (then the session is `failed`); `POST /sessions` answers `session_creating` instead of such a session.
   */
  paymentUrl: string | null;
  /** Whether the payment page may be shown in an iframe. */
  frameable: boolean;
  /** Decimal string with two decimals, e.g. "1500.00". */
  amount: string;
  currency: string;
  orderId: string;
  /** The merchant's description of the order (from resolveOrder()), for the payer's eyes; null when none. */
  description: string | null;
  /** ISO 8601. */
  expiresAt: string;
  /**
   * ISO 8601: when the session last changed (status, the provider's raw status, expiry, paid amount); a read that
   * finds nothing new leaves it. Of two answers about the session, the one with the later stamp is the newer, whatever
   * order they arrived in: the element applies an answer only if its stamp is not older than the last one applied.
   */
  updatedAt: string;
  /** Decimal string; present once a provider reported what was paid. */
  paidAmount?: string;
  /** Only while `held`: why a person reviews the payment, so the page can say what happens next. */
  heldReason?: HeldReason;
}

/** `POST /sessions`: the session with its bearer token (the only answer that carries it). */
export interface CreatedSessionView extends SessionView {
  token: string;
}

/**
 * Every code the helper answers with in `{ "error": { "code", "message", "retryable" } }`, and the session
 * `errorCode`s that are not a held reason (`interrupted`). Stable: add new ones, never rename or reuse them. The
 * helper gives each its HTTP status (server-example/errors.ts `ERROR_CODES`); the element gives each a sentence
 * (src/errors-ru.ts, src/errors-en.ts, aliases in src/strings.ts); docs/server.md lists them all.
 */
export type HelperErrorCode =
  // Request shape
  | 'invalid_json'
  | 'invalid_request'
  | 'missing_field'
  | 'invalid_field'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'unknown_provider'
  | 'unknown_method'
  | 'invalid_idempotency_key'
  | 'idempotency_key_reused'
  | 'origin_not_allowed'
  | 'return_url_not_allowed'
  | 'not_found'
  | 'method_not_allowed'
  | 'rate_limited'
  // Orders and sessions
  | 'unknown_order'
  | 'order_paid'
  | 'order_held'
  | 'invalid_order'
  | 'order_lookup_failed'
  | 'unsupported_currency'
  | 'amount_too_small'
  | 'amount_too_large'
  | 'amount_not_supported'
  | 'unauthorized'
  | 'unknown_session'
  | 'session_not_cancellable'
  | 'session_creating'
  | 'session_not_held'
  | 'session_changed'
  | 'delivery_superseded'
  | 'delivery_in_flight'
  // Provider callbacks
  | 'invalid_signature'
  | 'stale_notification'
  | 'invalid_webhook'
  // Provider answers
  | 'provider_unavailable'
  | 'provider_rate_limited'
  | 'provider_auth_failed'
  | 'provider_not_found'
  | 'provider_rejected'
  | 'provider_error'
  | 'unsupported_payment_method'
  | 'invalid_payment_field'
  | 'insufficient_reserve'
  | 'route_unavailable'
  | 'customer_blocked'
  | 'merchant_disabled'
  | 'previous_request_open'
  | 'duplicate_request'
  | 'interrupted'
  | 'internal_error';

/** One enabled provider as `GET /config` describes it. */
export interface ProviderConfigView {
  id: ProviderId;
  /** The provider's display name (the payment frame's title says it). */
  name: string;
  /** The methods this helper offers with the provider, labelled for the method picker. */
  methods: { id: MethodId; label: { ru: string; en: string } }[];
  /** The smallest amount the provider takes, in roubles. */
  minAmount: number;
  /** Whether the provider's payment page may be shown in an iframe (`mode="auto"` opens a window otherwise). */
  frameable: boolean;
  /** The helper's own sandbox stands in for the provider: its pages follow the element's `locale`. */
  sandbox: boolean;
}

/** `GET /config`: what a storefront script may know of the helper's set-up (never a credential). */
export interface ConfigView {
  providers: ProviderConfigView[];
  /** The provider of an element without a `provider` attribute. */
  defaultProvider: ProviderId;
  currency: 'RUB';
  /** Whether any enabled provider is the sandbox. */
  sandbox: boolean;
}

/** The body of every error answer. */
export interface ErrorBody {
  error: { code: HelperErrorCode; message: string; retryable: boolean };
}

/** What the merchant's backend is told (signed webhooks, and the helper's in-process `onEvent` hook). */
export type MerchantEventType =
  | 'payment.paid'
  | 'payment.held'
  | 'payment.failed'
  | 'payment.cancelled'
  | 'payment.expired'
  | 'payment.refunded'
  | 'payment.revived'
  | 'payment.reinstated'
  | 'order.paid_twice';

/** What a person may settle a `held` payment as (`POST /merchant/sessions/:id/resolve`). */
export type HeldResolution = 'paid' | 'refunded' | 'failed';

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

/** One merchant notification: the body of a signed webhook. */
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
    /**
     * Sent again on the merchant's forced request although the session has later events: older news than those, with
     * the same `id` as before. Not a reason to ship: the order's state is the latest event's.
     */
    redelivered?: true;
  };
}
