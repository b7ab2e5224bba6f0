// A creation still waiting for its provider is never taken for a crash's leftover by another instance: the
// reconciler leaves a row alone while its order's lock is held (a creation under way holds it until the provider's
// answer is stored), however long past the crash grace. Where the lock cannot hold (two processes on one SQLite
// file), a row ended meanwhile never moves back to open: the provider's payment is recorded on it and the payer is
// asked to try again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { http } from 'msw';
import { setupServer } from 'msw/node';
import { BOX, BoxMock, makeTestApp, type TestApp } from './checkout-fixtures.js';
import { describeWithPostgres } from './pg-suite.js';

const ORDERS = { 'O-1': { amount: '1500.00', currency: 'RUB', customerId: 'c-1', description: 'Order O-1' } };
const msw = setupServer();

/** BoxExchanger's order/create held until `release()`; `entered` resolves when the request reached it. */
function heldCreate(): { entered: Promise<void>; release: () => void } {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (entered = resolve));
  msw.use(
    http.post(`${BOX}/service/api/v1/public/exchanger/order/create`, async () => {
      entered();
      await gate;
      return undefined; // on to BoxMock's handler
    }),
  );
  return { entered: reached, release };
}

/** A reconciler pass of `app` as if the crash grace had long passed. */
function tickPastGrace(app: TestApp) {
  return app.app.checkout.reconciler.tick(Date.now() + app.config.reconcile.crashGraceMs + 60_000);
}

async function eventTrail(app: TestApp, sessionId: string): Promise<string[]> {
  return (await app.app.checkout.store.listEvents(sessionId)).map((event) => `${event.kind}:${event.fromStatus ?? ''}->${event.toStatus ?? ''}`);
}

before(() => msw.listen({ onUnhandledRequest: 'error' }));
after(() => msw.close());

describeWithPostgres('a creation under way in another instance', (postgres) => {
  it('is left alone by the other instance\'s reconciler past the crash grace, and opens as usual', async () => {
    const box = new BoxMock();
    msw.use(...box.handlers());
    const held = heldCreate();
    const env = { DATABASE_URL: await postgres().createDatabase('creating') };
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-creating-'));
    const a = makeTestApp({ env, orders: ORDERS, dir });
    const b = makeTestApp({ env, orders: ORDERS, dir });
    try {
      const answer = a.createSession({ orderId: 'O-1', provider: 'boxexchanger' });
      await held.entered;
      const [row] = await b.app.checkout.store.listOrderSessions('O-1');
      assert.equal(row?.paymentUrl, null, 'the row waits for its provider');

      const report = await tickPastGrace(b);
      assert.equal(report.interrupted, 0);
      assert.equal((await b.app.checkout.store.getSession(row!.id))?.status, 'created');

      held.release();
      const created = await answer;
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const stored = await b.app.checkout.store.getSession(row!.id);
      assert.equal(stored?.status, 'created');
      assert.ok(stored?.paymentUrl);
      assert.deepEqual(await eventTrail(b, row!.id), ['created:->created', 'provider_created:created->created']);
    } finally {
      held.release();
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is taken for a crash\'s leftover once no instance holds its order\'s lock', async () => {
    const box = new BoxMock();
    msw.use(...box.handlers());
    const env = { DATABASE_URL: await postgres().createDatabase('crashed') };
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-crashed-'));
    const a = makeTestApp({ env, orders: ORDERS, dir });
    const b = makeTestApp({ env, orders: ORDERS, dir });
    try {
      // The creating instance stops for good while its provider call is under way: its connections, and the order
      // lock with them, are gone.
      const held = heldCreate();
      void a.createSession({ orderId: 'O-1', provider: 'boxexchanger' }).catch(() => undefined);
      await held.entered;
      await a.close();
      const [row] = await b.app.checkout.store.listOrderSessions('O-1');

      const report = await tickPastGrace(b);
      assert.equal(report.interrupted, 1);
      const stored = await b.app.checkout.store.getSession(row!.id);
      assert.equal(stored?.status, 'failed');
      assert.equal(stored?.errorCode, 'interrupted');
      held.release();
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a creation whose row another process ended meanwhile (two processes on one SQLite file)', () => {
  it('records the provider\'s payment on the ended row without reopening it, and asks the payer to try again', async () => {
    const box = new BoxMock();
    msw.use(...box.handlers());
    const held = heldCreate();
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-ended-'));
    const a = makeTestApp({ orders: ORDERS, dir });
    const b = makeTestApp({ orders: ORDERS, dir });
    try {
      const answer = a.createSession({ orderId: 'O-1', provider: 'boxexchanger' });
      await held.entered;
      const report = await tickPastGrace(b);
      assert.equal(report.interrupted, 1, 'SQLite locks are per process: the other one cannot see the creation');
      const [row] = await b.app.checkout.store.listOrderSessions('O-1');

      held.release();
      const created = await answer;
      assert.equal(created.status, 409, JSON.stringify(created.json));
      assert.equal(created.json.error.code, 'session_creating');
      assert.equal(created.json.error.retryable, true);

      const stored = await b.app.checkout.store.getSession(row!.id);
      assert.equal(stored?.status, 'failed', 'nothing moves back to open');
      assert.equal(stored?.paymentUrl, null);
      assert.equal(stored?.providerPaymentId, [...box.orders.keys()][0], 'the payment is recorded, so a late payment of it is found');
      assert.ok(stored?.nextPollAt, 'and watched');
      assert.deepEqual(await eventTrail(b, row!.id), ['created:->created', 'transition:created->failed', 'note:->']);

      // The payer's retry opens a new payment.
      const retry = await b.createSession({ orderId: 'O-1', provider: 'boxexchanger' });
      assert.equal(retry.status, 201, JSON.stringify(retry.json));
      assert.notEqual(retry.json.id, row!.id);
    } finally {
      held.release();
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
