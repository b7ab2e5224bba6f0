// A pass leases the deliveries it claims for the time limit plus a margin, counted from the pass's start; the claim
// itself may have waited for the database (a busy pool). Each attempt ends a margin before its lease does, so no other
// sender can take the delivery while the attempt still runs; with no time left, the delivery is left to a later pass
// and no attempt is counted. The real SQLite outbox and the sender driven pass by pass; a pass clock set back stands for
// a claim that took that long, an onEvent hook that never returns for a receiver that never answers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from '../../server-example/logger.js';
import { HOOK_TARGET } from '../../server-example/merchant-webhooks/events.js';
import { DeliverySender } from '../../server-example/merchant-webhooks/sender.js';
import { SqliteStore } from '../../server-example/store.js';
import { sessionRecord } from './session-records.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const TIMEOUT_MS = 2_000;

describe('a delivery attempt ends before its lease', () => {
  let dir = '';
  let store: SqliteStore;
  let calls = 0;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pay-checkout-lease-'));
    store = new SqliteStore(join(dir, 'checkout.sqlite'));
    calls = 0;
    const row = sessionRecord({ orderId: 'A-lease' });
    await store.insertSession(row);
    await store.mutate(row.id, () => ({
      patch: { status: 'paid' },
      deliveries: [{ id: 'dlv_lease', messageId: 'msg_lease', eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target: HOOK_TARGET, payload: '{"type":"payment.paid"}', createdAt: Date.now() - 60_000 }],
    }));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A sender whose hook never returns. */
  function sender(): DeliverySender {
    return new DeliverySender({
      store,
      delivery: { timeoutMs: TIMEOUT_MS, retryDelaysMs: [60_000], intervalMs: 1_000 },
      onEvent: () => {
        calls++;
        return new Promise<void>(() => undefined);
      },
      log: silent,
    });
  }

  it('leaves a delivery whose lease has no time left to a later pass: not sent, no attempt counted', async () => {
    const report = await sender().tick(Date.now() - TIMEOUT_MS - 500);
    assert.deepEqual(report, { delivered: 0, retrying: 0, failed: 0 });
    assert.equal(calls, 0);
    const record = await store.getDelivery('dlv_lease');
    assert.equal(record?.status, 'pending');
    assert.equal(record?.attempts, 0);
  });

  it('gives an attempt what is left of its lease, less the margin, when the claim took a while', async () => {
    const report = await sender().tick(Date.now() - 1_000);
    assert.equal(report.retrying, 1);
    assert.equal(calls, 1);
    const record = await store.getDelivery('dlv_lease');
    const limit = Number(/did not finish within (\d+) ms/.exec(record?.lastError ?? '')?.[1]);
    assert.ok(limit > 0 && limit <= TIMEOUT_MS - 1_000, record?.lastError ?? 'no error recorded');
  });
});
