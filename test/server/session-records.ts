// A session row as the stores keep it, for tests that write the store directly.
import type { SessionRecord } from '../../server-example/store.js';

let counter = 0;

/** A new `created` session row (a fresh id each time); `overrides` sets any field. */
export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  counter++;
  return {
    id: `cs_${String(counter).padStart(4, '0')}${'a'.repeat(18)}`,
    orderId: 'A-1',
    provider: 'repay',
    method: 'sbp',
    status: 'created',
    amountMinor: 150_000,
    currency: 'RUB',
    description: 'Samovar',
    customerRef: 'c'.repeat(32),
    locale: 'ru',
    storefrontOrigin: 'https://shop.test',
    returnUrl: null,
    providerPaymentId: null,
    paymentUrl: null,
    providerStatus: null,
    providerData: {},
    paidAmountMinor: null,
    errorCode: null,
    paidAt: null,
    statusReadAt: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + 900_000,
    nextPollAt: null,
    pollAttempts: 0,
    lastPolledAt: null,
    ...overrides,
  };
}
