// The helper and the sandbox in one real Node server (startServer, port 0): the same adapter code talks to the
// sandbox over HTTP, the sandbox sends real webhooks back, and the payer's redirects land on the return page.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer } from '../../server-example/index.js';
import type { RunningServer } from '../../server-example/index.js';
import { pressButton } from '../../server-example/sandbox/testing.js';

let dir: string;
let server: RunningServer;
let env: Record<string, string>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pay-checkout-server-'));
  env = { DATABASE_PATH: join(dir, 'db', 'checkout.sqlite'), LOG_LEVEL: 'silent', SANDBOX_FRAME_DENY: 'agetrading', RECONCILE_INTERVAL_MS: '200' };
  server = await startServer({ host: '127.0.0.1', port: 0, env });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

async function createSession(provider: string, orderId: string, method = 'sbp') {
  const response = await fetch(`${server.url}/api/checkout/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: 'http://localhost:5173', 'idempotency-key': `${orderId}-key` },
    body: JSON.stringify({ orderId, provider, method, returnUrl: 'http://localhost:5173/shop' }),
  });
  const json = (await response.json()) as any;
  assert.equal(response.status, 201, JSON.stringify(json));
  return json;
}

async function waitForStatus(id: string, token: string, wanted: string): Promise<any> {
  const deadline = Date.now() + 8_000;
  for (;;) {
    const response = await fetch(`${server.url}/api/checkout/sessions/${id}`, { headers: { authorization: `Bearer ${token}` } });
    const json = (await response.json()) as any;
    if (json.status === wanted) return json;
    if (Date.now() > deadline) assert.fail(`session ${id} is ${json.status}, expected ${wanted}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('startServer with the embedded sandbox', () => {
  it('listens on a free port and reports every provider as sandboxed', async () => {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    const config = (await (await fetch(`${server.url}/api/checkout/config`)).json()) as any;
    assert.equal(config.sandbox, true);
    assert.deepEqual(config.providers.map((p: any) => [p.id, p.sandbox, p.frameable]), [
      ['repay', true, true],
      ['boxexchanger', true, true],
      ['agetrading', true, false],
    ]);
    const credentials = await fetch(`${server.url}/sandbox/credentials`);
    assert.equal(credentials.status, 200);
  });

  it('generates SESSION_SECRET on first run and keeps it next to the database, readable by the owner only', () => {
    const file = join(dir, 'db', 'session-secret');
    assert.ok(existsSync(file));
    assert.ok(readFileSync(file, 'utf8').trim().length >= 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('sends the payer to sandbox pages in the session\'s language, whatever the browser prefers', async () => {
    for (const [provider, locale] of [['repay', 'en'], ['agetrading', 'en'], ['repay', 'ru']] as const) {
      const response = await fetch(`${server.url}/api/checkout/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
        body: JSON.stringify({ orderId: `tea-lang${provider}${locale}`, provider, method: 'sbp', locale }),
      });
      const session = (await response.json()) as any;
      assert.equal(response.status, 201, JSON.stringify(session));
      assert.equal(new URL(session.paymentUrl).searchParams.get('lang'), locale);
      const otherLanguage = locale === 'en' ? 'ru-RU,ru;q=0.9' : 'en-US,en;q=0.9';
      const page = await (await fetch(session.paymentUrl, { headers: { 'accept-language': otherLanguage } })).text();
      assert.match(page, new RegExp(`<html lang="${locale}">`), `${provider} ${locale}`);
    }
  });

  for (const provider of ['repay', 'boxexchanger', 'agetrading'] as const) {
    it(`takes a ${provider} payment through the sandbox: page, webhook, return page, paid`, async () => {
      const session = await createSession(provider, `tea-${provider}01`);
      assert.equal(session.amount, '650.00');
      assert.ok(session.paymentUrl.startsWith(`${server.url}/sandbox/${provider}/`), session.paymentUrl);
      const paid = await pressButton(session.paymentUrl, 'pay');
      assert.ok([302, 303].includes(paid.status), `pay answered ${paid.status}`);
      const location = paid.headers.get('location')!;
      assert.ok(location.startsWith(`${server.url}/api/checkout/return/success?session=${session.id}`), location);
      const page = await fetch(location);
      assert.equal(page.status, 200);
      assert.ok((await page.text()).includes('"origin":"http://localhost:5173"'));
      const final = await waitForStatus(session.id, session.token, 'paid');
      assert.equal(final.paidAmount, '650.00');
    });
  }

  it('holds a sandbox payment of another amount', async () => {
    const session = await createSession('repay', 'honey-other01');
    const response = await pressButton(session.paymentUrl, 'pay-other-amount');
    assert.ok([302, 303].includes(response.status));
    await waitForStatus(session.id, session.token, 'held');
  });

  it('answers 413 to a streamed body over 64 KB read from the socket, then keeps serving', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${server.url}/api/checkout/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as any).error.code, 'payload_too_large');
    const config = await fetch(`${server.url}/api/checkout/config`);
    assert.equal(config.status, 200);
  });

  it('answers 400 invalid_request to a body that is not UTF-8, read from the socket', async () => {
    const response = await fetch(`${server.url}/api/checkout/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as any).error.code, 'invalid_request');
  });

  it('serves the demo session log with the demo catalogue', async () => {
    const list = (await (await fetch(`${server.url}/api/checkout/demo/sessions`)).json()) as any;
    assert.ok(list.sessions.length >= 3);
    const first = list.sessions[0];
    const log = (await (await fetch(`${server.url}/api/checkout/demo/sessions/${first.id}/events`)).json()) as any;
    assert.ok(log.events.length >= 2);
  });

  it('keeps sessions and tokens valid across a restart on the same database', async () => {
    const session = await createSession('repay', 'shawl-restart01');
    await server.close();
    server = await startServer({ host: '127.0.0.1', port: 0, env });
    const response = await fetch(`${server.url}/api/checkout/sessions/${session.id}`, { headers: { authorization: `Bearer ${session.token}` } });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).id, session.id);
  });
});

describe('age.trading customer rules through the sandbox', () => {
  let local: RunningServer;
  let localDir: string;
  before(async () => {
    localDir = mkdtempSync(join(tmpdir(), 'pay-checkout-age-'));
    // Every order belongs to one customer, as age.trading counts per client.
    local = await startServer({
      host: '127.0.0.1',
      port: 0,
      env: { DATABASE_PATH: join(localDir, 'checkout.sqlite'), LOG_LEVEL: 'silent' },
      reconcile: false,
      resolveOrder: (orderId) => (orderId.startsWith('T-') ? { amount: '650', currency: 'RUB', customerId: 'same-customer' } : null),
    });
  });
  after(async () => {
    await local.close();
    rmSync(localDir, { recursive: true, force: true });
  });

  async function create(orderId: string) {
    const response = await fetch(`${local.url}/api/checkout/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: JSON.stringify({ orderId, provider: 'agetrading' }),
    });
    return { status: response.status, json: (await response.json()) as any };
  }
  async function cancel(session: { id: string; token: string }) {
    const response = await fetch(`${local.url}/api/checkout/sessions/${session.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${session.token}` } });
    return (await response.json()) as any;
  }

  it('refuses a second order while the customer has an unclosed request, then bans after four cancellations', async () => {
    const first = await create('T-0001');
    assert.equal(first.status, 201);
    const second = await create('T-0002');
    assert.equal(second.status, 409);
    assert.equal(second.json.error.code, 'previous_request_open');
    assert.equal((await cancel(first.json)).status, 'cancelled');
    for (const orderId of ['T-0003', 'T-0004', 'T-0005']) {
      const next = await create(orderId);
      assert.equal(next.status, 201, JSON.stringify(next.json));
      assert.equal((await cancel(next.json)).status, 'cancelled');
    }
    const banned = await create('T-0006');
    assert.equal(banned.status, 403);
    assert.equal(banned.json.error.code, 'customer_blocked');
  });
});
