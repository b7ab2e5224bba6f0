// Who sent a provider callback, behind the reverse proxies TRUSTED_PROXIES names: forged callbacks are limited per
// sender, so a flood through the shop's own proxy must not get the provider's real callbacks refused with it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clientAddressResolver, trustedProxyProblem } from '../../server-example/client-address.js';
import { startServer, type RunningServer } from '../../server-example/index.js';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';

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
