// URLs with a user name or password (http://user:pw@shop/hook): Node's fetch refuses every request to one, and its
// error quotes the whole URL. MERCHANT_WEBHOOK_URL and ORDER_RESOLVE_URL refuse them when configured (environment or
// code), and whatever the sender and the order resolver store or log about a failed request never carries a
// URL's credentials.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, CheckoutError, createHttpOrderResolver, loadConfig } from '../../server-example/index.js';
import type { Logger } from '../../server-example/logger.js';
import { MerchantNotifier } from '../../server-example/merchant-webhooks/events.js';
import { DeliverySender, describeFailure } from '../../server-example/merchant-webhooks/sender.js';
import { generateWebhookSecret } from '../../server-example/merchant-webhooks/signing.js';
import { SqliteStore } from '../../server-example/store.js';
import { sessionRecord } from './session-records.js';

const SECRET = generateWebhookSecret();
const PASSWORD = 's3cr3t-pw';

/** The message loadConfig() refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ DATABASE_PATH: ':memory:', MERCHANT_WEBHOOK_SECRET: SECRET, ...env }, { persistSecret: false });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

/** A logger that keeps every line, fields included, as text. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const write = (message: string, fields?: Record<string, unknown>) => lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, debug: write, info: write, warn: write, error: write };
}

/** A local HTTP server that answers every request with `answer`. */
async function listen(answer: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('configuring a URL with a user name or password', () => {
  for (const name of ['MERCHANT_WEBHOOK_URL', 'ORDER_RESOLVE_URL']) {
    it(`refuses one in ${name}, without quoting the password, and says what to use instead`, () => {
      const message = refusal({ [name]: `https://shop:${PASSWORD}@shop.example/pay-checkout` });
      assert.match(message, new RegExp(`${name}: "https://\\*\\*\\*@shop\\.example/pay-checkout" has a user name or password in it`));
      assert.match(message, /webhook-signature/);
      assert.match(message, /path or query/);
      assert.ok(!message.includes(PASSWORD), message);
    });

    it(`refuses a user name alone in ${name} (it may be a token)`, () => {
      const message = refusal({ [name]: 'https://tok3n@shop.example/pay-checkout' });
      assert.match(message, /has a user name or password in it/);
      assert.ok(!message.includes('tok3n'), message);
    });
  }

  it('refuses one among several webhook URLs, and accepts the others', () => {
    const message = refusal({ MERCHANT_WEBHOOK_URL: `https://a.example/hook,https://shop:${PASSWORD}@b.example/hook` });
    assert.match(message, /MERCHANT_WEBHOOK_URL: "https:\/\/\*\*\*@b\.example\/hook"/);
    assert.ok(!message.includes('a.example'), message);
    const config = loadConfig({ DATABASE_PATH: ':memory:', MERCHANT_WEBHOOK_SECRET: SECRET, MERCHANT_WEBHOOK_URL: 'https://a.example/hook?token=abc' }, { persistSecret: false });
    assert.deepEqual(config.merchantWebhooks?.urls, ['https://a.example/hook?token=abc']);
  });

  it('refuses one given in code: createHttpOrderResolver() and the webhook targets of createCheckoutApp()', () => {
    assert.throws(
      () => createHttpOrderResolver({ url: `http://shop:${PASSWORD}@127.0.0.1:9/order`, secret: SECRET }),
      (error: unknown) => error instanceof TypeError && /has a user name or password/.test(error.message) && !error.message.includes(PASSWORD),
    );
    assert.throws(
      () => new MerchantNotifier([`http://shop:${PASSWORD}@127.0.0.1:9/hook`]),
      (error: unknown) => error instanceof TypeError && /has a user name or password/.test(error.message) && !error.message.includes(PASSWORD),
    );
    assert.doesNotThrow(() => new MerchantNotifier(['https://shop.example/hook?token=abc']));
  });
});

describe('the sender: a stored target with credentials (written before they were refused)', () => {
  let dir = '';
  let store: SqliteStore;
  let receiver: { server: Server; port: number };
  let hits = 0;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pay-checkout-url-credentials-'));
    store = new SqliteStore(join(dir, 'checkout.sqlite'));
    receiver = await listen((request, response) => {
      hits++;
      request.resume();
      response.writeHead(204).end();
    });
  });
  after(async () => {
    await store.close();
    receiver.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never puts the password in last_error or the log', async () => {
    const target = `http://shop:${PASSWORD}@127.0.0.1:${receiver.port}/hook`;
    const row = sessionRecord({ orderId: 'A-credentials' });
    await store.insertSession(row);
    await store.mutate(row.id, () => ({
      patch: { status: 'paid' },
      deliveries: [
        { id: 'dlv_credentials', messageId: 'msg_credentials', eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target, payload: '{}', createdAt: Date.now() - 1_000 },
      ],
    }));
    const log = recordingLogger();
    const sender = new DeliverySender({ store, delivery: { timeoutMs: 2_000, retryDelaysMs: [60_000], intervalMs: 1_000 }, webhooks: { urls: [], secrets: [SECRET] }, log });
    const report = await sender.tick();
    assert.equal(report.retrying, 1);
    assert.equal(hits, 0, 'fetch refused the URL: nothing was sent');
    const stored = await store.getDelivery('dlv_credentials');
    assert.ok(stored?.lastError, 'the failure is recorded');
    assert.ok(!stored.lastError.includes(PASSWORD), stored.lastError);
    assert.match(stored.lastError, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/hook/);
    assert.ok(log.lines.length > 0);
    for (const line of log.lines) assert.ok(!line.includes(PASSWORD), line);
  });
});

describe('the sender: a failed attempt records what caused it', () => {
  it('names the refused connection under fetch\'s "fetch failed", and nothing secret', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-send-cause-'));
    const store = new SqliteStore(join(dir, 'checkout.sqlite'));
    try {
      // A port nobody listens on: the connection is refused.
      const closed = await listen((_request, response) => response.end());
      closed.server.close();
      const target = `http://127.0.0.1:${closed.port}/hook?token=t0k3n-in-query`;
      const row = sessionRecord({ orderId: 'A-cause' });
      await store.insertSession(row);
      await store.mutate(row.id, () => ({
        patch: { status: 'paid' },
        deliveries: [
          { id: 'dlv_cause', messageId: 'msg_cause', eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target, payload: '{}', createdAt: Date.now() - 1_000 },
        ],
      }));
      const log = recordingLogger();
      const sender = new DeliverySender({ store, delivery: { timeoutMs: 2_000, retryDelaysMs: [60_000], intervalMs: 1_000 }, webhooks: { urls: [target], secrets: [SECRET] }, log });
      assert.equal((await sender.tick()).retrying, 1);
      const stored = await store.getDelivery('dlv_cause');
      assert.match(stored?.lastError ?? '', new RegExp(`^TypeError: fetch failed; cause: ECONNREFUSED: connect ECONNREFUSED 127\\.0\\.0\\.1:${closed.port}`));
      for (const secret of [SECRET, SECRET.slice('whsec_'.length), 'v1,', 't0k3n-in-query']) assert.ok(!stored!.lastError!.includes(secret), stored!.lastError!);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes causes: their code, an AggregateError\'s inner messages, at most three levels', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:4000'), { code: 'ECONNREFUSED' });
    const refused4 = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4000'), { code: 'ECONNREFUSED' });
    const aggregate = Object.assign(new AggregateError([refused, refused4], ''), { code: 'ECONNREFUSED' });
    assert.equal(
      describeFailure(new TypeError('fetch failed', { cause: aggregate })),
      'TypeError: fetch failed; cause: ECONNREFUSED: connect ECONNREFUSED ::1:4000, connect ECONNREFUSED 127.0.0.1:4000',
    );
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND shop.invalid'), { code: 'ENOTFOUND' });
    assert.equal(describeFailure(new TypeError('fetch failed', { cause: dns })), 'TypeError: fetch failed; cause: ENOTFOUND: getaddrinfo ENOTFOUND shop.invalid');
    assert.equal(describeFailure(new Error('HTTP 500')), 'Error: HTTP 500');
    let deep: Error = new Error('level 5');
    for (let level = 4; level >= 0; level--) deep = new Error(`level ${level}`, { cause: deep });
    assert.equal(describeFailure(deep), 'Error: level 0; cause: Error: level 1; cause: Error: level 2; cause: Error: level 3');
    assert.equal(describeFailure(new TypeError('fetch failed', { cause: 'x'.repeat(500) })).length, 'TypeError: fetch failed; cause: '.length + 200);
  });
});

describe('the order resolver: an answer that quotes a URL with credentials', () => {
  let merchant: { server: Server; port: number };
  let answer: (response: import('node:http').ServerResponse) => void = (response) => response.writeHead(204).end();
  before(async () => {
    merchant = await listen((request, response) => {
      request.resume();
      request.on('end', () => answer(response));
    });
  });
  after(() => merchant.server.close());

  const lookUp = async (log: Logger): Promise<CheckoutError> => {
    try {
      await createHttpOrderResolver({ url: `http://127.0.0.1:${merchant.port}/order`, secret: SECRET, log })('A-1001', {});
    } catch (error) {
      assert.ok(error instanceof CheckoutError, String(error));
      return error;
    }
    assert.fail('the lookup succeeded');
  };

  it('keeps the password out of the error and the log for a redirect to such a URL', async () => {
    answer = (response) => response.writeHead(302, { location: `https://shop:${PASSWORD}@other.example/order` }).end();
    const log = recordingLogger();
    const error = await lookUp(log);
    assert.equal(error.code, 'order_lookup_failed');
    assert.match(error.detail ?? '', /redirect to https:\/\/\*\*\*@other\.example\/order/);
    for (const text of [error.message, error.detail ?? '', ...log.lines]) assert.ok(!text.includes(PASSWORD), text);
  });

  it('keeps the password out of the error and the log for an error page that shows such a URL', async () => {
    answer = (response) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`upstream http://admin:${PASSWORD}@db.internal:5984/ is down`);
    const log = recordingLogger();
    const error = await lookUp(log);
    assert.match(error.detail ?? '', /HTTP 500: upstream http:\/\/\*\*\*@db\.internal:5984\/ is down/);
    for (const text of [error.message, error.detail ?? '', ...log.lines]) assert.ok(!text.includes(PASSWORD), text);
  });
});
