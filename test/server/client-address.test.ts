// Who sent a provider callback, behind the reverse proxies TRUSTED_PROXIES names: forged callbacks are limited per
// sender, so a flood through the shop's own proxy must not get the provider's real callbacks refused with it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import express from 'express';
import { setupServer } from 'msw/node';
import { clientAddressResolver, trustedProxyProblem } from '../../server-example/client-address.js';
import { keepRawBody, nodeHandler, startServer, type RunningServer } from '../../server-example/index.js';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { makeTestApp, RepayMock, type TestApp } from './checkout-fixtures.js';

describe('the sender of a request', () => {
  const behind = clientAddressResolver(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

  it('is the connection\'s peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const direct = clientAddressResolver([]);
    assert.equal(direct('127.0.0.1', '203.0.113.7'), '127.0.0.1');
    assert.equal(direct('::ffff:198.51.100.2', undefined), '198.51.100.2');
    assert.equal(direct(undefined, '203.0.113.7'), 'unknown');
  });

  it('is the connection\'s peer when that peer is not a trusted proxy', () => {
    assert.equal(behind('198.51.100.2', '203.0.113.7'), '198.51.100.2');
  });

  it('is the address a trusted proxy appended, not what the sender wrote to the left of it', () => {
    assert.equal(behind('127.0.0.1', '203.0.113.7'), '203.0.113.7');
    assert.equal(behind('::ffff:127.0.0.1', '1.1.1.1, 203.0.113.7'), '203.0.113.7');
    // Through two trusted proxies (an edge balancer, then nginx on the host).
    assert.equal(behind('127.0.0.1', '9.9.9.9, 203.0.113.7, 10.1.2.3'), '203.0.113.7');
    assert.equal(behind('fd00::1', '2001:db8::7'), '2001:db8::7');
  });

  it('is the address without the port or the quotes a proxy may write with it', () => {
    assert.equal(behind('127.0.0.1', '203.0.113.5:4711'), '203.0.113.5');
    assert.equal(behind('127.0.0.1', '[2001:db8::1]:4711'), '2001:db8::1');
    assert.equal(behind('127.0.0.1', '"[2001:db8::2]"'), '2001:db8::2');
    assert.equal(behind('127.0.0.1', '203.0.113.5:4711, 10.0.0.1:80'), '203.0.113.5');
  });

  it('is the proxy itself when it forwarded nothing, and the first hop when every hop is trusted', () => {
    assert.equal(behind('127.0.0.1', undefined), '127.0.0.1');
    assert.equal(behind('127.0.0.1', '10.0.0.9, 10.0.0.8'), '10.0.0.9');
  });

  it('takes IP addresses and CIDR ranges only', () => {
    assert.equal(trustedProxyProblem('10.0.0.0/8'), undefined);
    assert.equal(trustedProxyProblem('::1'), undefined);
    assert.match(trustedProxyProblem('proxy.internal')!, /not an IP address/);
    assert.match(trustedProxyProblem('10.0.0.0/40')!, /0 to 32/);
    assert.match(trustedProxyProblem('fd00::/200')!, /0 to 128/);
    assert.match(trustedProxyProblem('10.0.0.0/8/1')!, /not an IP address/);
  });
});

describe('rejected provider callbacks behind a reverse proxy (real HTTP, the embedded sandbox)', () => {
  let dir: string;
  let server: RunningServer;
  let dealId: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pay-checkout-proxy-'));
    // This process is "the proxy": every request reaches the helper from 127.0.0.1.
    const env = { DATABASE_PATH: join(dir, 'checkout.sqlite'), LOG_LEVEL: 'silent', TRUSTED_PROXIES: '127.0.0.1' };
    server = await startServer({ host: '127.0.0.1', port: 0, env, reconcile: false });
    const created = await fetch(`${server.url}/api/checkout/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://localhost:5173' },
      body: JSON.stringify({ orderId: 'tea-proxy01', provider: 'repay', method: 'sbp' }),
    });
    const session = (await created.json()) as { id: string };
    assert.equal(created.status, 201, JSON.stringify(session));
    dealId = (await server.app.checkout.store.getSession(session.id))!.providerPaymentId!;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const callback = (forwardedFor: string, signature: string) =>
    fetch(`${server.url}/api/checkout/webhooks/repay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ deal_id: dealId, state: 'completed', amount: '650', currency: 'RUB', signature }),
    });
  const signed = () => createHash('md5').update(`${dealId}:650:${SANDBOX_ACCOUNTS.repay.secretWord2}`).digest('hex');

  it('refuses the flooding sender and still takes the provider\'s callbacks through the same proxy', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 32; index++) statuses.push((await callback('203.0.113.7', 'f'.repeat(32))).status);
    assert.deepEqual([statuses.filter((status) => status === 401).length, statuses.slice(30)], [30, [429, 429]]);
    // The forger refused even with a good signature, the provider (another sender behind the proxy) not.
    assert.equal((await callback('9.9.9.9, 203.0.113.7', signed())).status, 429);
    assert.equal((await callback('198.51.100.2', signed())).status, 200);
  });
});

/** A POST over real HTTP from a chosen loopback address (Linux routes all of 127.0.0.0/8 to this machine). */
function postFrom(from: string, url: string, body: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', localAddress: from, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('rejected provider callbacks when a body parser read the body first (Express, express.json({ verify: keepRawBody }))', () => {
  const repay = new RepayMock();
  const msw = setupServer(...repay.handlers());
  before(() => msw.listen({ onUnhandledRequest: 'bypass' }));
  after(() => msw.close());
  let t: TestApp | undefined;
  let closeServer: (() => void) | undefined;
  afterEach(async () => {
    closeServer?.();
    await t?.dispose();
    repay.deals.clear();
  });

  /** The helper behind Express's global JSON parser, as docs/server.md mounts it, and an open Repay session. */
  async function mounted(env: Record<string, string>) {
    t = makeTestApp({ env });
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const dealId = (await t.app.checkout.store.getSession(json.id))!.providerPaymentId!;
    const web = express();
    web.use(express.json({ verify: keepRawBody }));
    web.use('/api/checkout', nodeHandler(t.app));
    const server = web.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    closeServer = () => server.close();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/checkout/webhooks/repay`;
    const forged = JSON.stringify({ deal_id: dealId, state: 'completed', amount: '1500', currency: 'RUB', signature: 'f'.repeat(32) });
    return { sessionId: json.id as string, dealId, url, forged };
  }

  async function floods(send: () => Promise<number>): Promise<number[]> {
    const statuses: number[] = [];
    for (let index = 0; index < 31; index++) statuses.push(await send());
    return statuses;
  }

  it('behind a trusted proxy, counts each sender X-Forwarded-For names: the provider\'s callback is taken after a forger\'s flood', async () => {
    const { sessionId, dealId, url, forged } = await mounted({ TRUSTED_PROXIES: '127.0.0.1' });
    const statuses = await floods(() => postFrom('127.0.0.1', url, forged, { 'x-forwarded-for': '203.0.113.7' }));
    assert.deepEqual([statuses.filter((status) => status === 401).length, statuses[30]], [30, 429]);
    repay.deals.get(dealId)!.state = 'completed';
    assert.equal(await postFrom('127.0.0.1', url, repay.callback(dealId, '1500'), { 'x-forwarded-for': '198.51.100.2' }), 200);
    assert.equal((await t!.app.checkout.store.getSession(sessionId))!.status, 'paid');
    assert.equal((await t!.app.checkout.store.listRejectedCallbacks(1))[0]?.source, '203.0.113.7', 'the forger\'s rejections were counted as its own');
  });

  it('without a proxy, counts each connection\'s own address', async () => {
    const { sessionId, dealId, url, forged } = await mounted({});
    const statuses = await floods(() => postFrom('127.0.0.2', url, forged));
    assert.deepEqual([statuses.filter((status) => status === 401).length, statuses[30]], [30, 429]);
    repay.deals.get(dealId)!.state = 'completed';
    assert.equal(await postFrom('127.0.0.3', url, repay.callback(dealId, '1500')), 200);
    assert.equal((await t!.app.checkout.store.getSession(sessionId))!.status, 'paid');
    assert.equal((await t!.app.checkout.store.listRejectedCallbacks(1))[0]?.source, '127.0.0.2', 'the forger\'s rejections were counted as its own');
  });
});

describe('rejected provider callbacks through app.fetch(request, env) without Node bindings (Bun, Deno, a custom adapter)', () => {
  const repay = new RepayMock();
  const msw = setupServer(...repay.handlers());
  before(() => msw.listen({ onUnhandledRequest: 'error' }));
  after(() => msw.close());
  let t: TestApp;
  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    // The warnings about where callbacks come from; each rejected callback is logged as well.
    const logger = { debug() {}, info() {}, error() {}, warn: (message: string) => void (message !== 'callback rejected' && warnings.push(message)) };
    t = makeTestApp({ config: { logger } });
  });
  afterEach(() => t.dispose());

  const callback = (body: string, env?: Record<string, unknown>) =>
    t.app.fetch(new Request('https://merchant.test/api/checkout/webhooks/repay', { method: 'POST', headers: { 'content-type': 'application/json' }, body }), env);

  it('counts each sender by env.peer', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    const dealId = (await t.app.checkout.store.getSession(json.id))!.providerPaymentId!;
    const forged = JSON.stringify({ deal_id: dealId, state: 'completed', amount: '1500', currency: 'RUB', signature: 'f'.repeat(32) });
    const statuses: number[] = [];
    for (let index = 0; index < 31; index++) statuses.push((await callback(forged, { peer: '203.0.113.7' })).status);
    assert.deepEqual([statuses.filter((status) => status === 401).length, statuses[30]], [30, 429]);
    repay.deals.get(dealId)!.state = 'completed';
    assert.equal((await callback(repay.callback(dealId, '1500'), { peer: '198.51.100.2' })).status, 200);
    assert.equal((await t.app.checkout.store.getSession(json.id))!.status, 'paid');
    assert.deepEqual(warnings, []);
  });

  it('warns once, without the request\'s content, when callbacks arrive with no peer: every sender then shares one limit', async () => {
    const forged = JSON.stringify({ deal_id: 'deal-x', amount: '1500', signature: 'f'.repeat(32) });
    for (let index = 0; index < 3; index++) assert.equal((await callback(forged)).status, 404);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /without the address of its connection.*share one limit.*\{ peer: address \}/);
    assert.ok(!warnings[0]!.includes('deal-x'));
    assert.equal((await t.app.checkout.store.listRejectedCallbacks(1))[0]?.source, 'unknown');
  });
});
