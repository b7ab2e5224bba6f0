// Attacks on the helper that must fail: forged, replayed or adopted callbacks, a sandbox reachable in production,
// idempotency keys that skip the order lookup, nonce races, log flooding, anonymous status reads, token parsing,
// slow senders. Real HTTP and SQLite; the providers are msw mocks or the embedded sandbox.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { http, HttpResponse } from 'msw';
import { ConfigError, createCheckoutApp, loadConfig, startServer } from '../../server-example/index.js';
import { createLogger } from '../../server-example/logger.js';
import { generateWebhookSecret } from '../../server-example/merchant-webhooks/signing.js';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { ProviderPaymentTakenError } from '../../server-example/store.js';
import { providerReference } from '../../server-example/sessions.js';
import { ORDER_ATTEMPTS_PER_WINDOW } from '../../server-example/sessions/create.js';
import { BOX, events, makeTestApp, md5, session, testEnv, useProviderMocks } from './checkout-fixtures.js';
import type { AgeMock, BoxMock, Orders, RepayMock, TestApp } from './checkout-fixtures.js';

let t: TestApp;
let repay: RepayMock;
let box: BoxMock;
let age: AgeMock;
const msw = useProviderMocks((mocks) => ({ t, repay, box, age } = mocks), () => t);

const repayHook = (body: string) => t.post('/api/checkout/webhooks/repay', body, 'application/json');
const errorCode = async (response: Response) => ((await response.json()) as any).error.code as string;

/** A fresh app with these orders (and settings) in place of the default one. */
async function withOrders(orders: Orders, env: Record<string, string> = {}): Promise<void> {
  await t.dispose();
  t = makeTestApp({ orders, env });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pay-checkout-hardening-'));
}

describe('live mode never falls back to the sandbox', () => {
  const live = (dir: string, extra: Record<string, string> = {}) => ({ ...testEnv(dir), CHECKOUT_MODE: 'live', ...extra });

  it('refuses to start with a mistyped provider variable, naming it', () => {
    const dir = tempDir();
    const env: Record<string, string> = live(dir, { REPAY_CASA_ID: 'cassa-1' });
    delete env.REPAY_CASSA_ID;
    assert.throws(() => loadConfig(env), (error: unknown) => error instanceof ConfigError && /REPAY_CASA_ID/.test(error.message) && /REPAY_CASSA_ID/.test(error.message));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start while an enabled provider lacks credentials', () => {
    const dir = tempDir();
    const env: Record<string, string> = live(dir);
    for (const name of Object.keys(env)) if (name.startsWith('AGETRADING_')) delete env[name];
    assert.throws(() => loadConfig(env), /age\.trading has no credentials/);
    assert.equal(loadConfig({ ...env, CHECKOUT_PROVIDERS: 'repay,boxexchanger' }).mode, 'live');
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the switch a half-configured provider is missing, in test mode too', () => {
    assert.throws(() => loadConfig({ DATABASE_PATH: ':memory:', CHECKOUT_MODE: 'test', REPAY_SECRET_WORD_1: 'x' }), /REPAY_CASSA_ID is required/);
  });

  it('has no localhost default among the allowed origins, and needs PUBLIC_URL', () => {
    const dir = tempDir();
    const env: Record<string, string> = live(dir);
    delete env.ALLOWED_ORIGINS;
    assert.deepEqual(loadConfig(env).allowedOrigins, ['https://merchant.test']);
    delete env.PUBLIC_URL;
    assert.throws(() => loadConfig(env), /PUBLIC_URL/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says at start-up when the order lookup or a webhook goes over plain http to another machine', async () => {
    const secret = generateWebhookSecret();
    const warnings = async (extra: Record<string, string>): Promise<string[]> => {
      const dir = tempDir();
      const lines: string[] = [];
      const app = createCheckoutApp({ ...loadConfig(live(dir, { MERCHANT_WEBHOOK_SECRET: secret, ...extra })), logger: createLogger('warn', (line) => lines.push(line)) });
      await app.checkout.close();
      rmSync(dir, { recursive: true, force: true });
      return lines.filter((line) => /plain http/.test(line));
    };
    const plain = await warnings({ ORDER_RESOLVE_URL: 'http://shop.internal/pay-checkout/order', MERCHANT_WEBHOOK_URL: 'http://shop.internal/hooks?token=abc' });
    assert.equal(plain.length, 2);
    assert.match(plain[0]!, /ORDER_RESOLVE_URL/);
    assert.match(plain[1]!, /MERCHANT_WEBHOOK_URL.*http:\/\/shop\.internal/);
    assert.ok(!plain.some((line) => line.includes('token=abc')), 'the URL\'s query is not logged');
    assert.deepEqual(await warnings({ ORDER_RESOLVE_URL: 'https://shop.example/pay-checkout/order', MERCHANT_WEBHOOK_URL: 'http://127.0.0.1:8000/hooks' }), []);
    // The helper's own address and the storefronts too.
    const site = await warnings({ ORDER_RESOLVE_URL: 'https://shop.example/pay-checkout/order', PUBLIC_URL: 'http://pay.shop.example', ALLOWED_ORIGINS: 'http://shop.example' });
    assert.equal(site.length, 2);
    assert.match(site[0]!, /PUBLIC_URL/);
    assert.match(site[1]!, /ALLOWED_ORIGINS.*http:\/\/shop\.example/);
  });

  it('refuses the demo catalogue', () => {
    const dir = tempDir();
    assert.throws(() => createCheckoutApp(loadConfig(live(dir))), /demo catalogue/);
    rmSync(dir, { recursive: true, force: true });
  });

  it('does not mount the sandbox', async () => {
    msw.close(); // real HTTP only in this test
    const dir = tempDir();
    const server = await startServer({ port: 0, env: live(dir), resolveOrder: () => ({ amount: '1500', currency: 'RUB' }), reconcile: false });
    try {
      assert.equal(server.config.mode, 'live');
      assert.equal((await fetch(`${server.url}/sandbox/credentials`)).status, 404);
      const deal = await fetch(`${server.url}/sandbox/repay/api/v1/private/deals/`, { method: 'POST', body: '{}' });
      assert.equal(deal.status, 404);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      msw.listen({ onUnhandledRequest: 'error' });
    }
  });
});

describe('the test-mode sandbox calls back only its own helper', () => {
  it('refuses to send a webhook to another address, and its log echoes no answer', async () => {
    msw.close(); // real HTTP only in this test
    const dir = tempDir();
    const received: string[] = [];
    const victim: Server = createServer((request, response) => {
      received.push(request.url ?? '');
      response.end('internal secret answer');
    });
    await new Promise<void>((resolve) => victim.listen(0, '127.0.0.1', resolve));
    const victimUrl = `http://127.0.0.1:${(victim.address() as AddressInfo).port}`;
    const server = await startServer({ port: 0, env: { DATABASE_PATH: join(dir, 'db.sqlite'), LOG_LEVEL: 'silent' }, reconcile: false });
    try {
      assert.equal(server.config.mode, 'test');
      const account = SANDBOX_ACCOUNTS.repay;
      // Amount 101 completes by itself at the sandbox and sends the webhook.
      const response = await fetch(`${server.url}/sandbox/repay/api/v1/private/deals/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          cassa_id: account.cassaId,
          amount: '101',
          currency: 'RUB',
          payment_method_id: account.methods.sbp,
          order_id: 'probe',
          success_url: `${server.url}/ok`,
          error_url: `${server.url}/error`,
          cancel_url: `${server.url}/cancel`,
          webhook_url: `${victimUrl}/internal`,
          payload: { user_id: 'u', trusted: false },
          signature: md5(`${account.cassaId}:101:${account.secretWord1}`),
        }),
      });
      assert.equal(response.status, 200, await response.clone().text());
      let log: any[] = [];
      while (log.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        log = (await (await fetch(`${server.url}/sandbox/_log`)).json()) as any[];
      }
      assert.equal(received.length, 0, 'nothing reached the other address');
      assert.equal(log[0].delivered, false);
      assert.match(log[0].error, /refused/);
      assert.ok(!JSON.stringify(log).includes('internal secret answer'));
      assert.ok(!('response' in log[0]));
    } finally {
      await server.close();
      await new Promise<void>((resolve) => victim.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
      msw.listen({ onUnhandledRequest: 'error' });
    }
  });
});

describe('one payment never pays two orders', () => {
  const sameAmount: Orders = {
    'O-1': { amount: '1500', currency: 'RUB', customerId: 'c1' },
    'O-2': { amount: '1500', currency: 'RUB', customerId: 'c2' },
  };

  it('refuses a signed callback whose order reference was moved to another session', async () => {
    await withOrders(sameAmount);
    const a = (await t.createSession({ orderId: 'O-1' })).json;
    const b = (await t.createSession({ orderId: 'O-2' })).json;
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    const moved = repay.callback(deal.id, '1500', { order_id: providerReference('O-2', b.id) });
    const response = await repayHook(moved);
    assert.equal(response.status, 400);
    assert.equal(await errorCode(response), 'invalid_webhook');
    assert.equal((await session(t.app, b.id)).status, 'created');
    assert.equal((await session(t.app, a.id)).status, 'created', 'the rejected callback did not act for its own session either');
    assert.equal((await t.app.checkout.store.listRejectedCallbacks(5))[0]?.code, 'invalid_webhook');
  });

  it('refuses to let a crash-orphaned session adopt a payment another session owns', async () => {
    await withOrders(sameAmount);
    await t.createSession({ orderId: 'O-1' });
    const b = (await t.createSession({ orderId: 'O-2' })).json;
    // As if the helper had died between Repay's answer and storing it.
    await t.app.checkout.store.mutate(b.id, () => ({ patch: { providerPaymentId: null, paymentUrl: null } }));
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    const response = await repayHook(repay.callback(deal.id, '1500', { order_id: providerReference('O-2', b.id) }));
    assert.equal(response.status, 400);
    const orphan = await session(t.app, b.id);
    assert.equal(orphan.providerPaymentId, null);
    assert.equal(orphan.status, 'created');
  });

  it('adopts an unowned payment only for a signed callback of exactly the session\'s amount', async () => {
    await withOrders(sameAmount);
    const a = (await t.createSession({ orderId: 'O-1' })).json;
    await t.app.checkout.store.mutate(a.id, () => ({ patch: { providerPaymentId: null, paymentUrl: null } }));
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    const other = await repayHook(repay.callback(deal.id, '1400', { order_id: providerReference('O-1', a.id) }));
    assert.equal(other.status, 400);
    assert.equal((await session(t.app, a.id)).providerPaymentId, null);
    const exact = await repayHook(repay.callback(deal.id, '1500', { order_id: providerReference('O-1', a.id) }));
    assert.equal(exact.status, 200);
    const adopted = await session(t.app, a.id);
    assert.equal(adopted.providerPaymentId, deal.id);
    assert.equal(adopted.status, 'paid', 'what the status query says is applied');
  });

  for (const [state, status] of [['completed', 'paid'], ['waiting_payment', 'pending']] as const) {
    it(`leaves a payment ${status} and watched that a signed callback adopted while its creation failed to get an answer`, async () => {
      await withOrders(sameAmount);
      repay.onCreate = async () => {
        repay.onCreate = undefined;
        // Repay made the deal and the payer paid it (its status API may still say waiting_payment); its answer to the
        // create call never arrives (a 502 on the way).
        const [creating] = await t.app.checkout.store.listSessions(1);
        repay.deals.set('deal-9', { id: 'deal-9', state, amount: '1500', orderId: providerReference('O-1', creating!.id), body: {} });
        assert.equal((await repayHook(repay.callback('deal-9', '1500'))).status, 200);
        repay.nextError = { status: 502, body: 'Bad gateway' };
      };
      const { status: answered, json } = await t.createSession({ orderId: 'O-1' });
      assert.equal(answered, 503);
      assert.equal(json.error.code, 'provider_unavailable');
      const [row] = await t.app.checkout.store.listSessions(1);
      assert.equal(row!.providerPaymentId, 'deal-9');
      assert.equal(row!.status, status);
      // Repay's one callback was answered: only the reconciler's reads can tell what becomes of the payment.
      repay.deals.get('deal-9')!.state = 'completed';
      await t.app.checkout.reconciler.tick(Date.now() + 3_600_000);
      assert.equal((await session(t.app, row!.id)).status, 'paid');
    });
  }

  /** A session of O-1 whose Repay deal is completed at Repay: nothing read or called back yet. */
  async function completedDeal() {
    await withOrders(sameAmount);
    const a = (await t.createSession({ orderId: 'O-1' })).json;
    const deal = repay.deals.get((await session(t.app, a.id)).providerPaymentId!)!;
    deal.state = 'completed';
    return { a, deal };
  }

  /** Repay's signed callback for the deal with `amount`. */
  const signed = (deal: { id: string }, amount: string) => repayHook(repay.callback(deal.id, amount));

  it('holds a payment whose signed callback names another amount than the status answer, before and after it was paid', async () => {
    const { a, deal } = await completedDeal();
    // Repay signs what the payer paid (500); its status answer still names the deal's 1500.
    assert.equal((await signed(deal, '500')).status, 200);
    const short = await session(t.app, a.id);
    assert.equal(short.status, 'held');
    assert.equal(short.errorCode, 'amount_mismatch');
    // The next poll brings the same answer: still held, for a person to look at.
    await t.app.checkout.reconciler.tick(Date.now() + 3_600_000);
    assert.equal((await session(t.app, a.id)).status, 'held');

    const b = (await t.createSession({ orderId: 'O-2' })).json;
    const other = repay.deals.get((await session(t.app, b.id)).providerPaymentId!)!;
    other.state = 'completed';
    assert.equal((await signed(other, '1500')).status, 200);
    assert.equal((await session(t.app, b.id)).status, 'paid', 'the signed amount and the status answer agree');
    // A dispute changes the paid amount: Repay calls again with the new amount, its status answer unchanged.
    assert.equal((await signed(other, '1000')).status, 200);
    const disputed = await session(t.app, b.id);
    assert.equal(disputed.status, 'held');
    assert.equal(disputed.errorCode, 'amount_mismatch');
  });

  it('keeps a payment held when an older signed amount arrives after a newer one, until a person settles it', async () => {
    const { a, deal } = await completedDeal();
    // The success callback (1500) is lost on the way; the dispute's (1000) arrives; then Repay's retry of the first.
    assert.equal((await signed(deal, '1000')).status, 200);
    assert.equal((await session(t.app, a.id)).status, 'held');
    assert.equal((await signed(deal, '1500')).status, 200);
    assert.equal((await session(t.app, a.id)).status, 'held', 'the latest to arrive is not the latest news: Repay stamps no time');

    const resolved = await t.app.checkout.sessions.resolveHeld(a.id, 'paid', 'Checked with Repay: 1500 arrived');
    assert.equal(resolved.status, 'paid');
    // A dispute later, won: the amounts the person saw do not hold it again.
    deal.state = 'proceedings';
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    assert.equal((await session(t.app, a.id)).status, 'held');
    deal.state = 'completed';
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    assert.equal((await session(t.app, a.id)).status, 'paid');
  });

  it('holds a payment a person accepted when Repay then signs another amount, its status answer unchanged', async () => {
    const { a, deal } = await completedDeal();
    assert.equal((await signed(deal, '1000')).status, 200);
    await t.app.checkout.sessions.resolveHeld(a.id, 'paid', 'Accepted 1000 for this order');
    // The same answer again leaves the decision; a dispute's new signed amount does not.
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    assert.equal((await session(t.app, a.id)).status, 'paid');
    assert.equal((await signed(deal, '800')).status, 200);
    const again = await session(t.app, a.id);
    assert.equal(again.status, 'held');
    assert.equal(again.errorCode, 'amount_mismatch');
  });

  it('leaves a payment a person accepted as paid when Repay then signs the very amount they accepted', async () => {
    const { a, deal } = await completedDeal();
    // Repay's status names 1400 for the 1500 order: held; a person accepts it.
    deal.amount = '1400';
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    assert.equal((await session(t.app, a.id)).errorCode, 'amount_mismatch');
    await t.app.checkout.sessions.resolveHeld(a.id, 'paid', 'Accepted 1400');
    assert.equal((await signed(deal, '1400')).status, 200);
    assert.equal((await session(t.app, a.id)).status, 'paid');
  });

  it('keeps counting the signed amount of a payment a person settled as failed', async () => {
    const { a, deal } = await completedDeal();
    assert.equal((await signed(deal, '1000')).status, 200);
    assert.equal((await session(t.app, a.id)).status, 'held');
    await t.app.checkout.sessions.resolveHeld(a.id, 'failed', 'Repay says 1000 arrived; the order needs 1500');
    // The same answer again leaves the decision.
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    assert.equal((await session(t.app, a.id)).status, 'failed');
    // A dispute and back: Repay's status names 1500 again, but what it signed was 1000.
    deal.state = 'proceedings';
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    deal.state = 'completed';
    await t.app.checkout.sessions.refresh(a.id, 'reconcile');
    const after = await session(t.app, a.id);
    assert.notEqual(after.status, 'paid');
    assert.equal(after.errorCode, 'amount_mismatch');
  });

  it('keeps what a signed callback read while the create call was out, when the create answer comes after it', async () => {
    await withOrders(sameAmount);
    repay.onCreate = async () => {
      repay.onCreate = undefined;
      // Repay has made the deal (the id its answer will carry) and the payer has started paying: its callback arrives
      // before its answer to the create call.
      const [creating] = await t.app.checkout.store.listSessions(1);
      const id = `deal-${repay.counter + 1}`;
      repay.deals.set(id, { id, state: 'waiting_payment', amount: '1500', orderId: providerReference('O-1', creating!.id), body: {} });
      assert.equal((await repayHook(repay.callback(id, '1500'))).status, 200);
      assert.equal((await session(t.app, creating!.id)).status, 'pending');
    };
    const { status: answered, json } = await t.createSession({ orderId: 'O-1' });
    assert.equal(answered, 201);
    const row = await session(t.app, json.id);
    assert.equal(row.providerPaymentId, `deal-${repay.counter}`);
    assert.equal(row.status, 'pending', 'the create answer (state created) is older than the status read');
    assert.equal(row.providerStatus, 'waiting_payment');
    assert.equal(json.status, 'pending', 'the browser is told what the helper holds');
  });

  it('keeps reading a crash-orphaned session that adopted a payment still under way, and opens no second payment meanwhile', async () => {
    await withOrders(sameAmount);
    const a = (await t.createSession({ orderId: 'O-1' })).json;
    // As if the helper had died between Repay's answer and storing it.
    await t.app.checkout.store.mutate(a.id, () => ({ patch: { providerPaymentId: null, paymentUrl: null } }));
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'waiting_payment';
    assert.equal((await repayHook(repay.callback(deal.id, '1500', { order_id: providerReference('O-1', a.id) }))).status, 200);
    assert.equal((await session(t.app, a.id)).status, 'pending');
    const later = Date.now() + t.config.reconcile.crashGraceMs + 60_000;
    await t.app.checkout.reconciler.tick(later);
    assert.equal((await session(t.app, a.id)).status, 'pending', 'not taken for a crash\'s leftover');

    // The payer asks again past the crash grace: the adopted payment may still be paid, so no second one.
    const creates = repay.creates;
    await t.app.checkout.store.mutate(a.id, (current) => ({ patch: { createdAt: current.createdAt - t.config.reconcile.crashGraceMs - 1 } }));
    const again = await t.createSession({ orderId: 'O-1' });
    assert.equal(again.status, 503);
    assert.equal(repay.creates, creates);

    deal.state = 'completed';
    await t.app.checkout.reconciler.tick(later + 3_600_000);
    assert.equal((await session(t.app, a.id)).status, 'paid');
  });

  it('stores a provider payment id on one session at most', async () => {
    await withOrders(sameAmount);
    await t.createSession({ orderId: 'O-1' });
    const b = (await t.createSession({ orderId: 'O-2' })).json;
    await assert.rejects(t.app.checkout.store.mutate(b.id, () => ({ patch: { providerPaymentId: 'deal-1' } })), ProviderPaymentTakenError);
    assert.equal((await session(t.app, b.id)).providerPaymentId, 'deal-2');
  });

  it('refuses a BoxExchanger IPN posted to a session URL that does not exist', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = [...box.orders.values()][0]!;
    order.status = 'done';
    const ipnSecret = (await session(t.app, json.id)).providerData.ipnSecret as string;
    const gets = box.gets;
    const response = await t.post('/api/checkout/webhooks/boxexchanger/cs_AAAAAAAAAAAAAAAAAAAAAA', box.ipn(order, ipnSecret, 'done'), 'application/x-www-form-urlencoded');
    assert.ok(response.status >= 400 && response.status < 500, String(response.status));
    assert.equal(box.gets, gets, 'nothing was re-read on its word');
    assert.equal((await session(t.app, json.id)).status, 'created');
  });
});

describe('one order is never paid twice silently', () => {
  it('hands back a payment BoxExchanger is checking also when the order is over its attempt limit', async () => {
    repay.nextError = { status: 503, body: { code: 503 } };
    for (let attempt = 1; attempt < ORDER_ATTEMPTS_PER_WINDOW; attempt++) {
      assert.equal((await t.createSession({ orderId: 'A-1001', provider: 'repay' }, { 'idempotency-key': `outage-${attempt}` })).status, 503);
    }
    repay.nextError = undefined;
    const open = (await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' }, { 'idempotency-key': 'box' })).json;
    // The payer said "I have paid"; the window passed while BoxExchanger checks (not read here since).
    box.orders.get((await session(t.app, open.id)).providerPaymentId!)!.status = 'inProgress';
    await t.app.checkout.store.mutate(open.id, () => ({ patch: { expiresAt: Date.now() - 60_000, lastPolledAt: Date.now() - 60_000 } }));
    const again = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' }, { 'idempotency-key': 'back' });
    assert.deepEqual([again.status, again.json.id], [200, open.id]);
  });

  it('asks Repay before a payer cancel it cannot send: a deal paid a moment ago is paid, not cancelled', async () => {
    const opened = (await t.createSession({ orderId: 'A-1001', provider: 'repay' })).json;
    repay.deals.get('deal-1')!.state = 'completed';
    const statusCalls = repay.statusCalls;
    const cancelled = await t.app.request(`/api/checkout/sessions/${opened.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${opened.token}` } });
    assert.equal(((await cancelled.json()) as any).status, 'paid');
    assert.equal(repay.statusCalls, statusCalls + 1);
    assert.equal((await session(t.app, opened.id)).status, 'paid');
    const transitions = (await events(t.app, opened.id)).filter((event) => event.kind === 'transition');
    assert.deepEqual(transitions.map((event) => event.toStatus), ['paid']);
  });

  it('keeps watching a Repay deal cancelled only locally, says so, and holds its late payment when another session paid the order', async () => {
    const first = (await t.createSession({ orderId: 'A-1001', provider: 'repay' })).json;
    const cancelled = await t.app.request(`/api/checkout/sessions/${first.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${first.token}` } });
    const cancelBody = (await cancelled.json()) as any;
    assert.equal(cancelBody.status, 'cancelled');
    assert.equal(cancelBody.cancelledAtProvider, false);
    assert.notEqual((await session(t.app, first.id)).nextPollAt, null, 'the deal is still polled');

    const second = (await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' })).json;
    assert.equal(second.provider, 'boxexchanger');
    [...box.orders.values()][0]!.status = 'done';
    await t.app.checkout.sessions.refresh(second.id, 'reconcile');
    assert.equal((await session(t.app, second.id)).status, 'paid');

    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(first.id, 'reconcile');
    const late = await session(t.app, first.id);
    assert.equal(late.status, 'held');
    assert.equal(late.errorCode, 'duplicate_payment');
  });
});

describe('Idempotency-Key', () => {
  it('resolves the order on every request: another user with the key gets neither the session nor its token', async () => {
    const owners: Record<string, string> = { 'A-1001': 'alice' };
    await t.dispose();
    t = makeTestApp({
      config: {
        resolveOrder: (orderId, context) =>
          context.request?.headers.get('cookie') === `user=${owners[orderId]}` ? { amount: '1500', currency: 'RUB' } : null,
      },
    });
    const alice = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'k-1', cookie: 'user=alice' });
    assert.equal(alice.status, 201);
    const mallory = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'k-1', cookie: 'user=mallory' });
    assert.equal(mallory.status, 404);
    assert.equal(mallory.json.error.code, 'unknown_order');
    assert.equal(mallory.json.token, undefined);
  });

  it('binds a key to the resolved price: a changed price is a conflict, and the old session is never paid at the old amount', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const first = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'k-2' });
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    const replay = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'k-2' });
    assert.equal(replay.status, 409);
    assert.equal(replay.json.error.code, 'idempotency_key_reused');
    const fresh = await t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'k-3' });
    assert.equal(fresh.status, 201);
    assert.equal(fresh.json.amount, '1800.00');
    assert.equal((await session(t.app, first.json.id)).errorCode, 'order_changed');
    // The payer still pays the old deal at the old price: a person must look.
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    const old = await session(t.app, first.json.id);
    assert.equal(old.status, 'held');
    assert.equal(old.errorCode, 'order_changed');
  });

  it('keeps an order-changed session from ever counting as paid, even after its held reason changed', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const first = await t.createSession({ orderId: 'A-1001' });
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    assert.equal((await t.createSession({ orderId: 'A-1001' })).status, 201);
    // The old deal is reported paid at yet another amount (a dispute corrects amounts), then at the old price.
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    deal.amount = '1400.00';
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    assert.equal((await session(t.app, first.json.id)).status, 'held');
    deal.amount = '1500.00';
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    const old = await session(t.app, first.json.id);
    assert.equal(old.status, 'held');
    assert.equal(old.errorCode, 'order_changed');
  });

  it('keeps an order-changed session held when the new session that was paid too stops counting as paid', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const first = await t.createSession({ orderId: 'A-1001' });
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    const second = await t.createSession({ orderId: 'A-1001' });
    // Both pages paid: the new price, then the stale one (a duplicate payment for a paid order).
    repay.deals.get('deal-2')!.state = 'completed';
    await t.app.checkout.sessions.refresh(second.json.id, 'reconcile');
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    assert.equal((await session(t.app, first.json.id)).status, 'held');
    // The new payment goes into a dispute; the stale one must still not pay an 1800 order with 1500.
    repay.deals.get('deal-2')!.state = 'proceedings';
    await t.app.checkout.sessions.refresh(second.json.id, 'reconcile');
    assert.equal((await session(t.app, second.json.id)).status, 'held');
    await t.app.checkout.sessions.refresh(first.json.id, 'reconcile');
    const old = await session(t.app, first.json.id);
    assert.equal(old.status, 'held');
    assert.equal(old.errorCode, 'order_changed');
  });

  it('holds a payment of a session whose order the shop now prices differently, though nobody asked for a new one', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const opened = await t.createSession({ orderId: 'A-1001' });
    // The cart grows in another tab; the payer pays the page they already have, at the old price.
    orders['A-1001'] = { amount: '15000', currency: 'RUB' };
    repay.deals.get('deal-1')!.state = 'completed';
    assert.equal((await repayHook(repay.callback('deal-1', '1500'))).status, 200);
    const held = await session(t.app, opened.json.id);
    assert.equal(held.status, 'held');
    assert.equal(held.errorCode, 'order_changed');
    assert.equal(held.paidAmountMinor, 150000);
  });

  it('holds a payment for an order the shop has paid already by other means, as a second payment', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const opened = await t.createSession({ orderId: 'A-1001' });
    // The payer paid by bank transfer meanwhile and the shop marked the order paid; then the page is paid as well.
    orders['A-1001'] = { amount: '1500', currency: 'RUB', paid: true };
    repay.deals.get('deal-1')!.state = 'completed';
    assert.equal((await repayHook(repay.callback('deal-1', '1500'))).status, 200);
    const held = await session(t.app, opened.json.id);
    assert.equal(held.status, 'held');
    assert.equal(held.errorCode, 'duplicate_payment');
    // A lookup that fails does not lift the hold; the shop's answer that the order is not paid (the transfer went
    // back) does.
    Object.defineProperty(orders, 'A-1001', { configurable: true, get: () => { throw new Error('shop database away'); } });
    await t.app.checkout.reconciler.tick(Date.now() + 3_600_000);
    const still = await session(t.app, opened.json.id);
    assert.equal(still.pollAttempts, held.pollAttempts + 1, 'read, with the lookup failing');
    assert.equal(still.status, 'held');
    Object.defineProperty(orders, 'A-1001', { configurable: true, writable: true, value: { amount: '1500', currency: 'RUB', paid: false } });
    await t.app.checkout.reconciler.tick(Date.now() + 7_200_000);
    assert.equal((await session(t.app, opened.json.id)).status, 'paid');
  });

  /** Two payment pages of order O-1 open at once: the first one's session cancelled here (its deal still payable). */
  async function twoPagesOfOneOrder(orders: Orders = { 'O-1': { amount: '1500', currency: 'RUB' } }) {
    await withOrders(orders);
    const first = (await t.createSession({ orderId: 'O-1' })).json;
    await t.app.checkout.store.mutate(first.id, () => ({ patch: { status: 'cancelled' } }));
    const second = (await t.createSession({ orderId: 'O-1' })).json;
    const deal = async (id: string) => repay.deals.get((await session(t.app, id)).providerPaymentId!)!;
    return { first, second, firstDeal: await deal(first.id), secondDeal: await deal(second.id) };
  }

  /** Repay reports the session's deal in `state`, and the helper reads it. */
  async function readAs(id: string, deal: { state: string }, state: string): Promise<void> {
    deal.state = state;
    await t.app.checkout.sessions.refresh(id, 'reconcile');
  }

  /** Two pages of O-1 both paid: the second page's payment counts, the first page's is held as the second payment. */
  async function orderPaidTwice() {
    const pages = await twoPagesOfOneOrder();
    await readAs(pages.second.id, pages.secondDeal, 'completed');
    await readAs(pages.first.id, pages.firstDeal, 'completed');
    return pages;
  }

  it('reads a second payment held for the order at once when the order\'s paid one is refunded, long after its own watch ended', async () => {
    const { first, second } = await orderPaidTwice();
    assert.equal((await session(t.app, first.id)).errorCode, 'duplicate_payment');
    // Its watch is over (nothing reads it any more); a day later the paid payment is refunded.
    await t.app.checkout.store.mutate(first.id, () => ({ patch: { nextPollAt: null } }));
    await t.app.checkout.sessions.apply(second.id, { rawStatus: 'refunded', status: 'refunded', raw: {} }, 'poll');
    const due = await session(t.app, first.id);
    assert.ok(due.nextPollAt !== null && due.nextPollAt <= Date.now());
    await t.app.checkout.reconciler.tick(Date.now());
    assert.equal((await session(t.app, first.id)).status, 'paid');
  });

  it('keeps a second payment held while the order\'s payment is in a dispute, and lets it count at once when that one is lost', async () => {
    const { first, second, firstDeal, secondDeal } = await twoPagesOfOneOrder();
    await readAs(second.id, secondDeal, 'completed');
    await readAs(second.id, secondDeal, 'proceedings');
    assert.equal((await session(t.app, second.id)).status, 'held');
    await readAs(first.id, firstDeal, 'completed');
    assert.equal((await session(t.app, first.id)).errorCode, 'duplicate_payment', 'the dispute may yet end in the first payment\'s favour');
    // Its watch ended long ago, and its next read fails: the dispute's end still gets it read until one succeeds.
    await t.app.checkout.store.mutate(first.id, (current) => ({ patch: { nextPollAt: null, updatedAt: current.updatedAt - 30 * 86_400_000 } }));
    await readAs(second.id, secondDeal, 'reject_by_office');
    assert.equal((await session(t.app, second.id)).status, 'failed');
    repay.statusFails = true;
    await t.app.checkout.reconciler.tick(Date.now());
    assert.notEqual((await session(t.app, first.id)).nextPollAt, null);
    repay.statusFails = false;
    await t.app.checkout.reconciler.tick(Date.now() + 3_600_000);
    assert.equal((await session(t.app, first.id)).status, 'paid');
  });

  it('lets the order\'s payment win its dispute over a payment held as the second one, and a person cannot accept that one meanwhile', async () => {
    const { first, second, firstDeal, secondDeal } = await twoPagesOfOneOrder();
    // The second page's payment counted; lost in a dispute, the first one counts; then the second is paid again.
    await readAs(second.id, secondDeal, 'completed');
    await readAs(first.id, firstDeal, 'completed');
    await readAs(second.id, secondDeal, 'proceedings');
    await readAs(second.id, secondDeal, 'reject_by_office');
    await t.app.checkout.reconciler.tick(Date.now());
    assert.equal((await session(t.app, first.id)).status, 'paid');
    await readAs(second.id, secondDeal, 'completed');
    assert.equal((await session(t.app, second.id)).errorCode, 'duplicate_payment');
    // The order's payment goes into a dispute: a person may not accept the second one while it may still stand.
    await readAs(first.id, firstDeal, 'proceedings');
    await assert.rejects(t.app.checkout.sessions.resolveHeld(second.id, 'paid', 'x'), (error: any) => error.code === 'order_paid');
    // Won: it is the order's payment again, not a second one held against a second one.
    await readAs(first.id, firstDeal, 'completed');
    assert.equal((await session(t.app, first.id)).status, 'paid');
    assert.equal(((await t.app.checkout.store.listOrderSessions('O-1')).filter((row) => row.status === 'paid')).length, 1);
  });

  it('keeps reading a second payment in a dispute of its own once the order\'s payment is refunded, until the dispute ends', async () => {
    const { first, second, firstDeal } = await orderPaidTwice();
    await readAs(first.id, firstDeal, 'proceedings');
    assert.equal((await session(t.app, first.id)).errorCode, 'duplicate_payment');
    await t.app.checkout.sessions.apply(second.id, { rawStatus: 'refunded', status: 'refunded', raw: {} }, 'poll');
    await t.app.checkout.reconciler.tick(Date.now());
    // Hours later, still in its dispute: watched as long as the provider may take, not an hour.
    const hoursAgo = Date.now() - 3 * 3_600_000;
    await t.app.checkout.store.mutate(first.id, () => ({ patch: { updatedAt: hoursAgo, expiresAt: hoursAgo } }));
    await t.app.checkout.reconciler.tick(Date.now() + 3_600_000);
    assert.notEqual((await session(t.app, first.id)).nextPollAt, null);
    firstDeal.state = 'completed';
    await t.app.checkout.reconciler.tick(Date.now() + 2 * 86_400_000);
    assert.equal((await session(t.app, first.id)).status, 'paid');
  });

  it('tells the shop when a payment a person accepted during the provider\'s dispute is lost after all, and lets the second count', async () => {
    const { first, second, secondDeal } = await orderPaidTwice();
    await readAs(second.id, secondDeal, 'proceedings');
    await t.app.checkout.sessions.resolveHeld(second.id, 'paid', 'The payer sent the receipt; accepted');
    // Repay decides against it days later; nothing else reads a paid session.
    secondDeal.state = 'reject_by_office';
    await t.app.checkout.reconciler.tick(Date.now() + 86_400_000);
    const lost = await session(t.app, second.id);
    assert.equal(lost.status, 'held', 'a paid payment the provider reports failed is held for a person');
    // The same answer again, or the loss in other words, leaves it held: the person decides, not the next read.
    await t.app.checkout.reconciler.tick(Date.now() + 2 * 86_400_000);
    assert.equal((await session(t.app, second.id)).status, 'held');
    secondDeal.state = 'rejected_by_system';
    await t.app.checkout.sessions.refresh(second.id, 'reconcile');
    assert.equal((await session(t.app, second.id)).status, 'held');
    await t.app.checkout.sessions.resolveHeld(second.id, 'failed', 'Lost at Repay');
    await t.app.checkout.reconciler.tick(Date.now() + 86_400_000);
    assert.equal((await session(t.app, first.id)).status, 'paid');
  });

  it('lets a second payment count once the first is refunded, though the shop still has the order paid from the first', async () => {
    const orders: Orders = { 'O-1': { amount: '1500', currency: 'RUB' } };
    const { first, second, firstDeal, secondDeal } = await twoPagesOfOneOrder(orders);
    await readAs(second.id, secondDeal, 'completed');
    assert.equal((await session(t.app, second.id)).status, 'paid');
    // The shop marks the order paid on that payment; then the first page is paid as well: a second payment.
    orders['O-1'] = { amount: '1500', currency: 'RUB', paid: true };
    await readAs(first.id, firstDeal, 'completed');
    assert.equal((await session(t.app, first.id)).errorCode, 'duplicate_payment');
    // The paying one is refunded; the shop has not cleared its flag yet. The held one is the order's payment now.
    await t.app.checkout.sessions.apply(second.id, { rawStatus: 'refunded', status: 'refunded', raw: {} }, 'poll');
    await t.app.checkout.sessions.refresh(first.id, 'reconcile');
    assert.equal((await session(t.app, first.id)).status, 'paid');
  });

  it('does not ask again for a payment back from a dispute: the shop may have changed the order after it was paid', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const opened = await t.createSession({ orderId: 'A-1001' });
    const deal = repay.deals.get('deal-1')!;
    deal.state = 'completed';
    await t.app.checkout.sessions.refresh(opened.json.id, 'reconcile');
    assert.equal((await session(t.app, opened.json.id)).status, 'paid');
    // Paid and shipped; the shop adds a line to the order afterwards; then a dispute, won.
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    deal.state = 'proceedings';
    await t.app.checkout.sessions.refresh(opened.json.id, 'reconcile');
    assert.equal((await session(t.app, opened.json.id)).status, 'held');
    deal.state = 'completed';
    await t.app.checkout.sessions.refresh(opened.json.id, 'reconcile');
    const back = await session(t.app, opened.json.id);
    assert.equal(back.status, 'paid');
    assert.equal(back.errorCode, null);
  });

  it('decides by the amount alone when the shop cannot price the order during the payment', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const opened = await t.createSession({ orderId: 'A-1001' });
    // A lookup that needs the payer's login finds nothing without it.
    delete orders['A-1001'];
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(opened.json.id, 'reconcile');
    assert.equal((await session(t.app, opened.json.id)).status, 'paid');
  });

  it('opens at most one provider payment for one key used for different orders at once', async () => {
    const answers = await Promise.all([
      t.createSession({ orderId: 'A-1001' }, { 'idempotency-key': 'shared' }),
      t.createSession({ orderId: 'A-1003' }, { 'idempotency-key': 'shared' }),
    ]);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [201, 409]);
    assert.equal(repay.creates, 1);
  });
});

describe('BoxExchanger request nonce', () => {
  const many = (count: number): Orders =>
    Object.fromEntries(Array.from({ length: count }, (_, index) => [`B-${index}`, { amount: '1500', currency: 'RUB' }]));

  it('never fails 100 concurrent creations, nor the first one after a restart', async () => {
    await withOrders(many(101));
    const answers = await Promise.all(Array.from({ length: 100 }, (_, index) => t.createSession({ orderId: `B-${index}`, provider: 'boxexchanger' })));
    assert.deepEqual(answers.filter((answer) => answer.status !== 201).map((answer) => answer.json), []);
    assert.ok(box.lastTimes.at(-1)! >= Date.now() - 60_000);
    t = await t.reopen();
    const after = await t.createSession({ orderId: 'B-100', provider: 'boxexchanger' });
    assert.equal(after.status, 201, JSON.stringify(after.json));
    assert.equal(box.creates, 101);
  });

  it('retries once with a fresh value when BoxExchanger answers 40301', async () => {
    let refused = false;
    msw.use(
      http.post(`${BOX}/service/api/v1/public/exchanger/order/create`, () => {
        if (refused) return undefined;
        refused = true;
        return HttpResponse.json({ success: false, error: { errorCode: 40301, message: 'time must increase', object: {} } }, { status: 403 });
      }),
    );
    const answer = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    assert.equal(answer.status, 201, JSON.stringify(answer.json));
    assert.ok(refused);
  });
});

describe('watching a payment long enough', () => {
  it('keeps reading a session revived by a callback while the provider cannot be read, after its watch was over', async () => {
    const app = makeTestApp({ env: { RECONCILE_LATE_PAYMENT_WATCH_MS: '0' } });
    try {
      const { json } = await app.createSession({ orderId: 'A-1001' });
      const dealId = (await app.app.checkout.store.getSession(json.id))!.providerPaymentId!;
      // Its payment window is over.
      await app.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - 1_000, updatedAt: Date.now() - 1_000 } }));
      repay.deals.get(dealId)!.state = 'rejected_by_system';
      await app.app.checkout.sessions.refresh(json.id, 'reconcile');
      assert.deepEqual([(await session(app.app, json.id)).status, (await session(app.app, json.id)).nextPollAt], ['failed', null]);
      // Paid after all; the callback arrives while Repay's status API is down, and the next pass fails too.
      repay.deals.get(dealId)!.state = 'completed';
      repay.statusFails = true;
      assert.equal((await app.post('/api/checkout/webhooks/repay', repay.callback(dealId, '1500'), 'application/json')).status, 200);
      await app.app.checkout.reconciler.tick(Date.now() + 1);
      const unread = await session(app.app, json.id);
      assert.equal(unread.status, 'failed');
      assert.notEqual(unread.nextPollAt, null, 'still watched: a failed read proves nothing');
      repay.statusFails = false;
      await app.app.checkout.reconciler.tick(unread.nextPollAt! + 1);
      assert.equal((await session(app.app, json.id)).status, 'paid');
    } finally {
      await app.dispose();
    }
  });

  it('watches a payment the provider reviews for days, not for the hour of a late payment', async (context) => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const dealId = (await t.app.checkout.store.getSession(json.id))!.providerPaymentId!;
    repay.deals.get(dealId)!.state = 'proceedings';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const held = await session(t.app, json.id);
    assert.deepEqual([held.status, held.errorCode], ['held', null]);
    context.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const { providerReviewWatchMs, latePaymentWatchMs } = t.config.reconcile;
    // Three days on, the dispute still open: still read.
    context.mock.timers.setTime(held.updatedAt + 3 * 86_400_000);
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.notEqual((await session(t.app, json.id)).nextPollAt, null);
    assert.ok(providerReviewWatchMs! > 3 * 86_400_000 && latePaymentWatchMs < 3 * 86_400_000);
    // Decided: the payment completed, found by the next read.
    repay.deals.get(dealId)!.state = 'completed';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('keeps watching a payment counted as paid while BoxExchanger still pays it out, and tells its return to the payer', async () => {
    await withOrders({ 'A-1001': { amount: '1500', currency: 'RUB', customerId: 'c1' } }, { BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID: '1' });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = box.orders.get((await t.app.checkout.store.getSession(json.id))!.providerPaymentId!)!;
    order.status = 'inProgressPayout';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const paid = await session(t.app, json.id);
    assert.equal(paid.status, 'paid');
    assert.notEqual(paid.nextPollAt, null, 'still watched: the payout may yet fail or be returned');
    // Its one IPN about the return is lost; a poll days later finds it.
    order.status = 'returned';
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
    const returned = await session(t.app, json.id);
    assert.equal(returned.status, 'refunded');
    assert.equal(returned.nextPollAt, null);
  });

  it('holds for a person a payment counted as paid that the provider then reports cancelled or expired', async () => {
    const orders = { 'A-1001': { amount: '1500', currency: 'RUB', customerId: 'c1' }, 'A-1002': { amount: '1500', currency: 'RUB', customerId: 'c2' } };
    await withOrders(orders, { BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID: '1' });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = box.orders.get((await t.app.checkout.store.getSession(json.id))!.providerPaymentId!)!;
    order.status = 'inProgressPayout';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'paid');
    // The order is deleted before its payout: the shop was told paid, so it must hear of this, and a person look.
    order.status = 'deleted';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    const deleted = await session(t.app, json.id);
    assert.equal(deleted.status, 'held');
    assert.equal(deleted.providerStatus, 'deleted');
    // The same for age.trading's request cancelled after its success; and it stays held whatever the provider says
    // next, short of a payment: still processing, then failed.
    const other = (await t.createSession({ orderId: 'A-1002', provider: 'agetrading' })).json;
    const request = [...age.requests.values()].at(-1)!;
    request.status = 'SUCCESS';
    request.amount = '1500.00';
    await t.app.checkout.sessions.refresh(other.id, 'reconcile');
    assert.equal((await session(t.app, other.id)).status, 'paid');
    for (const status of ['CANCELLED', 'PROCESSING', 'FAILED']) {
      request.status = status;
      await t.app.checkout.sessions.refresh(other.id, 'reconcile');
      assert.equal((await session(t.app, other.id)).status, 'held', status);
    }
  });

  it('watches an ended Repay payment for as long as Repay still shows it payable', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const deal = repay.deals.get((await session(t.app, json.id)).providerPaymentId!)!;
    deal.state = 'waiting_payment';
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - t.config.reconcile.expiryGraceMs - 1_000 } }));
    await t.app.checkout.reconciler.tick(Date.now() + 10_000);
    assert.equal((await session(t.app, json.id)).status, 'expired');
    // Hours past the late-payment watch, Repay (no cancel call, its own timeout later than ours) still shows the page.
    const hoursAgo = Date.now() - 3 * 3_600_000;
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: hoursAgo, updatedAt: hoursAgo } }));
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.notEqual((await session(t.app, json.id)).nextPollAt, null, 'still payable there: still read here');
    // Days later a read fails: no news, and no reason to stop watching what Repay last showed payable.
    const daysAgo = Date.now() - 3 * 86_400_000;
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: daysAgo, updatedAt: daysAgo } }));
    repay.statusFails = true;
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.notEqual((await session(t.app, json.id)).nextPollAt, null, 'a failed read ends no watch');
    repay.statusFails = false;
    deal.state = 'completed';
    await t.app.checkout.reconciler.tick(Date.now() + 86_400_000);
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('watches a Repay payment it ended past its window while Repay shows it payable, also with no late-payment watch', async () => {
    await withOrders({ 'A-1001': { amount: '1500', currency: 'RUB' } }, { RECONCILE_LATE_PAYMENT_WATCH_MS: '0' });
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const deal = repay.deals.get((await session(t.app, json.id)).providerPaymentId!)!;
    deal.state = 'waiting_payment';
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - t.config.reconcile.expiryGraceMs - 1_000 } }));
    await t.app.checkout.reconciler.tick(Date.now() + 10_000);
    const ended = await session(t.app, json.id);
    assert.equal(ended.status, 'expired');
    assert.notEqual(ended.nextPollAt, null);
    // The payer pays on Repay's still open page; Repay's one callback is lost.
    deal.state = 'completed';
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('watches a payment a person settled as failed while its provider still shows it open, also with no late-payment watch', async () => {
    await withOrders({ 'A-1001': { amount: '1500', currency: 'RUB' } }, { RECONCILE_LATE_PAYMENT_WATCH_MS: '0' });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    const request = [...age.requests.values()].at(-1)!;
    // 1400 reported for the 1500 order: held; then age.trading shows the request in progress again.
    request.status = 'SUCCESS';
    request.amount = '1400.00';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    request.status = 'PROCESSING';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - 2 * 3_600_000 } }));
    const settled = await t.app.checkout.sessions.resolveHeld(json.id, 'failed', 'Nothing of the full amount arrived');
    assert.notEqual(settled.nextPollAt, null, 'still open at age.trading: still read here');
  });

  it('watches a payment a person accepted while its provider still shows it open, and tells its loss', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    const request = [...age.requests.values()].at(-1)!;
    request.amount = '1500.00';
    for (const status of ['SUCCESS', 'CANCELLED', 'PROCESSING']) {
      request.status = status;
      await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    }
    assert.equal((await session(t.app, json.id)).status, 'held');
    await t.app.checkout.sessions.resolveHeld(json.id, 'paid', 'The payer showed the transfer');
    // The next read brings the same answer: still watched. age.trading then fails it, with no callback.
    await t.app.checkout.reconciler.tick(Date.now() + 600_000);
    assert.notEqual((await session(t.app, json.id)).nextPollAt, null);
    request.status = 'FAILED';
    await t.app.checkout.reconciler.tick(Date.now() + 2 * 86_400_000);
    assert.equal((await session(t.app, json.id)).status, 'held');
  });

  it('watches a BoxExchanger payment error an admin may still fix, past the late-payment watch', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = box.orders.get((await session(t.app, json.id)).providerPaymentId!)!;
    order.status = 'errorPayment';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'failed');
    const hoursAgo = Date.now() - 2 * 3_600_000;
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: hoursAgo, updatedAt: hoursAgo } }));
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.notEqual((await session(t.app, json.id)).nextPollAt, null, 'an admin may still fix it');
    // Fixed days later; BoxExchanger's one IPN is lost.
    order.status = 'done';
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
    assert.equal((await session(t.app, json.id)).status, 'paid');
  });

  it('reads an ended payment once more at the very end of its watch, not a backoff short of it', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const { latePaymentWatchMs } = t.config.reconcile;
    const endedAt = Date.now() - latePaymentWatchMs + 1_000;
    const ended = { ...(await session(t.app, json.id)), status: 'expired' as const, expiresAt: endedAt, updatedAt: endedAt };
    const next = t.app.checkout.sessions.nextPollAt(ended, 20, 'expired');
    assert.equal(next, endedAt + latePaymentWatchMs);
  });

  it('keeps watching a payment a person accepted while BoxExchanger still pays it out', async () => {
    await withOrders({ 'A-1001': { amount: '1500', currency: 'RUB', customerId: 'c1' } }, { BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID: '1' });
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = box.orders.get((await t.app.checkout.store.getSession(json.id))!.providerPaymentId!)!;
    // A ruble short: held; a person accepts it while the payout is still queued.
    order.status = 'inProgressPayout';
    order.inAmount = '1499';
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).errorCode, 'amount_mismatch');
    const accepted = await t.app.checkout.sessions.resolveHeld(json.id, 'paid', 'A ruble short, accepted');
    assert.notEqual(accepted.nextPollAt, null);
    order.status = 'returned';
    await t.app.checkout.reconciler.tick(Date.now() + 3 * 86_400_000);
    assert.equal((await session(t.app, json.id)).status, 'refunded');
  });

  it('does not end a session whose cancel the provider refused because the payer just paid', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const stale = (await t.app.checkout.store.getSession(json.id))!;
    const order = box.orders.get(stale.providerPaymentId!)!;
    // The reconciler read it unpaid past its window; the payer pays before the cancel arrives, which BoxExchanger refuses.
    order.status = 'inProgress';
    const after = await t.app.checkout.sessions.endOpenSession(stale, 'expired', 'window_passed');
    assert.equal(after?.status, 'pending');
    assert.equal((await session(t.app, json.id)).status, 'pending');
    assert.ok(!(await events(t.app, json.id)).some((event) => event.toStatus === 'expired'));
  });

  it('does not end a session whose cancel the provider refused when its status cannot be read then', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    const order = box.orders.get((await t.app.checkout.store.getSession(json.id))!.providerPaymentId!)!;
    order.status = 'waitPayment';
    await t.app.checkout.store.mutate(json.id, () => ({ patch: { expiresAt: Date.now() - t.config.reconcile.expiryGraceMs - 1_000 } }));
    // Past its window; the payer pays as the helper cancels (refused), and the status API then fails for a while.
    let readsFail = false;
    msw.use(
      http.put(`${BOX}/service/api/v1/public/exchanger/order/update-status`, () => {
        order.status = 'inProgress';
        readsFail = true;
        return HttpResponse.json({ success: false, error: { errorCode: 2, message: 'status cannot change', object: {} } }, { status: 400 });
      }),
      http.get(`${BOX}/service/api/v1/public/exchanger/order/get`, () => (readsFail ? HttpResponse.text('Bad gateway', { status: 502 }) : undefined)),
    );
    const report = await t.app.checkout.reconciler.tick(Date.now() + 10_000);
    assert.equal(report.expired, 0);
    assert.ok(!(await events(t.app, json.id)).some((event) => event.toStatus === 'expired'), 'a refused cancel may be a payment');
    // Back at the checkout while the provider still cannot be read: no second payment.
    const again = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger' });
    assert.equal(again.status, 503);
    assert.equal(again.json.error.code, 'provider_unavailable');
    assert.equal(box.creates, 1);
    // Read again: the payment is under way, and the session stays open for it.
    readsFail = false;
    await t.app.checkout.sessions.refresh(json.id, 'reconcile');
    assert.equal((await session(t.app, json.id)).status, 'pending');
  });

  it('reads an open session before replacing it for a changed price: a payment made meanwhile is held, not given a second page', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const { json } = await t.createSession({ orderId: 'A-1001' });
    // The payer pays 1500; Repay's callback is late. The shop adds shipping meanwhile and the payer comes back.
    repay.deals.get((await session(t.app, json.id)).providerPaymentId!)!.state = 'completed';
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    const again = await t.createSession({ orderId: 'A-1001' });
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'order_held');
    assert.equal(repay.creates, 1);
    const paid = await session(t.app, json.id);
    assert.equal(paid.status, 'held');
    assert.equal(paid.errorCode, 'order_changed');
    assert.ok(!(await events(t.app, json.id)).some((event) => event.toStatus === 'cancelled'), 'never told cancelled');
  });

  it('replaces an open session for a changed price also while a status read of it is under way', async () => {
    const prices: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    let looked!: () => void;
    const lookedUp = new Promise<void>((resolve) => (looked = resolve));
    // The order's lookup tells when the new request has reached the order (it then settles the open session at once).
    const orders = new Proxy(prices, {
      get(target, key) {
        if (key === 'A-1001' && target['A-1001']!.amount === '1800') looked();
        return Reflect.get(target, key);
      },
    });
    await withOrders(orders);
    const { json } = await t.createSession({ orderId: 'A-1001' });
    // The payer's old page polls: a read of the session is at the provider when the new price's request comes.
    const held = repay.holdNextStatusRead();
    const polling = t.app.checkout.sessions.refresh(json.id, 'status');
    await held.arrived;
    prices['A-1001'] = { amount: '1800', currency: 'RUB' };
    const again = t.createSession({ orderId: 'A-1001' });
    // From the lookup to the settling of the open session is in-process work (the order lock, SQLite reads): a few
    // turns of the event loop bring the request to it while the old read is still out.
    await lookedUp;
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
    held.answer();
    await polling;
    // That read asked before the request did: another one decides, and the payment is replaced, not refused.
    const answer = await again;
    assert.equal(answer.status, 201);
    assert.equal(answer.json.amount, '1800.00');
    assert.equal((await session(t.app, json.id)).status, 'cancelled');
  });

  it('replaces an open session for a changed price once the provider says it is unpaid', async () => {
    const orders: Orders = { 'A-1001': { amount: '1500', currency: 'RUB' } };
    await withOrders(orders);
    const { json } = await t.createSession({ orderId: 'A-1001' });
    orders['A-1001'] = { amount: '1800', currency: 'RUB' };
    const again = await t.createSession({ orderId: 'A-1001' });
    assert.equal(again.status, 201);
    assert.equal(again.json.amount, '1800.00');
    assert.deepEqual([(await session(t.app, json.id)).status, (await session(t.app, json.id)).errorCode], ['cancelled', 'order_changed']);
  });
});

describe('a helper mounted by hand', () => {
  it('says once that notifications are queued when its runtime was never started, and nothing when it was', async () => {
    const lines = (started: boolean) => {
      const logged: string[] = [];
      const app = makeTestApp({ config: { logger: createLogger('warn', (line) => logged.push(line)), onEvent: () => undefined } });
      if (started) app.app.checkout.start();
      return { app, logged };
    };
    for (const started of [false, true]) {
      const { app, logged } = lines(started);
      try {
        for (const orderId of ['A-1001', 'A-1003']) {
          const { json } = await app.createSession({ orderId });
          const deal = (await app.app.checkout.store.getSession(json.id))!.providerPaymentId!;
          repay.deals.get(deal)!.state = 'completed';
          await app.app.checkout.sessions.refresh(json.id, 'reconcile');
          assert.equal((await session(app.app, json.id)).status, 'paid');
        }
        const warnings = logged.filter((line) => line.includes('does not send them'));
        assert.equal(warnings.length, started ? 0 : 1, logged.join('\n'));
      } finally {
        await app.close();
      }
    }
  });
});

describe('rejected callbacks cannot fill the disk', () => {
  it('keeps them as a bounded digest and refuses a flooding address', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const big = JSON.stringify({ deal_id: 'deal-1', amount: '1500', signature: 'e'.repeat(32), padding: 'x'.repeat(60_000) });
    const statuses: number[] = [];
    for (let index = 0; index < 40; index++) statuses.push((await repayHook(big.replace('"padding"', `"n${index}"`))).status);
    assert.deepEqual([...new Set(statuses)], [401, 429]);
    assert.equal(statuses.filter((status) => status === 401).length, 30);
    const rejected = await t.app.checkout.store.listRejectedCallbacks(100);
    assert.equal(rejected.length, 30);
    assert.ok(rejected.every((row) => row.head.length === 256 && row.size > 60_000));
    assert.ok(!(await events(t.app, json.id)).some((event) => event.kind.startsWith('webhook')));
  });

  it('prunes the events of ended sessions only, as the append-only triggers allow', async () => {
    const paid = (await t.createSession({ orderId: 'A-1001' })).json;
    const open = (await t.createSession({ orderId: 'A-1003' })).json;
    repay.deals.get('deal-1')!.state = 'completed';
    await t.app.checkout.sessions.refresh(paid.id, 'reconcile');
    assert.equal((await session(t.app, paid.id)).status, 'paid');
    const report = await t.app.checkout.store.pruneEvents(Date.now() + 1);
    assert.ok(report.events > 0);
    assert.equal((await events(t.app, paid.id)).length, 0);
    assert.ok((await events(t.app, open.id)).length > 0, 'an open session keeps its history');
  });
});

describe('npm run prune', () => {
  it('deletes the history of sessions that ended before the cutoff, keeping the rest', async () => {
    const ended = (await t.createSession({ orderId: 'A-1001' })).json;
    const recent = (await t.createSession({ orderId: 'A-1003' })).json;
    repay.deals.get('deal-1')!.state = 'completed';
    repay.deals.get('deal-2')!.state = 'completed';
    await t.app.checkout.sessions.refresh(ended.id, 'reconcile');
    await t.app.checkout.sessions.refresh(recent.id, 'reconcile');
    await t.app.checkout.store.mutate(ended.id, () => ({ patch: { updatedAt: Date.now() - 200 * 86_400_000 } }));
    await t.close();
    const { prune } = await import('../../server-example/prune.js');
    await assert.rejects(prune(['--older-than', 'soon'], testEnv(t.dir)), /Usage/);
    for (const tooShort of ['0h', '71h', '2d']) await assert.rejects(prune(['--older-than', tooShort], testEnv(t.dir)), /at least 3d/);
    const report = await prune(['--older-than', '180d'], testEnv(t.dir));
    assert.ok(report.events > 0);
    t = await t.reopen();
    assert.equal((await events(t.app, ended.id)).length, 0);
    assert.ok((await events(t.app, recent.id)).length > 0);
  });
});

describe('anonymous visits to the return page', () => {
  it('re-read the provider at most as often as the status route, and are logged once per outcome', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const before = repay.statusCalls;
    await Promise.all(Array.from({ length: 100 }, () => t.app.request(`/api/checkout/return/success?session=${json.id}`)));
    for (let index = 0; index < 50; index++) await t.app.request(`/api/checkout/return/success?session=${json.id}`);
    await t.close(); // waits for the background re-reads
    assert.equal(repay.statusCalls - before, 1);
    t = await t.reopen();
    assert.equal((await events(t.app, json.id)).filter((event) => event.kind === 'return').length, 1);
  });
});

describe('session tokens', () => {
  it('answer 401, not 500, to a forged token with a multi-byte character', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const [, expiry, mac] = Buffer.from(json.token, 'base64url').toString('utf8').split('.');
    // Same character count as the real id, more bytes.
    const forgedId = `${json.id.slice(0, -1)}é`;
    const forged = Buffer.from(`${forgedId}.${expiry}.${mac}`, 'utf8').toString('base64url');
    const response = await t.app.request(`/api/checkout/sessions/${json.id}`, { headers: { authorization: `Bearer ${forged}` } });
    assert.equal(response.status, 401);
    assert.equal(await errorCode(response), 'unauthorized');
  });
});

describe('age.trading recovery', () => {
  it('takes over our own crashed session\'s request instead of blocking the customer', async () => {
    const first = (await t.createSession({ orderId: 'A-1001', provider: 'agetrading' })).json;
    const request = [...age.requests.values()][0]!;
    // As if the helper had died before storing age.trading's answer, and the reconciler marked the row failed.
    await t.app.checkout.store.mutate(first.id, () => ({ patch: { providerPaymentId: null, paymentUrl: null, status: 'failed', errorCode: 'interrupted' } }));
    age.returnExisting = request;
    const second = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(second.status, 201, JSON.stringify(second.json));
    assert.equal(second.json.paymentUrl, `https://pay.age.test/payment?id=uuid-${request.id}`);
    const taken = await session(t.app, second.json.id);
    assert.equal(taken.providerPaymentId, String(request.id));
    assert.ok((await events(t.app, first.id)).some((event) => (event.data as any)?.reason === 'superseded'));
    // Its callbacks (naming the first session's reference) now reach the session that holds the request.
    request.status = 'SUCCESS';
    request.amount = '1500.00';
    const { body, signature } = age.callback(request, 'SUCCESS', '1500.00');
    const response = await t.post('/api/checkout/webhooks/agetrading', body, 'application/json', { 'x-signature': signature });
    assert.equal(response.status, 200);
    assert.equal((await session(t.app, second.json.id)).status, 'paid');
  });

  it('takes over a request whose creation timed out, instead of blocking the customer for ten minutes', async () => {
    await t.dispose();
    t = makeTestApp({ env: { AGETRADING_TIMEOUT_MS: '100' } });
    // age.trading creates the request, but answers after the helper stopped waiting.
    age.createDelayMs = 300;
    const first = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(first.status, 503);
    assert.equal(first.json.error.code, 'provider_unavailable');
    const request = [...age.requests.values()][0]!;
    // The next attempt gets that unclosed request back, and takes it over.
    age.createDelayMs = 0;
    age.returnExisting = request;
    const second = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(second.status, 201, JSON.stringify(second.json));
    assert.equal(second.json.paymentUrl, `https://pay.age.test/payment?id=uuid-${request.id}`);
    assert.equal((await session(t.app, second.json.id)).providerPaymentId, String(request.id));
  });

  for (const answer of ['gateway', 'truncated'] as const) {
    it(`takes over a request whose creation answer was lost (${answer === 'gateway' ? "a gateway's HTML 502" : 'a 202 cut short'})`, async () => {
      age.createAnswer = answer;
      const first = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
      assert.deepEqual([first.status, first.json.error.code, first.json.error.retryable], [503, 'provider_unavailable', true]);
      const [row] = await t.app.checkout.store.listOrderSessions('A-1001');
      assert.deepEqual([row!.status, row!.errorCode], ['failed', 'interrupted']);
      // age.trading created it all the same: the next attempt gets it back, and takes it over.
      const request = [...age.requests.values()][0]!;
      age.createAnswer = undefined;
      age.returnExisting = request;
      const second = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
      assert.equal(second.status, 201, JSON.stringify(second.json));
      assert.equal((await session(t.app, second.json.id)).providerPaymentId, String(request.id));
    });
  }

  it('still refuses a returned request that is not ours to recover', async () => {
    age.returnExisting = { id: 900, merchantRequestId: 'someone-else-1', client: 'x', status: 'CREATED', initialAmount: '1500.00', body: {} };
    const answer = await t.createSession({ orderId: 'A-1001', provider: 'agetrading' });
    assert.equal(answer.status, 409);
    assert.equal(answer.json.error.code, 'previous_request_open');
  });
});

describe('slow senders', () => {
  it('are cut off after the request timeout instead of holding a connection for minutes', { timeout: 20_000 }, async () => {
    msw.close();
    const dir = tempDir();
    const server = await startServer({ port: 0, env: { DATABASE_PATH: join(dir, 'db.sqlite'), LOG_LEVEL: 'silent' }, reconcile: false, requestTimeoutMs: 300 });
    try {
      const socket = connect(server.port, '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(`POST /api/checkout/webhooks/repay HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"deal_id"`);
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      msw.listen({ onUnhandledRequest: 'error' });
    }
  });
});

