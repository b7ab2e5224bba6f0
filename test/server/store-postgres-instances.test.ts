// Several helper instances on one PostgreSQL database: what only a shared database can show. Each instance is a real
// `startServer()` in its own process (test/server/pg-instance.ts); a small round-robin balancer in front of them is
// their PUBLIC_URL (so provider webhooks reach "the shop", not one instance); one provider sandbox in this process is
// the provider for all of them (so provider calls are counted in one place); PostgreSQL is a real server started here.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import { createSandboxApp } from '../../server-example/sandbox/index.js';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { pressButton } from '../../server-example/sandbox/testing.js';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { loadConfig } from '../../server-example/config.js';
import { findPostgres, postgresMissingMessage, startPostgres, type PostgresServer } from './pg-server.js';

const SHOP = 'https://shop.test';
const SESSION_SECRET = 'multi-instance-session-secret-0123456789abcdef';
const INSTANCE_SCRIPT = fileURLToPath(new URL('./pg-instance.ts', import.meta.url));

const pgMissing = findPostgres() ? undefined : postgresMissingMessage();

// ---- the provider: one sandbox for every instance, counting and optionally holding calls ----------------------------

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

interface Provider {
  url: string;
  counts: { repayCreates: number; boxCreates: number; boxRefused: number };
  /** When set, the next Repay create call is held: `arrived` resolves when it comes, `release` answers it with 503. */
  holdNextRepayCreate?: { arrived: Deferred; release: Deferred };
  close(): Promise<void>;
}

async function startProvider(callbackOrigin: string): Promise<Provider> {
  let sandbox: ReturnType<typeof createSandboxApp> | undefined;
  const provider: Provider = { url: '', counts: { repayCreates: 0, boxCreates: 0, boxRefused: 0 }, close: async () => undefined };
  const server = await new Promise<Server>((resolve) => {
    const started = serve(
      {
        hostname: '127.0.0.1',
        port: 0,
        fetch: async (request) => {
          const path = new URL(request.url).pathname;
          if (request.method === 'POST' && path.startsWith('/sandbox/repay/api/v1/private/deals')) {
            provider.counts.repayCreates++;
            const hold = provider.holdNextRepayCreate;
            if (hold) {
              provider.holdNextRepayCreate = undefined;
              hold.arrived.resolve();
              await hold.release.promise;
              return new Response('held', { status: 503 });
            }
          }
          if (request.method === 'POST' && path.endsWith('/public/exchanger/order/create')) provider.counts.boxCreates++;
          const response = await sandbox!.fetch(request);
          // 40301: a signed call refused (a repeated or decreasing `time` nonce among them).
          if (path.startsWith('/sandbox/boxexchanger/') && response.status === 403) provider.counts.boxRefused++;
          return response;
        },
      },
      () => resolve(started as Server),
    );
  });
  provider.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Webhooks go to "the shop": the balancer in front of the instances.
  sandbox = createSandboxApp({ publicUrl: provider.url, callbackOrigins: [callbackOrigin], sweepIntervalMs: 0, autoDelayMs: 0, log: () => undefined });
  provider.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return provider;
}

// ---- the load balancer in front of the instances ----------------------------------------------------------------

interface Balancer {
  url: string;
  targets: string[];
  /** Provider callbacks kept here instead of forwarded (a lost webhook; or to replay it by hand). */
  captureWebhooks: boolean;
  captured: { path: string; body: string; contentType: string }[];
  close(): Promise<void>;
}

async function startBalancer(): Promise<Balancer> {
  let next = 0;
  const balancer: Balancer = { url: '', targets: [], captureWebhooks: false, captured: [], close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const path = req.url ?? '/';
        if (balancer.captureWebhooks && path.includes('/webhooks/')) {
          balancer.captured.push({ path, body: body.toString('utf8'), contentType: String(req.headers['content-type'] ?? '') });
          res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
          return;
        }
        const headers: Record<string, string> = {};
        for (const name of ['content-type', 'origin', 'authorization', 'idempotency-key']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        // Round robin; an instance that refuses connections is skipped (what a health-checking balancer does).
        for (let tried = 0; tried < balancer.targets.length; tried++) {
          const target = balancer.targets[next++ % balancer.targets.length]!;
          try {
            const answer = await fetch(`${target}${path}`, {
              method: req.method ?? 'GET',
              headers,
              ...(req.method === 'GET' || req.method === 'HEAD' ? {} : { body }),
              redirect: 'manual',
            });
            const text = Buffer.from(await answer.arrayBuffer());
            res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(text);
            return;
          } catch {
            // next instance
          }
        }
        res.writeHead(502, { 'content-type': 'text/plain' }).end('no instance');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  balancer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  balancer.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return balancer;
}

// ---- the merchant's webhook endpoint -------------------------------------------------------------------------------

interface Merchant {
  url: string;
  /** Every webhook received: its webhook-id, event type and session. */
  received: { id: string; type: string; sessionId: string }[];
  close(): Promise<void>;
}

async function startMerchant(): Promise<Merchant> {
  const merchant: Merchant = { url: '', received: [], close: async () => undefined };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { session: { id: string } } };
      merchant.received.push({ id: String(req.headers['webhook-id']), type: event.type, sessionId: event.data.session.id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  merchant.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  merchant.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return merchant;
}

// ---- helper instances ---------------------------------------------------------------------------------------------

interface Instance {
  url: string;
  child: ChildProcess;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const instances = new Set<Instance>();

async function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', INSTANCE_SCRIPT], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line) as { ready?: { url: string }; error?: string };
        if (message.ready) resolve(message.ready.url);
        else if (message.error) reject(new Error(message.error));
      } catch {
        // a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`instance exited (${code}) before it was ready: ${stderr}`)));
  });
  const instance: Instance = {
    url,
    child,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
      instances.delete(instance);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      instances.delete(instance);
    },
  };
  instances.add(instance);
  return instance;
}

async function createSession(base: string, body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const response = await fetch(`${base}/api/checkout/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: SHOP },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const count = <T>(items: readonly T[], predicate: (item: T) => boolean) => items.filter(predicate).length;

describe('several helper instances on one PostgreSQL database', { ...(pgMissing ? { skip: pgMissing } : {}) }, () => {
  let postgres: PostgresServer;
  let provider: Provider;
  let balancer: Balancer;
  let merchant: Merchant;
  let store: PostgresStore;
  let env: Record<string, string>;
  let a: Instance;
  let b: Instance;

  before(async () => {
    postgres = await startPostgres();
    balancer = await startBalancer();
    provider = await startProvider(balancer.url);
    merchant = await startMerchant();
    const databaseUrl = await postgres.createDatabase('instances');
    const repay = SANDBOX_ACCOUNTS.repay;
    const box = SANDBOX_ACCOUNTS.boxexchanger;
    env = {
      DATABASE_URL: databaseUrl,
      SESSION_SECRET,
      CHECKOUT_MODE: 'test',
      PUBLIC_URL: balancer.url,
      ALLOWED_ORIGINS: SHOP,
      LOG_LEVEL: 'silent',
      CHECKOUT_PROVIDERS: 'repay,boxexchanger',
      DEFAULT_PROVIDER: 'repay',
      REPAY_CASSA_ID: repay.cassaId,
      REPAY_SECRET_WORD_1: repay.secretWord1,
      REPAY_SECRET_WORD_2: repay.secretWord2,
      REPAY_API_KEY: repay.apiKey,
      REPAY_METHOD_SBP: repay.methods.sbp,
      REPAY_METHOD_CARD: repay.methods.card,
      REPAY_BASE_URL: `${provider.url}/sandbox/repay`,
      BOXEXCHANGER_BASE_URL: `${provider.url}/sandbox/boxexchanger`,
      BOXEXCHANGER_API_KEY: box.apiKey,
      BOXEXCHANGER_API_SECRET: box.apiSecret,
      BOXEXCHANGER_ROUTE_SBP: box.routes.sbp,
      BOXEXCHANGER_ROUTE_CARD: box.routes.card,
      BOXEXCHANGER_TO_ACCOUNT: 'merchant-wallet',
      RECONCILE_INTERVAL_MS: '200',
      RECONCILE_MIN_BACKOFF_MS: '3000',
      // A short crash grace for the kill -9 test, and provider timeouts that fit in it (3 × 1 s; the sandbox is local).
      RECONCILE_CRASH_GRACE_MS: '3000',
      REPAY_TIMEOUT_MS: '1000',
      BOXEXCHANGER_TIMEOUT_MS: '1000',
      AGETRADING_TIMEOUT_MS: '1000',
      MERCHANT_WEBHOOK_URL: merchant.url,
      MERCHANT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
      MERCHANT_WEBHOOK_INTERVAL_MS: '50',
    };
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    balancer.targets.push(a.url, b.url);
    store = new PostgresStore(databaseUrl);
    await store.ready();
  });

  after(async () => {
    await Promise.all([...instances].map((instance) => instance.stop()));
    await store?.close();
    await balancer?.close();
    await merchant?.close();
    await provider?.close();
    await postgres?.stop();
  });

  it('refuses to start on DATABASE_URL without an explicit SESSION_SECRET', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://checkout@127.0.0.1/checkout' }, { persistSecret: false }), {
      name: 'ConfigError',
      message: /SESSION_SECRET must be set when DATABASE_URL is/,
    });
  });

  it('opens exactly one provider payment for 100 concurrent requests for one order split across two instances', async () => {
    const before = provider.counts.repayCreates;
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) => createSession(index % 2 ? b.url : a.url, { orderId: 'samovar-pgone', provider: 'repay' })),
    );
    assert.equal(provider.counts.repayCreates - before, 1);
    const statuses = answers.map((answer) => answer.status);
    assert.equal(count(statuses, (status) => status === 201), 1, `statuses: ${JSON.stringify(statuses)}`);
    for (const answer of answers) {
      if (answer.status === 409) assert.equal(answer.json.error.code, 'session_creating');
      else assert.ok(answer.status === 200 || answer.status === 201, `unexpected ${answer.status} ${JSON.stringify(answer.json)}`);
    }
    const ids = new Set(answers.filter((answer) => answer.status < 300).map((answer) => answer.json.id));
    assert.equal(ids.size, 1);
    assert.equal((await store.listOrderSessions('samovar-pgone')).length, 1);
  });

  it('applies 50 duplicate provider callbacks split across two instances once, and tells the shop once', async () => {
    const { status, json } = await createSession(balancer.url, { orderId: 'tea-pgdup', provider: 'repay' });
    assert.equal(status, 201);
    balancer.captureWebhooks = true;
    try {
      const paid = await pressButton(json.paymentUrl, 'pay');
      assert.equal(paid.status, 303);
      await waitFor('the provider webhook', async () => balancer.captured.length > 0);
    } finally {
      balancer.captureWebhooks = false;
    }
    const webhook = balancer.captured.pop()!;
    const replies = await Promise.all(
      Array.from({ length: 50 }, async (_, index) => {
        const response = await fetch(`${index % 2 ? b.url : a.url}${webhook.path}`, {
          method: 'POST',
          headers: { 'content-type': webhook.contentType },
          body: webhook.body,
        });
        return `${response.status} ${await response.text()}`;
      }),
    );
    assert.deepEqual(new Set(replies), new Set(['200 OK']));
    const session = await store.getSession(json.id);
    assert.equal(session?.status, 'paid');
    const log = await store.listEvents(json.id);
    assert.equal(count(log, (event) => event.kind === 'transition' && event.toStatus === 'paid'), 1);
    assert.equal(count(log, (event) => event.kind === 'webhook'), 1);
    // One merchant event, sent once by one of the two instances' outbox senders.
    await waitFor('the merchant webhook', async () => merchant.received.some((item) => item.sessionId === json.id && item.type === 'payment.paid'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(count(merchant.received, (item) => item.sessionId === json.id && item.type === 'payment.paid'), 1);
    const deliveries = await store.listDeliveries({ sessionId: json.id, limit: 10 });
    assert.deepEqual(deliveries.map((item) => [item.eventType, item.status, item.attempts]), [['payment.paid', 'delivered', 1]]);
  });

  it('sends every merchant notification once although both instances run an outbox sender', async () => {
    const sessions = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const { status, json } = await createSession(balancer.url, { orderId: `tea-pgout${index}`, provider: 'repay' });
        assert.equal(status, 201);
        return json as { id: string; paymentUrl: string };
      }),
    );
    // Paid at the provider: each webhook reaches one instance or the other through the balancer.
    await Promise.all(sessions.map(async (session) => assert.equal((await pressButton(session.paymentUrl, 'pay')).status, 303)));
    const ids = new Set(sessions.map((session) => session.id));
    const paid = () => merchant.received.filter((item) => ids.has(item.sessionId) && item.type === 'payment.paid');
    await waitFor('20 merchant webhooks', async () => paid().length >= 20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(paid().length, 20);
    assert.equal(new Set(paid().map((item) => item.sessionId)).size, 20);
    const all = merchant.received.map((item) => item.id);
    assert.equal(new Set(all).size, all.length, 'a webhook-id was delivered twice');
  });

  it('sends BoxExchanger calls of 100 concurrent creations across two instances without a nonce failure', async () => {
    const before = { ...provider.counts };
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, index) => createSession(index % 2 ? b.url : a.url, { orderId: `shawl-pgbox${index}`, provider: 'boxexchanger' })),
    );
    const statuses = answers.map((answer) => answer.status);
    assert.equal(count(statuses, (status) => status === 201), 100, `statuses: ${JSON.stringify(answers.filter((answer) => answer.status !== 201).slice(0, 3))}`);
    assert.equal(provider.counts.boxCreates - before.boxCreates, 100);
    assert.equal(provider.counts.boxRefused - before.boxRefused, 0);
  });

  it('finishes a payment on the other instance when one is killed (kill -9) after the payer paid and the webhook was lost', async () => {
    const { status, json } = await createSession(a.url, { orderId: 'shawl-pgkill', provider: 'repay' });
    assert.equal(status, 201);
    balancer.captureWebhooks = true;
    try {
      assert.equal((await pressButton(json.paymentUrl, 'pay')).status, 303);
    } finally {
      balancer.captureWebhooks = false;
    }
    await a.kill9();
    balancer.targets.splice(balancer.targets.indexOf(a.url), 1);
    const paid = await waitFor('the surviving instance to find the payment', async () => {
      const session = await store.getSession(json.id);
      return session?.status === 'paid' && session;
    });
    assert.equal(paid.paidAmountMinor, paid.amountMinor);
    const transition = (await store.listEvents(json.id)).find((event) => event.kind === 'transition' && event.toStatus === 'paid');
    assert.equal(transition?.source, 'poll');
  });

  it('resolves a creation cut by kill -9 on the other instance, which then takes the payment', async () => {
    const c = await startInstance(env);
    balancer.targets.push(c.url);
    const hold = { arrived: deferred(), release: deferred() };
    provider.holdNextRepayCreate = hold;
    const cut = createSession(c.url, { orderId: 'tea-pgcut', provider: 'repay' }).catch(() => undefined);
    await hold.arrived.promise;
    // The row is written before the provider is called: this is the moment to die.
    const [written] = await store.listOrderSessions('tea-pgcut');
    assert.equal(written?.status, 'created');
    assert.equal(written?.paymentUrl, null);
    await c.kill9();
    hold.release.resolve();
    await cut;

    const interrupted = await waitFor('the interrupted row to be resolved', async () => {
      const session = await store.getSession(written!.id);
      return session?.status === 'failed' && session;
    });
    assert.equal(interrupted.errorCode, 'interrupted');

    // The payer tries again through the balancer: the surviving instance opens a new payment, and it is paid.
    const retry = await createSession(balancer.url, { orderId: 'tea-pgcut', provider: 'repay' });
    assert.equal(retry.status, 201, JSON.stringify(retry.json));
    assert.notEqual(retry.json.id, written!.id);
    assert.equal((await pressButton(retry.json.paymentUrl, 'pay')).status, 303);
    await waitFor('the retried payment to be paid', async () => (await store.getSession(retry.json.id))?.status === 'paid');
    assert.deepEqual(
      (await store.listOrderSessions('tea-pgcut')).map((session) => session.status),
      ['paid', 'failed'],
    );
  });
});
