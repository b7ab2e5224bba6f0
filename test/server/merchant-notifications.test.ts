// The merchant's backend learns every payment: signed webhooks from a transactional outbox (retried, in order,
// across a kill -9), the in-process onEvent hook, and the merchant API. Real HTTP, real SQLite, the embedded sandbox
// as the provider; signatures checked with the independent `standardwebhooks` verifier.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startServer } from '../../server-example/index.js';
import type { RunningServer } from '../../server-example/index.js';
import type { MerchantEvent } from '../../server-example/types.js';
import { pressButton } from '../../server-example/sandbox/testing.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const API_KEY = 'merchant-api-key-0123456789abcdef';
const FAST = { timeoutMs: 2_000, retryDelaysMs: [50, 50, 50, 50], intervalMs: 20 };
const INSTANCE_SCRIPT = fileURLToPath(new URL('./pg-instance.ts', import.meta.url));

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  event: MerchantEvent;
}

/** The merchant's webhook endpoint: records every request; `answer` decides the reply (it may wait). */
class Receiver {
  readonly received: Received[] = [];
  answer: (request: Received, index: number) => number | Promise<number> = () => 200;
  private server: Server | undefined;
  private waiters: Array<() => void> = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const entry: Received = {
          id: String(request.headers['webhook-id']),
          timestamp: String(request.headers['webhook-timestamp']),
          signature: String(request.headers['webhook-signature']),
          body,
          event: JSON.parse(body) as MerchantEvent,
        };
        const index = this.received.push(entry) - 1;
        for (const wake of this.waiters.splice(0)) wake();
        const status = await this.answer(entry, index);
        if (!response.destroyed) response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/hooks`;
  }

  async waitFor(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  ofType(type: string): Received[] {
    return this.received.filter((entry) => entry.event.type === type);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let dir: string;
let receiver: Receiver;
let server: RunningServer | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pay-checkout-notify-'));
  receiver = new Receiver();
  await receiver.start();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_PATH: join(dir, 'checkout.sqlite'),
    LOG_LEVEL: 'silent',
    MERCHANT_WEBHOOK_URL: receiver.url,
    MERCHANT_WEBHOOK_SECRET: SECRET,
    MERCHANT_API_KEY: API_KEY,
    ...extra,
  };
}

async function start(options: Parameters<typeof startServer>[0] = {}): Promise<RunningServer> {
  server = await startServer({ port: 0, env: env(), config: { delivery: FAST }, ...options });
  return server;
}

async function createSession(url: string, orderId: string, provider = 'repay'): Promise<any> {
  const response = await fetch(`${url}/api/checkout/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, provider }),
  });
  const json = (await response.json()) as any;
  assert.equal(response.status, 201, JSON.stringify(json));
  return json;
}

const merchant = (path: string, init: RequestInit = {}) =>
  fetch(`${server!.url}/api/checkout/merchant${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}`, ...(init.headers ?? {}) } });

describe('merchant webhooks', () => {
  it('signs payment.paid so the standardwebhooks verifier accepts it, and a tampered copy fails', async () => {
    const { url } = await start();
    const session = await createSession(url, 'samovar-paid1');
    assert.equal((await pressButton(session.paymentUrl, 'pay')).status, 303);
    await receiver.waitFor(() => receiver.ofType('payment.paid').length === 1);
    const [paid] = receiver.ofType('payment.paid');
    const headers = { 'webhook-id': paid!.id, 'webhook-timestamp': paid!.timestamp, 'webhook-signature': paid!.signature };
    const verified = new Webhook(SECRET).verify(paid!.body, headers) as MerchantEvent;
    assert.equal(verified.id, paid!.id);
    assert.equal(verified.data.session.id, session.id);
    assert.equal(verified.data.session.orderId, 'samovar-paid1');
    assert.equal(verified.data.session.status, 'paid');
    assert.equal(verified.data.session.paidAmount, '8900.00');
    assert.equal(verified.data.previousStatus, 'created');
    assert.ok(verified.data.session.providerPaymentId);
    assert.ok(!paid!.body.includes(session.token) && !paid!.body.includes('paymentUrl'), 'no token, no payment link');
    assert.throws(() => new Webhook(SECRET).verify(paid!.body.replace('8900.00', '1.00'), headers));
    assert.throws(() => new Webhook(SECRET).verify(paid!.body, { ...headers, 'webhook-id': 'msg_other' }));
  });

  it('retries a receiver that is down for three tries with the same webhook-id, delivering on the fourth', async () => {
    receiver.answer = (_request, index) => (index < 3 ? 503 : 204);
    const { url } = await start();
    const session = await createSession(url, 'tea-retry1');
    await pressButton(session.paymentUrl, 'pay');
    await receiver.waitFor(() => receiver.received.length >= 4);
    const ids = new Set(receiver.received.map((entry) => entry.id));
    assert.equal(ids.size, 1, 'one message, four attempts');
    const [delivery] = (await (await merchant('/deliveries?status=delivered')).json()).deliveries as any[];
    assert.equal(delivery.attempts, 4);
    assert.equal(delivery.eventId, [...ids][0]);
  });

  it('marks a delivery failed after its last try, lists it, and sends it again on request', async () => {
    receiver.answer = () => 500;
    const { url } = await start();
    const session = await createSession(url, 'honey-fail1');
    await pressButton(session.paymentUrl, 'pay');
    let failed: any[] = [];
    while (failed.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      failed = ((await (await merchant('/deliveries?status=failed')).json()) as any).deliveries;
    }
    assert.equal(failed[0].attempts, FAST.retryDelaysMs.length + 1);
    assert.equal(failed[0].lastStatus, 500);
    receiver.answer = () => 200;
    const retried = await merchant(`/deliveries/${failed[0].id}/retry`, { method: 'POST' });
    assert.equal(((await retried.json()) as any).status, 'pending');
    await receiver.waitFor(() => receiver.received.length === FAST.retryDelaysMs.length + 2);
    assert.equal(new Set(receiver.received.map((entry) => entry.id)).size, 1);
  });

  it('does not follow a redirect', async () => {
    const elsewhere = new Receiver();
    await elsewhere.start();
    receiver.answer = () => 200;
    const redirecting = createServer((_request, response) => response.writeHead(307, { location: elsewhere.url }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hooks`;
    try {
      server = await startServer({ port: 0, env: env({ MERCHANT_WEBHOOK_URL: target }), config: { delivery: { ...FAST, retryDelaysMs: [] } } });
      const session = await createSession(server.url, 'tea-redirect1');
      await pressButton(session.paymentUrl, 'pay');
      let failed: any[] = [];
      while (failed.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        failed = ((await (await merchant('/deliveries?status=failed')).json()) as any).deliveries;
      }
      assert.equal(failed[0].lastStatus, 307);
      assert.equal(elsewhere.received.length, 0);
    } finally {
      await elsewhere.close();
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
    }
  });

  it('delivers one session\'s events in order even when the first needs a retry', async () => {
    receiver.answer = (_request, index) => (index === 0 ? 503 : 200);
    const { url, app } = await start();
    const session = await createSession(url, 'shawl-order1');
    await pressButton(session.paymentUrl, 'pay');
    // A dispute, then lost: paid → held → failed, all told.
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 340000, raw: {} }, 'poll');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'reject_by_office', status: 'failed', raw: {} }, 'poll');
    await receiver.waitFor(() => new Set(receiver.received.map((entry) => entry.id)).size === 3);
    const firstArrival = [...new Map(receiver.received.map((entry) => [entry.id, entry.event.type])).values()];
    assert.deepEqual(firstArrival, ['payment.paid', 'payment.held', 'payment.failed']);
  });
});

describe('retrying a failed delivery', () => {
  const failedOf = async (type: string) => {
    for (;;) {
      const list = ((await (await merchant('/deliveries?status=failed')).json()) as any).deliveries as any[];
      const found = list.find((delivery) => delivery.type === type);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('never lets an old payment.paid arrive after the refund that followed it, unless forced and marked redelivered', async () => {
    receiver.answer = (request) => (request.event.type === 'payment.paid' ? 500 : 200);
    const { url, app } = await start();
    const session = await createSession(url, 'samovar-order2');
    await pressButton(session.paymentUrl, 'pay');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 890000, raw: {} }, 'poll');
    const paid = await failedOf('payment.paid');
    await receiver.waitFor(() => receiver.ofType('payment.held').length === 1);
    const resolved = await merchant(`/sessions/${session.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'refunded', note: 'Refunded after the dispute' }),
    });
    assert.equal(resolved.status, 200);
    await receiver.waitFor(() => receiver.ofType('payment.refunded').length === 1);
    receiver.answer = () => 200;

    const refused = await merchant(`/deliveries/${paid.id}/retry`, { method: 'POST' });
    assert.equal(refused.status, 409);
    const body = (await refused.json()) as any;
    assert.equal(body.error.code, 'delivery_superseded');
    assert.equal(body.delivery.status, 'failed');
    const refund = ((await (await merchant(`/deliveries?sessionId=${session.id}`)).json()) as any).deliveries.find((d: any) => d.type === 'payment.refunded');
    assert.equal(body.supersededBy, refund.id);
    await app.checkout.deliveries.tick();
    assert.equal(receiver.ofType('payment.paid').length, FAST.retryDelaysMs.length + 1, 'not sent again');

    const forced = await merchant(`/deliveries/${paid.id}/retry?force=1`, { method: 'POST' });
    assert.equal(forced.status, 200);
    assert.equal(((await forced.json()) as any).status, 'pending');
    await receiver.waitFor(() => receiver.ofType('payment.paid').length === FAST.retryDelaysMs.length + 2);
    const resent = receiver.ofType('payment.paid').at(-1)!;
    assert.equal(resent.id, paid.eventId, 'the same webhook-id, so a receiver that has it already drops it');
    assert.equal(resent.event.data.session.status, 'paid');
    assert.equal((resent.event.data as any).redelivered, true, 'marked: older than events already delivered');
    new Webhook(SECRET).verify(resent.body, { 'webhook-id': resent.id, 'webhook-timestamp': resent.timestamp, 'webhook-signature': resent.signature });
  });
});

describe('changing MERCHANT_WEBHOOK_URL', () => {
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((other) => other.close()));
  });
  /** Another webhook endpoint of the shop, closed after the test. */
  const endpoint = async (): Promise<Receiver> => {
    const other = new Receiver();
    await other.start();
    receivers.push(other);
    return other;
  };
  // A fix undone shows as a test that fails, not as one waiting for ever for a webhook.
  const bounded = { timeout: 20_000 };
  const deliveriesOf = async (sessionId: string): Promise<any[]> =>
    ((await (await merchant(`/deliveries?sessionId=${sessionId}`)).json()) as any).deliveries;

  it('refuses to retry a payment.paid that failed at the old URL once the refund went to the new one, and marks a forced one redelivered', bounded, async () => {
    receiver.answer = (request) => (request.event.type === 'payment.paid' ? 500 : 200);
    const { url } = await start();
    const session = await createSession(url, 'samovar-moved1');
    await pressButton(session.paymentUrl, 'pay');
    let paid: any;
    while (!paid) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      paid = (await deliveriesOf(session.id)).find((delivery) => delivery.type === 'payment.paid' && delivery.status === 'failed');
    }
    await server!.close();

    // The shop moved its endpoint, and added a second one: the helper restarts with both.
    const moved = await endpoint();
    const second = await endpoint();
    const { app } = await start({ env: env({ MERCHANT_WEBHOOK_URL: `${moved.url},${second.url}` }) });
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 890000, raw: {} }, 'poll');
    const resolved = await merchant(`/sessions/${session.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'refunded', note: 'Refunded after the dispute' }),
    });
    assert.equal(resolved.status, 200);
    await moved.waitFor(() => moved.ofType('payment.refunded').length === 1);
    receiver.answer = () => 200;

    const refused = await merchant(`/deliveries/${paid.id}/retry`, { method: 'POST' });
    assert.equal(refused.status, 409);
    const body = (await refused.json()) as any;
    assert.equal(body.error.code, 'delivery_superseded');
    const refund = (await deliveriesOf(session.id)).find((delivery) => delivery.type === 'payment.refunded' && delivery.target === moved.url);
    assert.equal(body.supersededBy, refund.id);
    await app.checkout.deliveries.tick();
    assert.equal(receiver.ofType('payment.paid').length, FAST.retryDelaysMs.length + 1, 'not sent again');

    const forced = await merchant(`/deliveries/${paid.id}/retry?force=1`, { method: 'POST' });
    assert.equal(forced.status, 200);
    await receiver.waitFor(() => receiver.ofType('payment.paid').length === FAST.retryDelaysMs.length + 2);
    const resent = receiver.ofType('payment.paid').at(-1)!;
    assert.equal(resent.id, paid.eventId);
    assert.equal((resent.event.data as any).redelivered, true, 'marked: the order\'s refund went out after it');
  });

  it('delivers the deliveries still pending for the old URL to the new one after a restart, in their order', bounded, async () => {
    receiver.answer = () => 503;
    const slow = { delivery: { ...FAST, retryDelaysMs: [3_600_000] } };
    const first = await start({ env: env({ MERCHANT_WEBHOOK_URL: `${receiver.url}?token=old-url-token` }), config: slow });
    const session = await createSession(first.url, 'samovar-moved2');
    await pressButton(session.paymentUrl, 'pay');
    await first.app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 890000, raw: {} }, 'poll');
    await receiver.waitFor(() => receiver.received.length === 1);
    await server!.close();

    const moved = await endpoint();
    const lines: string[] = [];
    const logger = { debug() {}, info: (message: string, fields?: object) => lines.push(`${message} ${JSON.stringify(fields)}`), warn() {}, error() {} };
    await start({ env: env({ MERCHANT_WEBHOOK_URL: moved.url }), config: { ...slow, logger } });
    await moved.waitFor(() => moved.received.length === 2);
    assert.deepEqual(lines.filter((line) => line.includes('MERCHANT_WEBHOOK_URL')), [`merchant deliveries to URLs MERCHANT_WEBHOOK_URL no longer names follow it ${JSON.stringify({ from: [receiver.url], to: [moved.url], moved: 2, ended: 0, left: 0 })}`], 'counted, without the old URL\'s query');
    assert.deepEqual(moved.received.map((entry) => entry.event.type), ['payment.paid', 'payment.held']);
    assert.ok(moved.received.every((entry) => (entry.event.data as any).redelivered === undefined));
    assert.equal(receiver.received.length, 1, 'the old URL is not tried again');
    const rows = await deliveriesOf(session.id);
    assert.deepEqual(rows.map((row) => [row.type, row.status, row.target]), [
      ['payment.held', 'delivered', moved.url],
      ['payment.paid', 'delivered', moved.url],
    ]);
  });

  it('sends a retry of a delivery that failed at the old URL to the new one', bounded, async () => {
    receiver.answer = () => 500;
    const { url } = await start();
    const session = await createSession(url, 'samovar-moved3');
    await pressButton(session.paymentUrl, 'pay');
    let paid: any;
    while (!paid) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      paid = (await deliveriesOf(session.id)).find((delivery) => delivery.status === 'failed');
    }
    await server!.close();

    const moved = await endpoint();
    await start({ env: env({ MERCHANT_WEBHOOK_URL: moved.url }) });
    const retried = await merchant(`/deliveries/${paid.id}/retry`, { method: 'POST' });
    assert.equal(retried.status, 200);
    const view = (await retried.json()) as any;
    assert.deepEqual([view.retry, view.target], ['queued', moved.url]);
    await moved.waitFor(() => moved.received.length === 1);
    assert.deepEqual([moved.received[0]!.id, moved.received[0]!.event.type], [paid.eventId, 'payment.paid']);
    assert.equal(receiver.received.length, FAST.retryDelaysMs.length + 1, 'the old URL is not tried again');
  });

  it('ends a delivery pending for a URL no longer configured when its event has one to every URL that is', bounded, async () => {
    const kept = await endpoint();
    receiver.answer = () => 503;
    const slow = { delivery: { ...FAST, retryDelaysMs: [3_600_000] } };
    const first = await start({ env: env({ MERCHANT_WEBHOOK_URL: `${receiver.url},${kept.url}` }), config: slow });
    const session = await createSession(first.url, 'samovar-moved4');
    await pressButton(session.paymentUrl, 'pay');
    await kept.waitFor(() => kept.received.length === 1);
    await receiver.waitFor(() => receiver.received.length === 1);
    await server!.close();

    // The old URL is dropped from the list: the shop has the event at the one left.
    const second = await start({ env: env({ MERCHANT_WEBHOOK_URL: kept.url }), config: slow });
    await second.app.checkout.deliveries.tick();
    const rows = await deliveriesOf(session.id);
    const ended = rows.find((row) => row.target === receiver.url);
    assert.deepEqual([ended.status, ended.nextAttemptAt], ['failed', null]);
    assert.match(ended.lastError, /^MERCHANT_WEBHOOK_URL no longer names this URL; /);
    assert.equal(rows.find((row) => row.target === kept.url).status, 'delivered');
    assert.deepEqual([receiver.received.length, kept.received.length], [1, 1]);
  });
});

describe('payment.reinstated', () => {
  const types = () => [...new Map(receiver.received.map((entry) => [entry.id, entry.event.type])).values()];

  it('tells a payment back from a hold as payment.reinstated, never as a second payment.paid a shop would ship again', async () => {
    const { url, app } = await start();
    const session = await createSession(url, 'shawl-again1');
    await pressButton(session.paymentUrl, 'pay');
    // A dispute the merchant wins, a second one, and a person who settles that one as paid.
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 340000, raw: {} }, 'poll');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 340000, raw: {} }, 'poll');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 340000, raw: {} }, 'poll');
    const resolved = await merchant(`/sessions/${session.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paid', note: 'Dispute closed in our favour' }),
    });
    assert.equal(resolved.status, 200);
    await receiver.waitFor(() => new Set(receiver.received.map((entry) => entry.id)).size === 5);
    assert.deepEqual(types(), ['payment.paid', 'payment.held', 'payment.reinstated', 'payment.held', 'payment.reinstated']);
    const [fromProvider, byPerson] = receiver.ofType('payment.reinstated').map((entry) => entry.event);
    assert.equal(fromProvider!.data.previousStatus, 'held');
    assert.equal(fromProvider!.data.reason, 'provider_status');
    assert.equal(fromProvider!.data.session.status, 'paid');
    assert.equal(byPerson!.data.reason, 'manual');
  });

  it('tells a paid session that failed and was then paid again as payment.reinstated, not payment.revived', async () => {
    const { url, app } = await start();
    const session = await createSession(url, 'shawl-again2');
    await pressButton(session.paymentUrl, 'pay');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'proceedings', status: 'held', paidAmountMinor: 340000, raw: {} }, 'poll');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'reject_by_office', status: 'failed', raw: {} }, 'poll');
    await app.checkout.sessions.apply(session.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 340000, raw: {} }, 'poll');
    await receiver.waitFor(() => new Set(receiver.received.map((entry) => entry.id)).size === 4);
    assert.deepEqual(types(), ['payment.paid', 'payment.held', 'payment.failed', 'payment.reinstated']);
    assert.equal(receiver.ofType('payment.reinstated')[0]!.event.data.reason, 'revived');
  });
});

describe('order.paid_twice', () => {
  it('tells the shop when a second payment arrives for a paid order, so a person refunds one', async () => {
    const { url } = await start();
    const first = await createSession(url, 'samovar-twice1', 'repay');
    // Repay cannot cancel: the payer's first page stays payable.
    const cancel = await fetch(`${url}/api/checkout/sessions/${first.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${first.token}` } });
    assert.equal(((await cancel.json()) as any).cancelledAtProvider, false);
    const second = await createSession(url, 'samovar-twice1', 'agetrading');
    await pressButton(second.paymentUrl, 'pay');
    await receiver.waitFor(() => receiver.ofType('payment.paid').length === 1);
    await pressButton(first.paymentUrl, 'pay');
    await receiver.waitFor(() => receiver.ofType('order.paid_twice').length === 1);
    const twice = receiver.ofType('order.paid_twice')[0]!.event;
    assert.equal(twice.data.session.id, first.id);
    assert.equal(twice.data.session.status, 'held');
    assert.equal(twice.data.reason, 'duplicate_payment');
    assert.equal(twice.data.previousStatus, 'cancelled');
    assert.equal(((await (await merchant('/orders/samovar-twice1')).json()) as any).verdict, 'paid');
  });

  it('tells a refund of the first payment before the second payment that counts once it is gone, however long the refund takes to deliver', async () => {
    const { url, app } = await start();
    const first = await createSession(url, 'samovar-twice2', 'repay');
    await fetch(`${url}/api/checkout/sessions/${first.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${first.token}` } });
    const second = await createSession(url, 'samovar-twice2', 'agetrading');
    await pressButton(second.paymentUrl, 'pay');
    await pressButton(first.paymentUrl, 'pay');
    await receiver.waitFor(() => receiver.ofType('order.paid_twice').length === 1);
    // The shop's endpoint refuses the refund until the other payment has moved (a hiccup at the worst moment).
    let promoted = false;
    const accepted: string[] = [];
    receiver.answer = (request) => {
      if (request.event.type === 'payment.refunded' && !promoted) return 503;
      accepted.push(`${request.event.type}:${request.event.data.session.id === first.id ? 'first' : 'second'}`);
      return 200;
    };
    await app.checkout.sessions.apply(second.id, { rawStatus: 'refunded', status: 'refunded', raw: {} }, 'poll');
    await receiver.waitFor(() => receiver.ofType('payment.refunded').length === 1);
    // The order's paid payment is gone: the held second one now counts, and the shop ships on it.
    await app.checkout.sessions.apply(first.id, { rawStatus: 'completed', status: 'paid', paidAmountMinor: 890000, raw: {} }, 'poll');
    assert.equal((await app.checkout.store.getSession(first.id))?.status, 'paid');
    // Two more refused tries of the refund (of five): the sender passes several times meanwhile.
    await receiver.waitFor(() => receiver.ofType('payment.refunded').length === 3);
    promoted = true;
    await receiver.waitFor(() => accepted.some((told) => told.endsWith(':first')));
    assert.deepEqual(accepted, ['payment.refunded:second', 'payment.paid:first']);
  });
});

describe('the in-process onEvent hook', () => {
  it('gets every event once per transition from 50 concurrent duplicate callbacks, and is retried when it throws', async () => {
    const seen: MerchantEvent[] = [];
    let throws = 1;
    const { url, app } = await start({
      env: env({ MERCHANT_WEBHOOK_URL: '', MERCHANT_WEBHOOK_SECRET: '' }),
      config: {
        delivery: FAST,
        onEvent(event) {
          if (throws-- > 0) throw new Error('the shop database is busy');
          seen.push(event);
        },
      },
    });
    const session = await createSession(url, 'matryoshka-dup1');
    // The sandbox's own signed callback, captured from its log, sent 50 times at once.
    await pressButton(session.paymentUrl, 'pay');
    const log = (await (await fetch(`${url}/sandbox/_log?provider=repay`)).json()) as any[];
    const callback = log.find((entry) => entry.body.includes('deal_id'))!;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => fetch(`${url}/api/checkout/webhooks/repay`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: callback.body })),
    );
    assert.ok(answers.every((answer) => answer.status === 200));
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await app.checkout.deliveries.tick();
    assert.deepEqual(seen.map((event) => event.type), ['payment.paid']);
    const transitions = (await app.checkout.store.listEvents(session.id)).filter((event) => event.kind === 'transition');
    assert.equal(transitions.length, 1);
  });
});

describe('a hung onEvent hook', () => {
  it('is a failed attempt after MERCHANT_WEBHOOK_TIMEOUT_MS, retried, and never stops the other notifications', { timeout: 20_000 }, async () => {
    const seen: string[] = [];
    let release: () => void = () => undefined;
    let hung = 0;
    const { url, app } = await start({
      env: env({ MERCHANT_WEBHOOK_URL: '', MERCHANT_WEBHOOK_SECRET: '' }),
      config: {
        delivery: { ...FAST, timeoutMs: 300 },
        onEvent(event) {
          if (event.data.session.orderId === 'tea-hung1' && hung++ === 0) return new Promise<void>((resolve) => (release = resolve));
          seen.push(`${event.data.session.orderId} ${event.type}`);
          return undefined;
        },
      },
    });
    try {
      const first = await createSession(url, 'tea-hung1');
      await pressButton(first.paymentUrl, 'pay');
      while (hung === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      const second = await createSession(url, 'tea-hung2');
      await pressButton(second.paymentUrl, 'pay');
      const deadline = Date.now() + 5_000;
      while (seen.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(seen.sort(), ['tea-hung1 payment.paid', 'tea-hung2 payment.paid']);
      const [delivery] = await app.checkout.store.listDeliveries({ sessionId: first.id, limit: 10 });
      assert.equal(delivery?.status, 'delivered');
      assert.equal(delivery?.attempts, 2, 'the hung call was one failed attempt');
    } finally {
      release();
    }
  });
});

describe('kill -9 between a status change and its delivery', () => {
  it('delivers after the restart, one message for the one transition', { timeout: 60_000 }, async () => {
    let hold = true;
    receiver.answer = () => new Promise<number>((resolve) => {
      const check = () => (hold ? setTimeout(check, 20) : resolve(200));
      check();
    });
    const childEnv = env({ MERCHANT_WEBHOOK_TIMEOUT_MS: '1000', MERCHANT_WEBHOOK_INTERVAL_MS: '50' });
    const first = await startChild(childEnv);
    const session = await createSession(first.url, 'samovar-kill1');
    await pressButton(session.paymentUrl, 'pay');
    await receiver.waitFor(() => receiver.received.length === 1);
    first.child.kill('SIGKILL');
    await first.exited;
    hold = false;
    const second = await startChild(childEnv);
    try {
      await receiver.waitFor(() => receiver.received.length >= 2);
      const ids = new Set(receiver.received.map((entry) => entry.id));
      assert.equal(ids.size, 1);
      assert.ok(receiver.received.every((entry) => entry.event.type === 'payment.paid' && entry.event.data.session.id === session.id));
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('the merchant API', () => {
  it('is absent without MERCHANT_API_KEY and refuses a missing or wrong key', async () => {
    const { url } = await start();
    assert.equal((await fetch(`${url}/api/checkout/merchant/deliveries`)).status, 401);
    assert.equal((await fetch(`${url}/api/checkout/merchant/deliveries`, { headers: { authorization: `Bearer ${API_KEY}x` } })).status, 401);
    assert.equal((await fetch(`${url}/api/checkout/merchant/deliveries`, { headers: { authorization: `Bearer ${API_KEY}` } })).status, 200);
    await server!.close();
    server = await startServer({ port: 0, env: env({ MERCHANT_API_KEY: '' }) });
    assert.equal((await fetch(`${server.url}/api/checkout/merchant/deliveries`, { headers: { authorization: `Bearer ${API_KEY}` } })).status, 404);
  });

  it('gives the order verdict, a session with its events, and lets a person resolve a held payment', async () => {
    const { url } = await start();
    const session = await createSession(url, 'honey-held1');
    assert.equal(((await (await merchant('/orders/honey-held1')).json()) as any).verdict, 'open');
    assert.equal((await pressButton(session.paymentUrl, 'pay-other-amount')).status, 303);
    await receiver.waitFor(() => receiver.ofType('payment.held').length === 1);
    const order = (await (await merchant('/orders/honey-held1')).json()) as any;
    assert.equal(order.verdict, 'held');
    assert.equal(order.sessions[0].errorCode, 'amount_mismatch');
    assert.ok(!JSON.stringify(order).includes('paymentUrl') && !JSON.stringify(order).includes('ipnSecret'));

    const notHeld = await createSession(url, 'tea-open1');
    const refused = await merchant(`/sessions/${notHeld.id}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'paid', note: 'x' }) });
    assert.equal(refused.status, 409);
    assert.equal(((await refused.json()) as any).error.code, 'session_not_held');

    const resolved = await merchant(`/sessions/${session.id}/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paid', note: 'Payer sent the difference by bank transfer, ticket 42' }),
    });
    assert.equal(resolved.status, 200);
    assert.equal(((await resolved.json()) as any).status, 'paid');
    await receiver.waitFor(() => receiver.ofType('payment.paid').length === 1);
    const told = receiver.ofType('payment.paid')[0]!.event;
    assert.equal(told.data.reason, 'manual');
    assert.equal(told.data.note, 'Payer sent the difference by bank transfer, ticket 42');
    assert.equal(((await (await merchant('/orders/honey-held1')).json()) as any).verdict, 'paid');
    const detail = (await (await merchant(`/sessions/${session.id}`)).json()) as any;
    const manual = detail.events.find((event: any) => event.source === 'manual' && event.to === 'paid');
    assert.equal(manual.data.reason, 'manual', 'a person\'s resolution is the transition with reason "manual"');
    assert.equal(manual.data.note, 'Payer sent the difference by bank transfer, ticket 42');
    assert.ok(!JSON.stringify(detail.events).includes('signature'), 'no raw provider callbacks');
  });

  it('logs with source "manual" what the helper does on a request to its own API: creation and a cancel, without reason "manual"', async () => {
    const { url } = await start();
    for (const provider of ['repay', 'boxexchanger']) {
      const session = await createSession(url, `tea-src${provider.slice(0, 3)}1`, provider);
      const cancelled = await fetch(`${url}/api/checkout/sessions/${session.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${session.token}` } });
      assert.equal(cancelled.status, 200);
      const detail = (await (await merchant(`/sessions/${session.id}`)).json()) as any;
      const sourceOf = (kind: string, to?: string) => detail.events.find((event: any) => event.kind === kind && (to === undefined || event.to === to))?.source;
      assert.equal(sourceOf('created', 'created'), 'manual', `${provider}: the session row`);
      assert.equal(sourceOf('provider_created'), 'manual', `${provider}: the provider's payment recorded`);
      const cancel = detail.events.find((event: any) => event.kind === 'transition' && event.to === 'cancelled');
      if (provider === 'repay') {
        // No cancel call at Repay: the helper ends the session itself.
        assert.equal(cancel.source, 'manual', 'repay: the cancel');
        assert.equal(cancel.data.reason, 'cancelled_locally');
      } else {
        // Cancelled at the provider: whichever report of it arrives first (its IPN, the status read) ends the session.
        assert.ok(['manual', 'webhook', 'poll'].includes(cancel.source), `${provider}: ${cancel.source}`);
      }
      // Only a person's resolution is told and logged with reason "manual".
      assert.ok(detail.events.every((event: any) => event.data?.reason !== 'manual'), JSON.stringify(detail.events));
    }
  });
});

describe('the merchant API deliveries list and retry', () => {
  it('refuses a bad limit, filters by session and by order, pages with a cursor, and makes a waiting delivery due now', async () => {
    receiver.answer = () => 503;
    const { url } = await start({ config: { delivery: { ...FAST, retryDelaysMs: [3_600_000] } } });
    for (const limit of ['0', '501', 'ten', '-1', '']) {
      const answer = await merchant(`/deliveries?limit=${limit}`);
      assert.equal(answer.status, 400, `limit=${limit}`);
      assert.equal(((await answer.json()) as any).error.code, 'invalid_field');
    }
    assert.equal((await merchant('/deliveries?sessionId=nope')).status, 400);
    assert.equal((await merchant('/deliveries?orderId=a%20b')).status, 400);
    assert.equal((await merchant('/deliveries?before=dlv_missing')).status, 400);

    const sessions = [];
    for (const order of ['tea-page1', 'tea-page2', 'tea-page3']) {
      const session = await createSession(url, order);
      await pressButton(session.paymentUrl, 'pay');
      sessions.push(session);
    }
    await receiver.waitFor(() => receiver.received.length === 3);
    const all = ((await (await merchant('/deliveries')).json()) as any).deliveries as any[];
    assert.deepEqual(all.map((d) => d.orderId), ['tea-page3', 'tea-page2', 'tea-page1']);
    const page1 = (await (await merchant('/deliveries?limit=2')).json()) as any;
    assert.deepEqual(page1.deliveries.map((d: any) => d.id), [all[0].id, all[1].id]);
    assert.equal(page1.nextCursor, all[1].id);
    const page2 = (await (await merchant(`/deliveries?limit=2&before=${page1.nextCursor}`)).json()) as any;
    assert.deepEqual(page2.deliveries.map((d: any) => d.id), [all[2].id]);
    assert.equal(page2.nextCursor, null);
    const ofSession = (await (await merchant(`/deliveries?sessionId=${sessions[1].id}`)).json()) as any;
    assert.deepEqual(ofSession.deliveries.map((d: any) => d.orderId), ['tea-page2']);
    const ofOrder = (await (await merchant('/deliveries?orderId=tea-page3')).json()) as any;
    assert.deepEqual(ofOrder.deliveries.map((d: any) => d.sessionId), [sessions[2].id]);

    // Waiting an hour for its next attempt: a retry sends it now.
    const waiting = all[0];
    assert.equal(waiting.status, 'pending');
    assert.ok(Date.parse(waiting.nextAttemptAt) > Date.now() + 3_000_000);
    receiver.answer = () => 200;
    const retried = await merchant(`/deliveries/${waiting.id}/retry`, { method: 'POST' });
    assert.equal(retried.status, 200);
    const view = (await retried.json()) as any;
    assert.equal(view.retry, 'due_now');
    assert.ok(Date.parse(view.nextAttemptAt) <= Date.now());
    await receiver.waitFor(() => receiver.received.length === 4);
    assert.equal(receiver.received[3]!.id, waiting.eventId);
    assert.equal((await merchant(`/deliveries/${waiting.id}/retry?force=maybe`, { method: 'POST' })).status, 400);
  });
});

interface Child {
  url: string;
  child: ReturnType<typeof spawn>;
  exited: Promise<void>;
}

async function startChild(childEnv: Record<string, string>): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE_SCRIPT], { env: { ...process.env, ...childEnv }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { ready?: { url: string }; error?: string };
      if (message.ready) resolve(message.ready.url);
      else reject(new Error(message.error));
    });
    child.once('exit', () => reject(new Error('the helper exited before it was ready')));
  });
  return { url, child, exited };
}
