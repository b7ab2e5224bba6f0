/**
 * Merchant events: which status change is told to the merchant's backend, as what, and the outbox rows that carry
 * it to every target (each webhook URL, and the in-process `onEvent` hook). The rows are written in the same store
 * transaction as the change itself, so a crash can neither lose nor invent a notification.
 */
import { randomBytes } from 'node:crypto';
import { formatAmount } from '../money.js';
import type { NewDelivery, SessionRecord } from '../store.js';
import type { MerchantEvent, MerchantEventType, MerchantSessionView, SessionStatus } from '../types.js';
import { newWebhookId } from './signing.js';
import { credentialsRefusal } from './url-credentials.js';

/** The outbox target of the in-process hook. */
export const HOOK_TARGET = 'hook:onEvent';

export function merchantSessionView(session: SessionRecord): MerchantSessionView {
  return {
    id: session.id,
    orderId: session.orderId,
    status: session.status,
    provider: session.provider,
    method: session.method,
    amount: formatAmount(session.amountMinor),
    currency: session.currency,
    paidAmount: session.paidAmountMinor === null ? null : formatAmount(session.paidAmountMinor),
    providerPaymentId: session.providerPaymentId,
    description: session.description,
    errorCode: session.errorCode,
    createdAt: new Date(session.createdAt).toISOString(),
    updatedAt: new Date(session.updatedAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

/**
 * The event a transition is told as; undefined for changes the merchant need not act on (created → pending).
 * `paidBefore`: the session was paid once already. A shop ships on `payment.paid` and `payment.revived`, so a
 * session that returns to paid (after a hold or a failure) is told as `payment.reinstated`, never as either again.
 */
export function eventTypeFor(to: SessionStatus, reason: string | null, paidBefore = false): MerchantEventType | undefined {
  switch (to) {
    case 'paid':
      if (paidBefore) return 'payment.reinstated';
      return reason === 'revived' ? 'payment.revived' : 'payment.paid';
    case 'held':
      // A second verified payment for a paid order: one of the two must be refunded.
      return reason === 'duplicate_payment' ? 'order.paid_twice' : 'payment.held';
    case 'failed':
    case 'cancelled':
    case 'expired':
    case 'refunded':
      return `payment.${to}`;
    default:
      return undefined;
  }
}

/** Builds the outbox rows of one merchant event, one per target. */
export class MerchantNotifier {
  constructor(private readonly targets: readonly string[]) {
    // fetch refuses such a URL: every delivery to it would fail for days, each error quoting the password.
    for (const target of targets) {
      const credentials = target === HOOK_TARGET ? undefined : credentialsRefusal('The merchant webhook URL', target, 'webhook');
      if (credentials) throw new TypeError(credentials);
    }
  }

  get enabled(): boolean {
    return this.targets.length > 0;
  }

  /**
   * The deliveries telling that `session` (as it is after the change) moved from `previous` for `reason`;
   * `paidBefore`: it had been paid before this change (`paidAt` of the session before it).
   */
  deliveries(session: SessionRecord, previous: SessionStatus | null, reason: string | null, paidBefore: boolean, note?: string): NewDelivery[] {
    const type = eventTypeFor(session.status, reason, paidBefore);
    if (!type || this.targets.length === 0) return [];
    const now = Date.now();
    const event: MerchantEvent = {
      id: newWebhookId(),
      type,
      createdAt: new Date(now).toISOString(),
      data: { session: merchantSessionView(session), previousStatus: previous, reason, ...(note === undefined ? {} : { note }) },
    };
    const payload = JSON.stringify(event);
    return this.targets.map((target) => ({
      id: `dlv_${randomBytes(12).toString('base64url')}`,
      messageId: event.id,
      eventType: type,
      sessionId: session.id,
      orderId: session.orderId,
      target,
      payload,
      createdAt: now,
    }));
  }
}
