// Several instances on one database with different MERCHANT_WEBHOOK_URL lists (a deploy, a rollback): only the newest
// list that runs moves the deliveries; an instance of an older one waits, says so, and decides once the newer list's
// instances have stopped saying that they run.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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
