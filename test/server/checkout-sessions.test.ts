// Sessions end to end through the app (in-process) with Repay mocked by msw and a real SQLite file:
// creation, idempotency, one open payment per order, tokens, status, cancel, restart, config, demo log.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setupServer } from 'msw/node';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { demoResolveOrder } from '../../server-example/demo-orders.js';
import { createLogger } from '../../server-example/logger.js';
import { ORDER_ATTEMPTS_PER_WINDOW, ORDER_PAYMENTS_PER_WINDOW } from '../../server-example/sessions/create.js';
import { MIGRATIONS, SqliteStore } from '../../server-example/store.js';
import { MERCHANT, RepayMock, SHOP, events, makeTestApp, session } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';
import { sessionRecord } from './session-records.js';

const msw = setupServer();
before(() => msw.listen({ onUnhandledRequest: 'error' }));
after(() => msw.close());

let t: TestApp;
let repay: RepayMock;

beforeEach(() => {
  repay = new RepayMock();
  msw.use(...repay.handlers());
  t = makeTestApp();
});
afterEach(async () => {
  msw.resetHandlers();
  await t.dispose();
});

describe('creating a session', () => {
  it('creates a Repay deal with the server-side amount and answers 201 with the documented shape (docs/server.md, contract/index.d.ts)', async () => {
    const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay', method: 'sbp', amount: '1', locale: 'en' });
    assert.equal(status, 201);
    assert.deepEqual(Object.keys(json).sort(), ['amount', 'currency', 'description', 'expiresAt', 'frameable', 'id', 'method', 'orderId', 'paymentUrl', 'provider', 'status', 'token', 'updatedAt'].sort());
    assert.equal(json.amount, '1500.00');
    assert.equal(json.currency, 'RUB');
    assert.equal(json.status, 'created');
    assert.equal(json.provider, 'repay');
    assert.equal(json.method, 'sbp');
    assert.equal(json.frameable, true);
    assert.match(json.paymentUrl, /^https:\/\/pay\.repay\.test\/deal-1$/);
    assert.ok(Date.parse(json.expiresAt) > Date.now());
    const deal = repay.deals.get('deal-1')!;
    // The browser's "amount" is ignored: Repay gets whole rubles from resolveOrder().
    assert.equal(deal.body.amount, '1500');
    assert.equal(deal.body.currency, 'RUB');
    assert.equal(deal.body.payment_method_id, 'repay-method-sbp');
    // Repay's cabinet shows the merchant's order number; the suffix leads back to the session.
    assert.equal(deal.body.order_id, `A-1001-${json.id.slice(3)}`);
    assert.equal(deal.body.success_url, `${MERCHANT}/api/checkout/return/success?session=${json.id}`);
    assert.equal(deal.body.error_url, `${MERCHANT}/api/checkout/return/error?session=${json.id}`);
    assert.equal(deal.body.cancel_url, `${MERCHANT}/api/checkout/return/cancel?session=${json.id}`);
    assert.equal(deal.body.webhook_url, `${MERCHANT}/api/checkout/webhooks/repay`);
    assert.equal(deal.body.payload.trusted, false);
    assert.match(deal.body.payload.user_id, /^[0-9a-f]{32}$/);
    assert.notEqual(deal.body.payload.user_id, 'customer-1');
  });


  it('stamps a change after the last one even on an instance whose clock is behind the one that wrote it', async (context) => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const before = (await session(t.app, json.id)).updatedAt;
    context.mock.timers.enable({ apis: ['Date'], now: before - 60_000 });
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const after = await session(t.app, json.id);
    assert.equal(after.status, 'paid');
    assert.ok(after.updatedAt > before, `${after.updatedAt} > ${before}`);
  });

  it('stamps each answer with when the session last changed: a read that finds nothing new leaves the stamp', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const stamp = async () => (await t.getSession(json.id, json.token)).json.updatedAt as string;
    const created = json.updatedAt as string;
    assert.ok(!Number.isNaN(Date.parse(created)));
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal(await stamp(), created, 'the provider said nothing new');
    repay.deals.get('deal-1')!.state = 'completed';
    await new Promise((resolve) => setTimeout(resolve, 5));
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const paid = await t.getSession(json.id, json.token);
    assert.equal(paid.json.status, 'paid');
    assert.ok(Date.parse(paid.json.updatedAt) > Date.parse(created), 'the payment moved it on');
  });
  it('returns the same session for the same Idempotency-Key with 200', async () => {
    const first = await t.createSession({ orderId: 'A-1001', provider: 'repay' }, { 'idempotency-key': 'key-1' });
    const second = await t.createSession({ orderId: 'A-1001', provider: 'repay' }, { 'idempotency-key': 'key-1' });
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.json.id, first.json.id);
    assert.equal(repay.creates, 1);
  });

  it('refuses an Idempotency-Key reused for a different request', async () => {
    await t.createSession({ orderId: 'A-1001', provider: 'repay' }, { 'idempotency-key': 'key-1' });
    const other = await t.createSession({ orderId: 'A-1002', provider: 'repay' }, { 'idempotency-key': 'key-1' });
    assert.equal(other.status, 409);
    assert.equal(other.json.error.code, 'idempotency_key_reused');
    assert.equal(repay.creates, 1);
  });

  it('hands out the open session of an order instead of opening a second provider payment', async () => {
    const first = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'tab-1' });
    const second = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'tab-2' });
    const third = await t.createSession({ orderId: 'A-1001' });
    assert.equal(second.status, 200);
    assert.equal(third.status, 200);
    assert.equal(second.json.id, first.json.id);
    assert.equal(third.json.id, first.json.id);
    assert.equal(repay.creates, 1);
  });

  it('makes exactly one provider call for 50 concurrent identical requests', async () => {
    repay.createDelayMs = 30;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => t.createSession({ orderId: 'A-1001', provider: 'repay', method: 'sbp' }, { 'idempotency-key': 'same-click' })),
    );
    assert.equal(repay.creates, 1);
    const ids = new Set(results.map((result) => result.json.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((result) => result.status === 201).length, 1);
    assert.equal(results.filter((result) => result.status === 200).length, 49);
  });

  it('makes exactly one provider call for 50 concurrent requests with different keys for one order', async () => {
    repay.createDelayMs = 10;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': `k-${i}` })));
    assert.equal(repay.creates, 1);
    assert.equal(new Set(results.map((result) => result.json.id)).size, 1);
  });

  for (const ended of ['rejected_by_system', 'reject_manual_by_client', 'rejected_timeout'] as const) {
    it(`opens a new provider payment once the previous attempt ended (${ended})`, async () => {
      const first = await t.createSession({ orderId: 'A-1001' });
      repay.deals.get('deal-1')!.state = ended;
      await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
      assert.ok(['failed', 'cancelled', 'expired'].includes((await session(t.app, first.json.id)).status));
      const second = await t.createSession({ orderId: 'A-1001' });
      assert.equal(second.status, 201);
      assert.notEqual(second.json.id, first.json.id);
      assert.equal(repay.creates, 2);
    });
  }

  it('opens a new payment after a failed creation, and the same key may retry', async () => {
    repay.nextError = { status: 500, body: { code: 500, error: 'Internal' } };
    const failed = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'retry-me' });
    assert.equal(failed.status, 503);
    assert.equal(failed.json.error.code, 'provider_unavailable');
    assert.equal(failed.json.error.retryable, true);
    repay.nextError = undefined;
    const retried = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'retry-me' });
    assert.equal(retried.status, 201);
    assert.equal(repay.creates, 2);
  });

  it('answers 404 unknown_order for an order resolveOrder() does not know', async () => {
    const { status, json } = await t.createSession({ orderId: 'NOPE-1' });
    assert.equal(status, 404);
    assert.equal(json.error.code, 'unknown_order');
    assert.equal(repay.creates, 0);
  });

  it('answers 409 order_paid when the merchant says the order is paid', async () => {
    const { status, json } = await t.createSession({ orderId: 'A-PAID' });
    assert.equal(status, 409);
    assert.equal(json.error.code, 'order_paid');
  });

  it('answers 409 order_paid when a session of the order is paid', async () => {
    const first = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    const again = await t.createSession({ orderId: 'A-1001' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'order_paid');
    assert.equal(repay.creates, 1);
  });

  it('checks the Repay minimum and whole rubles before calling Repay', async () => {
    const small = await t.createSession({ orderId: 'A-SMALL', provider: 'repay' });
    assert.equal(small.status, 422);
    assert.equal(small.json.error.code, 'amount_too_small');
    const kopecks = await t.createSession({ orderId: 'A-KOP', provider: 'repay' });
    assert.equal(kopecks.status, 422);
    assert.equal(kopecks.json.error.code, 'amount_not_supported');
    const usd = await t.createSession({ orderId: 'A-USD', provider: 'repay' });
    assert.equal(usd.status, 422);
    assert.equal(usd.json.error.code, 'unsupported_currency');
    assert.equal(repay.creates, 0);
  });

  it('cancels a stale open session and opens a new one when the order amount changed', async () => {
    const first = await t.createSession({ orderId: 'A-1001' });
    t.orders['A-1001'] = { ...t.orders['A-1001']!, amount: '1700' };
    const second = await t.createSession({ orderId: 'A-1001' });
    assert.equal(second.status, 201);
    assert.equal(second.json.amount, '1700.00');
    assert.equal((await session(t.app, first.json.id)).status, 'cancelled');
  });

  it('writes the session row before calling the provider', async () => {
    let seenDuringCall: unknown;
    const store = t.app.checkout.store;
    // Looked at when the create call reaches Repay: the row exists, without a payment URL yet.
    repay.onCreate = async () => {
      const rows = await store.listOrderSessions('A-1001');
      seenDuringCall = rows.map((row) => ({ status: row.status, paymentUrl: row.paymentUrl }));
    };
    assert.equal((await t.createSession({ orderId: 'A-1001' })).status, 201);
    assert.deepEqual(seenDuringCall, [{ status: 'created', paymentUrl: null }]);
  });
});

describe('reading and cancelling a session', () => {
  it('requires the session token', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const other = await t.createSession({ orderId: 'A-1002' });
    const none = await t.app.request(`/api/checkout/sessions/${json.id}`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as any).error.code, 'unauthorized');
    const wrong = await t.getSession(json.id, other.json.token);
    assert.equal(wrong.status, 401);
    const garbage = await t.getSession(json.id, 'abc');
    assert.equal(garbage.status, 401);
    const ok = await t.getSession(json.id, json.token);
    assert.equal(ok.status, 200);
    assert.equal(ok.json.token, undefined);
    assert.equal(ok.json.id, json.id);
  });

  it('reports the verified status and the paid amount after the provider confirms', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    assert.equal((await t.getSession(json.id, json.token)).json.status, 'pending');
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { lastPolledAt: 0 } }));
    const paid = await t.getSession(json.id, json.token);
    assert.equal(paid.json.status, 'paid');
    assert.equal(paid.json.paidAmount, '1500.00');
  });

  it('opens at most ORDER_PAYMENTS_PER_WINDOW payments of one order within the hour', async () => {
    const cancel = (id: string, token: string) => t.app.request(`/api/checkout/sessions/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    // Attempts the provider refused (an outage) open no payment, and do not count as one.
    repay.nextError = { status: 503, body: { code: 503 } };
    for (let attempt = 0; attempt < 5; attempt++) {
      assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': `outage-${attempt}` })).status, 503);
    }
    repay.nextError = undefined;
    for (let attempt = 0; attempt < ORDER_PAYMENTS_PER_WINDOW; attempt++) {
      const { status, json } = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': `attempt-${attempt}` });
      assert.equal(status, 201);
      assert.equal((await cancel(json.id, json.token)).status, 200);
    }
    const refused = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'one-more' });
    assert.equal(refused.status, 429);
    assert.deepEqual([refused.json.error.code, refused.json.error.retryable], ['rate_limited', true]);
    assert.equal(repay.deals.size, ORDER_PAYMENTS_PER_WINDOW, 'no payment opened at the provider');
    // Another order is not held back; and an hour later this one may be paid again.
    assert.equal((await t.createSession({ orderId: 'A-1002' })).status, 201);
    for (const row of await t.app.checkout.store.listOrderSessions('A-1001')) {
      await t.app.checkout.store.mutate(row.id, (current) => ({ patch: { createdAt: current.createdAt - 3_600_000 } }));
    }
    assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'later' })).status, 201);
  });

  it('hands back an open payment over the limit, but does not end it for a new one that would be refused', async () => {
    repay.nextError = { status: 503, body: { code: 503 } };
    for (let attempt = 0; attempt < ORDER_ATTEMPTS_PER_WINDOW - 1; attempt++) {
      assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': `outage-${attempt}` })).status, 503);
    }
    repay.nextError = undefined;
    const open = (await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'open' })).json;
    // The same price: the open payment, as always.
    assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'again' })).json.id, open.id);
    // A new price would end it for a new one, which the limit refuses: it stays open.
    t.orders['A-1001'] = { ...t.orders['A-1001']!, amount: '1600' };
    const refused = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'new-price' });
    assert.equal(refused.status, 429);
    assert.equal((await session(t.app, open.id)).status, 'created');
    // Asked again and again, it reads the provider no more often than a status request would.
    const reads = repay.statusCalls;
    for (let attempt = 0; attempt < 10; attempt++) {
      assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': `again-${attempt}` })).status, 429);
    }
    assert.equal(repay.statusCalls, reads);
    // Paid meanwhile (at the old price): once a read is due, answered as what it is.
    repay.deals.get((await session(t.app, open.id)).providerPaymentId!)!.state = 'completed';
    await t.app.checkout.store.mutate(open.id, () => ({ patch: { lastPolledAt: Date.now() - 60_000 } }));
    const held = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'paid-meanwhile' });
    assert.deepEqual([held.status, held.json.error.code], [409, 'order_held']);
  });

  it('cancels locally for Repay (no cancel API) and a later verified payment revives the session', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).status, 'cancelled');
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const revived = await session(t.app, json.id);
    assert.equal(revived.status, 'paid');
    const log = await events(t.app, json.id);
    assert.ok(log.some((event) => event.kind === 'transition' && event.toStatus === 'paid' && (event.data as any).reason === 'revived'));
  });

  it('ends nothing when the payer cancels a Repay payment whose status cannot be read', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    // Paid a moment ago, and Repay's status API is down: the click cannot tell the shop the order is payable again.
    repay.deals.get('deal-1')!.state = 'completed';
    repay.statusFails = true;
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as any).error.code, 'provider_unavailable');
    assert.equal((await session(t.app, json.id)).status, 'created');
    repay.statusFails = false;
    assert.equal((await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'after-cancel' })).json.id, json.id, 'no second payment');
  });

  it('refuses to cancel a paid session', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const response = await t.app.request(`/api/checkout/sessions/${json.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${json.token}` } });
    assert.equal(response.status, 409);
    assert.equal(((await response.json()) as any).error.code, 'order_paid');
  });
});

describe('persistence and the reconciler', () => {
  it('keeps sessions, events and idempotency keys across a reopen of the database file', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'persist-1' });
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    t = await t.reopen();
    const reread = await t.getSession(json.id, json.token);
    assert.equal(reread.status, 200);
    assert.equal(reread.json.status, 'paid');
    const again = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'persist-1' });
    assert.equal(again.status, 200);
    assert.equal(again.json.id, json.id);
    const log = await events(t.app, json.id);
    assert.deepEqual(
      log.map((event) => event.kind),
      ['created', 'provider_created', 'poll', 'transition'],
    );
    assert.equal(repay.creates, 1);
  });

  it('uses WAL and refuses to rewrite the event log', async () => {
    const store = t.app.checkout.store as SqliteStore;
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    const { json } = await t.createSession({ orderId: 'A-1001' });
    await store.appendEvent({ sessionId: json.id, kind: 'note', data: { x: 1 } });
    assert.throws(() => store.db.prepare('UPDATE events SET kind = ?').run('x'), /append-only/);
    assert.throws(() => store.db.prepare('DELETE FROM events').run(), /append-only/);
  });

  it('migrates a database of an older schema version in place, keeping its rows', async () => {
    const path = join(t.dir, 'old.sqlite');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old.prepare(`INSERT INTO sessions (id, order_id, provider, method, status, amount_minor, currency, customer_ref, storefront_origin, created_at, updated_at, expires_at)
      VALUES ('cs_OLDaaaaaaaaaaaaaaaaaaa', 'A-1', 'repay', 'sbp', 'pending', 100, 'RUB', 'r', 'https://shop.test', 1, 1, 2)`).run();
    old.close();
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion, MIGRATIONS.length);
      assert.equal((await store.getSession('cs_OLDaaaaaaaaaaaaaaaaaaa'))?.status, 'pending');
      const index = store.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'sessions_due'").get() as { sql: string };
      assert.match(index.sql, /next_poll_at IS NOT NULL/);
    } finally {
      await store.close();
    }
  });

  it('migrates the event log and idempotency keys to schema 3 keeping seq, dedupe keys and the append-only rule', async () => {
    const path = join(t.dir, 'v2.sqlite');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.pragma('user_version = 2');
    const insert = old.prepare('INSERT INTO events (session_id, at, kind, data, dedupe_key) VALUES (?, 1, ?, ?, ?)');
    insert.run('cs_OLDaaaaaaaaaaaaaaaaaaa', 'webhook', '{"raw":"a"}', 'webhook:repay:aaa');
    insert.run('cs_OLDaaaaaaaaaaaaaaaaaaa', 'note', '{"n":1}', null);
    insert.run(null, 'note', '{"n":2}', null);
    old.prepare("INSERT INTO idempotency_keys VALUES ('key-1', 'f1', 'cs_OLDaaaaaaaaaaaaaaaaaaa', 5)").run();
    old.close();
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion, MIGRATIONS.length);
      assert.deepEqual((await store.listEvents('cs_OLDaaaaaaaaaaaaaaaaaaa')).map((event) => [event.seq, event.kind]), [[1, 'webhook'], [2, 'note']]);
      assert.equal(await store.appendEvent({ sessionId: 'cs_OLDaaaaaaaaaaaaaaaaaaa', kind: 'webhook', dedupeKey: 'webhook:repay:aaa' }), false);
      assert.equal(await store.appendEvent({ sessionId: 'cs_OLDaaaaaaaaaaaaaaaaaaa', kind: 'note' }), true);
      assert.equal(await store.appendEvent({ sessionId: 'cs_OLDaaaaaaaaaaaaaaaaaaa', kind: 'note' }), true);
      assert.deepEqual((await store.listEvents('cs_OLDaaaaaaaaaaaaaaaaaaa')).map((event) => event.seq), [1, 2, 4, 5]);
      assert.deepEqual(await store.getIdempotencyKey('key-1'), { key: 'key-1', fingerprint: 'f1', sessionId: 'cs_OLDaaaaaaaaaaaaaaaaaaa', createdAt: 5 });
      assert.equal((await store.putIdempotencyKey({ key: 'key-1', fingerprint: 'f2', sessionId: 'cs_x', createdAt: 6 })).fingerprint, 'f1');
      assert.throws(() => store.db.prepare('UPDATE events SET kind = ?').run('x'), /append-only/);
      assert.throws(() => store.db.prepare('DELETE FROM events').run(), /append-only/);
    } finally {
      await store.close();
    }
  });

  it('migrates to schema 7 with when each session was first paid, from its transitions or a paid status', async () => {
    const path = join(t.dir, 'v6.sqlite');
    const old = new Database(path);
    for (const migration of MIGRATIONS.slice(0, 6)) old.exec(migration);
    old.pragma('user_version = 6');
    const insert = old.prepare(`INSERT INTO sessions (id, order_id, provider, method, status, amount_minor, currency, customer_ref, storefront_origin, created_at, updated_at, expires_at)
      VALUES (?, ?, 'repay', 'sbp', ?, 100, 'RUB', 'r', 'https://shop.test', 1, ?, 2)`);
    insert.run('cs_HELDaaaaaaaaaaaaaaaaaa', 'A-1', 'held', 90);
    insert.run('cs_PAIDaaaaaaaaaaaaaaaaaa', 'A-2', 'paid', 70);
    insert.run('cs_OPENaaaaaaaaaaaaaaaaaa', 'A-3', 'pending', 50);
    const transition = old.prepare("INSERT INTO events (session_id, at, kind, from_status, to_status) VALUES (?, ?, 'transition', ?, ?)");
    // Paid, then held by a dispute: first paid at 40. The other paid session's events were pruned.
    transition.run('cs_HELDaaaaaaaaaaaaaaaaaa', 40, 'pending', 'paid');
    transition.run('cs_HELDaaaaaaaaaaaaaaaaaa', 60, 'paid', 'held');
    old.close();
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion, MIGRATIONS.length);
      assert.equal((await store.getSession('cs_HELDaaaaaaaaaaaaaaaaaa'))?.paidAt, 40);
      assert.equal((await store.getSession('cs_PAIDaaaaaaaaaaaaaaaaaa'))?.paidAt, 70);
      assert.equal((await store.getSession('cs_OPENaaaaaaaaaaaaaaaaaa'))?.paidAt, null);
    } finally {
      await store.close();
    }
  });

  it('refuses a database written by a newer helper', () => {
    const path = join(t.dir, 'newer.sqlite');
    const newer = new Database(path);
    newer.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    newer.close();
    assert.throws(() => new SqliteStore(path), /newer than this helper/);
  });

  it('keeps watching an expired session and revives it when the payer pays late', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    const row = await session(t.app, json.id);
    await t.app.checkout.reconciler.tick(row.expiresAt + t.config.reconcile.expiryGraceMs + 1);
    const expired = await session(t.app, json.id);
    assert.equal(expired.status, 'expired');
    assert.ok(expired.nextPollAt !== null, 'still watched');
    repay.deals.get('deal-1')!.state = 'completed';
    const report = await t.app.checkout.reconciler.tick(expired.nextPollAt! + 1);
    assert.equal(report.revived, 1);
    assert.equal((await session(t.app, json.id)).status, 'paid');
    assert.equal((await session(t.app, json.id)).nextPollAt, null);
  });

  it('ends a session past its window only on a status read that found it open, never on a failed one', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    // The payment window is over (and its grace).
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - t.config.reconcile.expiryGraceMs - 1_000 } }));
    const late = Date.now();
    // Paid at the last moment, its callback lost, and Repay's status API down at the deadline.
    repay.deals.get('deal-1')!.state = 'completed';
    repay.statusFails = true;
    assert.equal((await t.app.checkout.reconciler.tick(late)).expired, 0);
    assert.equal((await session(t.app, json.id)).status, 'created');
    // A payer back at the checkout meanwhile is not handed a second payment.
    const again = await t.createSession({ orderId: 'A-1001' });
    assert.equal(again.status, 503);
    assert.equal(again.json.error.code, 'provider_unavailable');
    assert.equal(repay.creates, 1);
    repay.statusFails = false;
    await t.app.checkout.reconciler.tick((await session(t.app, json.id)).nextPollAt! + 1);
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('stops watching an ended session after the late-payment window', async () => {
    await t.dispose();
    t = makeTestApp({ env: { RECONCILE_LATE_PAYMENT_WATCH_MS: '0' } });
    const { json } = await t.createSession({ orderId: 'A-1001' });
    // The payment window is over.
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - 1_000, updatedAt: Date.now() - 1_000 } }));
    repay.deals.get('deal-1')!.state = 'rejected_by_system';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const failed = await session(t.app, json.id);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.nextPollAt, null);
  });

  it('stops watching an ended session an hour after its end, however often the provider answered meanwhile', async (context) => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'rejected_by_system';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const ended = await session(t.app, json.id);
    assert.equal(ended.status, 'failed');
    assert.notEqual(ended.nextPollAt, null, 'watched for a late payment');
    // The clock runs on from poll to poll; every poll finds the deal still rejected.
    context.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    let polls = 0;
    for (let due = ended.nextPollAt; due !== null && polls < 100; due = (await session(t.app, json.id)).nextPollAt) {
      context.mock.timers.setTime(due + 1);
      await t.app.checkout.sessions.refresh(json.id, 'reconcile');
      polls++;
    }
    const { latePaymentWatchMs, maxBackoffMs } = t.config.reconcile;
    assert.equal((await session(t.app, json.id)).nextPollAt, null, `still watched after ${polls} polls`);
    // The watch runs to an hour past the later of the payment window's end and the session's end.
    assert.ok(Date.now() <= Math.max(ended.expiresAt, ended.updatedAt) + latePaymentWatchMs + maxBackoffMs, 'not past the watch by more than one poll');
    assert.equal((await session(t.app, json.id)).updatedAt, ended.updatedAt, 'a poll that finds nothing new changes nothing');
  });

  it('resolves a session left by a crash between the provider call and the write', async () => {
    // The process wrote the row, Repay created the deal, then the process died before recording it.
    const store = t.app.checkout.store;
    const created = Date.now() - 5 * 60_000;
    await store.insertSession(
      sessionRecord({
        id: 'cs_CRASHEDaaaaaaaaaaaaaaa',
        orderId: 'A-1001',
        description: null,
        customerRef: 'ref',
        locale: null,
        storefrontOrigin: SHOP,
        createdAt: created,
        updatedAt: created,
        expiresAt: created + 30 * 60_000,
        nextPollAt: created + 60_000,
      }),
    );
    repay.deals.set('deal-77', { id: 'deal-77', state: 'completed', amount: '1500', orderId: 'cs_CRASHEDaaaaaaaaaaaaaaa', body: {} });
    t = await t.reopen();

    // While the row is unresolved the order is "being created"; the reconciler resolves it.
    const report = await t.app.checkout.reconciler.tick();
    assert.equal(report.interrupted, 1);
    const failed = await session(t.app, 'cs_CRASHEDaaaaaaaaaaaaaaa');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.errorCode, 'interrupted');

    // Repay's success webhook for the lost deal names our session id: the session learns its deal and is paid.
    const hook = await t.post('/api/checkout/webhooks/repay', repay.callback('deal-77', '1500'), 'application/json');
    assert.equal(hook.status, 200);
    assert.equal(await hook.text(), 'OK');
    const paid = await session(t.app, 'cs_CRASHEDaaaaaaaaaaaaaaa');
    assert.equal(paid.status, 'paid');
    assert.equal(paid.providerPaymentId, 'deal-77');
    // A new attempt for the order is refused: it is paid.
    assert.equal((await t.createSession({ orderId: 'A-1001' })).json.error.code, 'order_paid');
  });

  it('lets a new payment start once a crashed row is older than the grace period', async () => {
    const store = t.app.checkout.store;
    const created = Date.now() - 5 * 60_000;
    await store.insertSession({
      id: 'cs_CRASHEDbbbbbbbbbbbbbbb', orderId: 'A-1001', provider: 'repay', method: 'sbp', status: 'created', amountMinor: 150000, currency: 'RUB',
      description: null, customerRef: 'ref', locale: null, storefrontOrigin: SHOP, returnUrl: null, providerPaymentId: null, paymentUrl: null,
      providerStatus: null, providerData: {}, paidAmountMinor: null, errorCode: null, paidAt: null, statusReadAt: null, createdAt: created, updatedAt: created,
      expiresAt: created + 30 * 60_000, nextPollAt: null, pollAttempts: 0, lastPolledAt: null,
    });
    const fresh = await t.createSession({ orderId: 'A-1001' });
    assert.equal(fresh.status, 201);
    assert.equal((await session(t.app, 'cs_CRASHEDbbbbbbbbbbbbbbb')).status, 'failed');
  });

  it('polls open sessions with backoff and applies what the provider says', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    const first = await t.app.checkout.reconciler.tick(Date.now() + 2_000);
    assert.equal(first.polled, 1);
    const afterFirst = await session(t.app, json.id);
    assert.equal(afterFirst.status, 'pending');
    assert.equal(afterFirst.pollAttempts, 1);
    // Backoff doubles per attempt (1 s minimum in the test config): not due before then. (The two times are two
    // readings of the clock, which may fall a millisecond apart.)
    assert.equal(Math.round((afterFirst.nextPollAt! - afterFirst.lastPolledAt!) / 1_000), 2);
    const second = await t.app.checkout.reconciler.tick(afterFirst.nextPollAt! - 1);
    assert.equal(second.polled, 0);
    repay.deals.get('deal-1')!.state = 'completed';
    const third = await t.app.checkout.reconciler.tick(afterFirst.nextPollAt! + 1);
    assert.equal(third.polled, 1);
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('expires a session after the provider window when the provider never says so', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    const row = await session(t.app, json.id);
    const report = await t.app.checkout.reconciler.tick(row.expiresAt + t.config.reconcile.expiryGraceMs + 1);
    assert.equal(report.expired, 1);
    assert.equal((await session(t.app, json.id)).status, 'expired');
    // …and a new attempt opens a new deal.
    assert.equal((await t.createSession({ orderId: 'A-1001' })).status, 201);
  });

  it('records a failed status query and keeps the last verified status', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.statusFails = true;
    await t.app.checkout.reconciler.tick(Date.now() + 2_000);
    const row = await session(t.app, json.id);
    assert.equal(row.status, 'created');
    assert.ok((await events(t.app, json.id)).some((event) => event.kind === 'poll_failed'));
  });

  it('runs inside the app and stops cleanly', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { nextPollAt: Date.now() } }));
    t.app.checkout.reconciler.start();
    t.app.checkout.reconciler.start();
    // Started, it polls the due session on its own.
    for (let waited = 0; repay.statusCalls === 0 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    await t.app.checkout.reconciler.stop();
    await t.app.checkout.reconciler.stop();
    assert.equal(repay.statusCalls, 1);
    assert.equal((await session(t.app, json.id)).status, 'pending');
  });
});

describe('config and the demo log', () => {
  it('describes the providers', async () => {
    const response = await t.app.request('/api/checkout/config');
    const json = (await response.json()) as any;
    assert.equal(json.currency, 'RUB');
    assert.equal(json.defaultProvider, 'repay');
    assert.equal(json.sandbox, false);
    assert.deepEqual(json.providers.map((p: any) => p.id), ['repay', 'boxexchanger', 'agetrading']);
    const repayEntry = json.providers[0];
    assert.equal(repayEntry.name, 'Repay');
    assert.equal(repayEntry.minAmount, 100);
    assert.equal(repayEntry.sandbox, false);
    assert.equal(repayEntry.frameable, true);
    assert.deepEqual(repayEntry.methods, [
      { id: 'sbp', label: { ru: 'СБП', en: 'SBP (Faster Payments)' } },
      { id: 'card', label: { ru: 'Банковская карта', en: 'Bank card' } },
    ]);
  });

  it('hides the demo session log when a merchant resolveOrder() is configured', async () => {
    assert.equal((await t.app.request('/api/checkout/demo/sessions')).status, 404);
  });

  it('serves the demo session log in test mode with the demo catalogue: newest first, no tokens, payment URLs or raw provider data', async () => {
    await t.dispose();
    const lines: string[] = [];
    t = makeTestApp({ env: { CHECKOUT_MODE: 'test' }, config: { resolveOrder: undefined, logger: createLogger('warn', (line) => lines.push(line)) } });
    // Real (here: mocked) provider credentials with the demo catalogue: said at start-up.
    assert.ok(lines.some((line) => /CHECKOUT_MODE=test with real credentials for repay, boxexchanger, agetrading and the demo catalogue/.test(line)), lines.join('\n'));
    const first = await t.createSession({ orderId: 'samovar-a1b2' });
    const second = await t.createSession({ orderId: 'tea-c3d4' });
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    await t.post('/api/checkout/webhooks/repay', repay.callback(deal.id, '8900'), 'application/json');
    const list = (await (await t.app.request('/api/checkout/demo/sessions')).json()) as any;
    assert.deepEqual(list.sessions.map((s: any) => s.id), [second.json.id, first.json.id]);
    assert.ok(list.sessions.every((s: any) => s.token === undefined && s.paymentUrl === null));
    const log = (await (await t.app.request(`/api/checkout/demo/sessions/${first.json.id}/events`)).json()) as any;
    assert.deepEqual(log.events.slice(0, 2).map((e: any) => e.kind), ['created', 'provider_created']);
    assert.ok(log.events.some((e: any) => e.kind === 'webhook'));
    const text = JSON.stringify(log);
    assert.ok(!text.includes('repay-secret'));
    assert.ok(!text.includes('signature') && !text.includes(deal.id + ':'), 'no signed callback is published');
    assert.ok(!text.includes('payment_url'), 'no provider answer is published');
  });

  it('describes a demo order in the element\'s language', async () => {
    assert.equal((await demoResolveOrder('samovar-a1b2', { locale: 'en' }))?.description, 'Tula samovar');
    assert.equal((await demoResolveOrder('samovar-a1b2', { locale: 'ru' }))?.description, 'Самовар «Тульский»');
    assert.equal((await demoResolveOrder('samovar-a1b2', {}))?.description, 'Самовар «Тульский»');
  });

  it('has no demo session log in live mode', async () => {
    assert.equal(t.config.mode, 'live');
    assert.equal((await t.app.request('/api/checkout/demo/sessions')).status, 404);
  });
});
