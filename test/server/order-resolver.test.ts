// Order lookup over HTTP (ORDER_RESOLVE_URL) against a real merchant endpoint on 127.0.0.1: the signed request,
// the cookie opt-in, every kind of bad answer, and through the app: a refused lookup opens no provider payment.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { Webhook } from 'standardwebhooks';
import { CheckoutError, createHttpOrderResolver, startServer } from '../../server-example/index.js';
import type { ResolveOrder } from '../../server-example/index.js';
import { generateWebhookSecret } from '../../server-example/merchant-webhooks/signing.js';
import { RepayMock, makeTestApp } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';

const SECRET = generateWebhookSecret();

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A merchant endpoint on a free local port; each test sets `answer`. */
class MerchantEndpoint {
  server!: Server;
  url = '';
  received: Received[] = [];
  answer: (request: Received, response: ServerResponse) => void = (_request, response) => json(response, 200, { amount: '1500.00', currency: 'RUB' });

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.received.push(received);
        this.answer(received, response);
      });
    });
    // Idle connections stay open for the whole file (stop() closes them): a lookup never reuses a kept-alive connection
    // that the endpoint is closing at that moment, which a slow machine can make it do after the default 5 s.
    this.server.keepAliveTimeout = 10 * 60_000;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) if (typeof value === 'string') out[key] = value;
  return out;
}

async function rejection(promise: unknown): Promise<CheckoutError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CheckoutError, `expected a CheckoutError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the lookup to fail');
}

const endpoint = new MerchantEndpoint();
before(() => endpoint.start());
after(() => endpoint.stop());
beforeEach(() => {
  endpoint.received = [];
  endpoint.answer = (_request, response) => json(response, 200, { amount: '1500.00', currency: 'RUB' });
});

const resolver = (options: { timeoutMs?: number; forwardCookies?: boolean; path?: string; secret?: string } = {}): ResolveOrder =>
  createHttpOrderResolver({ url: `${endpoint.url}${options.path ?? '/order'}`, secret: options.secret ?? SECRET, ...options });

describe('createHttpOrderResolver: the request', () => {
  it('POSTs { orderId, claimedCustomerId, locale } as JSON, signed with Standard Webhooks headers', async () => {
    await resolver()('A-1001', { claimedCustomerId: 'customer-1', locale: 'en' });
    const [request] = endpoint.received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.url, '/order');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request.body), { orderId: 'A-1001', claimedCustomerId: 'customer-1', locale: 'en', forwardsCookies: false });
    // The independent verifier accepts it with the merchant webhook secret…
    assert.deepEqual(new Webhook(SECRET).verify(request.body, headerRecord(request.headers)), JSON.parse(request.body));
    // …and not with another one.
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(request.body, headerRecord(request.headers)));
  });

  it('sends null for what the browser did not say', async () => {
    await resolver()('A-1001', {});
    assert.deepEqual(JSON.parse(endpoint.received[0]!.body), { orderId: 'A-1001', claimedCustomerId: null, locale: null, forwardsCookies: false });
  });

  it('uses a fresh webhook-id for every call', async () => {
    const resolve = resolver();
    await resolve('A-1001', {});
    await resolve('A-1001', {});
    const [first, second] = endpoint.received;
    assert.match(String(first!.headers['webhook-id']), /^msg_/);
    assert.notEqual(first!.headers['webhook-id'], second!.headers['webhook-id']);
  });

  it('does not forward the payer\'s cookies unless the merchant opts in', async () => {
    const request = new Request('https://shop.test/api/checkout/sessions', { headers: { cookie: 'shop_session=abc123; theme=dark' } });
    await resolver()('A-1001', { request });
    assert.equal(endpoint.received[0]!.headers.cookie, undefined);
  });

  it('forwards the payer\'s Cookie header with ORDER_RESOLVE_FORWARD_COOKIES', async () => {
    const request = new Request('https://shop.test/api/checkout/sessions', { headers: { cookie: 'shop_session=abc123; theme=dark' } });
    await resolver({ forwardCookies: true })('A-1001', { request });
    assert.equal(endpoint.received[0]!.headers.cookie, 'shop_session=abc123; theme=dark');
    // The cookie is not part of the signed content: the signature still verifies.
    new Webhook(SECRET).verify(endpoint.received[0]!.body, headerRecord(endpoint.received[0]!.headers));
  });

  it('does not follow a redirect', async () => {
    endpoint.answer = (request, response) => {
      if (request.url === '/order') {
        response.writeHead(302, { location: '/elsewhere' }).end();
      } else {
        json(response, 200, { amount: '1', currency: 'RUB' });
      }
    };
    const error = await rejection(resolver()('A-1001', {}));
    assert.equal(error.code, 'order_lookup_failed');
    assert.equal(error.retryable, false);
    assert.match(error.detail ?? '', /redirect to \/elsewhere/);
    assert.deepEqual(endpoint.received.map((request) => request.url), ['/order']);
  });

  it('signs once per secret during a rotation, so either secret verifies', async () => {
    const next = generateWebhookSecret();
    await createHttpOrderResolver({ url: `${endpoint.url}/order`, secret: [SECRET, next] })('A-1001', {});
    const [request] = endpoint.received;
    assert.equal(String(request!.headers['webhook-signature']).split(' ').length, 2);
    new Webhook(SECRET).verify(request!.body, headerRecord(request!.headers));
    new Webhook(next).verify(request!.body, headerRecord(request!.headers));
  });

  it('refuses a secret that is not a Standard Webhooks secret', () => {
    assert.throws(() => resolver({ secret: 'my-password' }), /whsec_/);
  });
});

describe('createHttpOrderResolver: the answers', () => {
  it('returns the order from a 200 answer', async () => {
    endpoint.answer = (_request, response) =>
      json(response, 200, { amount: '1500.00', currency: 'RUB', description: 'Samovar', customerId: 'c-1', paid: false, trusted: true, email: 'a@b.c' });
    assert.deepEqual(await resolver()('A-1001', {}), {
      amount: '1500.00',
      currency: 'RUB',
      description: 'Samovar',
      customerId: 'c-1',
      paid: false,
      trusted: true,
      email: 'a@b.c',
    });
  });

  it('accepts a whole number of rubles as a JSON number, and null optional fields', async () => {
    endpoint.answer = (_request, response) => json(response, 200, { amount: 650, currency: 'RUB', description: null, customerId: null });
    assert.deepEqual(await resolver()('A-1002', {}), { amount: 650, currency: 'RUB' });
  });

  it('passes paid: true on, so the helper answers order_paid', async () => {
    endpoint.answer = (_request, response) => json(response, 200, { amount: '500', currency: 'RUB', paid: true });
    assert.equal((await resolver()('A-PAID', {}))?.paid, true);
  });

  it('answers null (unknown_order) for a 404', async () => {
    endpoint.answer = (_request, response) => json(response, 404, { error: 'no such order' });
    assert.equal(await resolver()('A-404', {}), null);
  });

  it('turns a 500 into a retryable order_lookup_failed (502)', async () => {
    endpoint.answer = (_request, response) => response.writeHead(500, { 'content-type': 'text/html' }).end('<h1>Internal Server Error</h1>');
    const error = await rejection(resolver()('A-1001', {}));
    assert.equal(error.code, 'order_lookup_failed');
    assert.equal(error.status, 502);
    assert.equal(error.retryable, true);
    assert.match(error.message, /HTTP 500/);
    assert.match(error.detail ?? '', /Internal Server Error/);
  });

  it('turns a 401 (the merchant refused the signature) into a non-retryable order_lookup_failed', async () => {
    endpoint.answer = (_request, response) => json(response, 401, { error: 'bad signature' });
    const error = await rejection(resolver()('A-1001', {}));
    assert.equal(error.code, 'order_lookup_failed');
    assert.equal(error.retryable, false);
  });

  it('turns garbage into invalid_order', async () => {
    endpoint.answer = (_request, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>Welcome to our shop</html>');
    const error = await rejection(resolver()('A-1001', {}));
    assert.equal(error.code, 'invalid_order');
    assert.equal(error.status, 500);
    assert.match(error.detail ?? '', /not JSON: <html>Welcome/);
  });

  it('turns a JSON answer that is not an object into invalid_order', async () => {
    endpoint.answer = (_request, response) => json(response, 200, [{ amount: '1500', currency: 'RUB' }]);
    assert.equal((await rejection(resolver()('A-1001', {}))).code, 'invalid_order');
  });

  it('times out a slow merchant with a retryable order_lookup_failed', async () => {
    // The merchant would answer in 2 s; the lookup must give up at its 200 ms timeout, before that answer.
    let answered = false;
    endpoint.answer = (_request, response) => {
      const timer = setTimeout(() => {
        answered = true;
        json(response, 200, { amount: '1500', currency: 'RUB' });
      }, 2_000);
      response.on('close', () => clearTimeout(timer));
    };
    const error = await rejection(resolver({ timeoutMs: 200 })('A-1001', {}));
    assert.equal(answered, false, 'gave up at the timeout, not after the answer');
    assert.equal(error.code, 'order_lookup_failed');
    assert.equal(error.retryable, true);
    assert.match(error.message, /in time/);
  });

  it('times out a merchant that sends the headers and then trickles the body', async () => {
    endpoint.answer = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"amount": ');
      const timer = setTimeout(() => response.end('"1500", "currency": "RUB"}'), 2_000);
      response.on('close', () => clearTimeout(timer));
    };
    const error = await rejection(resolver({ timeoutMs: 200 })('A-1001', {}));
    assert.equal(error.code, 'order_lookup_failed');
  });

  it('sends the lookup once more when the connection is closed before any answer (a reused keep-alive connection)', async () => {
    // A raw server: the first connection reads the request and closes without a word, the next ones answer.
    let connections = 0;
    const raw = createNetServer((socket) => {
      const index = ++connections;
      socket.once('data', () => {
        if (index === 1) {
          socket.destroy();
          return;
        }
        const answer = JSON.stringify({ amount: '1500.00', currency: 'RUB' });
        socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(answer)}\r\nconnection: close\r\n\r\n${answer}`);
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as AddressInfo).port;
      const order = await createHttpOrderResolver({ url: `http://127.0.0.1:${port}/order`, secret: SECRET })('A-1001', {});
      assert.equal(order?.amount, '1500.00');
      assert.equal(connections, 2);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it('gives up after the second closed connection with a retryable order_lookup_failed', async () => {
    let connections = 0;
    const raw = createNetServer((socket) => {
      connections++;
      socket.once('data', () => socket.destroy());
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as AddressInfo).port;
      const error = await rejection(createHttpOrderResolver({ url: `http://127.0.0.1:${port}/order`, secret: SECRET })('A-1001', {}));
      assert.equal(error.code, 'order_lookup_failed');
      assert.equal(error.retryable, true);
      assert.equal(connections, 2);
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  it('reports a merchant that cannot be reached as order_lookup_failed', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await rejection(createHttpOrderResolver({ url: `http://127.0.0.1:${port}/order`, secret: SECRET })('A-1001', {}));
    assert.equal(error.code, 'order_lookup_failed');
    assert.equal(error.retryable, true);
    assert.match(error.detail ?? '', /ECONNREFUSED/);
  });

  for (const [name, body] of [
    ['a float amount (1500.5 as a JSON number)', { amount: 1500.5, currency: 'RUB' }],
    ['a negative amount', { amount: -1500, currency: 'RUB' }],
    ['a negative amount as text', { amount: '-1500.00', currency: 'RUB' }],
    ['a zero amount', { amount: '0.00', currency: 'RUB' }],
    ['three decimals', { amount: '1500.005', currency: 'RUB' }],
    ['an amount with a comma', { amount: '1500,00', currency: 'RUB' }],
    ['a missing amount', { currency: 'RUB' }],
    ['a null amount', { amount: null, currency: 'RUB' }],
    ['an amount as an object', { amount: { value: 1500 }, currency: 'RUB' }],
  ] as const) {
    it(`refuses ${name} with invalid_order, never a default price`, async () => {
      endpoint.answer = (_request, response) => json(response, 200, body);
      const error = await rejection(resolver()('A-1001', {}));
      assert.equal(error.code, 'invalid_order');
      assert.match(error.message, /invalid amount/);
      assert.match(error.detail ?? '', /amount/);
    });
  }

  for (const [name, body] of [
    ['a missing currency', { amount: '1500' }],
    ['a lower-case currency', { amount: '1500', currency: 'rub' }],
    ['a numeric currency', { amount: '1500', currency: 643 }],
  ] as const) {
    it(`refuses ${name} with invalid_order`, async () => {
      endpoint.answer = (_request, response) => json(response, 200, body);
      const error = await rejection(resolver()('A-1001', {}));
      assert.equal(error.code, 'invalid_order');
      assert.match(error.message, /invalid currency/);
    });
  }

  it('refuses optional fields of the wrong type rather than guessing', async () => {
    endpoint.answer = (_request, response) => json(response, 200, { amount: '1500', currency: 'RUB', paid: 'no' });
    assert.match((await rejection(resolver()('A-1001', {}))).detail ?? '', /paid must be true or false/);
  });
});

describe('ORDER_RESOLVE_URL through the app', () => {
  const msw = setupServer();
  let t: TestApp;
  let repay: RepayMock;
  /**
   * Generous: a lookup that should be answered never runs into it, however slow the machine. Only the test about a
   * merchant that answers nothing in time gives up sooner (`SLOW_MERCHANT_TIMEOUT_MS`), and that merchant never answers.
   */
  const LOOKUP_TIMEOUT_MS = 30_000;
  const SLOW_MERCHANT_TIMEOUT_MS = 300;
  const SLOW_MERCHANT_PATH = '/slow-order';
  const appWithLookupTimeout = (timeoutMs: number, path = '/order') =>
    makeTestApp({ config: { resolveOrder: undefined, orderResolve: { url: `${endpoint.url}${path}`, secret: SECRET, timeoutMs, forwardCookies: false } } });
  before(() => msw.listen({ onUnhandledRequest: 'error' }));
  after(() => msw.close());
  beforeEach(() => {
    repay = new RepayMock();
    // Provider APIs are mocked; the merchant endpoint is a real local server.
    msw.use(...repay.handlers(), http.post(`${endpoint.url}/*`, () => passthrough()));
    t = appWithLookupTimeout(LOOKUP_TIMEOUT_MS);
  });
  afterEach(async () => {
    msw.resetHandlers();
    await t.dispose();
  });

  it('opens the payment with the amount the merchant answered', async () => {
    endpoint.answer = (_request, response) => json(response, 200, { amount: '2750.00', currency: 'RUB', description: 'Shawl', customerId: 'c-9' });
    const { status, json: body } = await t.createSession({ orderId: 'A-2750', provider: 'repay', amount: '1', locale: 'en' });
    assert.equal(status, 201);
    assert.equal(body.amount, '2750.00');
    assert.equal(body.description, 'Shawl');
    assert.equal(repay.creates, 1);
    assert.equal([...repay.deals.values()][0]!.body.amount, '2750');
    assert.deepEqual(JSON.parse(endpoint.received[0]!.body), { orderId: 'A-2750', claimedCustomerId: null, locale: 'en', forwardsCookies: false });
  });

  it('keeps the demo session log closed', async () => {
    const response = await t.app.request('/api/checkout/demo/sessions');
    assert.equal(response.status, 404);
  });

  const refusals: [string, (request: Received, response: ServerResponse) => void, string, number, number?][] = [
    ['a 404', (_q, r) => json(r, 404, {}), 'unknown_order', 404],
    ['a 500', (_q, r) => r.writeHead(500).end('oops'), 'order_lookup_failed', 502],
    ['garbage', (_q, r) => r.writeHead(200, { 'content-type': 'text/plain' }).end('amount=1500'), 'invalid_order', 500],
    ['a float amount', (_q, r) => json(r, 200, { amount: 1500.5, currency: 'RUB' }), 'invalid_order', 500],
    // The merchant never answers (the helper's giving up closes the connection): only the lookup timeout ends it.
    ['nothing in time', () => undefined, 'order_lookup_failed', 502, SLOW_MERCHANT_TIMEOUT_MS],
  ];
  for (const [name, answer, code, status, timeoutMs] of refusals) {
    it(`answers ${status} ${code} for ${name} and creates no provider payment`, async () => {
      if (timeoutMs !== undefined) {
        await t.dispose();
        t = appWithLookupTimeout(timeoutMs, SLOW_MERCHANT_PATH);
      }
      endpoint.answer = answer;
      const result = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
      assert.equal(result.status, status);
      assert.equal(result.json.error.code, code);
      assert.equal(result.json.error.retryable, code === 'order_lookup_failed');
      assert.equal(repay.creates, 0);
      assert.deepEqual(await t.app.checkout.store.listOrderSessions('A-1001'), []);
    });
  }

  it('prefers a JS resolveOrder over ORDER_RESOLVE_URL', async () => {
    await t.dispose();
    t = makeTestApp({ config: { orderResolve: { url: `${endpoint.url}/order`, secret: SECRET, timeoutMs: LOOKUP_TIMEOUT_MS, forwardCookies: false } } });
    const { status, json: body } = await t.createSession({ orderId: 'A-1001', provider: 'repay' });
    assert.equal(status, 201);
    assert.equal(body.amount, '1500.00');
    // The lookup the "nothing in time" test gave up on may still reach the endpoint now, on a slow machine: its own path.
    assert.deepEqual(endpoint.received.filter((request) => request.url !== SLOW_MERCHANT_PATH), []);
  });
});

describe('ORDER_RESOLVE_URL with startServer and the sandbox', () => {
  it('creates a sandbox payment at the merchant\'s price, and none for an unknown order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-resolve-'));
    endpoint.answer = (request, response) => {
      const { orderId } = JSON.parse(request.body) as { orderId: string };
      if (orderId === 'SHOP-77') json(response, 200, { amount: '1250.00', currency: 'RUB', description: 'Matryoshka' });
      else json(response, 404, {});
    };
    const server = await startServer({
      port: 0,
      reconcile: false,
      env: {
        DATABASE_PATH: join(dir, 'checkout.sqlite'),
        SESSION_SECRET: 'order-resolver-test-secret-0123456789abcdef',
        LOG_LEVEL: 'silent',
        ORDER_RESOLVE_URL: `${endpoint.url}/order`,
        MERCHANT_WEBHOOK_SECRET: SECRET,
      },
    });
    try {
      const create = (orderId: string) =>
        fetch(`${server.url}/api/checkout/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: server.url },
          body: JSON.stringify({ orderId, provider: 'repay', method: 'sbp' }),
        });
      const paid = await create('SHOP-77');
      const body = (await paid.json()) as { amount: string; paymentUrl: string };
      assert.equal(paid.status, 201);
      assert.equal(body.amount, '1250.00');
      assert.match(body.paymentUrl, /\/sandbox\/repay\//);

      const unknown = await create('SHOP-404');
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown_order');
      assert.deepEqual(await server.app.checkout.store.listOrderSessions('SHOP-404'), []);
      // The demo catalogue is not consulted: a demo order id is unknown to this merchant.
      assert.equal((await create('samovar-7f3k2q')).status, 404);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
