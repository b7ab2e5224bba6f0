// Unsigned provider callbacks (age.trading without AGETRADING_CALLBACK_SECRET) are triggers anyone can send: per
// session, one is stored (its head) and followed by a status read at most once per window, and a flood of forged ones
// costs neither disk nor the merchant's provider API quota. A real payment is still applied (by the next trigger after
// the window, or by the reconciler), and signed callbacks (age.trading with a secret, Repay) are never throttled.
// The window is crossed by moving `Date.now()` forward, not by waiting; that clock runs slow, so a flood never spans a
// window by accident.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { setupServer } from 'msw/node';
import { createCheckoutApp, loadConfig } from '../../server-example/index.js';
import { createLogger } from '../../server-example/logger.js';
import { AgeMock, events, hmac, makeTestApp, RepayMock, SECRETS, session, testEnv } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';

/** The window of docs/server.md ("at most every 3 s per session"), as the status route and the return page use it. */
const WINDOW_MS = 3_000;
const AGE_HOOK = '/api/checkout/webhooks/agetrading';
const FORGER = { 'x-forwarded-for': '203.0.113.9' };

const msw = setupServer();
before(() => msw.listen({ onUnhandledRequest: 'error' }));
after(() => msw.close());

let age: AgeMock;
let repay: RepayMock;
const apps: TestApp[] = [];
/**
 * Added to the helper's clock: a test moves time forward past the window without waiting. The clock also runs at a
 * twentieth of real time, so a slow machine cannot cross a window in the middle of a flood.
 */
let clockOffset = 0;

beforeEach(() => {
  age = new AgeMock();
  repay = new RepayMock();
  msw.use(...age.handlers(), ...repay.handlers());
  clockOffset = 0;
  const realNow = Date.now.bind(Date);
  const start = realNow();
  mock.method(Date, 'now', () => start + Math.floor((realNow() - start) / 20) + clockOffset);
});

afterEach(async () => {
  mock.restoreAll();
  msw.resetHandlers();
  while (apps.length > 0) await apps.pop()!.dispose();
});

function app(env: Record<string, string> = {}): TestApp {
  const made = makeTestApp({ env });
  apps.push(made);
  return made;
}

const unsignedApp = () => app({ AGETRADING_CALLBACK_SECRET: '' });

async function openAgeSession(t: TestApp) {
  const created = await t.createSession({ orderId: 'A-1001', provider: 'agetrading', method: 'sbp' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const req = [...age.requests.values()].find((r) => r.merchantRequestId.endsWith(String(created.json.id).slice(3)))!;
  return { id: created.json.id as string, req };
}

/** A forged callback naming the session by the id its browser was handed, with a status of the forger's choosing. */
function forged(sessionId: string, i: number, padding = ''): string {
  return JSON.stringify({ merchant_request_id: sessionId, status: `S${i}-${'z'.repeat(200)}`, amount: '1500.00', pad: padding });
}

async function webhookEvents(t: TestApp, id: string) {
  return (await events(t.app, id)).filter((event) => event.kind === 'webhook');
}

describe('unsigned callbacks: a flood', () => {
  it('stores and re-reads one forged callback per session per window, whatever their bodies say', async () => {
    const t = unsignedApp();
    const { id } = await openAgeSession(t);
    const reads = age.statusCalls; // creation's own read
    const padding = 'x'.repeat(15_000);

    const statuses = new Set<number>();
    for (let i = 0; i < 200; i++) statuses.add((await t.post(AGE_HOOK, forged(id, i, padding), 'application/json', FORGER)).status);
    // …and at once, as a burst: one of them wins the window, in the transaction.
    const burst = await Promise.all(Array.from({ length: 50 }, (_, i) => t.post(AGE_HOOK, forged(id, 1000 + i, padding), 'application/json', FORGER)));
    for (const response of burst) statuses.add(response.status);

    assert.deepEqual([...statuses], [200], 'answered as age.trading expects, never refused');
    const stored = await webhookEvents(t, id);
    assert.equal(stored.length, 1, 'one stored callback in the window');
    assert.equal(age.statusCalls - reads, 1, 'one provider status read in the window');
    // Only a bounded head of what anyone may send is kept.
    const data = stored[0]!.data as { authenticated: boolean; raw: string; length: number };
    assert.equal(data.authenticated, false);
    assert.ok(data.raw.length <= 1_025, `head kept: ${data.raw.length} characters`);
    assert.equal(data.length, forged(id, 0, padding).length);
    assert.ok(JSON.stringify(stored[0]).length < 2_048, 'the whole stored event stays small');
    assert.ok((stored[0]!.providerStatus ?? '').length <= 65, 'the claimed status is clipped');
    assert.equal((await session(t.app, id)).status, 'created', 'forged words move nothing');

    // After the window the next trigger is stored and read again — once, however many come.
    clockOffset += WINDOW_MS + 1;
    for (let i = 0; i < 20; i++) assert.equal((await t.post(AGE_HOOK, forged(id, 2000 + i), 'application/json', FORGER)).status, 200);
    assert.equal((await webhookEvents(t, id)).length, 2);
    assert.equal(age.statusCalls - reads, 2);
  });

  it('throttles each session on its own: a flood on one does not silence another', async () => {
    const t = unsignedApp();
    const first = await openAgeSession(t);
    const second = (await t.createSession({ orderId: 'A-1002', provider: 'agetrading', method: 'sbp' })).json.id as string;
    const reads = age.statusCalls;
    for (let i = 0; i < 30; i++) await t.post(AGE_HOOK, forged(first.id, i), 'application/json', FORGER);
    for (let i = 0; i < 30; i++) await t.post(AGE_HOOK, forged(second, i), 'application/json', FORGER);
    assert.equal((await webhookEvents(t, first.id)).length, 1);
    assert.equal((await webhookEvents(t, second)).length, 1);
    assert.equal(age.statusCalls - reads, 2);
  });
});

describe('unsigned callbacks: a real payment during a flood', () => {
  /** A session flooded with forged callbacks; then the payer pays and age.trading's real (unsigned) callback comes in the window. */
  async function paidDuringFlood() {
    const t = unsignedApp();
    const { id, req } = await openAgeSession(t);
    for (let i = 0; i < 50; i++) await t.post(AGE_HOOK, forged(id, i), 'application/json', FORGER);
    const reads = age.statusCalls;
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const real = age.callback(req, 'SUCCESS', '1500.00').body;
    assert.equal((await t.post(AGE_HOOK, real, 'application/json')).status, 200);
    // Throttled like the forged ones: it cannot be told from them.
    assert.equal(age.statusCalls, reads, 'no read within the window');
    assert.notEqual((await session(t.app, id)).status, 'paid');
    assert.equal((await webhookEvents(t, id)).length, 1);
    return { t, id, req, real, reads };
  }

  it('is applied by the next trigger after the window', async () => {
    const { t, id, real, reads } = await paidDuringFlood();
    clockOffset += WINDOW_MS + 1;
    assert.equal((await t.post(AGE_HOOK, real, 'application/json')).status, 200, 'age.trading\'s retry, or any later trigger');
    assert.equal(age.statusCalls, reads + 1);
    const paid = await session(t.app, id);
    assert.equal(paid.status, 'paid');
    assert.equal(paid.paidAmountMinor, 150_000);
  });

  it('is applied by the reconciler without any further callback', async () => {
    const { t, id } = await paidDuringFlood();
    const due = (await session(t.app, id)).nextPollAt;
    assert.notEqual(due, null, 'the open session is still scheduled for a poll');
    clockOffset += Math.max(0, due! - Date.now()) + 1;
    const report = await t.app.checkout.reconciler.tick();
    assert.ok(report.polled >= 1, JSON.stringify(report));
    assert.equal((await session(t.app, id)).status, 'paid');
  });
});

describe('unsigned callbacks: a late payment of an ended session, no longer watched', () => {
  it('is read once the window has passed when its callback came within another\'s window', async () => {
    const t = unsignedApp();
    const { id, req } = await openAgeSession(t);
    // age.trading ends the request; the reconciler applies it and, past the late-payment watch, stops polling.
    req.status = 'CANCELLED';
    clockOffset += (await session(t.app, id)).nextPollAt! - Date.now() + 1;
    await t.app.checkout.reconciler.tick();
    clockOffset += 3 * 3_600_000;
    for (let i = 0; i < 5; i++) await t.app.checkout.reconciler.tick();
    const ended = await session(t.app, id);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.nextPollAt, null, 'nothing polls it any more');

    // A forged callback (or age.trading's own earlier notice) and, within its window, the late payment's callback.
    assert.equal((await t.post(AGE_HOOK, forged(id, 1), 'application/json', FORGER)).status, 200);
    req.status = 'SUCCESS';
    req.amount = '1500.00';
    const reads = age.statusCalls;
    assert.equal((await t.post(AGE_HOOK, age.callback(req, 'SUCCESS', '1500.00').body, 'application/json')).status, 200);
    for (let i = 0; i < 20; i++) await t.post(AGE_HOOK, forged(id, 2 + i), 'application/json', FORGER);
    assert.equal(age.statusCalls, reads, 'no read within the window');
    const waiting = await session(t.app, id);
    assert.equal(waiting.status, 'cancelled');
    assert.ok(waiting.nextPollAt !== null && waiting.nextPollAt <= Date.now() + WINDOW_MS, 'a read is due once the window has passed');

    clockOffset += WINDOW_MS + 1;
    await t.app.checkout.reconciler.tick();
    const revived = await session(t.app, id);
    assert.equal(revived.status, 'paid');
    assert.equal(age.statusCalls, reads + 1, 'one read for the whole window');
  });
});

describe('signed callbacks are never throttled', () => {
  /** Distinct callbacks for one session in quick succession, the last one reporting the payment. */
  async function sendAgeCallbacks(t: TestApp, sign: boolean) {
    const { id, req } = await openAgeSession(t);
    const reads = age.statusCalls;
    const sent: string[] = [];
    for (const status of ['PENDING', 'PROCESSING', 'SUCCESS']) {
      if (status === 'SUCCESS') {
        req.status = 'SUCCESS';
        req.amount = '1500.00';
      }
      // Signed bodies are stored raw and whole (up to 16 KB), so make them large.
      const body = JSON.stringify({ ...JSON.parse(age.callback(req, status).body), note: 'n'.repeat(10_000) });
      sent.push(body);
      const response = await t.post(AGE_HOOK, body, 'application/json', sign ? { 'x-signature': hmac(SECRETS.ageCallbackSecret, body) } : {});
      assert.equal(response.status, 200);
    }
    return { id, reads, sent };
  }

  it('age.trading with AGETRADING_CALLBACK_SECRET: each callback is stored raw and re-read, where unsigned ones are throttled', async () => {
    const signedApp = app();
    const signed = await sendAgeCallbacks(signedApp, true);
    const stored = await webhookEvents(signedApp, signed.id);
    assert.equal(stored.length, 3, 'every verified callback is stored');
    assert.deepEqual(
      stored.map((event) => (event.data as { raw: string }).raw),
      signed.sent,
      'stored raw and whole',
    );
    assert.ok(stored.every((event) => (event.data as { authenticated: boolean }).authenticated));
    assert.equal(age.statusCalls - signed.reads, 3, 'every verified callback is re-read');
    assert.equal((await session(signedApp.app, signed.id)).status, 'paid', 'and applied at once');

    // The same callbacks without a secret: one trigger per window.
    const unsignedT = unsignedApp();
    const unsigned = await sendAgeCallbacks(unsignedT, false);
    assert.equal((await webhookEvents(unsignedT, unsigned.id)).length, 1);
    assert.equal(age.statusCalls - unsigned.reads, 1);
  });

  it('Repay: each signed callback is stored and re-read while the unsigned age.trading ones beside it are throttled', async () => {
    const t = unsignedApp();
    const repaySession = (await t.createSession({ orderId: 'A-1003', provider: 'repay' })).json.id as string;
    const deal = repay.deals.get('deal-1')!;
    const ageSession = await openAgeSession(t);
    const ageReads = age.statusCalls;
    const repayReads = repay.statusCalls;
    // Distinct signed callbacks (the signature covers the amount text as sent), interleaved with forged ones.
    let n = 0;
    for (const amount of ['2500.0', '2500.00', '2500']) {
      if (amount === '2500') deal.state = 'completed';
      for (let i = 0; i < 10; i++) await t.post(AGE_HOOK, forged(ageSession.id, n++), 'application/json', FORGER);
      const response = await t.post('/api/checkout/webhooks/repay', repay.callback(deal.id, amount), 'application/json');
      assert.equal(response.status, 200);
    }
    assert.equal((await webhookEvents(t, repaySession)).length, 3);
    assert.equal(repay.statusCalls - repayReads, 3);
    assert.equal((await session(t.app, repaySession)).status, 'paid');
    assert.equal((await webhookEvents(t, ageSession.id)).length, 1);
    assert.equal(age.statusCalls - ageReads, 1);
  });
});

describe('start-up in live mode', () => {
  async function warnings(env: Record<string, string>): Promise<string[]> {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-unsigned-'));
    const lines: string[] = [];
    try {
      const config = loadConfig({ ...testEnv(dir), CHECKOUT_MODE: 'live', ...env });
      const checkout = createCheckoutApp({ ...config, resolveOrder: () => ({ amount: '1500', currency: 'RUB' }), logger: createLogger('warn', (line) => lines.push(line)) });
      await checkout.checkout.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return lines;
  }

  it('warns when age.trading is configured without AGETRADING_CALLBACK_SECRET, and never logs the secret', async () => {
    const without = (await warnings({ AGETRADING_CALLBACK_SECRET: '' })).filter((line) => line.includes('AGETRADING_CALLBACK_SECRET'));
    assert.equal(without.length, 1, 'one warning');
    assert.match(without[0]!, /unsigned/);
    const withSecret = await warnings({});
    assert.ok(!withSecret.some((line) => line.includes('AGETRADING_CALLBACK_SECRET')), withSecret.join('\n'));
    assert.ok(!withSecret.some((line) => line.includes(SECRETS.ageCallbackSecret)));
    // Not offered: nothing to say.
    const notEnabled = await warnings({ AGETRADING_CALLBACK_SECRET: '', CHECKOUT_PROVIDERS: 'repay' });
    assert.ok(!notEnabled.some((line) => line.includes('AGETRADING_CALLBACK_SECRET')), notEnabled.join('\n'));
  });
});
