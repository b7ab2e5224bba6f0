// Held payments and the people who settle them: a person's decision stands against reads that bring nothing new, a
// second payment of a paid order is told as one whatever its amount or earlier hold, and a decision is never undone
// by a status read that was already under way.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTestApp, session, useProviderMocks } from './checkout-fixtures.js';
import type { AgeMock, BoxMock, Orders, RepayMock, TestApp } from './checkout-fixtures.js';

let t: TestApp;
let repay: RepayMock;
let box: BoxMock;
let age: AgeMock;
useProviderMocks((mocks) => ({ t, repay, box, age } = mocks), () => t);

/** A helper that tells its merchant everything (the in-process hook), with its mocks' Repay. */
function telling(): TestApp {
  return makeTestApp({ env: { MERCHANT_API_KEY: 'merchant-api-key-0123456789abcdef' }, config: { onEvent: () => undefined } });
}

/** The merchant events of a session so far, oldest first. */
async function told(app: TestApp, sessionId: string): Promise<string[]> {
  const rows = await app.app.checkout.store.listDeliveries({ sessionId, limit: 100 });
  return rows.sort((a, b) => a.seq - b.seq).map((row) => row.eventType);
}

async function dealOf(app: TestApp, sessionId: string): Promise<string> {
  return (await app.app.checkout.store.getSession(sessionId))!.providerPaymentId!;
}

/** A payment of order A-1001 at Repay: its session, its deal, and Repay's signed callback for it with an amount. */
async function repayPayment(app: TestApp) {
  const { json } = await app.createSession({ orderId: 'A-1001' });
  const deal = repay.deals.get(await dealOf(app, json.id))!;
  const signed = (amount: string) => app.post('/api/checkout/webhooks/repay', repay.callback(deal.id, amount), 'application/json');
  return { json, deal, signed };
}

/** A Repay payment of which Repay signed 1000 paid of the 1500 order: held for a person, who opens it (`seen`). */
async function underpaidAndSeen(app: TestApp) {
  const payment = await repayPayment(app);
  payment.deal.state = 'completed';
  assert.equal((await payment.signed('1000')).status, 200);
  return { ...payment, seen: await look(app, payment.json.id) };
}

function resolve(app: TestApp, sessionId: string, status: string, headers: Record<string, string> = {}) {
  return app.post(`/api/checkout/merchant/sessions/${sessionId}/resolve`, JSON.stringify({ status, note: 'checked by phone' }), 'application/json', {
    authorization: `Bearer ${app.config.merchantApiKey}`,
    ...headers,
  });
}

/** What a person looking at the payment sees: GET /merchant/sessions/:id, and the version it names. */
async function look(app: TestApp, sessionId: string): Promise<{ etag: string; view: { status: string; events: { amount: string | null }[] } }> {
  const response = await app.app.request(`/api/checkout/merchant/sessions/${sessionId}`, { headers: { authorization: `Bearer ${app.config.merchantApiKey}` } });
  assert.equal(response.status, 200);
  const view = (await response.json()) as { version: string; status: string; events: { amount: string | null }[] };
  assert.equal(view.version, response.headers.get('etag'));
  return { etag: view.version, view };
}

describe('held payments', () => {
  it('a person\'s decision stands against a status read already under way when they made it', async () => {
    const app = telling();
    try {
      const { json } = await app.createSession({ orderId: 'A-1001' });
      const deal = await dealOf(app, json.id);
      repay.deals.get(deal)!.state = 'completed';
      repay.deals.get(deal)!.amount = '1400';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await session(app.app, json.id)).errorCode, 'amount_mismatch');
      // A poll is under way when the person settles the payment; its answer (the same mismatch) lands after.
      const held = repay.holdNextStatusRead();
      const poll = app.app.checkout.sessions.refresh(json.id, 'reconcile');
      await held.arrived;
      const decided = resolve(app, json.id, 'paid');
      held.answer();
      await poll;
      assert.equal((await decided).status, 200);
      // And a later callback's read of the same answer leaves it too.
      await app.app.checkout.sessions.refresh(json.id, 'webhook');
      assert.equal((await session(app.app, json.id)).status, 'paid');
      assert.deepEqual(await told(app, json.id), ['payment.held', 'payment.paid']);
      // Something new from the provider still counts: a dispute holds it again.
      repay.deals.get(deal)!.state = 'proceedings';
      await app.app.checkout.sessions.refresh(json.id, 'webhook');
      assert.equal((await session(app.app, json.id)).status, 'held');
    } finally {
      await app.dispose();
    }
  });

  it('a read on another instance that was under way when a person decided, and brings news, is made again', async () => {
    for (const news of ['proceedings', 'rejected_by_system']) {
      const app = telling();
      // A second helper instance on the same database, whose reconciler reads the payment.
      const other = makeTestApp({ dir: app.dir, env: { MERCHANT_API_KEY: app.config.merchantApiKey! }, config: { onEvent: () => undefined } });
      try {
        const { json, deal } = await repayPayment(app);
        deal.state = 'completed';
        deal.amount = '1400';
        await app.app.checkout.sessions.refresh(json.id, 'reconcile');
        const seen = await look(app, json.id);
        assert.equal(seen.view.status, 'held');
        // The provider moves on (a dispute, a failure); the other instance reads it, and Repay is slow to answer.
        deal.state = news;
        const held = repay.holdNextStatusRead();
        const poll = other.app.checkout.sessions.refresh(json.id, 'reconcile');
        await held.arrived;
        // Meanwhile a person accepts the 1400 on what they saw: nothing on this instance knew of the read.
        assert.equal((await resolve(app, json.id, 'paid', { 'if-match': seen.etag })).status, 200);
        held.answer();
        await poll;
        // That answer is older than the decision and is not applied, but it is news: the payment is read again now…
        const row = await session(app.app, json.id);
        assert.equal(row.status, 'paid');
        assert.ok(row.nextPollAt !== null && row.nextPollAt <= Date.now(), `${news}: due for a fresh read`);
        // …and the fresh read holds the payment again, told to the shop.
        await other.app.checkout.reconciler.tick();
        assert.equal((await session(app.app, json.id)).status, 'held', news);
        assert.deepEqual(await told(app, json.id), ['payment.held', 'payment.paid', 'payment.held'], news);
      } finally {
        await other.close();
        await app.dispose();
      }
    }
  });

  it('a dispute that ends in a payment of an order paid meanwhile is told as a second payment', async () => {
    const app = telling();
    try {
      // The payer's first payment page is left open (Repay has no cancel); a second session is paid.
      const first = (await app.createSession({ orderId: 'A-1001' })).json;
      const firstDeal = await dealOf(app, first.id);
      repay.deals.get(firstDeal)!.state = 'proceedings';
      await app.app.checkout.sessions.refresh(first.id, 'reconcile');
      assert.deepEqual([(await session(app.app, first.id)).status, (await session(app.app, first.id)).errorCode], ['held', null]);
      await app.app.checkout.store.mutate(first.id, () => ({ patch: { status: 'cancelled', errorCode: 'cancelled_locally' } }));
      const second = (await app.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'second-try' })).json;
      repay.deals.get(await dealOf(app, second.id))!.state = 'completed';
      await app.app.checkout.sessions.refresh(second.id, 'reconcile');
      assert.equal((await session(app.app, second.id)).status, 'paid');
      // The first one's dispute: held again by the provider, then completed — a second payment of a paid order.
      await app.app.checkout.sessions.refresh(first.id, 'reconcile');
      assert.deepEqual([(await session(app.app, first.id)).status, (await session(app.app, first.id)).errorCode], ['held', null]);
      repay.deals.get(firstDeal)!.state = 'completed';
      await app.app.checkout.sessions.refresh(first.id, 'reconcile');
      await app.app.checkout.sessions.refresh(first.id, 'reconcile');
      assert.equal((await session(app.app, first.id)).errorCode, 'duplicate_payment');
      assert.deepEqual((await told(app, first.id)).slice(-2), ['payment.held', 'order.paid_twice']);
    } finally {
      await app.dispose();
    }
  });

  it('answers the second of two people deciding on one version 412, so that they read what the first decided', async () => {
    const app = telling();
    try {
      const { json, seen } = await underpaidAndSeen(app);
      assert.equal((await resolve(app, json.id, 'paid', { 'if-match': seen.etag })).status, 200);
      const second = await resolve(app, json.id, 'refunded', { 'if-match': seen.etag });
      assert.equal(second.status, 412);
      assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'session_changed');
      // Without a version, a payment no longer held is refused as such.
      assert.equal((await resolve(app, json.id, 'refunded')).status, 409);
      assert.equal((await session(app.app, json.id)).status, 'paid');
    } finally {
      await app.dispose();
    }
  });

  it('refuses a decision made on a version of the payment that has changed since (If-Match)', async () => {
    const app = telling();
    try {
      const { json, signed, seen } = await underpaidAndSeen(app);
      assert.equal(seen.view.status, 'held');
      assert.match(seen.etag, /^"[\w-]+"$/);
      // While they read it, a dispute's callback signs 800: still held, the session otherwise as it was.
      assert.equal((await signed('800')).status, 200);
      assert.equal((await session(app.app, json.id)).status, 'held');
      // Their "paid" was decided on 1000 alone: refused, nothing told, the payment still held.
      const stale = await resolve(app, json.id, 'paid', { 'if-match': seen.etag });
      assert.equal(stale.status, 412);
      assert.equal(((await stale.json()) as { error: { code: string } }).error.code, 'session_changed');
      assert.equal((await session(app.app, json.id)).status, 'held');
      assert.deepEqual(await told(app, json.id), ['payment.held']);
      // Read again (the 800 is among the callbacks now), the decision is taken on what the payment says now.
      const now = await look(app, json.id);
      assert.notEqual(now.etag, seen.etag);
      // The order's list names the same version, for a tool that settles from it.
      const order = await app.app.request('/api/checkout/merchant/orders/A-1001', { headers: { authorization: `Bearer ${app.config.merchantApiKey}` } });
      assert.deepEqual(((await order.json()) as { sessions: { id: string; version: string }[] }).sessions.map((s) => [s.id, s.version]), [[json.id, now.etag]]);
      assert.ok(now.view.events.some((event) => event.amount === '800.00'));
      const decided = await resolve(app, json.id, 'failed', { 'if-match': now.etag });
      assert.equal(decided.status, 200);
      assert.notEqual(decided.headers.get('etag'), now.etag, 'the answer names the decided version');
      assert.equal((await session(app.app, json.id)).status, 'failed');
    } finally {
      await app.dispose();
    }
  });

  it('gives a held payment a new version when a signed callback that nothing re-reads is stored for it', async () => {
    const app = telling();
    try {
      const { json } = await app.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
      const row = (await app.app.checkout.store.getSession(json.id))!;
      const order = box.orders.get(row.providerPaymentId!)!;
      const ipnSecret = row.providerData.ipnSecret as string;
      // A crash lost the order's credentials: its status cannot be read, and a signed "done" is held for a person.
      const { uid: _uid, secret: _secret, ...kept } = row.providerData;
      await app.app.checkout.store.mutate(json.id, () => ({ patch: { providerData: kept } }));
      const ipn = (status: string) => app.post(`/api/checkout/webhooks/boxexchanger/${json.id}`, box.ipn(order, ipnSecret, status), 'application/x-www-form-urlencoded');
      assert.equal((await ipn('done')).status, 200);
      const seen = await look(app, json.id);
      assert.equal(seen.view.status, 'held');
      // BoxExchanger then signs that the money went back: in the log a person reads, so the version moves.
      assert.equal((await ipn('returned')).status, 200);
      const now = await look(app, json.id);
      assert.notEqual(now.etag, seen.etag);
      assert.equal((await resolve(app, json.id, 'paid', { 'if-match': seen.etag })).status, 412);
      assert.equal((await session(app.app, json.id)).status, 'held');
      // An older IPN arriving late is logged (out of order) and moves the version as well.
      const late = box.ipn(order, ipnSecret, 'done', { timestamp: Date.now() - 60_000 });
      assert.equal((await app.post(`/api/checkout/webhooks/boxexchanger/${json.id}`, late, 'application/x-www-form-urlencoded')).status, 200);
      assert.notEqual((await look(app, json.id)).etag, now.etag);
    } finally {
      await app.dispose();
    }
  });

  it('answers a malformed If-Match with a clear error and decides nothing; `*` decides on the current version', async () => {
    const app = telling();
    try {
      const { json, deal } = await repayPayment(app);
      deal.state = 'proceedings';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await session(app.app, json.id)).status, 'held');
      const malformed = await resolve(app, json.id, 'paid', { 'if-match': 'W/"weak"' });
      assert.equal(malformed.status, 400);
      assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'invalid_field');
      assert.equal((await session(app.app, json.id)).status, 'held');
      assert.equal((await resolve(app, json.id, 'refunded', { 'if-match': '*' })).status, 200);
    } finally {
      await app.dispose();
    }
  });

  it('a payment held for its amount that the provider then rejects is told failed without the hold\'s reason', async () => {
    t = makeTestApp({ config: { onEvent: () => undefined } });
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const deal = repay.deals.get((await session(t.app, json.id)).providerPaymentId!)!;
    deal.state = 'completed';
    deal.amount = '1400';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.deepEqual([(await session(t.app, json.id)).status, (await session(t.app, json.id)).errorCode], ['held', 'amount_mismatch']);
    deal.state = 'rejected_by_system';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const told = (await t.app.checkout.store.listDeliveries({ sessionId: json.id, limit: 10 })).sort((a, b) => a.seq - b.seq).map((row) => JSON.parse(row.payload));
    assert.deepEqual(told.map((event) => [event.type, event.data.session.errorCode]), [['payment.held', 'amount_mismatch'], ['payment.failed', null]]);
  });

  it('a second payment of another amount is a second payment, and cannot be resolved as paid', async () => {
    const app = telling();
    try {
      const first = (await app.createSession({ orderId: 'A-1001' })).json;
      await app.app.checkout.store.mutate(first.id, () => ({ patch: { status: 'cancelled', errorCode: 'cancelled_locally' } }));
      const second = (await app.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'second-try' })).json;
      repay.deals.get(await dealOf(app, second.id))!.state = 'completed';
      await app.app.checkout.sessions.refresh(second.id, 'reconcile');
      const firstDeal = repay.deals.get(await dealOf(app, first.id))!;
      firstDeal.state = 'completed';
      firstDeal.amount = '1400';
      await app.app.checkout.sessions.refresh(first.id, 'reconcile');
      assert.equal((await session(app.app, first.id)).errorCode, 'duplicate_payment');
      assert.deepEqual(await told(app, first.id), ['order.paid_twice']);
      const refused = await resolve(app, first.id, 'paid');
      assert.equal(refused.status, 409);
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'order_paid');
      assert.equal((await resolve(app, first.id, 'refunded')).status, 200);
    } finally {
      await app.dispose();
    }
  });

  it('watches a payment a person settled as failed during the provider\'s dispute, and applies the provider\'s later payment', async () => {
    const app = telling();
    try {
      const { json, deal } = await repayPayment(app);
      deal.state = 'proceedings';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await resolve(app, json.id, 'failed')).status, 200);
      const settled = await session(app.app, json.id);
      assert.equal(settled.status, 'failed');
      assert.notEqual(settled.nextPollAt, null, 'the provider\'s review may still end in the payer\'s favour');
      // It does, days later; Repay's one callback is lost. The reconciler's read finds it.
      deal.state = 'completed';
      await app.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
      assert.equal((await session(app.app, json.id)).status, 'paid');
      assert.deepEqual((await told(app, json.id)).slice(-2), ['payment.failed', 'payment.revived']);
    } finally {
      await app.dispose();
    }
  });

  it('goes on reading a paid payment whose provider signed another amount while its status could not be read', async () => {
    const app = telling();
    try {
      const { json, deal, signed } = await repayPayment(app);
      deal.state = 'completed';
      assert.equal((await signed('1500')).status, 200);
      assert.equal((await session(app.app, json.id)).status, 'paid');
      // A dispute: Repay signs 1000 now, while its status API is down for the callback's read and the next.
      repay.statusFails = true;
      deal.state = 'proceedings';
      deal.amount = '1000';
      assert.equal((await signed('1000')).status, 200);
      await app.app.checkout.reconciler.tick(Date.now() + 10_000);
      assert.notEqual((await session(app.app, json.id)).nextPollAt, null, 'the signed amount is not checked yet');
      repay.statusFails = false;
      await app.app.checkout.reconciler.tick(Date.now() + 3_600_000);
      assert.equal((await session(app.app, json.id)).status, 'held');
      assert.deepEqual(await told(app, json.id), ['payment.paid', 'payment.held']);
    } finally {
      await app.dispose();
    }
  });

  it('watches a payment a person accepted for the helper\'s reason while the provider\'s own dispute runs', async () => {
    const app = telling();
    try {
      const { json, deal } = await repayPayment(app);
      // Held for a short amount, then Repay opens a dispute too; a person accepts the payment meanwhile.
      deal.state = 'completed';
      deal.amount = '1400';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await session(app.app, json.id)).errorCode, 'amount_mismatch');
      deal.state = 'proceedings';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.equal((await resolve(app, json.id, 'paid')).status, 200);
      assert.notEqual((await session(app.app, json.id)).nextPollAt, null, 'the dispute may still be lost');
      // It is, days later, with no callback: the shop hears of it.
      deal.state = 'reject_by_office';
      await app.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
      assert.equal((await session(app.app, json.id)).status, 'held');
      assert.deepEqual(await told(app, json.id), ['payment.held', 'payment.paid', 'payment.held']);
    } finally {
      await app.dispose();
    }
  });

  it('a second dispute after a person settled the first is held again', async () => {
    const app = telling();
    try {
      const { json, deal } = await repayPayment(app);
      for (const state of ['completed', 'proceedings']) {
        deal.state = state;
        await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      }
      assert.equal((await resolve(app, json.id, 'paid')).status, 200);
      // The dispute is won (completed again), then a second chargeback comes: the same answer as at the decision.
      for (const state of ['completed', 'proceedings']) {
        deal.state = state;
        await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      }
      assert.equal((await session(app.app, json.id)).status, 'held');
      assert.deepEqual(await told(app, json.id), ['payment.paid', 'payment.held', 'payment.reinstated', 'payment.held']);
    } finally {
      await app.dispose();
    }
  });
});

describe('an open payment the payer has just paid', () => {
  it('is handed out again when the shop\'s price changed and BoxExchanger refuses to cancel it', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    const app = makeTestApp({ orders });
    try {
      const first = await app.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
      assert.equal(first.status, 201);
      // Paid since the helper last read it; the cart grows meanwhile.
      box.orders.get(await dealOf(app, first.json.id))!.status = 'inProgress';
      orders['A-1001'] = { amount: '1600', currency: 'RUB' };
      const again = await app.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
      assert.deepEqual([again.status, again.json.id], [200, first.json.id]);
      assert.equal(box.creates, 1);
    } finally {
      await app.dispose();
    }
  });
});

describe('an unsigned callback', () => {
  it('gets its session re-read but does not keep an ended session watched', async () => {
    const app = makeTestApp({ env: { AGETRADING_CALLBACK_SECRET: '' } });
    try {
      const { json } = await app.createSession({ orderId: 'A-1001', provider: 'agetrading', method: 'sbp' });
      const req = [...age.requests.values()][0]!;
      req.status = 'FAILED';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      const ended = await session(app.app, json.id);
      assert.equal(ended.status, 'failed');
      const { body } = age.callback(req, 'SUCCESS', '1500.00');
      assert.equal((await app.post('/api/checkout/webhooks/agetrading', body, 'application/json')).status, 200);
      assert.equal((await session(app.app, json.id)).updatedAt, ended.updatedAt);
    } finally {
      await app.dispose();
    }
  });
});

