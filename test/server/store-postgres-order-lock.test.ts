// Two helper instances on one PostgreSQL database decide two payments of one order at once. A session of the order that
// one instance inserts and pays while the other's mutation has begun its statement, but not yet locked the order's
// rows, must still be seen by that mutation (or wait for it): otherwise both payments are decided as the order's
// first, both told as `payment.paid`, and the second is never held for a refund.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type pg from 'pg';
import { PostgresStore } from '../../server-example/store-postgres.js';
import type { Mutation, MutationContext, SessionRecord } from '../../server-example/store.js';
import { describeWithPostgres } from './pg-suite.js';
import { sessionRecord } from './session-records.js';

/** The helper's paid decision in short: a paid sibling makes this payment a held second one (observation()). */
function payUnlessPaidElsewhere(current: SessionRecord, context: MutationContext): Mutation {
  const paidElsewhere = context.orderSessions.some((s) => s.status === 'paid');
  const to = paidElsewhere ? 'held' : 'paid';
  return {
    patch: { status: to, errorCode: paidElsewhere ? 'duplicate_payment' : null, paidAt: Date.now() },
    events: [{ sessionId: current.id, kind: 'transition', fromStatus: current.status, toStatus: to }],
  };
}

describeWithPostgres('PostgresStore: two payments of one order on two instances', (postgres) => {
  it('holds the second even when it was inserted and paid while the first one\'s statement was under way', async () => {
    const url = await postgres().createDatabase('order_lock');
    const first = new PostgresStore(url);
    const second = new PostgresStore(url);
    try {
      await first.ready();
      await second.ready();
      const orderId = 'o-late-and-new';
      // An ended session whose payment arrives late…
      const late = sessionRecord({ id: 'cs_zzzz_late_payment_000', orderId, status: 'expired', providerPaymentId: 'pay-late' });
      await first.insertSession(late);

      // …read by the first instance, whose statement over the order's sessions is slow between its start and its row
      // locks (a sleep in its subquery; in life a descheduled backend, I/O).
      let begun!: () => void;
      const underWay = new Promise<void>((resolve) => (begun = resolve));
      const pool = first.pool as { connect: () => Promise<pg.PoolClient> };
      const connect = pool.connect.bind(pool);
      pool.connect = async () => {
        const client = await connect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        (client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].startsWith('SELECT * FROM sessions') && args[0].includes('FOR UPDATE')) {
            args[0] = args[0].replace('(SELECT order_id FROM sessions WHERE id = $1)', '(SELECT order_id FROM sessions, pg_sleep(0.5) WHERE id = $1)');
            setTimeout(begun, 100);
          }
          return query(...args);
        };
        return client;
      };
      const lateDecision = first.mutate(late.id, payUnlessPaidElsewhere);
      await underWay;
      pool.connect = connect;

      // Meanwhile the second instance: the payer opened a new payment of the order and pays it.
      const fresh = sessionRecord({ id: 'cs_aaaa_new_payment_0000', orderId, status: 'pending', providerPaymentId: 'pay-new' });
      await second.insertSession(fresh);
      const freshDecision = second.mutate(fresh.id, payUnlessPaidElsewhere);
      await Promise.all([lateDecision, freshDecision]);

      const statuses = new Map((await first.listOrderSessions(orderId)).map((s) => [s.id, [s.status, s.errorCode]]));
      // The late payment's decision began first: it is the order's payment, the new one its second.
      assert.deepEqual(statuses.get(late.id), ['paid', null]);
      assert.deepEqual(statuses.get(fresh.id), ['held', 'duplicate_payment']);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
