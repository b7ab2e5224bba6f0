// Callbacks of a provider that is not enabled. Left without credentials it runs on the sandbox account, whose secrets
// are public (GET /sandbox/credentials): in live mode a callback signed with them must find no route at all.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { setupServer } from 'msw/node';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { providerReference } from '../../server-example/sessions/references.js';
import { events, hmac, makeTestApp, md5, RepayMock, SECRETS, session, type TestApp } from './checkout-fixtures.js';
import { sessionRecord } from './session-records.js';

/** A provider left without credentials: each of its variables set empty, so it falls back to the sandbox account. */
const UNCONFIGURED = {
  repay: { REPAY_BASE_URL: '', REPAY_CASSA_ID: '', REPAY_SECRET_WORD_1: '', REPAY_SECRET_WORD_2: '', REPAY_API_KEY: '', REPAY_METHOD_SBP: '', REPAY_METHOD_CARD: '' },
  boxexchanger: {
    BOXEXCHANGER_BASE_URL: '',
    BOXEXCHANGER_API_KEY: '',
    BOXEXCHANGER_API_SECRET: '',
    BOXEXCHANGER_ROUTE_SBP: '',
    BOXEXCHANGER_ROUTE_CARD: '',
    BOXEXCHANGER_TO_ACCOUNT: '',
    BOXEXCHANGER_MIN_AMOUNT: '',
  },
  agetrading: { AGETRADING_BASE_URL: '', AGETRADING_API_KEY: '', AGETRADING_CALLBACK_SECRET: '' },
} as const;

const repay = new RepayMock();
// Whatever is not mocked must not leave the process: a forged callback must not make the helper call anyone.
const msw = setupServer(...repay.handlers());
before(() => msw.listen({ onUnhandledRequest: 'error' }));
after(() => msw.close());

let t: TestApp | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
  repay.deals.clear();
});

/** A session whose creation crashed before Repay's answer was stored: it adopts the payment of a signed callback. */
async function orphanedRepaySession(app: TestApp) {
  const record = sessionRecord({ provider: 'repay', orderId: 'A-1001', amountMinor: 150_000 });
  const reference = providerReference(record.orderId, record.id);
  await app.app.checkout.store.insertSession({ ...record, providerData: { reference } });
  return { id: record.id, reference };
}

const repayCallback = (dealId: string, reference: string, secretWord2: string) =>
  JSON.stringify({ deal_id: dealId, state: 'completed', amount: '1500', currency: 'RUB', order_id: reference, signature: md5(`${dealId}:1500:${secretWord2}`) });

describe('live mode: a provider on the sandbox account takes no callbacks', () => {
  it('answers 404 not_found to a Repay callback signed with the sandbox secret, and adopts or stores nothing', async () => {
    t = makeTestApp({ env: { CHECKOUT_MODE: 'live', CHECKOUT_PROVIDERS: 'boxexchanger,agetrading', ...UNCONFIGURED.repay } });
    assert.equal(t.config.providers.repay.sandbox, true);
    const orphan = await orphanedRepaySession(t);
    const response = await t.post('/api/checkout/webhooks/repay', repayCallback('deal-forged', orphan.reference, SANDBOX_ACCOUNTS.repay.secretWord2), 'application/json');
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'not_found');
    const after = await session(t.app, orphan.id);
    assert.deepEqual([after.providerPaymentId, after.status], [null, 'created']);
    assert.deepEqual(await events(t.app, orphan.id), []);
    assert.deepEqual(await t.app.checkout.store.listRejectedCallbacks(5), []);
  });

  it('answers 404 not_found on the webhook path of every provider left on the sandbox account', async () => {
    t = makeTestApp({ env: { CHECKOUT_MODE: 'live', CHECKOUT_PROVIDERS: 'repay', ...UNCONFIGURED.boxexchanger, ...UNCONFIGURED.agetrading } });
    const orphan = sessionRecord({ provider: 'agetrading' });
    await t.app.checkout.store.insertSession(orphan);
    const age = JSON.stringify({ id: 'req-1', merchant_request_id: orphan.id, status: 'SUCCESS', amount: '1500' });
    const signed = hmac(SANDBOX_ACCOUNTS.agetrading.callbackSecret, age);
    const answers = [
      await t.post('/api/checkout/webhooks/agetrading', age, 'application/json', { 'x-signature': signed }),
      await t.post(`/api/checkout/webhooks/boxexchanger/${orphan.id}`, 'orderId=1&newStatus=done', 'application/x-www-form-urlencoded'),
    ];
    for (const answer of answers) {
      assert.equal(answer.status, 404);
      assert.equal(((await answer.json()) as { error: { code: string } }).error.code, 'not_found');
    }
    assert.deepEqual(await events(t.app, orphan.id), []);
    assert.deepEqual(await t.app.checkout.store.listRejectedCallbacks(5), []);
  });

  it('still takes the callbacks of a provider with real credentials that CHECKOUT_PROVIDERS no longer lists', async () => {
    t = makeTestApp({ env: { CHECKOUT_MODE: 'live', CHECKOUT_PROVIDERS: 'boxexchanger,agetrading' } });
    const orphan = await orphanedRepaySession(t);
    repay.deals.set('deal-late', { id: 'deal-late', state: 'completed', amount: '1500', orderId: orphan.reference, body: {} });
    const response = await t.post('/api/checkout/webhooks/repay', repayCallback('deal-late', orphan.reference, SECRETS.repaySecret2), 'application/json');
    assert.equal(response.status, 200);
    const after = await session(t.app, orphan.id);
    assert.deepEqual([after.providerPaymentId, after.status], ['deal-late', 'paid']);
  });
});

describe('test mode: the sandbox serves the providers without credentials', () => {
  it('takes a sandbox-signed callback of a provider CHECKOUT_PROVIDERS does not list', async () => {
    t = makeTestApp({ env: { CHECKOUT_MODE: 'test', CHECKOUT_PROVIDERS: 'boxexchanger', ...UNCONFIGURED.repay } });
    const orphan = await orphanedRepaySession(t);
    const response = await t.post('/api/checkout/webhooks/repay', repayCallback('deal-sandbox', orphan.reference, SANDBOX_ACCOUNTS.repay.secretWord2), 'application/json');
    assert.equal(response.status, 200);
    assert.equal((await session(t.app, orphan.id)).providerPaymentId, 'deal-sandbox');
  });
});
