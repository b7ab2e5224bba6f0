// Every provider error code the helper knows, mapped to a stable helper code, HTTP status and message, with the
// provider APIs mocked by msw. A failed creation leaves a failed session and never a second provider payment.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, HttpResponse } from 'msw';
import { ERROR_CODES } from '../../server-example/errors.js';
import { createLogger } from '../../server-example/logger.js';
import { AGETRADING_DISABLED_DETAIL } from '../../server-example/providers/agetrading.js';
import { BOXEXCHANGER_ERRORS } from '../../server-example/providers/boxexchanger.js';
import { REPAY_ERRORS } from '../../server-example/providers/repay.js';
import { LockTimeoutError } from '../../server-example/store.js';
import { AGE, BOX, REPAY, events, makeTestApp, session, useProviderMocks } from './checkout-fixtures.js';
import type { AgeMock, BoxMock, RepayMock, TestApp } from './checkout-fixtures.js';

let t: TestApp;
let repay: RepayMock;
let box: BoxMock;
let age: AgeMock;
const msw = useProviderMocks((mocks) => ({ t, repay, box, age } = mocks), () => t);

describe('Repay error codes', () => {
  const expected: Record<number, [string, number]> = {
    400: ['provider_rejected', 502],
    404: ['provider_not_found', 502],
    451: ['provider_rejected', 502],
    610: ['amount_too_small', 422],
    611: ['provider_auth_failed', 502],
    612: ['unsupported_payment_method', 422],
    613: ['unsupported_currency', 422],
  };

  it('maps every documented code', () => {
    assert.deepEqual(Object.keys(REPAY_ERRORS).map(Number).sort(), Object.keys(expected).map(Number).sort());
  });

  for (const [code, [helperCode, status]] of Object.entries(expected)) {
    it(`maps Repay ${code} to ${helperCode} (${status})`, async () => {
      repay.nextError = { status: Number(code) < 600 ? Number(code) : 400, body: { code: Number(code), error: 'Error', description: `provider says ${code}` } };
      const { status: httpStatus, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
      assert.equal(httpStatus, status);
      assert.equal(json.error.code, helperCode);
      assert.equal(typeof json.error.message, 'string');
      assert.ok(json.error.message.length > 10);
      assert.ok(!json.error.message.includes(`provider says ${code}`), 'the provider\'s raw text stays in the log');
      assert.equal(json.error.retryable, false);
      const [row] = await t.app.checkout.store.listOrderSessions('A-1001');
      assert.equal(row!.status, 'failed');
      assert.equal(row!.errorCode, helperCode);
    });
  }

  it('logs what the shop must fix beside the provider\'s own words', async () => {
    await t.dispose();
    const lines: string[] = [];
    t = makeTestApp({ config: { logger: createLogger('warn', (line) => lines.push(line)) } });
    repay.nextError = { status: 400, body: { code: 611, error: 'Error', description: 'bad sign' } };
    assert.equal((await t.createSession({ orderId: 'A-1001', provider: 'repay' })).json.error.code, 'provider_auth_failed');
    const line = lines.find((entry) => entry.includes('provider refused to create a payment'));
    assert.ok(line?.includes('REPAY_SECRET_WORD_1') && line.includes('bad sign'), lines.join('\n'));
  });

  it('maps an error inside a 200 answer ({ code: 611 })', async () => {
    repay.nextError = { status: 200, body: { code: 611, error: 'Bad signature', description: 'x' } };
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    assert.equal(json.error.code, 'provider_auth_failed');
  });

  it('maps an outage (HTML 502) to a retryable provider_unavailable', async () => {
    msw.use(http.post(`${REPAY}/api/v1/private/deals/`, () => HttpResponse.text('<html>Bad gateway</html>', { status: 502 })));
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    assert.equal(status, 503);
    assert.deepEqual(json.error, { code: 'provider_unavailable', message: json.error.message, retryable: true });
  });

  it('maps a network failure to provider_unavailable', async () => {
    msw.use(http.post(`${REPAY}/api/v1/private/deals/`, () => HttpResponse.error()));
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    assert.equal(status, 503);
    assert.equal(json.error.code, 'provider_unavailable');
  });

  it('maps a status query whose api-key Repay refuses to provider_auth_failed', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    for (const status of [401, 403]) {
      msw.use(http.get(`${REPAY}/api/v1/external/deals/:id`, () => HttpResponse.json({ detail: 'Invalid api key' }, { status }), { once: true }));
      await t.app.checkout.sessions.refresh(json.id, 'reconcile');
      const failed = (await events(t.app, json.id)).filter((event) => event.kind === 'poll_failed').at(-1)!;
      assert.equal((failed.data as { code: string }).code, 'provider_auth_failed', String(status));
    }
    assert.equal((await session(t.app, json.id)).status, 'created');
  });

  it('refuses a success answer without a payment URL', async () => {
    msw.use(http.post(`${REPAY}/api/v1/private/deals/`, () => HttpResponse.json({ status_code: 200, error: {}, payload: { id: 'd', state: 'created' } })));
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    assert.equal(status, 502);
    assert.equal(json.error.code, 'provider_error');
  });
});

describe('BoxExchanger error codes', () => {
  const expected: Record<string, [string, number, boolean]> = {
    '5555555555555555': ['provider_unavailable', 503, true],
    '40301': ['provider_auth_failed', 502, false],
    '5030000': ['provider_rate_limited', 503, true],
    '6231546409213868': ['invalid_payment_field', 422, false],
    '5071545873252155': ['amount_not_supported', 422, false],
    '7701545348962387': ['amount_too_small', 422, false],
    '3631545348962766': ['amount_too_large', 422, false],
    '9951545348963165': ['insufficient_reserve', 503, true],
    '6801545277215051': ['route_unavailable', 503, true],
  };

  it('maps every documented errorCode', () => {
    assert.deepEqual(Object.keys(BOXEXCHANGER_ERRORS).sort(), Object.keys(expected).sort());
  });

  for (const [errorCode, [helperCode, status, retryable]] of Object.entries(expected)) {
    it(`maps errorCode ${errorCode} to ${helperCode}`, async () => {
      box.nextError = { errorCode, message: 'provider text', nameField: 'Card number' };
      const { status: httpStatus, json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
      assert.equal(httpStatus, status);
      assert.equal(json.error.code, helperCode);
      assert.equal(json.error.retryable, retryable);
      if (helperCode === 'invalid_payment_field') assert.match(json.error.message, /Card number/);
    });
  }

  it('answers a signed call that other instances kept waiting past its limit as provider_unavailable, retryable, nothing sent', async () => {
    const store = t.app.checkout.store;
    const withLock = store.withLock.bind(store);
    store.withLock = (key, fn) => (key.startsWith('boxexchanger:') ? Promise.reject(new LockTimeoutError(key, 30_000)) : withLock(key, fn));
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    assert.equal(status, 503);
    assert.deepEqual([json.error.code, json.error.retryable], ['provider_unavailable', true]);
    assert.equal(box.creates, 0);
  });

  it('maps an unknown errorCode to provider_error', async () => {
    box.nextError = { errorCode: '123', message: 'weird' };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    assert.equal(status, 502);
    assert.equal(json.error.code, 'provider_error');
  });
});

describe('age.trading errors', () => {
  it(`maps "${AGETRADING_DISABLED_DETAIL}" to merchant_disabled`, async () => {
    age.nextError = { status: 400, detail: AGETRADING_DISABLED_DETAIL };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 502);
    assert.equal(json.error.code, 'merchant_disabled');
    assert.equal(json.error.retryable, false);
  });

  it('maps a ban message to customer_blocked', async () => {
    age.nextError = { status: 400, detail: 'Client is banned until 2026-01-01T10:00:00Z' };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 403);
    assert.equal(json.error.code, 'customer_blocked');
  });

  it('maps a Russian ban message to customer_blocked', async () => {
    age.nextError = { status: 400, detail: 'Клиент в бан на 30 минут' };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 403);
    assert.equal(json.error.code, 'customer_blocked');
  });

  it('detects a banned customer whose request is cancelled at once', async () => {
    // The mock cancels requests of banned clients immediately, like age.trading does.
    const { createHash } = await import('node:crypto');
    const ref = createHash('sha256').update('pay-checkout:customer:customer-1').digest('hex').slice(0, 32);
    const { ageTradingClientId } = await import('../../server-example/providers/agetrading.js');
    age.banned.add(ageTradingClientId(ref));
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 403);
    assert.equal(json.error.code, 'customer_blocked');
    const [row] = await t.app.checkout.store.listOrderSessions('A-1001');
    assert.equal(row!.status, 'cancelled');
    assert.equal(row!.errorCode, 'customer_blocked');
  });

  it('says a request that failed at once cannot be taken now, not that the customer is banned', async () => {
    age.failAtOnce = true;
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 503);
    assert.deepEqual([json.error.code, json.error.retryable], ['route_unavailable', true]);
    const [row] = await t.app.checkout.store.listOrderSessions('A-1001');
    assert.deepEqual([row!.status, row!.errorCode], ['failed', 'route_unavailable']);
  });

  it('detects "previous unclosed request returned" and does not hand out the other request', async () => {
    age.returnExisting = { id: 7, merchantRequestId: 'cs_someoneelsesrequest0', client: 'c', status: 'PENDING', initialAmount: '300.00', body: {} };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 409);
    assert.equal(json.error.code, 'previous_request_open');
    assert.equal(json.error.retryable, true);
    const [row] = await t.app.checkout.store.listOrderSessions('A-1001');
    assert.equal(row!.status, 'failed');
    assert.equal(row!.paymentUrl, null);
  });

  it('maps a duplicate merchant_request_id to duplicate_request', async () => {
    age.nextError = { status: 400, detail: 'Request with this merchant_request_id already exists.' };
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(status, 409);
    assert.equal(json.error.code, 'duplicate_request');
  });

  it('maps other 400s to provider_rejected and 500s to provider_unavailable', async () => {
    age.nextError = { status: 400, detail: 'initial_amount: invalid' };
    assert.equal((await t.createSession({ orderId: 'A-1001', provider: 'agetrading' })).json.error.code, 'provider_rejected');
    age.nextError = { status: 500, detail: 'Server Error' };
    const outage = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(outage.status, 503);
    assert.equal(outage.json.error.code, 'provider_unavailable');
  });

  it('maps refused credentials to provider_auth_failed', async () => {
    msw.use(http.post(`${AGE}/api/requests/create/`, () => HttpResponse.json({ detail: 'Invalid token.' }, { status: 401 })));
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(json.error.code, 'provider_auth_failed');
  });

  it('maps an unknown status name to a recorded poll failure, not a guess', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    [...age.requests.values()][0]!.status = 'SOMETHING_NEW';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'created');
  });

  it('honours a configured status map', async () => {
    await t.dispose();
    t = makeTestApp({ env: { AGETRADING_STATUS_MAP: 'PAID_OK=paid,WAITING=pending' } });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    const req = [...age.requests.values()][0]!;
    req.status = 'PAID_OK';
    req.amount = '1500';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });
});

describe('age.trading cancel', () => {
  // The age.trading cancel path is configuration: what answers there may not be age.trading's cancel.
  const cancelAnswers: [string, () => Response][] = [
    ['a 200 that is not JSON', () => new HttpResponse('<html>Welcome</html>', { status: 200, headers: { 'content-type': 'text/html' } })],
    ['a 200 JSON answer after which the request is still open', () => HttpResponse.json({ ok: true })],
    ['404 (no such route)', () => HttpResponse.json({ detail: 'Not found.' }, { status: 404 })],
    ['405', () => new HttpResponse(null, { status: 405 })],
  ];
  for (const [what, answer] of cancelAnswers) {
    it(`ends an age.trading payment here and keeps watching it when its cancel path answers ${what}`, async () => {
      const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
      msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, answer));
      const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
      assert.equal(response.status, 200);
      const body = (await response.json()) as any;
      assert.deepEqual([body.status, body.cancelledAtProvider], ['cancelled', false]);
      const ended = await session(t.app, json.id);
      assert.equal(ended.errorCode, 'cancelled_locally');
      assert.ok(ended.nextPollAt !== null, 'the request, still payable at age.trading, is watched');
      // Paid there after all: applied.
      const request = [...age.requests.values()][0]!;
      request.status = 'SUCCESS';
      request.amount = '1500.00';
      await t.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await session(t.app, json.id)).status, 'paid');
    });
  }

  it('does not end an age.trading payment being processed, whose cancel age.trading refuses', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    [...age.requests.values()][0]!.status = 'PROCESSING';
    msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, () => HttpResponse.json({ detail: 'Request is not open.' }, { status: 400 })));
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as any).error.code, 'session_not_cancellable');
    assert.equal((await session(t.app, json.id)).status, 'pending');
    assert.ok(!(await events(t.app, json.id)).some((event) => event.toStatus === 'cancelled'), 'nothing tells the shop the order is payable again');
  });

  it('holds an age.trading status that is under way in any case, as the status map reads it', async () => {
    // `processing` maps to pending as PROCESSING does: neither the payer's cancel nor the window's end ends it.
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    [...age.requests.values()][0]!.status = 'processing';
    msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, () => HttpResponse.json({ detail: 'Request is not open.' }, { status: 400 })));
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 409);
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 3_600_000);
    assert.equal((await session(t.app, json.id)).status, 'pending');
    assert.ok(!(await events(t.app, json.id)).some((event) => event.toStatus === 'cancelled' || event.toStatus === 'expired'));
  });

  it('holds the statuses AGETRADING_UNDERWAY_STATUSES names', async () => {
    await t.dispose();
    t = makeTestApp({ env: { AGETRADING_STATUS_MAP: 'IN_REVIEW=pending', AGETRADING_UNDERWAY_STATUSES: 'in_review' } });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    [...age.requests.values()][0]!.status = 'IN_REVIEW';
    msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, () => HttpResponse.json({ detail: 'Request is not open.' }, { status: 400 })));
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 3_600_000);
    assert.equal((await session(t.app, json.id)).status, 'pending');
  });

  it('does not end a BoxExchanger payment still under way after BoxExchanger said yes to its cancel', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    [...box.orders.values()][0]!.status = 'inProgress';
    msw.use(http.put(`${BOX}/service/api/v1/public/exchanger/order/update-status`, () => HttpResponse.json({ success: true, data: { status: 'deleted' } })));
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as any).error.code, 'session_not_cancellable');
    assert.equal((await session(t.app, json.id)).status, 'pending');
  });

  it('does not take over again a request that a later attempt took over and its payer cancelled', async () => {
    // The first attempt's answer is lost; the second takes the request over; its payer cancels, and age.trading's
    // cancel path is missing, so the request stays open there and is handed back to the third attempt.
    age.createAnswer = 'gateway';
    await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    const request = [...age.requests.values()][0]!;
    age.createAnswer = undefined;
    age.returnExisting = request;
    const second = (await t.createSession({ orderId: 'A-1001', provider: 'agetrading' }, { 'idempotency-key': 'second' })).json;
    msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, () => HttpResponse.json({ detail: 'Not found.' }, { status: 404 })));
    await t.app.request(`/api/checkout/sessions/${second.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${second.token}` } });
    assert.equal((await session(t.app, second.id)).status, 'cancelled');
    const third = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' }, { 'idempotency-key': 'third' });
    assert.deepEqual([third.status, third.json.error.code, third.json.error.retryable], [409, 'previous_request_open', true]);
    assert.equal((await session(t.app, second.id)).providerPaymentId, String(request.id), 'the request stays with the session that holds it');
  });

  it('keeps an age.trading payment open when its cancel fails for a while', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    msw.use(http.post(`${AGE}/api/requests/:id/cancel/`, () => HttpResponse.json({ detail: 'Server Error' }, { status: 500 })));
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as any).error.code, 'provider_unavailable');
    assert.equal((await session(t.app, json.id)).status, 'created');
  });
});

describe('a status answer about another payment', () => {
  // Each answer would make the session paid, were it about the session's own payment.
  // [provider, what the answer names, the answer]
  const answers: [string, string, () => ReturnType<typeof http.get>][] = [
    [
      'repay',
      'deal-999',
      () =>
        http.get(`${REPAY}/api/v1/external/deals/:id`, () =>
          HttpResponse.json({ status_code: 200, error: {}, payload: { id: 'deal-999', amount: 1500, currency: 'RUB', state: 'completed' } }),
        ),
    ],
    [
      'boxexchanger',
      '999',
      () =>
        http.get(`${BOX}/service/api/v1/public/exchanger/order/get`, () =>
          HttpResponse.json({ success: true, data: { order: { _id: 'other', uid: 999, status: 'done', inAmount: '1500' } } }),
        ),
    ],
    // The order's own id (`_id`, the session's payment) names another order, and no uid says otherwise.
    [
      'boxexchanger',
      'ffffffffffffffffffffffff',
      () =>
        http.get(`${BOX}/service/api/v1/public/exchanger/order/get`, () =>
          HttpResponse.json({ success: true, data: { order: { _id: 'ffffffffffffffffffffffff', status: 'done', inAmount: '1500' } } }),
        ),
    ],
    ['agetrading', '999', () => http.get(`${AGE}/api/requests/:id/`, () => HttpResponse.json({ id: 999, status: 'SUCCESS', amount: '1500' }))],
    // The request's own id and uuid, but another merchant's merchant_request_id.
    [
      'agetrading',
      'someone-else-1',
      () =>
        http.get(`${AGE}/api/requests/:id/`, ({ params }) =>
          HttpResponse.json({ id: Number(params.id), request_proprietary_id: `uuid-${params.id}`, merchant_request_id: 'someone-else-1', status: 'SUCCESS', amount: '1500' }),
        ),
    ],
    // Another request's uuid, and no id: the uuid alone says it is about another request.
    [
      'agetrading',
      'uuid-other-request',
      () => http.get(`${AGE}/api/requests/:id/`, () => HttpResponse.json({ request_proprietary_id: 'uuid-other-request', status: 'SUCCESS', amount: '1500' })),
    ],
  ];

  it('agetrading: takes an answer whose request_proprietary_id is the request\'s (in any case), whatever its id says', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    const request = [...age.requests.values()][0]!;
    msw.use(
      http.get(`${AGE}/api/requests/:id/`, () =>
        HttpResponse.json({ id: 'another-kind-of-id', request_proprietary_id: `UUID-${request.id}`, status: 'SUCCESS', amount: '1500' }),
      ),
    );
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  for (const [provider, named, answer] of answers) {
    it(`${provider}: an answer about ${named} moves nothing and is recorded as a failed read`, async () => {
      const { json } = await t.createSession({ orderId: 'A-1001', provider });
      msw.use(answer());
      await t.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await session(t.app, json.id)).status, 'created');
      const failed = (await events(t.app, json.id)).filter((event) => event.kind === 'poll_failed');
      assert.match(JSON.stringify(failed), new RegExp(`answered the status query about payment ${named}, not `));
    });
  }
});

describe('error code list', () => {
  it('gives every code a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_CODES)) assert.ok(status >= 400 && status < 600, code);
  });
});
