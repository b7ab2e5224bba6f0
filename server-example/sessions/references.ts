/** Session ids, and the references that name a session's payment at the provider. */
import { randomBytes } from 'node:crypto';
import type { SessionRecord } from '../store.js';

export const SESSION_ID_PATTERN = /^cs_[A-Za-z0-9]{22}$/;

export function newSessionId(): string {
  return `cs_${randomBytes(16).toString('base64url').replace(/[-_]/g, '').slice(0, 22).padEnd(22, '0')}`;
}

/**
 * Our reference for a payment at the provider (Repay `order_id`, age.trading `merchant_request_id`): the merchant's
 * order id, so support finds a payment by order number, and the session id's random part, so it is unique and
 * leads back to the session. At most 50 characters (age.trading's limit).
 */
export function providerReference(orderId: string, sessionId: string): string {
  return `${orderId.slice(0, 27)}-${sessionId.slice(3)}`;
}

/** The session id a reference names: references end in the session id's random part (older ones are the id). */
export function sessionIdOfReference(reference: string): string | undefined {
  if (SESSION_ID_PATTERN.test(reference)) return reference;
  const match = /-([A-Za-z0-9]{22})$/.exec(reference);
  return match ? `cs_${match[1]}` : undefined;
}

/** The reference the provider knows this session's payment by. */
export function referenceOf(session: SessionRecord): string {
  return typeof session.providerData.reference === 'string' ? session.providerData.reference : session.id;
}
