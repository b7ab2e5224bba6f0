// PostgresStore when the database itself misbehaves: a connection the server ends in the middle of a transaction (a
// restart, a failover, pg_terminate_backend), a transaction left open by someone else on a session row, and a
// database that is not up yet when the helper starts (a start-order race). Each must fail the calls it touches, not
// the process, not every later call, and not forever.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { describeWithPostgres } from './pg-suite.js';
import { sessionRecord } from './session-records.js';

const other = async (url: string) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
};

/** The helper's connection waiting for a lock, once it waits. */
async function waitingBackend(admin: pg.Client): Promise<number> {
  for (;;) {
    const { rows } = await admin.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'pay-checkout' AND wait_event_type = 'Lock'",
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describeWithPostgres('PostgresStore: database faults', (postgres) => {
  it('fails the one call whose connection the server ended mid-transaction, and goes on', async () => {
    const url = await postgres().createDatabase('terminated');
    const store = new PostgresStore(url, { lockWaitMs: 60_000 });
    const admin = await other(url);
    const holder = await other(url);
    try {
      const session = sessionRecord({ orderId: 'o-terminated', status: 'pending' });
      await store.insertSession(session);
      // Another connection holds the row, so the store's transaction is under way, waiting, when its backend is ended.
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM sessions WHERE id = $1 FOR UPDATE', [session.id]);
      const change = store.mutate(session.id, () => ({ patch: { status: 'cancelled' } }));
      const pid = await waitingBackend(admin);
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await assert.rejects(change, /terminat/);
      await holder.query('COMMIT');
      // The process is still here (an unheard 'error' event would have ended it), and the store still works.
      const changed = await store.mutate(session.id, () => ({ patch: { status: 'cancelled' } }));
      assert.equal(changed?.status, 'cancelled');
    } finally {
      await holder.end().catch(() => undefined);
      await admin.end();
      await store.close();
    }
  });

  it('fails a write that a transaction left open elsewhere holds up, instead of waiting forever', { timeout: 30_000 }, async () => {
    // A DATABASE_URL with connection options of its own does not lose the bound.
    const url = `${await postgres().createDatabase('held_row')}?options=-c%20lock_timeout%3D0`;
    const store = new PostgresStore(url, { lockWaitMs: 300 });
    const holder = await other(url);
    try {
      // An operator's forgotten BEGIN on one session of the order; the reconciler then changes another one of it.
      const held = sessionRecord({ orderId: 'o-held', status: 'cancelled' });
      const sibling = sessionRecord({ orderId: 'o-held', status: 'pending' });
      await store.insertSession(held);
      await store.insertSession(sibling);
      await holder.query('BEGIN');
      await holder.query("UPDATE sessions SET error_code = 'looked at' WHERE id = $1", [held.id]);
      await assert.rejects(
        store.mutate(sibling.id, () => ({ patch: { status: 'paid' } })),
        (error: { code?: string }) => error.code === '55P03',
      );
      // Another order is not held up at all.
      const elsewhere = sessionRecord({ orderId: 'o-elsewhere', status: 'pending' });
      await store.insertSession(elsewhere);
      assert.equal((await store.mutate(elsewhere.id, () => ({ patch: { status: 'paid' } })))?.status, 'paid');
      await holder.query('ROLLBACK');
      assert.equal((await store.mutate(sibling.id, () => ({ patch: { status: 'paid' } })))?.status, 'paid');
    } finally {
      await holder.end();
      await store.close();
    }
  });

  it('serves once a database that was down at start is up, without a restart', async () => {
    const target = new URL(await postgres().createDatabase('late_start'));
    // A port nothing listens on yet: the database "not up".
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const url = new URL(target);
    url.port = String(port);
    const store = new PostgresStore(url.toString());
    let forwarder: Server | undefined;
    try {
      await assert.rejects(store.ready(), /ECONNREFUSED/);
      // The database comes up (a forwarder to the real one on that port).
      forwarder = createServer((socket) => {
        const upstream = connect(Number(target.port), '127.0.0.1');
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      });
      await new Promise<void>((resolve) => forwarder!.listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await store.ready();
      const session = sessionRecord({ orderId: 'o-late-start' });
      await store.insertSession(session);
      assert.equal((await store.getSession(session.id))?.orderId, 'o-late-start');
    } finally {
      await store.close();
      await new Promise<void>((resolve) => (forwarder ? forwarder.close(() => resolve()) : resolve()));
    }
  });
});
