import type { HeldReason, MethodId, ProviderId, ReturnOutcome, SessionStatus } from '../contract/index.js';
import type { PayErrorCode } from './errors.js';

// Unified payment statuses, provider and method ids, held reasons and return outcomes: the contract shared with the
// helper (contract/index.d.ts), re-exported here under the element's public names.
export type { HeldReason, MethodId, ProviderId, ReturnOutcome, SessionStatus } from '../contract/index.js';

/** How the payment page is shown. `auto` resolves to one of the others. */
export type PayCheckoutMode = 'auto' | 'modal' | 'inline' | 'popup' | 'redirect';

/** The presenter actually used for an attempt. */
export type PresentedMode = Exclude<PayCheckoutMode, 'auto'>;

/** What the payer sees; the element's read-only `state`. */
export type PayCheckoutState =
  | 'idle'
  | 'invalid'
  | 'choosing'
  | 'creating'
  | 'loading'
  | 'waiting'
  | 'confirming'
  | 'redirecting'
  | 'paid'
  | 'held'
  | 'refunded'
  | 'failed'
  | 'expired'
  | 'cancelled'
  | 'error';

/**
 * The session as events and the `session` property expose it: the helper's `SessionView` (contract/index.d.ts)
 * without the token, the payment URL and the page details.
 */
export interface PaySession {
  id: string;
  orderId: string;
  provider: ProviderId;
  method: MethodId | null;
  status: SessionStatus;
  /** Decimal string, e.g. "1500.00". */
  amount: string;
  currency: string;
  /** Decimal string; present once the provider reported what was paid. */
  paidAmount?: string;
  /**
   * Only while `held`: why a person at the shop reviews the payment — `amount_mismatch`, `amount_unknown`,
   * `duplicate_payment`, `order_changed` or `provider_review`. The dialog says what happens next for it.
   */
  heldReason?: HeldReason;
}

export type CloseSource = 'escape' | 'close-button' | 'backdrop';
export type CancelReason = 'dismissed' | 'payer' | 'provider';

export interface PayOpenDetail { session: PaySession; mode: PresentedMode }
export interface PayReturnDetail { session: PaySession; outcome: ReturnOutcome }
export interface PayStatusDetail { session: PaySession; status: SessionStatus; previous: SessionStatus }
export interface PaySuccessDetail { session: PaySession }
export interface PayErrorDetail { code: PayErrorCode; message: string; retryable: boolean; session?: PaySession }
export interface PayCancelDetail { session?: PaySession; reason: CancelReason }
export interface PayRequestCloseDetail { source: CloseSource }
export interface PayCloseDetail { session?: PaySession; status: SessionStatus | null }

/** Event name → `detail` type, for every event the element dispatches. */
export interface PayCheckoutEventDetails {
  'pay-open': PayOpenDetail;
  'pay-return': PayReturnDetail;
  'pay-status': PayStatusDetail;
  'pay-success': PaySuccessDetail;
  'pay-error': PayErrorDetail;
  'pay-cancel': PayCancelDetail;
  'pay-request-close': PayRequestCloseDetail;
  'pay-close': PayCloseDetail;
}

export type PayCheckoutEventName = keyof PayCheckoutEventDetails;
export type PayOpenEvent = CustomEvent<PayOpenDetail>;
export type PayReturnEvent = CustomEvent<PayReturnDetail>;
export type PayStatusEvent = CustomEvent<PayStatusDetail>;
export type PaySuccessEvent = CustomEvent<PaySuccessDetail>;
export type PayErrorEvent = CustomEvent<PayErrorDetail>;
export type PayCancelEvent = CustomEvent<PayCancelDetail>;
export type PayRequestCloseEvent = CustomEvent<PayRequestCloseDetail>;
export type PayCloseEvent = CustomEvent<PayCloseDetail>;

/**
 * Dispatches a bubbling, composed `CustomEvent`.
 * @returns false when a listener called `preventDefault()` on a cancelable event
 */
export function emit<K extends PayCheckoutEventName>(
  target: EventTarget,
  name: K,
  detail: PayCheckoutEventDetails[K],
  cancelable = false,
): boolean {
  return target.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true, cancelable }));
}

declare global {
  interface GlobalEventHandlersEventMap {
    'pay-open': PayOpenEvent;
    'pay-return': PayReturnEvent;
    'pay-status': PayStatusEvent;
    'pay-success': PaySuccessEvent;
    'pay-error': PayErrorEvent;
    'pay-cancel': PayCancelEvent;
    'pay-request-close': PayRequestCloseEvent;
    'pay-close': PayCloseEvent;
  }
}
