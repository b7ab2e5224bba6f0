// Several instances on one database with different MERCHANT_WEBHOOK_URL lists (a deploy, a rollback): only the newest
// list that runs moves the deliveries; an instance of an older one waits, says so, and decides once the newer list's
// instances have stopped saying that they run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, it } from 'node:test';
import { createLogger } from '../../server-example/logger.js';
import { DeliverySender } from '../../server-example/merchant-webhooks/sender.js';
import { SqliteStore, WEBHOOK_LIST_ALIVE_MS } from '../../server-example/store.js';
import { sessionRecord } from './session-records.js';

const OLD = 'https://merchant.test/hooks';
const NEW = 'https://merchant.test/hooks/';
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

let dir: string;
let store: SqliteStore;
const warnings: string[] = [];
const log = createLogger('warn', (line) => warnings.push(line));

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pay-checkout-lists-'));
  store = new SqliteStore(join(dir, 'checkout.sqlite'));
  warnings.length = 0;
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An instance's sender with `urls`; it never sends in these tests (every delivery waits an hour). */
function sender(urls: string[]): DeliverySender {
  return new DeliverySender({ store, delivery: { timeoutMs: 2_000, retryDelaysMs: [60_000], intervalMs: 3_600_000 }, webhooks: { urls, secrets: [SECRET] }, log });
}

it('an instance of the list before waits while the newer one runs, and moves the deliveries back once it stopped', async () => {
  const row = sessionRecord({ orderId: 'A-lists' });
  await store.insertSession(row);
  const payload = JSON.stringify({ type: 'payment.paid', data: {} });
  await store.mutate(row.id, () => ({
    patch: { status: 'paid' },
    deliveries: [{ id: 'dlv_a', messageId: 'msg_a', eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target: OLD, payload, createdAt: Date.now() }],
  }));
  const first = sender([OLD]);
  first.start();
  await first.stop();
  const newer = sender([NEW]);
  newer.start();
  await newer.tick(Date.now());
  assert.equal((await store.getDelivery('dlv_a'))?.target, NEW);

  // A rollback: an instance of the old list starts while the newer one still runs.
  const rolledBack = sender([OLD]);
  rolledBack.start();
  await rolledBack.tick(Date.now());
  assert.equal((await store.getDelivery('dlv_a'))?.target, NEW);
  assert.ok(warnings.some((line) => line.includes('first seen after this one')), warnings.join('\n'));
  // Both go on saying they run (their passes, in simulated time): the newer decides. Once it has stopped saying so
  // for a while, the older one decides.
  const start = Date.now();
  await newer.tick(start + WEBHOOK_LIST_ALIVE_MS / 2);
  await rolledBack.tick(start + WEBHOOK_LIST_ALIVE_MS * 0.75);
  await newer.stop();
  await rolledBack.tick(start + WEBHOOK_LIST_ALIVE_MS * 1.2);
  assert.equal((await store.getDelivery('dlv_a'))?.target, NEW, 'the newer list said it runs half a minute in');
  await rolledBack.tick(start + WEBHOOK_LIST_ALIVE_MS * 1.7);
  assert.equal((await store.getDelivery('dlv_a'))?.target, OLD);
  await rolledBack.stop();
});

it('a database that did not answer at start: nothing is sent until the deliveries follow MERCHANT_WEBHOOK_URL', async () => {
  const received: string[] = [];
  const receiver = createServer((request, response) => {
    received.push(request.url!);
    request.resume().on('end', () => response.end());
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const row = sessionRecord({ orderId: 'A-late' });
  await store.insertSession(row);
  await store.mutate(row.id, () => ({
    patch: { status: 'paid' },
    deliveries: [{ id: 'dlv_late', messageId: 'msg_late', eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target: `${base}/old`, payload: '{"type":"payment.paid","data":{}}', createdAt: Date.now() }],
  }));
  // The store as the helper sees it while its database is unreachable: the reconciliation fails.
  let reachable = false;
  const flaky = Object.create(store) as SqliteStore;
  flaky.retargetDeliveries = (urls, now) => (reachable ? store.retargetDeliveries(urls, now) : Promise.reject(new Error('connect ECONNREFUSED')));
  const late = new DeliverySender({ store: flaky, delivery: { timeoutMs: 2_000, retryDelaysMs: [60_000], intervalMs: 3_600_000 }, webhooks: { urls: [`${base}/new`], secrets: [SECRET] }, log });
  try {
    late.start();
    const start = Date.now();
    await late.tick(start);
    await late.tick(start + 1_000);
    assert.deepEqual(received, [], 'not sent to the URL the configuration no longer names');
    assert.deepEqual([(await store.getDelivery('dlv_late'))?.target, (await store.getDelivery('dlv_late'))?.attempts], [`${base}/old`, 0]);
    assert.equal(warnings.filter((line) => line.includes('could not reconcile')).length, 1, warnings.join('\n'));
    reachable = true;
    await late.tick(start + 2_000);
    assert.deepEqual(received, ['/new']);
    assert.equal((await store.getDelivery('dlv_late'))?.status, 'delivered');
  } finally {
    await late.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});
