// Provider callbacks for each provider: genuine, forged, duplicate, replayed, out-of-order and wrong-amount, with
// the provider APIs mocked by msw and a real SQLite store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { http, HttpResponse } from 'msw';
import { BOX, MERCHANT, SECRETS, events, makeTestApp, md5, session, useProviderMocks } from './checkout-fixtures.js';
import type { AgeMock, BoxMock, BoxOrder, RepayMock, TestApp } from './checkout-fixtures.js';

let t: TestApp;
let repay: RepayMock;
let box: BoxMock;
let age: AgeMock;
const msw = useProviderMocks((mocks) => ({ t, repay, box, age } = mocks), () => t);

async function errorCode(response: Response): Promise<string> {
  return ((await response.json()) as any).error.code;
}

describe('Repay webhooks', () => {
  const hook = (body: string) => t.post('/api/checkout/webhooks/repay', body, 'application/json');

  async function openDeal() {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    return { id: json.id as string, token: json.token as string, deal: repay.deals.get('deal-1')! };
  }

  it('marks the session paid on a genuine callback confirmed by the status query, answering 200 "OK"', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    const response = await hook(repay.callback(deal.id, '1500'));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await response.text(), 'OK');
    const row = await session(t.app, id);
    assert.equal(row.status, 'paid');
    assert.equal(row.paidAmountMinor, 150000);
    assert.equal(repay.statusCalls, 1);
    const log = await events(t.app, id);
    const transition = log.find((event) => event.kind === 'transition')!;
    assert.equal(transition.source, 'webhook');
    assert.equal(transition.toStatus, 'paid');
    assert.ok(log.some((event) => event.kind === 'webhook' && String((event.data as any).raw).includes('"deal_id"')));
  });

  it('rejects a forged callback with 401 and changes nothing', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    const forged = JSON.stringify({ ...JSON.parse(repay.callback(deal.id, '1500')), signature: 'e'.repeat(32) });
    const response = await hook(forged);
    assert.equal(response.status, 401);
    assert.equal(await errorCode(response), 'invalid_signature');
    assert.equal((await session(t.app, id)).status, 'created');
    assert.equal(repay.statusCalls, 0);
    // Kept as a bounded digest, not in the session's event log.
    assert.ok(!(await events(t.app, id)).some((event) => event.kind === 'webhook' || event.kind === 'webhook_rejected'));
    const [rejected] = await t.app.checkout.store.listRejectedCallbacks(10);
    assert.equal(rejected?.code, 'invalid_signature');
    assert.equal(rejected?.head, forged.slice(0, 256));
  });

  it('rejects a callback signed with secret word 1 instead of 2', async () => {
    const { deal } = await openDeal();
    const body = JSON.stringify({ ...JSON.parse(repay.callback(deal.id, '1500')), signature: md5(`${deal.id}:1500:${SECRETS.repaySecret1}`) });
    assert.equal((await hook(body)).status, 401);
  });

  it('rejects a callback whose amount was altered after signing', async () => {
    const { id, deal } = await openDeal();
    const body = JSON.stringify({ ...JSON.parse(repay.callback(deal.id, '1500')), amount: '15000' });
    assert.equal((await hook(body)).status, 401);
    assert.equal((await session(t.app, id)).status, 'created');
  });

  it('treats a duplicate callback as a no-op', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    const body = repay.callback(deal.id, '1500');
    assert.equal((await hook(body)).status, 200);
    const second = await hook(body);
    assert.equal(second.status, 200);
    assert.equal(await second.text(), 'OK');
    assert.equal(repay.statusCalls, 1);
    const log = await events(t.app, id);
    assert.equal(log.filter((event) => event.kind === 'webhook').length, 1);
    assert.equal(log.filter((event) => event.kind === 'transition').length, 1);
  });

  it('does not move a session backwards on a replayed callback after a dispute opened', async () => {
    const { id, token, deal } = await openDeal();
    deal.state = 'completed';
    const body = repay.callback(deal.id, '1500');
    await hook(body);
    assert.equal((await t.getSession(id, token)).json.heldReason, undefined);
    deal.state = 'proceedings2';
    await t.app.checkout.sessions.refresh(id, 'reconcile');
    assert.equal((await session(t.app, id)).status, 'held');
    assert.equal((await t.getSession(id, token)).json.heldReason, 'provider_review');
    // The captured callback replayed with different bytes (so it is not a byte-identical duplicate).
    const replay = JSON.stringify(JSON.parse(body), null, 2);
    assert.equal((await hook(replay)).status, 200);
    assert.equal((await session(t.app, id)).status, 'held');
  });

  it('never returns a paid session to pending when a lagging status query says waiting_payment', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    await hook(repay.callback(deal.id, '1500'));
    deal.state = 'waiting_payment';
    await t.app.checkout.sessions.refresh(id, 'reconcile');
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('applies the re-read after a callback after a slower poll read started before it, never before', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    // The reconciler's read arrives while the deal is completed, and Repay is slow to answer it.
    const held = repay.holdNextStatusRead();
    const poll = t.app.checkout.sessions.refresh(id, 'reconcile');
    await held.arrived;
    // Meanwhile a dispute opens and Repay calls back.
    deal.state = 'proceedings';
    let callbackDone = false;
    const callback = hook(repay.callback(deal.id, '1500')).finally(() => (callbackDone = true));
    // Repay answers the older read only once the callback has gone as far as it can without that answer: either its
    // own read was sent, answered and applied (the callback is answered), or it waits behind the poll's read (a
    // refresh now joins the callback's read instead of the poll's).
    while (!callbackDone && t.app.checkout.sessions.refresh(id, 'status') === poll) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok((await events(t.app, id)).some((event) => event.kind === 'webhook'), 'the callback is stored');
    held.answer();
    assert.equal((await poll)?.status, 'paid');
    assert.equal((await callback).status, 200);
    assert.deepEqual(repay.statusReads, ['completed', 'proceedings']);
    assert.equal(repay.statusCalls, 2, 'one read for the poll, one for the callback, none for the joined refreshes');
    // The newer read is applied last: the dispute holds the payment, with no held → paid in between.
    assert.equal((await session(t.app, id)).status, 'held');
    const transitions = (await events(t.app, id)).filter((event) => event.kind === 'transition');
    assert.deepEqual(
      transitions.map((event) => [event.fromStatus, event.toStatus, event.source]),
      [
        ['created', 'paid', 'poll'],
        ['paid', 'held', 'webhook'],
      ],
    );
  });

  it('applies no read older than the one the session reflects, even from another instance on the same database', async () => {
    const { id, deal } = await openDeal();
    const other = makeTestApp({ dir: t.dir, orders: t.orders });
    try {
      deal.state = 'completed';
      // This instance's reconciler reads the completed deal, and Repay is slow to answer it.
      const held = repay.holdNextStatusRead();
      const poll = t.app.checkout.sessions.refresh(id, 'reconcile');
      await held.arrived;
      // A dispute opens; Repay's callback reaches the other instance, which re-reads and applies it first.
      deal.state = 'proceedings';
      assert.equal((await other.post('/api/checkout/webhooks/repay', repay.callback(deal.id, '1500'), 'application/json')).status, 200);
      assert.equal((await session(other.app, id)).status, 'held');
      // The older answer arrives last: logged, applied to nothing.
      held.answer();
      assert.equal((await poll)?.status, 'held');
      const row = await session(t.app, id);
      assert.equal(row.status, 'held');
      assert.notEqual(row.nextPollAt, null, 'a held payment stays watched');
      const log = await events(t.app, id);
      assert.deepEqual(
        log.filter((event) => event.kind === 'transition').map((event) => [event.fromStatus, event.toStatus, event.source]),
        [['created', 'held', 'webhook']],
      );
      const stale = log.filter((event) => event.kind === 'poll' && event.providerStatus === 'completed');
      assert.equal(stale.length, 1);
      assert.equal((stale[0]!.data as { stale?: boolean }).stale, true);
    } finally {
      await other.close();
    }
  });

  it('leaves a session due for a poll with the stored callback, so a re-read that never happened is made later', async () => {
    const { id, deal } = await openDeal();
    const store = t.app.checkout.store;
    // The session ended long ago and is no longer watched; then the payer pays after all.
    await store.mutate(id, () => ({ patch: { status: 'expired', nextPollAt: null, updatedAt: Date.now() - 86_400_000 } }));
    deal.state = 'completed';
    // The database goes away right after the callback is stored: neither the re-read's result nor its failure is written.
    const mutate = store.mutate.bind(store);
    let failures = 2;
    store.mutate = (sessionId, fn) => (failures-- > 0 ? Promise.reject(new Error('connection lost')) : mutate(sessionId, fn));
    assert.equal((await hook(repay.callback(deal.id, '1500'))).status, 500);
    // Repay's retry is a duplicate of what was stored, and is answered as one.
    assert.equal((await hook(repay.callback(deal.id, '1500'))).status, 200);
    const stored = await session(t.app, id);
    assert.equal(stored.status, 'expired');
    assert.ok(stored.nextPollAt !== null && stored.nextPollAt <= Date.now(), 'due now');
    await t.app.checkout.reconciler.tick();
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('holds a payment whose amount differs from the order, and tells the payer why', async () => {
    const { id, token, deal } = await openDeal();
    deal.state = 'completed';
    deal.amount = '1400';
    await hook(repay.callback(deal.id, '1400'));
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal(row.errorCode, 'amount_mismatch');
    assert.equal(row.paidAmountMinor, 140000);
    // The payer's page says what happens next for this reason.
    const view = (await t.getSession(id, token)).json;
    assert.deepEqual([view.status, view.heldReason, view.paidAmount], ['held', 'amount_mismatch', '1400.00']);
    assert.equal((await t.createSession({ orderId: 'A-1001' })).json.error.code, 'order_held');
  });

  it('holds a payment Repay reports in another currency, whatever its amount', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    deal.currency = 'USD';
    assert.equal((await hook(repay.callback(deal.id, '1500'))).status, 200);
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal(row.errorCode, 'amount_unknown');
  });

  it('checks the status answer against the amount Repay signed, whatever currency the callback (unsigned) names', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    // Repay signed 1400 paid; a copy of that callback naming another currency arrives first, and the genuine one is then
    // its duplicate. The status answer says 1500: the two disagree, and a person looks.
    const signed = JSON.parse(repay.callback(deal.id, '1400')) as Record<string, unknown>;
    assert.equal((await hook(JSON.stringify({ ...signed, currency: 'USD' }))).status, 200);
    assert.equal((await hook(JSON.stringify(signed))).status, 200);
    const row = await session(t.app, id);
    assert.deepEqual([row.status, row.errorCode], ['held', 'amount_mismatch']);
  });

  it('stores but does not apply a signed callback when the status query is unavailable, and re-reads it promptly', async () => {
    const { id, deal } = await openDeal();
    repay.statusFails = true;
    const response = await hook(repay.callback(deal.id, '1500'));
    assert.equal(await response.text(), 'OK');
    assert.equal(repay.statusCalls, 1, 'the status was re-read first');
    const stored = await session(t.app, id);
    assert.equal(stored.status, 'created', 'the callback alone moves nothing');
    assert.ok(stored.nextPollAt !== null && stored.nextPollAt <= Date.now(), 'a re-read is due now');
    assert.ok((await events(t.app, id)).some((event) => event.kind === 'webhook'));
    // The next pass reads what Repay says: the deal was never paid.
    repay.statusFails = false;
    await t.app.checkout.reconciler.tick();
    assert.equal((await session(t.app, id)).status, 'created');
    deal.state = 'completed';
    await t.app.checkout.sessions.refresh(id, 'reconcile');
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('never moves a held session on a replayed callback alone, whatever its unsigned state says', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'proceedings';
    await t.app.checkout.sessions.refresh(id, 'reconcile');
    assert.equal((await session(t.app, id)).status, 'held');
    repay.statusFails = true;
    const captured = repay.callback(deal.id, '1500');
    for (const replay of [captured, `${captured} `, captured.replace('"completed"', '"reject_by_office"')]) {
      assert.equal((await hook(replay)).status, 200);
    }
    assert.equal((await session(t.app, id)).status, 'held');
    const stored = (await events(t.app, id)).filter((event) => event.kind === 'webhook');
    assert.equal(stored.length, 1, 'replays that differ only in unsigned bytes are one callback');
  });

  it('verifies the signature over the amount text as sent ("1500.0")', async () => {
    const { id, deal } = await openDeal();
    deal.state = 'completed';
    const body = `{"deal_id":"${deal.id}","state":"completed","amount":1500.0,"currency":"RUB","signature":"${md5(`${deal.id}:1500.0:${SECRETS.repaySecret2}`)}","order_id":"${id}"}`;
    assert.equal((await hook(body)).status, 200);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('answers 404 for a genuine callback that names no session of this shop', async () => {
    const body = repay.callback('deal-unknown', '1500');
    const response = await hook(body);
    assert.equal(response.status, 404);
    assert.equal(await errorCode(response), 'unknown_session');
  });

  it('refuses a malformed callback with 400', async () => {
    assert.equal((await hook('{"deal_id":')).status, 400);
    assert.equal((await hook('{"deal_id":"x"}')).status, 400);
  });
});

describe('BoxExchanger IPN', () => {
  async function openOrder(env?: Record<string, string>) {
    if (env) {
      await t.dispose();
      t = makeTestApp({ env });
    }
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger', method: 'sbp', locale: 'ru' });
    assert.equal(status, 201, JSON.stringify(json));
    const order = [...box.orders.values()][0]!;
    const row = await session(t.app, json.id);
    return { id: json.id as string, json, order, ipnSecret: row.providerData.ipnSecret as string };
  }
  const ipn = (id: string, body: string, type = 'application/x-www-form-urlencoded') => t.post(`/api/checkout/webhooks/boxexchanger/${id}`, body, type);
  const payerCancel = (id: string, token: string) => t.app.request(`/api/checkout/sessions/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('neither expires nor replaces an order BoxExchanger is still checking after the payer paid', async () => {
    const { id, order } = await openOrder();
    // The payer paid and pressed "paid"; an admin is checking it past the order's window.
    order.status = 'inProgress';
    await t.app.checkout.sessions.refresh(id, 'reconcile');
    await t.app.checkout.store.mutate(id, () => ({ patch: { expiresAt: Date.now() - t.config.reconcile.expiryGraceMs - 1_000 } }));
    const report = await t.app.checkout.reconciler.tick((await session(t.app, id)).nextPollAt! + 1);
    assert.equal(report.polled, 1);
    assert.equal(report.expired, 0);
    assert.equal((await session(t.app, id)).status, 'pending');
    assert.deepEqual(box.updates, [], 'no attempt to delete it');
    // Back at the checkout, the payer gets that payment again, not a second one.
    const again = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger', method: 'sbp', locale: 'ru' });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, id);
    assert.equal(box.creates, 1);
    order.status = 'done';
    await t.app.checkout.reconciler.tick((await session(t.app, id)).nextPollAt! + 1);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('creates the order with a per-session ipnUrl, a random ipnSecret, signed auth and an increasing time', async () => {
    const { id, json, order, ipnSecret } = await openOrder();
    assert.equal(order.body.routeId, 'route-sbp');
    assert.equal(order.body.amount, 1500);
    assert.equal(order.body.lang, 'rus');
    assert.equal(order.body.ipnUrl, `${MERCHANT}/api/checkout/webhooks/boxexchanger/${id}`);
    assert.equal(order.body.clientCallbackUrl, `${MERCHANT}/api/checkout/return/success?session=${id}`);
    assert.match(ipnSecret, /^[0-9a-f]{48}$/);
    assert.equal(order.body.ipnSecret, ipnSecret);
    assert.deepEqual(order.body.toValues, [{ key: '65f0c1a2b3c4d5e6f7a8b9d1', value: 'merchant-wallet' }]);
    assert.equal(json.paymentUrl, `${BOX}/ru/payment/${order.uid}/${order.secret}`);
    // Two sessions get different IPN secrets.
    const other = await t.createSession({ orderId: 'A-1002', provider: 'boxexchanger' });
    assert.notEqual((await session(t.app, other.json.id)).providerData.ipnSecret, ipnSecret);
    assert.ok(box.lastTimes[1]! > box.lastTimes[0]!);
  });

  it('verifies a genuine IPN and applies the status re-read from order/get', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    const response = await ipn(id, box.ipn(order, ipnSecret, 'done'));
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'OK');
    assert.equal(box.gets, 1);
    const row = await session(t.app, id);
    assert.equal(row.status, 'paid');
    assert.equal(row.paidAmountMinor, 150000);
  });

  it('refuses a form far longer than any IPN before looking at it further', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    const padded = `${box.ipn(order, ipnSecret, 'done')}${'&a='.repeat(21_000)}`;
    const response = await ipn(id, padded);
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'invalid_webhook');
    assert.equal((await session(t.app, id)).status, 'created');
    assert.equal(box.gets, 0);
  });

  it('applies order/get, not the IPN, when they disagree', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'waitPayment';
    await ipn(id, box.ipn(order, ipnSecret, 'done'));
    assert.equal((await session(t.app, id)).status, 'pending');
  });

  it('rejects a forged IPN with 401 and no status query', async () => {
    const { id, order } = await openOrder();
    order.status = 'done';
    const response = await ipn(id, box.ipn(order, 'not-the-secret', 'done'));
    assert.equal(response.status, 401);
    assert.equal(await errorCode(response), 'invalid_signature');
    assert.equal(box.gets, 0);
    assert.equal((await session(t.app, id)).status, 'created');
  });

  it('rejects an IPN for another session id in the URL', async () => {
    const first = await openOrder();
    const second = await t.createSession({ orderId: 'A-1002', provider: 'boxexchanger' });
    first.order.status = 'done';
    const response = await ipn(second.json.id, box.ipn(first.order, first.ipnSecret, 'done'));
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), 'invalid_webhook');
    assert.equal((await session(t.app, first.id)).status, 'created');
    assert.equal((await session(t.app, second.json.id)).status, 'created');
  });

  it('rejects a stale IPN timestamp', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    const response = await ipn(id, box.ipn(order, ipnSecret, 'done', { timestamp: Date.now() - 3_600_000 }));
    assert.equal(response.status, 401);
    assert.equal(await errorCode(response), 'stale_notification');
    assert.equal((await session(t.app, id)).status, 'created');
  });

  it('treats a duplicate IPN as a no-op', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    const body = box.ipn(order, ipnSecret, 'done');
    await ipn(id, body);
    const again = await ipn(id, body);
    assert.equal(again.status, 200);
    assert.equal(box.gets, 1);
    assert.equal((await events(t.app, id)).filter((event) => event.kind === 'webhook').length, 1);
  });

  it('ignores an out-of-order IPN older than the last one applied', async () => {
    const { id, order, ipnSecret } = await openOrder();
    const now = Date.now();
    order.status = 'done';
    await ipn(id, box.ipn(order, ipnSecret, 'done', { timestamp: now }));
    order.status = 'waitPayment'; // even if order/get lagged, an older IPN does nothing
    const late = await ipn(id, box.ipn(order, ipnSecret, 'waitPayment', { timestamp: now - 5_000 }));
    assert.equal(late.status, 200);
    assert.equal(box.gets, 1);
    assert.equal((await session(t.app, id)).status, 'paid');
    assert.ok((await events(t.app, id)).some((event) => event.kind === 'note' && (event.data as any).reason === 'out_of_order'));
  });

  it('follows a second IPN of the same second (unix time in seconds): a quick inProgress → done is not out of order', async () => {
    const { id, order, ipnSecret } = await openOrder();
    const second = Math.floor(Date.now() / 1000);
    order.status = 'inProgress';
    await ipn(id, box.ipn(order, ipnSecret, 'inProgress', { timestamp: second }));
    assert.equal((await session(t.app, id)).status, 'pending');
    order.status = 'done';
    const done = await ipn(id, box.ipn(order, ipnSecret, 'done', { timestamp: second }));
    assert.equal(done.status, 200);
    assert.equal(box.gets, 2);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('never moves a paid order backwards on a newer replayed IPN either', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    await ipn(id, box.ipn(order, ipnSecret, 'done', { timestamp: Date.now() - 1_000 }));
    order.status = 'inProgress';
    await ipn(id, box.ipn(order, ipnSecret, 'inProgress', { timestamp: Date.now() }));
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('holds an order paid with a different amount', async () => {
    const { id, order, ipnSecret } = await openOrder();
    order.status = 'done';
    order.inAmount = '1499.99';
    await ipn(id, box.ipn(order, ipnSecret, 'done'));
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal(row.paidAmountMinor, 149999);
  });

  it('reads the hash from a configured field name', async () => {
    const { id, order, ipnSecret } = await openOrder({ BOXEXCHANGER_IPN_HASH_FIELD: 'signature' });
    order.status = 'done';
    const withDefaultName = await ipn(id, box.ipn(order, ipnSecret, 'done'));
    assert.equal(withDefaultName.status, 400);
    assert.equal(await errorCode(withDefaultName), 'invalid_webhook');
    const ok = await ipn(id, box.ipn(order, ipnSecret, 'done', { hashField: 'signature', timestamp: Date.now() + 1 }));
    assert.equal(ok.status, 200);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('holds an authenticated "done" IPN for a session that lost its order credentials in a crash', async () => {
    const { id, order, ipnSecret } = await openOrder();
    // As if the process had stopped before recording BoxExchanger's answer: no uid / secret / order id.
    await t.app.checkout.store.mutate(id, (current) => ({
      patch: { providerPaymentId: null, providerData: { ipnSecret: current.providerData.ipnSecret } },
    }));
    order.status = 'done';
    const response = await ipn(id, box.ipn(order, ipnSecret, 'done'));
    assert.equal(response.status, 200);
    assert.equal(box.gets, 0);
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal(row.providerPaymentId, order._id);
  });

  it('holds an authenticated IPN of a payment received, and told held, not expired, when its window passes', async () => {
    await t.dispose();
    t = makeTestApp({ config: { onEvent: () => undefined } });
    const { id, order, ipnSecret } = await openOrder();
    await t.app.checkout.store.mutate(id, (current) => ({
      patch: { providerPaymentId: null, paymentUrl: null, providerData: { ipnSecret: current.providerData.ipnSecret } },
    }));
    // BoxExchanger has the payer's money and queues the payout; its `done` IPN (sent once) may never arrive.
    order.status = 'inProgressPayout';
    assert.equal((await ipn(id, box.ipn(order, ipnSecret, 'inProgressPayout'))).status, 200);
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 3_600_000);
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    const told = (await t.app.checkout.store.listDeliveries({ sessionId: id, limit: 10 })).map((delivery) => delivery.eventType);
    assert.deepEqual(told, ['payment.held']);
  });

  it('holds such an IPN as a second payment, told as order.paid_twice, when another payment paid the order meanwhile', async () => {
    await t.dispose();
    t = makeTestApp({ config: { onEvent: () => undefined } });
    const { id, order, ipnSecret } = await openOrder();
    // Its creation cut by a crash before BoxExchanger's answer was stored, and marked so; the payer pays with Repay.
    await t.app.checkout.store.mutate(id, (current) => ({
      patch: { status: 'failed', errorCode: 'interrupted', providerPaymentId: null, paymentUrl: null, providerData: { ipnSecret: current.providerData.ipnSecret } },
    }));
    const other = (await t.createSession({ orderId: 'A-1001', provider: 'repay' }, { 'idempotency-key': 'by-repay' })).json;
    repay.deals.get((await session(t.app, other.id)).providerPaymentId!)!.state = 'completed';
    await t.app.checkout.sessions.refresh(other.id, 'reconcile');
    // Then the BoxExchanger payment made after all is reported, signed: a second payment of a paid order.
    order.status = 'done';
    assert.equal((await ipn(id, box.ipn(order, ipnSecret, 'done'))).status, 200);
    const row = await session(t.app, id);
    assert.deepEqual([row.status, row.errorCode], ['held', 'duplicate_payment']);
    const told = (await t.app.checkout.store.listDeliveries({ orderId: 'A-1001', limit: 10 })).sort((a, b) => a.seq - b.seq);
    assert.deepEqual(told.map((delivery) => [delivery.sessionId, delivery.eventType]), [[other.id, 'payment.paid'], [id, 'order.paid_twice']]);
  });

  it('holds such an IPN on the provider\'s retry when the write that holds it failed the first time', async () => {
    const { id, order, ipnSecret } = await openOrder();
    const store = t.app.checkout.store;
    await store.mutate(id, (current) => ({
      patch: { providerPaymentId: null, providerData: { ipnSecret: current.providerData.ipnSecret } },
    }));
    order.status = 'done';
    // The database is away for the one write that would hold the payment, whichever write that is.
    let failed = false;
    const failHoldOnce =
      <F extends (...args: any[]) => any>(fn: F) =>
      (...args: Parameters<F>) => {
        const mutation = fn(...args);
        if (mutation?.patch?.status === 'held' && !failed) {
          failed = true;
          throw new Error('connection lost');
        }
        return mutation;
      };
    const mutate = store.mutate.bind(store);
    const appendEventAndMutate = store.appendEventAndMutate.bind(store);
    store.mutate = (sessionId, fn) => mutate(sessionId, failHoldOnce(fn));
    store.appendEventAndMutate = (event, fn) => appendEventAndMutate(event, failHoldOnce(fn));
    const body = box.ipn(order, ipnSecret, 'done');
    assert.equal((await ipn(id, body)).status, 500);
    assert.ok(failed);
    // BoxExchanger does not promise a retry; when one comes, it must not be taken for a duplicate of a stored IPN.
    assert.equal((await ipn(id, body)).status, 200);
    await t.app.checkout.reconciler.tick(Date.now() + 86_400_000);
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal((await events(t.app, id)).filter((event) => event.kind === 'webhook').length, 1);
  });

  it('refuses an IPN that is not form-encoded', async () => {
    const { id } = await openOrder();
    const response = await ipn(id, '{"orderId":"x"}', 'application/json');
    assert.equal(response.status, 415);
  });

  it('cancels the order at BoxExchanger through update-status "deleted"', async () => {
    const { id, json } = await openOrder();
    const response = await payerCancel(id, json.token);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).status, 'cancelled');
    assert.equal(box.updates.length, 1);
    assert.equal(box.updates[0]!.status, 'deleted');
    const log = await events(t.app, id);
    assert.ok(log.some((event) => event.kind === 'transition' && event.toStatus === 'cancelled' && event.source === 'poll'));
    // The payer's cancel, as the shop is told it and the row keeps it.
    assert.ok(log.some((event) => event.toStatus === 'cancelled' && (event.data as { reason?: string }).reason === 'cancelled_by_payer'));
    assert.equal((await session(t.app, id)).errorCode, 'cancelled_by_payer');
  });

  it('refuses a cancel as not cancellable once the payer has reported the payment made, whatever BoxExchanger\'s wording', async () => {
    const { id, json, order } = await openOrder();
    order.status = 'inProgress';
    const response = await payerCancel(id, json.token);
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'session_not_cancellable');
    assert.equal((await session(t.app, id)).status, 'pending');
  });

  it('reports a cancel refused because the payer already paid as the real status', async () => {
    const { id, json, order } = await openOrder();
    order.status = 'done';
    const response = await payerCancel(id, json.token);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).status, 'paid');
  });
});

describe('BoxExchanger API calls: reads unsigned, create and cancel signed', () => {
  const ORDER_GET = `${BOX}/service/api/v1/public/exchanger/order/get`;

  async function openOrders(count: number) {
    const opened: Array<{ id: string; token: string; order: BoxOrder; ipnSecret: string }> = [];
    for (let index = 1; index <= count; index++) {
      const { status, json } = await t.createSession({ orderId: `A-100${index}`, provider: 'boxexchanger' });
      assert.equal(status, 201, JSON.stringify(json));
      const row = await session(t.app, json.id);
      opened.push({ id: json.id, token: json.token, order: box.byUid(row.providerData.uid as string)!, ipnSecret: row.providerData.ipnSecret as string });
    }
    return opened;
  }
  const ipn = (id: string, body: string) => t.post(`/api/checkout/webhooks/boxexchanger/${id}`, body, 'application/x-www-form-urlencoded');
  const reads = () => box.calls.filter((call) => call.call === 'get');

  /** Counts what the adapter asks of the store's BoxExchanger nonce and lock from now on. */
  function spyOnNonces() {
    const store = t.app.checkout.store;
    const taken = { nonces: 0, locks: 0 };
    const takeNonce = store.takeNonce.bind(store);
    const withLock = store.withLock.bind(store);
    store.takeNonce = (scope, now) => {
      if (scope.startsWith('boxexchanger:')) taken.nonces++;
      return takeNonce(scope, now);
    };
    store.withLock = (key, fn) => {
      if (key.startsWith('boxexchanger:')) taken.locks++;
      return withLock(key, fn);
    };
    return taken;
  }

  it('re-reads the order after a verified IPN without apikey, hash or a nonce', async () => {
    const [opened] = await openOrders(1);
    const taken = spyOnNonces();
    opened!.order.status = 'done';
    const response = await ipn(opened!.id, box.ipn(opened!.order, opened!.ipnSecret, 'done'));
    assert.equal(response.status, 200);
    assert.equal((await session(t.app, opened!.id)).status, 'paid');
    assert.deepEqual(reads(), [{ call: 'get', signed: false }]);
    assert.deepEqual(taken, { nonces: 0, locks: 0 });
  });

  it('has the status reads of two IPNs in flight at BoxExchanger at the same time', async () => {
    const [first, second] = await openOrders(2);
    first!.order.status = 'done';
    second!.order.status = 'done';
    // Each read waits (up to 10 s) for the other before it is answered: one after the other, they never meet.
    let inFlight = 0;
    let most = 0;
    let bothArrived!: () => void;
    const together = new Promise<void>((resolve) => (bothArrived = resolve));
    msw.use(
      http.get(ORDER_GET, async () => {
        most = Math.max(most, ++inFlight);
        if (inFlight === 2) bothArrived();
        await Promise.race([together, new Promise((resolve) => setTimeout(resolve, 10_000))]);
        inFlight--;
        return undefined; // on to the order's answer
      }),
    );
    const answers = await Promise.all([first!, second!].map((opened) => ipn(opened.id, box.ipn(opened.order, opened.ipnSecret, 'done'))));
    assert.deepEqual(answers.map((answer) => answer.status), [200, 200]);
    assert.equal(most, 2, 'the second read reached BoxExchanger while the first was still unanswered');
    assert.equal((await session(t.app, first!.id)).status, 'paid');
    assert.equal((await session(t.app, second!.id)).status, 'paid');
  });

  it('asks again signed when BoxExchanger refuses an unsigned read (40301), and reads signed at once after that', async () => {
    box.refuseUnsignedReads = true;
    const [first, second] = await openOrders(2);
    first!.order.status = 'done';
    second!.order.status = 'done';
    await ipn(first!.id, box.ipn(first!.order, first!.ipnSecret, 'done'));
    assert.equal((await session(t.app, first!.id)).status, 'paid');
    await ipn(second!.id, box.ipn(second!.order, second!.ipnSecret, 'done'));
    assert.equal((await session(t.app, second!.id)).status, 'paid');
    assert.deepEqual(reads().map((call) => call.signed), [false, true, true]);
    // Signed reads take their place in the key's sequence of `time` values.
    assert.deepEqual(box.lastTimes, [...box.lastTimes].sort((a, b) => a - b));
    assert.equal(new Set(box.lastTimes).size, 4);
  });

  it('keeps reading unsigned when the signed read is refused as well', async () => {
    const [first, second] = await openOrders(2);
    // As the sandbox answers an order/get naming an order it does not know, signed or not.
    let refusals = 0;
    msw.use(
      http.get(ORDER_GET, () => {
        if (refusals === 3) return undefined;
        refusals++;
        return HttpResponse.json({ success: false, error: { errorCode: 40301, message: 'Order not found', object: {} } }, { status: 404 });
      }),
    );
    await t.app.checkout.sessions.refresh(first!.id, 'reconcile');
    assert.equal(refusals, 3, 'unsigned, signed, signed with a fresh time');
    assert.ok((await events(t.app, first!.id)).some((event) => event.kind === 'poll_failed' && (event.data as any).code === 'provider_auth_failed'));
    second!.order.status = 'done';
    await ipn(second!.id, box.ipn(second!.order, second!.ipnSecret, 'done'));
    assert.equal((await session(t.app, second!.id)).status, 'paid');
    assert.deepEqual(reads(), [{ call: 'get', signed: false }]);
  });

  it('signs create and cancel with an increasing time while the status read goes unsigned', async () => {
    const [opened] = await openOrders(1);
    const response = await t.app.request(`/api/checkout/sessions/${opened!.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${opened!.token}` } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).status, 'cancelled');
    assert.deepEqual(
      box.calls.map(({ call, signed }) => ({ call, signed })),
      [
        { call: 'create', signed: true },
        { call: 'update', signed: true },
        { call: 'get', signed: false },
      ],
    );
    const [created, cancelled] = box.calls;
    assert.ok(cancelled!.time! > created!.time!);
    assert.deepEqual(box.lastTimes, [created!.time, cancelled!.time]);
  });
});

describe('age.trading callbacks', () => {
  async function openRequest(env?: Record<string, string>) {
    if (env) {
      await t.dispose();
      t = makeTestApp({ env });
    }
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading', method: 'sbp' });
    assert.equal(status, 201, JSON.stringify(json));
    const req = [...age.requests.values()][0]!;
    return { id: json.id as string, json, req };
  }
  const callback = (body: string, signature?: string) =>
    t.post('/api/checkout/webhooks/agetrading', body, 'application/json', signature === undefined ? {} : { 'x-signature': signature });

  it('creates the request with a hashed client, our id, the amount and the failure URL', async () => {
    const { id, json, req } = await openRequest();
    // The merchant's order number with the session's suffix: support finds the payment by order number.
    assert.equal(req.body.merchant_request_id, `A-1001-${id.slice(3)}`);
    assert.equal(req.body.initial_amount, '1500.00');
    assert.equal(req.body.payment_method, 1);
    assert.ok(req.body.client.length <= 36);
    assert.notEqual(req.body.client, 'customer-1');
    assert.equal(req.body.failure_redirect_url, `${MERCHANT}/api/checkout/return/error?session=${id}`);
    assert.equal(req.body.webhook_url, `${MERCHANT}/api/checkout/webhooks/agetrading`);
    assert.equal(json.paymentUrl, `https://pay.age.test/payment?id=uuid-${req.id}`);
  });

  it('treats a verified callback as a trigger and applies the re-fetched status', async () => {
    const { id, req } = await openRequest();
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const { body, signature } = age.callback(req, 'SUCCESS', '1500.00');
    const response = await callback(body, signature);
    assert.equal(response.status, 200);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('does not take the callback\'s word when the re-fetched status disagrees', async () => {
    const { id, req } = await openRequest();
    req.status = 'PENDING';
    const { body, signature } = age.callback(req, 'SUCCESS', '1500.00');
    await callback(body, signature);
    assert.equal((await session(t.app, id)).status, 'pending');
  });

  it('rejects a callback with a wrong or missing signature, without re-fetching', async () => {
    const { id, req } = await openRequest();
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const before = age.statusCalls;
    const { body } = age.callback(req, 'SUCCESS', '1500.00');
    const forged = await callback(body, 'f'.repeat(64));
    assert.equal(forged.status, 401);
    assert.equal(await errorCode(forged), 'invalid_signature');
    assert.equal((await callback(body)).status, 401);
    assert.equal(age.statusCalls, before);
    assert.equal((await session(t.app, id)).status, 'created');
  });

  it('treats a duplicate callback as a no-op', async () => {
    const { id, req } = await openRequest();
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const { body, signature } = age.callback(req, 'SUCCESS', '1500.00');
    await callback(body, signature);
    const calls = age.statusCalls;
    assert.equal((await callback(body, signature)).status, 200);
    assert.equal(age.statusCalls, calls);
    assert.equal((await events(t.app, id)).filter((event) => event.kind === 'transition').length, 1);
  });

  it('keeps a paid session paid when an older PENDING callback arrives late', async () => {
    const { id, req } = await openRequest();
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const success = age.callback(req, 'SUCCESS', '1500.00');
    await callback(success.body, success.signature);
    req.status = 'PENDING'; // a lagging read must not undo it either
    const late = age.callback(req, 'PENDING');
    assert.equal((await callback(late.body, late.signature)).status, 200);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('does not move a cancelled request back on a replayed earlier callback', async () => {
    const { id, req } = await openRequest();
    req.status = 'CANCELLED';
    const cancelled = age.callback(req, 'CANCELLED');
    await callback(cancelled.body, cancelled.signature);
    assert.equal((await session(t.app, id)).status, 'cancelled');
    req.status = 'PENDING';
    const replay = age.callback(req, 'PENDING');
    await callback(replay.body, replay.signature);
    assert.equal((await session(t.app, id)).status, 'cancelled');
  });

  it('holds a request paid with a different amount, or with no amount reported', async () => {
    const { id, req } = await openRequest();
    req.status = 'SUCCESS';
    req.amount = '1000.00';
    const { body, signature } = age.callback(req, 'SUCCESS', '1000.00');
    await callback(body, signature);
    const row = await session(t.app, id);
    assert.equal(row.status, 'held');
    assert.equal(row.errorCode, 'amount_mismatch');
  });

  it('accepts unsigned callbacks as triggers only when no verifier is configured', async () => {
    const { id, req } = await openRequest({ AGETRADING_CALLBACK_SECRET: '' });
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const { body } = age.callback(req, 'SUCCESS', '1500.00');
    assert.equal((await callback(body)).status, 200);
    assert.equal((await session(t.app, id)).status, 'paid');
  });

  it('cancels the request at age.trading', async () => {
    const { id, json } = await openRequest();
    const response = await t.app.request(`/api/checkout/sessions/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(((await response.json()) as any).status, 'cancelled');
    assert.equal(age.cancels, 1);
    assert.equal((await session(t.app, id)).errorCode, 'cancelled_by_payer');
  });
});
