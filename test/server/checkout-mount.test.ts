// Mounting the helper: a configurable base path (routes, provider return and webhook URLs), and nodeHandler() in
// node:http and Express — full paths under app.use(prefix, …), and the request body whether or not a body parser
// consumed it first. Real HTTP on 127.0.0.1, real SQLite, the embedded sandbox as the provider.
import assert from 'node:assert/strict';
import express from 'express';
import { Hono } from 'hono';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkoutBasePath, ConfigError, createCheckoutApp, createLogger, keepRawBody, loadConfig, nodeHandler, startServer } from '../../server-example/index.js';
import type { RunningServer } from '../../server-example/index.js';
import { pressButton } from '../../server-example/sandbox/testing.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-mount-'));
  dirs.push(dir);
  return dir;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('basePath', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      env: { DATABASE_PATH: join(tempDir(), 'checkout.sqlite'), LOG_LEVEL: 'silent', RECONCILE_INTERVAL_MS: '60000' },
      config: { basePath: '/shop/pay/' },
    });
  });
  after(() => server.close());

  it('serves the API under the configured path only', async () => {
    assert.equal((await fetch(`${server.url}/shop/pay/config`)).status, 200);
    assert.equal((await fetch(`${server.url}/api/checkout/config`)).status, 404);
  });

  it('gives the provider return and webhook URLs under it, so the payment completes through them', async () => {
    const created = await fetch(`${server.url}/shop/pay/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: JSON.stringify({ orderId: 'tea-mount01', provider: 'repay', method: 'sbp' }),
    });
    const session = (await created.json()) as { id: string; paymentUrl: string };
    assert.equal(created.status, 201, JSON.stringify(session));
    const paid = await pressButton(session.paymentUrl, 'pay');
    assert.ok(paid.headers.get('location')!.startsWith(`${server.url}/shop/pay/return/success?session=${session.id}`), paid.headers.get('location')!);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const events = await server.app.checkout.store.listEvents(session.id);
      if (events.some((event) => event.source === 'webhook' && event.toStatus === 'paid')) break;
      assert.ok(Date.now() < deadline, `no verified webhook reached /shop/pay/webhooks/repay: ${JSON.stringify(events.map((e) => [e.kind, e.source, e.toStatus]))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('is normalised and checked: one leading slash, no trailing slash, never the root', () => {
    assert.equal(checkoutBasePath({}), '/api/checkout');
    assert.equal(checkoutBasePath({ basePath: '/payments/' }), '/payments');
    for (const bad of ['', '/', 'payments', '/pay ments', '/../x']) assert.throws(() => checkoutBasePath({ basePath: bad }), ConfigError, bad);
  });
});

describe('nodeHandler', () => {
  // A Web-standard app that answers with what it received: the path it saw and the body bytes as text.
  const echo = new Hono().all('*', async (c) => c.json({ path: c.req.path, body: await c.req.text() }));
  const post = (url: string, body: string, type: string) => fetch(url, { method: 'POST', headers: { 'content-type': type }, body });

  it('gives an app the full path and the streamed body in node:http', async () => {
    const server = createServer(nodeHandler(echo));
    const url = await listen(server);
    try {
      const response = await post(`${url}/api/checkout/webhooks/repay?x=1`, '{ "amount" : 650.00 }', 'application/json');
      assert.deepEqual(await response.json(), { path: '/api/checkout/webhooks/repay', body: '{ "amount" : 650.00 }' });
    } finally {
      server.close();
    }
  });

  it('sees the full path under Express\'s app.use(prefix), and leaves other paths to the next route', async () => {
    const app = express();
    app.use('/api/checkout', nodeHandler(echo, { prefix: '/api/checkout' }));
    app.use(nodeHandler(echo, { prefix: '/api/checkout' }));
    app.get('/elsewhere', (_req, res) => res.send('shop'));
    const server = createServer(app);
    const url = await listen(server);
    try {
      assert.deepEqual(await (await fetch(`${url}/api/checkout/config`)).json(), { path: '/api/checkout/config', body: '' });
      assert.equal(await (await fetch(`${url}/elsewhere`)).text(), 'shop');
    } finally {
      server.close();
    }
  });

  it('takes the exact bytes kept by express.json({ verify: keepRawBody })', async () => {
    const app = express();
    app.use(express.json({ verify: keepRawBody }));
    app.use('/api/checkout', nodeHandler(echo));
    const server = createServer(app);
    const url = await listen(server);
    try {
      const raw = '{ "deal_id" : "d-1",\n "amount" : 650.00 }';
      assert.equal(((await (await post(`${url}/api/checkout/webhooks/repay`, raw, 'application/json')).json()) as { body: string }).body, raw);
    } finally {
      server.close();
    }
  });

  it('re-encodes what a plain express.json() or express.urlencoded() already parsed, and passes express.text() bodies as sent', async () => {
    const app = express();
    app.use(express.json());
    app.use(express.urlencoded({ extended: true }));
    app.use(express.text());
    app.use('/api/checkout', nodeHandler(echo));
    const server = createServer(app);
    const url = await listen(server);
    try {
      const json = (await (await post(`${url}/api/checkout/sessions`, '{ "orderId" : "tea-1" }', 'application/json')).json()) as { body: string };
      assert.deepEqual(JSON.parse(json.body), { orderId: 'tea-1' });
      const form = 'orderId=abc&newStatus=done&toValues%5B0%5D%5Bkey%5D=account&toValues%5B0%5D%5Bvalue%5D=w';
      const echoed = (await (await post(`${url}/api/checkout/webhooks/boxexchanger/cs_1`, form, 'application/x-www-form-urlencoded')).json()) as { body: string };
      assert.deepEqual([...new URLSearchParams(echoed.body)], [...new URLSearchParams(form)]);
      const text = (await (await post(`${url}/api/checkout/webhooks/agetrading`, 'plain { text', 'text/plain')).json()) as { body: string };
      assert.equal(text.body, 'plain { text');
    } finally {
      server.close();
    }
  });
});

describe('startServer()', () => {
  it('takes a publicUrl override as PUBLIC_URL: the storefront at that origin is allowed', async () => {
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      env: { DATABASE_PATH: join(tempDir(), 'checkout.sqlite'), LOG_LEVEL: 'silent' },
      config: { publicUrl: 'https://shop.example' },
      reconcile: false,
    });
    try {
      assert.ok(server.config.allowedOrigins.includes('https://shop.example'), server.config.allowedOrigins.join());
      const response = await fetch(`${server.url}/api/checkout/config`, { headers: { origin: 'https://shop.example' } });
      assert.equal(response.headers.get('access-control-allow-origin'), 'https://shop.example');
    } finally {
      await server.close();
    }
  });
});

describe('test mode in a server of the merchant\'s own', () => {
  it('says in the log where the sandbox was looked for when it is not mounted there', async () => {
    const lines: string[] = [];
    const server = createServer();
    const url = await listen(server);
    const port = Number(new URL(url).port);
    const config = loadConfig({ DATABASE_PATH: join(tempDir(), 'checkout.sqlite') }, { host: '127.0.0.1', port });
    const checkout = createCheckoutApp({ ...config, resolveOrder: () => ({ amount: '1500.00', currency: 'RUB' }), logger: createLogger('warn', (line) => lines.push(line)) });
    server.on('request', nodeHandler(checkout));
    try {
      const response = await fetch(`${url}/api/checkout/sessions`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url }, body: '{"orderId":"A-1"}' });
      assert.equal(response.status, 502);
      const line = lines.find((entry) => entry.includes('provider refused to create a payment'));
      assert.ok(line?.includes(`is the sandbox (createSandboxApp) mounted at ${url}/sandbox/repay?`), lines.join('\n'));
    } finally {
      server.close();
      await checkout.checkout.close();
    }
  });
});
