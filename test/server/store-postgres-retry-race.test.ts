// A merchant API retry of a failed delivery, on PostgreSQL, while another instance records news of the same session: the
// retry checks for a later delivery and sends the old one again only if there is none. A later delivery committed
// between that check and the retry's commit would be sent first, and the old event then go out unmarked after it
// (`payment.paid` after `payment.refunded`). The retry holds the order's session locks, under which deliveries are
// written, until it commits.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type pg from 'pg';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { LATER_EVENT_POSTGRES } from '../../server-example/store.js';
import type { DeliveryRecord } from '../../server-example/store.js';
import { describeWithPostgres } from './pg-suite.js';
import { sessionRecord } from './session-records.js';

const TARGET = 'https://shop.example/hooks/payments';

describeWithPostgres('PostgresStore: a delivery retried while the session has news', (postgres) => {
  it('never sends the old event after a later one recorded meanwhile', async () => {
    const store = new PostgresStore(await postgres().createDatabase('retry_race'));
    try {
      const session = sessionRecord({ status: 'paid' });
      await store.insertSession(session);
      const delivery = (id: string, type: string) => ({
        id,
        messageId: `msg_${id}`,
        eventType: type,
        sessionId: session.id,
        orderId: session.orderId,
        target: TARGET,
        payload: JSON.stringify({ type, data: {} }),
        createdAt: Date.now(),
      });
      await store.mutate(session.id, () => ({ deliveries: [delivery('dlv_paid', 'payment.paid')] }));
      const [first] = await store.claimDueDeliveries(Date.now(), 10, 10_000);
      await store.finishDelivery(first!, { delivered: false, error: 'HTTP 500', nextAttemptAt: null }, Date.now());

      // The retry's transaction stops right after it looked for a later delivery, until released.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let checked!: () => void;
      const atCheck = new Promise<void>((resolve) => (checked = resolve));
      const connect = store.pool.connect.bind(store.pool) as () => Promise<pg.PoolClient>;
      (store.pool as { connect: () => Promise<pg.PoolClient> }).connect = async () => {
        const client = await connect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = async (...args: unknown[]) => {
          const result = await query(...args);
          if (args[0] === LATER_EVENT_POSTGRES) {
            checked();
            await released;
          }
          return result;
        };
        return client;
      };
      const retry = store.retryDelivery('dlv_paid', Date.now());
      await atCheck;
      (store.pool as { connect: () => Promise<pg.PoolClient> }).connect = connect;

      // Another instance records the refund meanwhile, and its sender sends whatever is due.
      const sent: DeliveryRecord[] = [];
      const refund = store.mutate(session.id, () => ({ deliveries: [delivery('dlv_refunded', 'payment.refunded')] }));
      const settled = await Promise.race([refund.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300))]);
      if (settled) {
        for (const due of await store.claimDueDeliveries(Date.now(), 10, 10_000)) {
          sent.push(due);
          await store.finishDelivery(due, { delivered: true, status: 200 }, Date.now());
        }
      }
      release();
      const outcome = await retry;
      await refund;
      // Then everything due, in the order the senders take it.
      for (let round = 0; round < 3; round++) {
        for (const due of await store.claimDueDeliveries(Date.now(), 10, 10_000)) {
          sent.push(due);
          await store.finishDelivery(due, { delivered: true, status: 200 }, Date.now());
        }
      }

      const order = sent.map((d) => d.id);
      assert.equal(order.at(-1), 'dlv_refunded', `the refund is the last news the shop gets (sent: ${order.join(', ')}; retry ${outcome?.retry})`);
      if (order.includes('dlv_paid')) assert.equal(outcome?.retry, 'queued');
    } finally {
      await store.close();
    }
  });
});
