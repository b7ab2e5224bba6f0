// The outbox's order guarantees under manual retries, on both stores (SQLite in a temp file; a real PostgreSQL started
// by this file): a failed delivery never blocks the ones after it, so retrying it must not slip an older event in
// behind newer ones that already reached the target.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../../server-example/store.js';
import type { NewDelivery, SessionRecord, Store } from '../../server-example/store.js';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { findPostgres, postgresMissingMessage, startPostgres, type PostgresServer } from './pg-server.js';
import { sessionRecord } from './session-records.js';

interface Opened {
  store: Store;
  dispose(): Promise<void>;
}

let pgServer: PostgresServer | undefined;
const pgMissing = findPostgres() ? undefined : postgresMissingMessage();
after(async () => {
  await pgServer?.stop();
});

const harnesses: Array<{ name: string; skip?: string; open(): Promise<Opened> }> = [
  {
    name: 'SqliteStore',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-outbox-'));
      const store = new SqliteStore(join(dir, 'checkout.sqlite'));
      return {
        store,
        async dispose() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgresStore',
    ...(pgMissing ? { skip: pgMissing } : {}),
    async open() {
      pgServer ??= await startPostgres();
      const store = new PostgresStore(await pgServer.createDatabase('outbox'));
      await store.ready();
      return { store, dispose: () => store.close() };
    },
  },
];

let counter = 0;
/** A new session of an order of its own. */
function session(): SessionRecord {
  return sessionRecord({ orderId: `A-outbox-${++counter}` });
}

const TARGET = 'https://merchant.test/hooks';

function delivery(sessionId: string, type: string, overrides: Partial<NewDelivery> = {}): NewDelivery {
  counter++;
  return {
    id: `dlv_o${counter}`,
    messageId: `msg_o${counter}`,
    eventType: type,
    sessionId,
    orderId: 'A-1',
    target: TARGET,
    payload: JSON.stringify({ id: `msg_o${counter}`, type, createdAt: new Date(0).toISOString(), data: { reason: 'provider_status' } }),
    createdAt: Date.now() - 60_000,
    ...overrides,
  };
}

for (const harness of harnesses) {
  describe(`${harness.name}: retrying a delivery keeps its order's sequence of events`, { ...(harness.skip ? { skip: harness.skip } : {}) }, () => {
    const withStore = (fn: (store: Store, write: (...items: NewDelivery[]) => Promise<void>) => Promise<void>) => async () => {
      const opened = await harness.open();
      const write = async (...items: NewDelivery[]) => {
        const row = session();
        await opened.store.insertSession(row);
        await opened.store.mutate(row.id, () => ({ patch: { status: 'paid' }, deliveries: items }));
      };
      try {
        await fn(opened.store, write);
      } finally {
        await opened.dispose();
      }
    };

    /** Takes the only due head, and records its outcome. */
    const send = async (store: Store, now: number, id: string, delivered: boolean) => {
      const claimed = await store.claimDueDeliveries(now, 10, 1_000);
      const mine = claimed.find((item) => item.id === id);
      assert.ok(mine, `${id} is due (got ${claimed.map((item) => item.id).join(', ')})`);
      await store.finishDelivery(mine, delivered ? { delivered: true, status: 200 } : { delivered: false, error: 'HTTP 500', status: 500, nextAttemptAt: null }, now);
    };

    it('refuses to re-send a failed event once a later one was delivered, and marks a forced one redelivered', withStore(async (store, write) => {
      const now = Date.now();
      const paid = delivery('cs_s1', 'payment.paid');
      const held = delivery('cs_s1', 'payment.held');
      const refunded = delivery('cs_s1', 'payment.refunded');
      await write(paid, held, refunded);
      await send(store, now, paid.id, false);
      // A failed delivery does not hold the later ones back.
      await send(store, now + 1, held.id, true);
      await send(store, now + 2, refunded.id, true);

      const refused = await store.retryDelivery(paid.id, now + 3);
      assert.equal(refused?.retry, 'superseded');
      assert.equal(refused?.supersededBy, refunded.id);
      assert.equal((await store.getDelivery(paid.id))?.status, 'failed', 'nothing changed');
      assert.deepEqual(await store.claimDueDeliveries(now + 4, 10, 1_000), []);

      const forced = await store.retryDelivery(paid.id, now + 5, { force: true });
      assert.deepEqual([forced?.retry, forced?.status, forced?.attempts, forced?.nextAttemptAt, forced?.messageId], ['queued', 'pending', 0, now + 5, paid.messageId]);
      const payload = JSON.parse(forced!.payload);
      assert.equal(payload.id, paid.messageId, 'the same message');
      assert.equal(payload.data.redelivered, true);
      assert.equal(payload.data.reason, 'provider_status');
      assert.equal((await store.claimDueDeliveries(now + 6, 10, 1_000))[0]?.id, paid.id);
    }));

    it('refuses while a later event is queued, and a forced older one goes first', withStore(async (store, write) => {
      const now = Date.now();
      const paid = delivery('cs_s2', 'payment.paid');
      const held = delivery('cs_s2', 'payment.held');
      await write(paid);
      await send(store, now, paid.id, false);
      await write(held);
      // The later event is queued (a receiver down): retrying the older one is refused too.
      await store.finishDelivery((await store.claimDueDeliveries(now + 1, 10, 1_000))[0]!, { delivered: false, error: 'HTTP 503', nextAttemptAt: now + 60_000 }, now + 1);
      assert.equal((await store.retryDelivery(paid.id, now + 2))?.retry, 'superseded');
      await store.retryDelivery(paid.id, now + 3, { force: true });
      // Forced: it is the head of the queue again, so the later one waits for it.
      assert.deepEqual((await store.claimDueDeliveries(now + 120_000, 10, 1_000)).map((item) => item.id), [paid.id]);
    }));

    it('re-sends a failed event unmarked only when its order has nothing later (other orders do not count)', withStore(async (store, write) => {
      const now = Date.now();
      const paid = delivery('cs_s3', 'payment.paid');
      const paidHook = delivery('cs_s3', 'payment.paid', { target: 'hook:onEvent', messageId: paid.messageId });
      const held = delivery('cs_s3', 'payment.held');
      const other = delivery('cs_s4', 'payment.refunded', { orderId: 'A-2' });
      await write(paid, paidHook, held);
      await write(other);
      const heads = await store.claimDueDeliveries(now, 10, 1_000);
      assert.deepEqual(heads.map((item) => item.id).sort(), [paid.id, paidHook.id, other.id].sort());
      for (const head of heads) {
        await store.finishDelivery(head, head.id === paid.id ? { delivered: false, error: 'HTTP 500', nextAttemptAt: null } : { delivered: true, status: 200 }, now);
      }
      await send(store, now + 1, held.id, false);
      // A later event that failed too is still newer news: the old one is not re-sent as if it were the latest.
      const first = await store.retryDelivery(paid.id, now + 4);
      assert.equal(first?.retry, 'superseded');
      assert.equal(first?.supersededBy, held.id);
      // The same event delivered to another target is not a later one.
      const latest = await store.retryDelivery(held.id, now + 5);
      assert.equal(latest?.retry, 'queued');
      assert.equal(latest?.payload, held.payload, 'not marked');
      assert.deepEqual((await store.claimDueDeliveries(now + 6, 10, 1_000)).map((item) => item.id), [held.id]);
    }));

    it('refuses to re-send a failed event once a later event of its order went to another URL (MERCHANT_WEBHOOK_URL changed)', withStore(async (store, write) => {
      const now = Date.now();
      const moved = 'https://merchant.test/hooks/';
      const paid = delivery('cs_s7', 'payment.paid');
      const refunded = delivery('cs_s7', 'payment.refunded', { target: moved });
      const refundedHook = delivery('cs_s7', 'payment.refunded', { target: 'hook:onEvent', messageId: refunded.messageId });
      await write(paid);
      await send(store, now, paid.id, false);
      // The helper restarted with the URL's new spelling: the refund went there (and to the hook).
      await write(refunded, refundedHook);
      const heads = await store.claimDueDeliveries(now + 1, 10, 1_000);
      assert.deepEqual(heads.map((item) => item.id).sort(), [refunded.id, refundedHook.id].sort());
      for (const head of heads) await store.finishDelivery(head, { delivered: true, status: 200 }, now + 2);

      const refused = await store.retryDelivery(paid.id, now + 3);
      assert.equal(refused?.retry, 'superseded');
      assert.equal(refused?.supersededBy, refunded.id, 'the later event\'s first delivery, as the old target has none');
      assert.equal((await store.getDelivery(paid.id))?.status, 'failed', 'nothing changed');

      const forced = await store.retryDelivery(paid.id, now + 4, { force: true });
      assert.deepEqual([forced?.retry, forced?.supersededBy, forced?.target], ['queued', refunded.id, TARGET]);
      assert.equal(JSON.parse(forced!.payload).data.redelivered, true);
    }));

    it('makes a pending delivery waiting for its next attempt due now, and leaves one being sent alone', withStore(async (store, write) => {
      const now = Date.now();
      const item = delivery('cs_s5', 'payment.paid');
      await write(item);
      const [claimed] = await store.claimDueDeliveries(now, 10, 10_000);
      const inFlight = await store.retryDelivery(item.id, now + 1);
      assert.equal(inFlight?.retry, 'in_flight');
      assert.equal(inFlight?.leaseUntil, now + 10_000);
      await store.finishDelivery(claimed!, { delivered: false, error: 'HTTP 500', status: 500, nextAttemptAt: now + 3_600_000 }, now + 2);
      assert.deepEqual(await store.claimDueDeliveries(now + 3, 10, 1_000), []);
      const due = await store.retryDelivery(item.id, now + 4);
      assert.deepEqual([due?.retry, due?.status, due?.attempts, due?.nextAttemptAt, due?.lastStatus], ['due_now', 'pending', 0, now + 4, 500]);
      assert.equal((await store.claimDueDeliveries(now + 5, 10, 1_000))[0]?.id, item.id);
      assert.equal(await store.retryDelivery('dlv_missing', now), undefined);
    }));

    it('pages through deliveries newest first with a cursor', withStore(async (store, write) => {
      const items = Array.from({ length: 5 }, () => delivery('cs_s6', 'payment.paid'));
      await write(...items);
      const newest = (await store.listDeliveries({ limit: 2 })).map((item) => item.id);
      assert.deepEqual(newest, [items[4]!.id, items[3]!.id]);
      const cursor = (await store.getDelivery(items[3]!.id))!.seq;
      assert.deepEqual((await store.listDeliveries({ limit: 2, beforeSeq: cursor })).map((item) => item.id), [items[2]!.id, items[1]!.id]);
      assert.deepEqual((await store.listDeliveries({ limit: 10, beforeSeq: cursor, sessionId: 'cs_none' })), []);
    }));
  });
}
