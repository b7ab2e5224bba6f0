// The Python-stdlib merchant backend (examples/python-merchant/merchant.py), run for real with python3: it verifies
// Standard Webhooks signatures made by the `standardwebhooks` npm package, marks its orders from webhooks once per
// webhook-id, prices orders for the helper's HTTP order resolver, and takes the helper's verdict from its merchant API
// for an event its own state cannot place (a redelivered one, a second payment of an order it never saw paid).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { Webhook } from 'standardwebhooks';
import { CheckoutError, createHttpOrderResolver, startServer } from '../../server-example/index.js';
import { generateWebhookSecret } from '../../server-example/merchant-webhooks/signing.js';
import { pressButton } from '../../server-example/sandbox/testing.js';
import { RepayMock, makeTestApp } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';

const SCRIPT = resolve('examples/python-merchant/merchant.py');
const SECRET = generateWebhookSecret();
/** The shop's previous secret: during a rotation it is given both, `whsec_new,whsec_old`, and accepts either. */
const OLD_SECRET = generateWebhookSecret();
const API_KEY = 'python-example-merchant-api-key-0123';

let child: ChildProcess | undefined;
let base = '';
let dir = '';

/**
 * Starts merchant.py on the database `db` in the test directory (made on first use), with `env` on top of the defaults
 * (PORT 0: a free port). Without python3 it rejects: the suite fails rather than skips, CI machines have python3.
 */
async function startMerchant(db = 'merchant.sqlite', env: Record<string, string> = {}): Promise<void> {
  child = spawn('python3', [SCRIPT], {
    env: {
      PATH: process.env.PATH ?? '',
      PYTHONDONTWRITEBYTECODE: '1',
      MERCHANT_WEBHOOK_SECRET: `${SECRET},${OLD_SECRET}`,
      MERCHANT_DB: join(dir, db),
      MERCHANT_QUIET: '1',
      HOST: '127.0.0.1',
      PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  base = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`merchant.py did not start: ${stderr}`)), 10_000);
    let stdout = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child!.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`python3 could not be started (${error.message}); the Python example needs it`));
    });
    child!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`merchant.py exited with ${code}: ${stderr}`));
    });
  });
}

async function stopMerchant(): Promise<void> {
  if (child && child.exitCode === null && child.pid !== undefined) {
    const exited = new Promise((resolveExit) => child!.once('exit', resolveExit));
    child.kill('SIGTERM');
    await exited;
  }
}

/** Runs Python code that can `import merchant`, with `env`; resolves with its stdout. */
function runPython(code: string, env: Record<string, string>): Promise<string> {
  // Asynchronous: the helper the code calls runs in this process.
  const python = spawn('python3', ['-c', code], { env: { PATH: process.env.PATH ?? '', PYTHONDONTWRITEBYTECODE: '1', PYTHONPATH: dirname(SCRIPT), ...env } });
  let stdout = '';
  let stderr = '';
  python.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  python.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolveRun, reject) => {
    python.once('error', reject);
    python.once('exit', (code) => (code === 0 ? resolveRun(stdout) : reject(new Error(`python3 exited with ${code}: ${stderr}`))));
  });
}

interface Event {
  id: string;
  type: string;
  createdAt: string;
  data: { session: Record<string, unknown>; previousStatus: string | null; reason: string | null };
}

let eventCounter = 0;
function event(
  type: string,
  orderId: string,
  session: Record<string, unknown> = {},
  previousStatus: string | null = 'pending',
  reason: string | null = null,
): Event {
  eventCounter++;
  return {
    id: `evt_${eventCounter}`,
    type,
    createdAt: new Date().toISOString(),
    data: {
      session: {
        id: 'cs_aaaaaaaaaaaaaaaaaaaaaa',
        orderId,
        status: type === 'payment.held' ? 'held' : 'paid',
        provider: 'repay',
        method: 'sbp',
        amount: '1500.00',
        currency: 'RUB',
        paidAmount: '1500.00',
        ...session,
      },
      previousStatus,
      reason,
    },
  };
}

/**
 * Signs with the `standardwebhooks` npm package (not the helper's own code) and POSTs to the merchant; `secrets`: one
 * signature per secret, space-separated, as a sender rotating its secret sends them.
 */
async function deliver(
  body: string,
  options: { id?: string; timestamp?: Date; secrets?: string[]; tamper?: (body: string) => string; path?: string } = {},
): Promise<{ status: number; json: any }> {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const timestamp = options.timestamp ?? new Date();
  const signature = (options.secrets ?? [SECRET]).map((secret) => new Webhook(secret).sign(id, timestamp, body)).join(' ');
  const sent = options.tamper ? options.tamper(body) : body;
  const response = await fetch(`${base}${options.path ?? '/pay-checkout/webhooks'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': signature,
    },
    body: sent,
  });
  return { status: response.status, json: await response.json() };
}

async function order(id: string): Promise<any> {
  const response = await fetch(`${base}/orders/${id}`);
  assert.equal(response.status, 200);
  return response.json();
}

describe('the Python merchant example', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'python-merchant-'));
    await startMerchant();
  });
  after(async () => {
    await stopMerchant();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is Python 3.8 syntax, without the standard library\'s later additions', async () => {
    // ast's feature_version refuses newer grammar (match, except*, parenthesised with-items…) under any python3.
    await runPython(`import ast; ast.parse(open(${JSON.stringify(SCRIPT)}).read(), feature_version=(3, 8))`, {});
    const source = readFileSync(SCRIPT, 'utf8');
    for (const later of [/\.removeprefix\(|\.removesuffix\(/, /\bzoneinfo\b|\bgraphlib\b|\btomllib\b/, /functools\.cache\b|math\.lcm|random\.randbytes/, /\b(?:list|dict|tuple|set)\[/]) {
      assert.doesNotMatch(source, later);
    }
  });

  describe('receiving webhooks', () => {
    it('marks the order paid on a good payment.paid webhook', async () => {
      assert.equal((await order('A-1001')).status, 'unpaid');
      const { status, json } = await deliver(JSON.stringify(event('payment.paid', 'A-1001')), { id: 'msg_paid_1001' });
      assert.equal(status, 200);
      assert.deepEqual(json, { received: 'msg_paid_1001', applied: true, detail: 'paid' });
      const after = await order('A-1001');
      assert.equal(after.status, 'paid');
      assert.equal(after.session_id, 'cs_aaaaaaaaaaaaaaaaaaaaaa');
    });

    it('refuses a tampered body with 401 and changes nothing', async () => {
      const body = JSON.stringify(event('payment.paid', 'A-1002', { amount: '650.00', paidAmount: '650.00' }));
      const { status } = await deliver(body, { tamper: (text) => text.replace('"650.00"', '"1.00"') });
      assert.equal(status, 401);
      const after = await order('A-1002');
      assert.equal(after.status, 'unpaid');
      assert.deepEqual(after.events, []);
    });

    it('refuses a changed webhook-id or timestamp, another secret, and missing headers', async () => {
      const body = JSON.stringify(event('payment.paid', 'A-1002', { amount: '650.00', paidAmount: '650.00' }));
      const signature = new Webhook(SECRET).sign('msg_original', new Date(), body);
      const now = String(Math.floor(Date.now() / 1000));
      const post = (headers: Record<string, string>) =>
        fetch(`${base}/pay-checkout/webhooks`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      assert.equal((await post({ 'webhook-id': 'msg_other', 'webhook-timestamp': now, 'webhook-signature': signature })).status, 401);
      assert.equal((await post({ 'webhook-id': 'msg_original', 'webhook-timestamp': String(Number(now) - 1), 'webhook-signature': signature })).status, 401);
      assert.equal((await post({ 'webhook-id': 'msg_original', 'webhook-timestamp': now })).status, 401);
      assert.equal((await deliver(body, { secrets: [generateWebhookSecret()] })).status, 401);
      assert.equal((await order('A-1002')).status, 'unpaid');
    });

    it('refuses a correctly signed webhook older than five minutes (a replayed capture)', async () => {
      const body = JSON.stringify(event('payment.paid', 'A-1002', { amount: '650.00', paidAmount: '650.00' }));
      const { status } = await deliver(body, { timestamp: new Date(Date.now() - 6 * 60_000) });
      assert.equal(status, 401);
      assert.equal((await order('A-1002')).status, 'unpaid');
    });

    it('refuses a correctly signed webhook dated more than five minutes ahead', async () => {
      const body = JSON.stringify(event('payment.paid', 'A-1002', { amount: '650.00', paidAmount: '650.00' }));
      const { status } = await deliver(body, { timestamp: new Date(Date.now() + 6 * 60_000) });
      assert.equal(status, 401);
      assert.equal((await order('A-1002')).status, 'unpaid');
    });

    it('accepts a message with two signatures during a rotation, and either secret of its own comma list', async () => {
      const body = JSON.stringify({ id: 'msg_rotation', type: 'merchant.something_new', createdAt: new Date().toISOString(), data: {} });
      // The helper signs with whsec_new,whsec_old; this shop knows one of them.
      assert.equal((await deliver(body, { secrets: [generateWebhookSecret(), SECRET] })).status, 200);
      // The shop runs with MERCHANT_WEBHOOK_SECRET=whsec_new,whsec_old while the helper still signs with the old one.
      assert.equal((await deliver(body, { secrets: [OLD_SECRET] })).status, 200);
      assert.equal((await deliver(body, { secrets: [generateWebhookSecret(), generateWebhookSecret()] })).status, 401);
    });

    it('applies a replayed webhook-id once', async () => {
      const held = JSON.stringify(event('payment.held', 'A-1003', { id: 'cs_bbbbbbbbbbbbbbbbbbbbbb', amount: '2500.00', paidAmount: '2400.00' }));
      const paid = JSON.stringify(event('payment.paid', 'A-1003', { id: 'cs_bbbbbbbbbbbbbbbbbbbbbb', amount: '2500.00', paidAmount: '2500.00' }, 'held'));
      assert.equal((await deliver(held, { id: 'msg_held_1003' })).json.detail, 'held');
      assert.equal((await deliver(paid, { id: 'msg_paid_1003' })).json.detail, 'paid');
      // The sender retries the held message (same id, new timestamp and signature): acknowledged, not re-applied.
      const replay = await deliver(held, { id: 'msg_held_1003' });
      assert.equal(replay.status, 200);
      assert.deepEqual(replay.json, { received: 'msg_held_1003', applied: false, detail: 'duplicate' });
      const after = await order('A-1003');
      assert.equal(after.status, 'paid');
      assert.deepEqual(after.events.map((e: any) => [e.webhook_id, e.to_status]), [
        ['msg_held_1003', 'held'],
        ['msg_paid_1003', 'paid'],
      ]);
    });

    it('puts the order of that paid session back to paid when its dispute ends in payment.reinstated', async () => {
      const session = { id: 'cs_bbbbbbbbbbbbbbbbbbbbbb', amount: '2500.00', paidAmount: '2500.00' };
      assert.equal((await deliver(JSON.stringify(event('payment.held', 'A-1003', session, 'paid')))).json.detail, 'held');
      assert.equal((await deliver(JSON.stringify(event('payment.reinstated', 'A-1003', session, 'held')))).json.detail, 'paid');
      assert.equal((await order('A-1003')).status, 'paid');
    });

    it('holds an order whose paid amount differs from its own price', async () => {
      const body = JSON.stringify(event('payment.paid', 'A-1004', { amount: '990.50', paidAmount: '99.05' }));
      assert.equal((await deliver(body)).json.detail, 'held');
      assert.match((await order('A-1004')).note, /paid 99\.05 RUB, order is 990\.50 RUB/);
    });

    it('marks that order paid when a person at pay-checkout resolves the held payment as paid (reason "manual")', async () => {
      // POST /merchant/sessions/:id/resolve {"status":"paid"}: the helper says paid with the amount actually paid.
      const session = { status: 'paid', amount: '990.50', paidAmount: '99.05' };
      const resolved = event('payment.paid', 'A-1004', session, 'held', 'manual');
      assert.equal((await deliver(JSON.stringify(resolved))).json.detail, 'paid');
      const after = await order('A-1004');
      assert.equal(after.status, 'paid');
      assert.match(after.note, /accepted by a person/);
    });

    it('flags order.paid_twice for a refund and keeps the order paid', async () => {
      await deliver(JSON.stringify(event('payment.paid', 'A-1005', { amount: '1250.00', paidAmount: '1250.00' })));
      const second = event('order.paid_twice', 'A-1005', { id: 'cs_cccccccccccccccccccccc', amount: '1250.00', paidAmount: '1250.00' }, 'expired');
      assert.equal((await deliver(JSON.stringify(second))).status, 200);
      const after = await order('A-1005');
      assert.equal(after.status, 'paid');
      assert.equal(after.needs_refund, true);
    });

    it('clears the refund flag when the second payment of an order paid twice is refunded, and keeps the order paid', async () => {
      const refunded = event('payment.refunded', 'A-1005', { id: 'cs_cccccccccccccccccccccc', status: 'refunded', amount: '1250.00', paidAmount: '1250.00' }, 'held', 'manual');
      assert.equal((await deliver(JSON.stringify(refunded))).status, 200);
      const after = await order('A-1005');
      assert.equal(after.status, 'paid');
      assert.equal(after.session_id, 'cs_aaaaaaaaaaaaaaaaaaaaaa');
      assert.equal(after.needs_refund, false, 'nobody refunds the payer a second time');
      assert.match(after.note, /other payment .*was refunded/);
    });

    it('acknowledges an event type it does not know without changing the order', async () => {
      const { status, json } = await deliver(JSON.stringify(event('payment.something_new', 'A-1001')));
      assert.equal(status, 200);
      assert.equal(json.applied, true);
      assert.equal((await order('A-1001')).status, 'paid');
    });

    it('acknowledges an event it does not know that is about no order', async () => {
      const body = JSON.stringify({ id: 'msg_unknown_kind', type: 'merchant.something_new', createdAt: new Date().toISOString(), data: {} });
      const { status, json } = await deliver(body);
      assert.equal(status, 200);
      assert.equal(json.applied, false);
    });

    it('puts a held order back to unpaid when a person settles the held payment as failed', async () => {
      const session = { id: 'cs_ffffffffffffffffffff01', amount: '1890.00', paidAmount: '1800.00' };
      assert.equal((await deliver(JSON.stringify(event('payment.held', 'A-1006', session)))).json.detail, 'held');
      const failed = event('payment.failed', 'A-1006', { ...session, status: 'failed' }, 'held', 'manual');
      assert.equal((await deliver(JSON.stringify(failed))).json.detail, 'unpaid');
      assert.equal((await order('A-1006')).status, 'unpaid');
    });

    it('marks the order paid on payment.revived, a late payment of a session that had ended', async () => {
      const revived = event('payment.revived', 'A-1006', { id: 'cs_ffffffffffffffffffff02', amount: '1890.00', paidAmount: '1890.00' }, 'expired', 'revived');
      assert.equal((await deliver(JSON.stringify(revived))).json.detail, 'paid');
      assert.equal((await order('A-1006')).session_id, 'cs_ffffffffffffffffffff02');
    });

    it('marks the order refunded when the session that paid it is refunded', async () => {
      const session = { id: 'cs_ffffffffffffffffffff02', status: 'refunded', amount: '1890.00', paidAmount: '1890.00' };
      assert.equal((await deliver(JSON.stringify(event('payment.refunded', 'A-1006', session, 'paid')))).json.detail, 'refunded');
      const after = await order('A-1006');
      assert.equal(after.status, 'refunded');
      assert.equal(after.needs_refund, false);
    });

    it('clears the refund flag when the second payment of an order paid twice is settled as failed, and keeps the order paid', async () => {
      const price = { amount: '3400.00', paidAmount: '3400.00' };
      await deliver(JSON.stringify(event('payment.paid', 'A-1007', { id: 'cs_gggggggggggggggggggg01', ...price })));
      await deliver(JSON.stringify(event('order.paid_twice', 'A-1007', { id: 'cs_gggggggggggggggggggg02', status: 'held', ...price }, 'pending', 'duplicate_payment')));
      // Another session of the order, abandoned before the payment, expires: not the second payment, the flag stays.
      await deliver(JSON.stringify(event('payment.expired', 'A-1007', { id: 'cs_gggggggggggggggggggg03', status: 'expired', ...price, paidAmount: null }, 'pending', 'window_passed')));
      assert.equal((await order('A-1007')).needs_refund, true);
      const failed = event('payment.failed', 'A-1007', { id: 'cs_gggggggggggggggggggg02', status: 'failed', ...price }, 'held', 'manual');
      assert.equal((await deliver(JSON.stringify(failed))).json.detail, 'paid');
      const after = await order('A-1007');
      assert.equal(after.status, 'paid');
      assert.equal(after.session_id, 'cs_gggggggggggggggggggg01');
      assert.equal(after.needs_refund, false, 'one payment is left: refunding "one of two" would refund the real one');
      assert.match(after.note, /nothing to refund/);
    });

    it('answers 400 to a signed body that is not an event', async () => {
      assert.equal((await deliver(JSON.stringify({ hello: 'world' }))).status, 400);
      assert.equal((await deliver('not json')).status, 400);
    });
  });

  describe('answering the helper\'s order lookups', () => {
    const resolver = (secret = SECRET, forwardCookies = false) =>
      createHttpOrderResolver({ url: `${base}/pay-checkout/order`, secret, timeoutMs: 3_000, forwardCookies });

    it('prices an order for the helper\'s HTTP order resolver', async () => {
      assert.deepEqual(await resolver()('A-1002', { locale: 'ru' }), {
        amount: '650.00',
        currency: 'RUB',
        description: 'Ivan-chai, 200 g',
        customerId: 'customer-2',
        paid: false,
      });
    });

    it('says paid for an order it marked paid from a webhook', async () => {
      assert.equal((await resolver()('A-1001', {}))?.paid, true);
    });

    it('answers 404 for an order it does not have, which the resolver reports as unknown', async () => {
      assert.equal(await resolver()('NOPE-1', {}), null);
    });

    it('refuses a lookup signed with another secret (the resolver reports order_lookup_failed)', async () => {
      await assert.rejects(async () => resolver(generateWebhookSecret())('A-1002', {}), (error: unknown) => {
        return error instanceof CheckoutError && error.code === 'order_lookup_failed' && /HTTP 401/.test(error.message) && !error.retryable;
      });
    });

    it('checks the forwarded customer cookie against the order\'s customer', async () => {
      const as = (customer: string) => ({ request: new Request('https://shop.test/', { headers: { cookie: `shop_customer=${customer}` } }) });
      assert.equal((await resolver(SECRET, true)('A-1002', as('customer-2')))?.amount, '650.00');
      assert.equal(await resolver(SECRET, true)('A-1002', as('customer-1')), null);
      // Forwarding on, and no login at all: a stranger, refused.
      assert.equal(await resolver(SECRET, true)('A-1002', {}), null);
      // Without the opt-in the cookie never reaches the shop.
      assert.equal((await resolver(SECRET, false)('A-1002', as('customer-1')))?.amount, '650.00');
    });
  });

  describe('behind the helper', () => {
    const msw = setupServer();
    let t: TestApp;
    let repay: RepayMock;
    before(() => msw.listen({ onUnhandledRequest: 'error' }));
    after(() => msw.close());
    beforeEach(() => {
      repay = new RepayMock();
      msw.use(...repay.handlers(), http.post(`${base}/*`, () => passthrough()));
      t = makeTestApp({ config: { resolveOrder: undefined, orderResolve: { url: `${base}/pay-checkout/order`, secret: SECRET, timeoutMs: 3_000, forwardCookies: false } } });
    });
    afterEach(async () => {
      msw.resetHandlers();
      await t.dispose();
    });

    it('opens a payment at the Python shop\'s price', async () => {
      const { status, json } = await t.createSession({ orderId: 'A-1002', provider: 'repay', amount: '1' });
      assert.equal(status, 201);
      assert.equal(json.amount, '650.00');
      assert.equal([...repay.deals.values()][0]!.body.amount, '650');
    });

    it('refuses an order the Python shop already marked paid, without a provider call', async () => {
      const { status, json } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
      assert.equal(status, 409);
      assert.equal(json.error.code, 'order_paid');
      assert.equal(repay.creates, 0);
    });

    it('answers unknown_order for an order the Python shop does not have', async () => {
      const { status, json } = await t.createSession({ orderId: 'NOPE-2', provider: 'repay' });
      assert.equal(status, 404);
      assert.equal(json.error.code, 'unknown_order');
      assert.equal(repay.creates, 0);
    });
  });
  it('owes a refund on the helper\'s verdict only while it has two payments of the order, whatever the event says', async () => {
    const code = [
      'import json, merchant',
      "order = {'status': 'paid', 'session_id': 'cs_a', 'note': 'paid twice: refund one payment', 'needs_refund': 1}",
      "def state(sessions, verdict='paid'):",
      "    return list(merchant.checked_state(order, 'order.paid_twice', {'verdict': verdict, 'sessions': sessions}))",
      'print(json.dumps([',
      // The second payment was refunded before this old order.paid_twice came again: one payment left.
      "    state([{'id': 'cs_b', 'status': 'refunded'}, {'id': 'cs_a', 'status': 'paid'}]),",
      // Both still there: one counts, the other is held as the second.
      "    state([{'id': 'cs_b', 'status': 'held', 'errorCode': 'duplicate_payment'}, {'id': 'cs_a', 'status': 'paid'}]),",
      // The first was refunded and the second counts now: paid on it, nothing to refund.
      "    state([{'id': 'cs_b', 'status': 'paid'}, {'id': 'cs_a', 'status': 'refunded'}]),",
      // The second arrived while the first is disputed: two payments, whichever way the dispute ends.
      "    state([{'id': 'cs_b', 'status': 'held', 'errorCode': 'duplicate_payment'}, {'id': 'cs_a', 'status': 'held', 'errorCode': None}], 'held'),",
      // The first was refunded and the second is not read paid yet: the only payment left, nothing to refund.
      "    state([{'id': 'cs_b', 'status': 'held', 'errorCode': 'duplicate_payment'}, {'id': 'cs_a', 'status': 'refunded'}], 'held'),",
      ']))',
    ].join('\n');
    const [alone, twice, moved, disputed, left] = JSON.parse(await runPython(code, {})) as [string, string, string | null, number][];
    assert.deepEqual(alone, ['paid', 'cs_a', null, 0]);
    assert.deepEqual(twice, ['paid', 'cs_a', 'paid twice: refund one payment', 1]);
    assert.deepEqual(moved, ['paid', 'cs_b', null, 0]);
    assert.deepEqual(disputed, ['held', 'cs_a', 'a payment is under review at pay-checkout', 1]);
    assert.deepEqual(left, ['held', 'cs_b', 'a payment is under review at pay-checkout', 0]);
  });

  describe('an event the shop cannot place, without the merchant API to ask', () => {
    // A fresh shop, whose PAY_CHECKOUT_URL and MERCHANT_API_KEY are not set.
    before(async () => {
      await stopMerchant();
      await startMerchant('unplaced.sqlite');
    });

    it('holds an order for a person on a redelivered payment.paid the shop cannot place, and does not mark it paid', async () => {
      const session = { id: 'cs_dddddddddddddddddddddd', amount: '650.00', paidAmount: '650.00' };
      const paid = event('payment.paid', 'A-1002', session);
      const refunded = event('payment.refunded', 'A-1002', { ...session, status: 'refunded' }, 'paid');
      // The shop missed the payment.paid (it was down); the refund reached it; a person forces the old event again.
      assert.equal((await deliver(JSON.stringify(refunded))).status, 200);
      assert.equal((await order('A-1002')).status, 'unpaid');
      const again = { ...paid, data: { ...paid.data, redelivered: true } };
      const { status, json } = await deliver(JSON.stringify(again));
      assert.equal(status, 200);
      assert.equal(json.detail, 'held');
      const after = await order('A-1002');
      assert.equal(after.status, 'held', 'not ignored: the shop does not know what happened since');
      assert.match(after.note, /check this order at pay-checkout/);
      assert.ok(after.events.some((recorded: { type: string }) => recorded.type === 'payment.paid'), 'recorded');
    });

    it('keeps a paid order paid on a redelivered event, noted for a person', async () => {
      const session = { id: 'cs_aaaaaaaaaaaaaaaaaaaaaa', amount: '1500.00', paidAmount: '1500.00' };
      const paid = event('payment.paid', 'A-1001', session);
      assert.equal((await deliver(JSON.stringify(paid))).json.detail, 'paid');
      const again = { ...paid, data: { ...paid.data, redelivered: true } };
      assert.equal((await deliver(JSON.stringify(again))).json.detail, 'paid');
      const after = await order('A-1001');
      assert.match(after.note, /check this order at pay-checkout/);
      assert.deepEqual(after.events.map((e: any) => [e.from_status, e.to_status]), [['unpaid', 'paid'], ['paid', 'paid']], 'shipped once');
    });

    it('holds an order it never saw paid on order.paid_twice, flagged for a refund', async () => {
      const twice = event('order.paid_twice', 'A-1003', { id: 'cs_eeeeeeeeeeeeeeeeeeeeee', status: 'held', amount: '2500.00', paidAmount: '2500.00' }, 'pending', 'duplicate_payment');
      assert.equal((await deliver(JSON.stringify(twice))).json.detail, 'held');
      const after = await order('A-1003');
      assert.equal(after.status, 'held');
      assert.equal(after.needs_refund, true);
      assert.match(after.note, /check this order at pay-checkout/);
    });
  });

  describe('the full loop: helper service, sandbox provider, Python shop', () => {
    let helper: Awaited<ReturnType<typeof startServer>> | undefined;
    let helperDir = '';
    /** The shop's settings for the helper's merchant API, known once the helper runs. */
    let api: Record<string, string> = {};
    before(async () => {
      // A fresh shop for the helper to point at; restarted on the same port once the helper's URL is known.
      await stopMerchant();
      await startMerchant('loop.sqlite');
      helperDir = mkdtempSync(join(tmpdir(), 'python-merchant-helper-'));
      helper = await startServer({
        port: 0,
        env: {
          DATABASE_PATH: join(helperDir, 'checkout.sqlite'),
          LOG_LEVEL: 'silent',
          ORDER_RESOLVE_URL: `${base}/pay-checkout/order`,
          MERCHANT_WEBHOOK_URL: `${base}/pay-checkout/webhooks`,
          MERCHANT_WEBHOOK_SECRET: SECRET,
          MERCHANT_API_KEY: API_KEY,
        },
        config: { delivery: { timeoutMs: 5_000, retryDelaysMs: [100, 200, 400], intervalMs: 50 } },
      });
      api = { PORT: new URL(base).port, PAY_CHECKOUT_URL: `${helper.url}/api/checkout`, MERCHANT_API_KEY: API_KEY };
      await stopMerchant();
      await startMerchant('loop.sqlite', api);
    });
    after(async () => {
      await helper?.close();
      rmSync(helperDir, { recursive: true, force: true });
    });

    const open = async (orderId: string, provider = 'repay') => {
      const response = await fetch(`${helper!.url}/api/checkout/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, provider, ...(provider === 'repay' ? { method: 'sbp' } : {}) }),
      });
      const session = (await response.json()) as { id: string; token: string; amount: string; paymentUrl: string };
      assert.equal(response.status, 201, JSON.stringify(session));
      return session;
    };

    const pay = async (orderId: string, action: string, extra: Record<string, string> = {}) => {
      const session = await open(orderId);
      // The payer pays on the provider's page and closes the tab: nobody asks the helper for the status.
      await pressButton(session.paymentUrl, action, extra);
      return session;
    };

    /**
     * Two sessions of one order: the payer's first tab (Repay, which cannot cancel at the provider: its page stays
     * payable) cancelled at the helper, and a second one opened at another provider.
     */
    const twoTabs = async (orderId: string) => {
      const first = await open(orderId);
      const cancel = await fetch(`${helper!.url}/api/checkout/sessions/${first.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${first.token}` } });
      assert.equal(cancel.status, 200);
      const second = await open(orderId, 'agetrading');
      await waitForOrder(orderId, (current) => current.events.some((e: any) => e.type === 'payment.cancelled'));
      return { first, second };
    };

    /** Two tabs of the order, both paid: the second tab's payment is the order's, the first tab's its second payment. */
    const paidTwice = async (orderId: string) => {
      const tabs = await twoTabs(orderId);
      await pressButton(tabs.second.paymentUrl, 'pay');
      await waitForOrder(orderId, 'paid');
      await pressButton(tabs.first.paymentUrl, 'pay');
      await waitForOrder(orderId, (current) => current.needs_refund);
      return tabs;
    };

    const merchantApi = (path: string, init: RequestInit = {}) =>
      fetch(`${helper!.url}/api/checkout/merchant${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}` } });

    const waitForOrder = async (orderId: string, until: string | ((current: any) => boolean)) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const current = await order(orderId);
        if (typeof until === 'string' ? current.status === until : until(current)) return current;
        if (Date.now() > deadline) assert.fail(`order ${orderId} is ${current.status}, expected ${until}: ${JSON.stringify(current.events)}`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
    };

    it('prices the order from the shop and marks it paid from the signed webhook alone', async () => {
      const session = await pay('A-1006', 'pay');
      assert.equal(session.amount, '1890.00');
      const paid = await waitForOrder('A-1006', 'paid');
      assert.deepEqual(paid.events.map((e: any) => [e.type, e.to_status]), [['payment.paid', 'paid']]);
      // A second attempt to pay is refused by the helper, because the shop now says paid.
      const again = await fetch(`${helper!.url}/api/checkout/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId: 'A-1006', provider: 'repay' }),
      });
      assert.equal(again.status, 409);
    });

    let otherAmount: { id: string } | undefined;
    it('marks the order held when the payer paid another amount', async () => {
      otherAmount = await pay('A-1007', 'pay-other-amount', { other_amount: '3000' });
      const held = await waitForOrder('A-1007', 'held');
      assert.equal(held.events.at(-1).type, 'payment.held');
    });

    it('marks it paid when a person resolves that held payment as paid with the README\'s Python merchant_api()', async () => {
      assert.ok(otherAmount, 'the previous test held A-1007');
      const code = `import json, merchant
print(json.dumps(merchant.merchant_api("POST", "/sessions/${otherAmount.id}/resolve", {"status": "paid", "note": "the customer called: we accept 3000"})))`;
      const resolved = JSON.parse(await runPython(code, api));
      assert.equal(resolved.status, 'paid');
      const paid = await waitForOrder('A-1007', 'paid');
      assert.deepEqual(paid.events.map((e: any) => [e.type, e.to_status]), [
        ['payment.held', 'held'],
        ['payment.paid', 'paid'],
      ]);
      assert.match(paid.note, /accepted by a person at pay-checkout: paid 3000\.00 RUB, order is 3400\.00 RUB/);
    });

    it('takes the helper\'s verdict for an order paid while the shop was down, on the order.paid_twice of a second payment, and ships once', async () => {
      const { first, second } = await twoTabs('A-1001');
      // The shop is down while the second tab pays: its payment.paid fails for good.
      await stopMerchant();
      await pressButton(second.paymentUrl, 'pay');
      let failed: any;
      for (const deadline = Date.now() + 15_000; !failed; await new Promise((resolveWait) => setTimeout(resolveWait, 50))) {
        const { deliveries } = (await (await merchantApi('/deliveries?status=failed&orderId=A-1001')).json()) as { deliveries: any[] };
        failed = deliveries.find((delivery) => delivery.type === 'payment.paid');
        if (Date.now() > deadline) assert.fail('the payment.paid did not fail for good');
      }
      await startMerchant('loop.sqlite', api);
      assert.equal((await order('A-1001')).status, 'unpaid');
      // The first tab pays too: a second payment, told as order.paid_twice to a shop that never saw the first.
      await pressButton(first.paymentUrl, 'pay');
      const paid = await waitForOrder('A-1001', 'paid');
      assert.equal(paid.session_id, second.id, 'the payment the helper has as paid');
      assert.equal(paid.needs_refund, true);
      // The documented catch-up: the missed payment.paid is not the latest news; forced, it comes redelivered.
      assert.equal((await merchantApi(`/deliveries/${failed.id}/retry`, { method: 'POST' })).status, 409);
      assert.equal((await merchantApi(`/deliveries/${failed.id}/retry?force=1`, { method: 'POST' })).status, 200);
      const after = await waitForOrder('A-1001', (current) => current.events.length === 3);
      assert.deepEqual(after.events.map((e: any) => [e.type, e.from_status, e.to_status]), [
        ['payment.cancelled', 'unpaid', 'unpaid'],
        ['order.paid_twice', 'unpaid', 'paid'],
        ['payment.paid', 'paid', 'paid'],
      ], 'shipped once');
      assert.equal(after.needs_refund, true);
    });

    it('shows an order whose paid payment is refunded under review while its second payment is held, then paid by it', async () => {
      const { first, second } = await paidTwice('A-1002');
      // The paid payment is refunded at the provider; the helper learns it at a status check.
      await helper!.app.checkout.sessions.apply(second.id, { rawStatus: 'refunded', status: 'refunded', raw: {} }, 'poll');
      const refunded = await waitForOrder('A-1002', (current) => current.events.some((e: any) => e.type === 'payment.refunded'));
      assert.deepEqual(refunded.events.find((e: any) => e.type === 'payment.refunded').to_status, 'held', 'not "refunded": the held second payment counts now');
      // At its next status check the held second payment is the order's only one, and turns paid.
      await helper!.app.checkout.sessions.apply(first.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 65_000, raw: {} }, 'poll');
      const paid = await waitForOrder('A-1002', 'paid');
      assert.equal(paid.session_id, first.id);
      assert.equal(paid.needs_refund, false);
      assert.deepEqual(paid.events.map((e: any) => [e.type, e.session_id === first.id ? 'first' : 'second', e.to_status]), [
        ['payment.cancelled', 'first', 'unpaid'],
        ['payment.paid', 'second', 'paid'],
        ['order.paid_twice', 'first', 'paid'],
        ['payment.refunded', 'second', 'held'],
        ['payment.paid', 'first', 'paid'],
      ]);
    });

    /** What a person at the shop acts on: the order's status, the payment behind it, and whether to refund one. */
    const shopView = (current: any) => ({ status: current.status, session: current.session_id, needsRefund: current.needs_refund });
    const resolveAs = async (sessionId: string, status: string, note: string) => {
      const response = await fetch(`${helper!.url}/api/checkout/merchant/sessions/${sessionId}/resolve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ status, note }),
      });
      assert.equal(response.status, 200, await response.text());
    };

    it('hands an order whose paid payment ends failed (a dispute lost) to its held second payment, with nothing to refund', async () => {
      const { first, second } = await paidTwice('A-1003');
      // The paid payment is disputed, and the dispute is lost.
      await helper!.app.checkout.sessions.apply(second.id, { rawStatus: 'dispute', status: 'held', raw: {} }, 'poll');
      await waitForOrder('A-1003', 'held');
      await helper!.app.checkout.sessions.apply(second.id, { rawStatus: 'lost', status: 'failed', raw: {} }, 'poll');
      const failed = await waitForOrder('A-1003', (current) => current.events.some((e: any) => e.type === 'payment.failed'));
      assert.equal(failed.events.find((e: any) => e.type === 'payment.failed').to_status, 'held', 'not "unpaid": the held second payment counts now');
      // The second payment, read at once or at its next status check, is the order's only one and turns paid.
      await helper!.app.checkout.sessions.apply(first.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 250_000, raw: {} }, 'poll');
      const paid = await waitForOrder('A-1003', (current) => current.events.some((e: any) => e.type === 'payment.paid' && e.session_id === first.id));
      assert.deepEqual(shopView(paid), { status: 'paid', session: first.id, needsRefund: false }, 'nobody refunds the only payment left');
    });

    it('owes a refund for a second payment held while the order\'s payment was disputed, once the dispute is won', async () => {
      const { first, second } = await twoTabs('A-1005');
      await pressButton(second.paymentUrl, 'pay');
      await waitForOrder('A-1005', 'paid');
      await helper!.app.checkout.sessions.apply(second.id, { rawStatus: 'dispute', status: 'held', raw: {} }, 'poll');
      await waitForOrder('A-1005', 'held');
      // The first tab pays during the dispute: the helper holds it as the order's second payment.
      await pressButton(first.paymentUrl, 'pay');
      const twice = await waitForOrder('A-1005', (current) => current.events.some((e: any) => e.type === 'order.paid_twice'));
      assert.deepEqual(shopView(twice), { status: 'held', session: second.id, needsRefund: true });
      await helper!.app.checkout.sessions.apply(second.id, { rawStatus: 'won', status: 'paid', paidAmountMinor: 125_000, raw: {} }, 'poll');
      const won = await waitForOrder('A-1005', (current) => current.events.some((e: any) => e.type === 'payment.reinstated'));
      assert.deepEqual(shopView(won), { status: 'paid', session: second.id, needsRefund: true }, 'the helper still holds the second payment');
      await resolveAs(first.id, 'refunded', 'refunded the second payment');
      const refunded = await waitForOrder('A-1005', (current) => current.events.some((e: any) => e.type === 'payment.refunded'));
      assert.deepEqual(shopView(refunded), { status: 'paid', session: second.id, needsRefund: false });
    });

    it('keeps the refund flag of an order paid three times until each second payment is refunded', async () => {
      const cancel = async (session: { id: string; token: string }) => {
        const response = await fetch(`${helper!.url}/api/checkout/sessions/${session.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${session.token}` } });
        assert.equal(response.status, 200);
      };
      // Not at Repay: it takes whole rubles only.
      const s1 = await open('A-1004', 'boxexchanger');
      await cancel(s1);
      const s2 = await open('A-1004', 'agetrading');
      await cancel(s2);
      const s3 = await open('A-1004', 'agetrading');
      await pressButton(s3.paymentUrl, 'pay');
      await waitForOrder('A-1004', 'paid');
      // The two cancelled tabs were paid after all: two second payments, both held at pay-checkout.
      const twice = (count: number) => (current: any) => current.events.filter((e: any) => e.type === 'order.paid_twice').length === count;
      await helper!.app.checkout.sessions.apply(s1.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 99_050, raw: {} }, 'poll');
      await waitForOrder('A-1004', twice(1));
      await helper!.app.checkout.sessions.apply(s2.id, { rawStatus: 'paid', status: 'paid', paidAmountMinor: 99_050, raw: {} }, 'poll');
      await waitForOrder('A-1004', twice(2));
      const refunds = (count: number) => (current: any) => current.events.filter((e: any) => e.type === 'payment.refunded').length === count;
      await resolveAs(s2.id, 'refunded', 'refunded the latest');
      assert.deepEqual(shopView(await waitForOrder('A-1004', refunds(1))), { status: 'paid', session: s3.id, needsRefund: true }, 's1 is still held');
      await resolveAs(s1.id, 'refunded', 'refunded the other one');
      assert.deepEqual(shopView(await waitForOrder('A-1004', refunds(2))), { status: 'paid', session: s3.id, needsRefund: false });
    });
  });
});
