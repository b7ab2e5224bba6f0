// One conformance suite for the `Store` interface, run against every store: the embedded SqliteStore (a temp file) and
// PostgresStore (a real PostgreSQL started by this file, a fresh database per test). Each behaviour the helper relies
// on is checked through the interface; what needs the database itself (append-only triggers, newer schemas) goes
// through a raw SQL hook of each harness. Tests named "two stores" open a second store on the same database, as a
// second helper process does.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MIGRATIONS, OpenSessionExistsError, ProviderPaymentTakenError, SqliteStore, WEBHOOK_LIST_ALIVE_MS } from '../../server-example/store.js';
import type { NewDelivery, SessionRecord, Store } from '../../server-example/store.js';
import { POSTGRES_MIGRATIONS, PostgresStore } from '../../server-example/store-postgres.js';
import { findPostgres, postgresMissingMessage, startPostgres, type PostgresServer } from './pg-server.js';
import { sessionRecord } from './session-records.js';

interface Opened {
  store: Store;
  /** Another store on the same database (as a second helper process opens it). */
  second(): Promise<Store>;
  /** Runs SQL on the database directly, bypassing the store. */
  raw(sql: string): Promise<void>;
  version(store?: Store): Promise<number>;
  /** A new store on the same database, awaited until usable (throws what opening throws). */
  reopen(): Promise<Store>;
  dispose(): Promise<void>;
}

interface Harness {
  name: string;
  skip?: string;
  /** Cross-process locks: SQLite's withLock() is per process (its unique indexes guard other processes). */
  sharedLocks: boolean;
  open(): Promise<Opened>;
}

const sqlite: Harness = {
  name: 'SqliteStore',
  sharedLocks: false,
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-store-'));
    const path = join(dir, 'checkout.sqlite');
    const store = new SqliteStore(path);
    const others: SqliteStore[] = [];
    const open = () => {
      const other = new SqliteStore(path);
      others.push(other);
      return other;
    };
    return {
      store,
      async second() {
        return open();
      },
      async raw(sql) {
        store.db.exec(sql);
      },
      async version(which = store) {
        return (which as SqliteStore).schemaVersion;
      },
      async reopen() {
        return open();
      },
      async dispose() {
        await Promise.all([store.close(), ...others.map((other) => other.close())]);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

let server: PostgresServer | undefined;
const pgMissing = findPostgres() ? undefined : postgresMissingMessage();

const postgres: Harness = {
  name: 'PostgresStore',
  ...(pgMissing ? { skip: pgMissing } : {}),
  sharedLocks: true,
  async open() {
    server ??= await startPostgres();
    const url = await server.createDatabase('conformance');
    const store = new PostgresStore(url);
    await store.ready();
    const others: PostgresStore[] = [];
    const open = async () => {
      const other = new PostgresStore(url);
      others.push(other);
      await other.ready();
      return other;
    };
    return {
      store,
      second: open,
      async raw(sql) {
        await store.pool.query(sql);
      },
      async version(which = store) {
        return (which as PostgresStore).schemaVersion();
      },
      reopen: open,
      async dispose() {
        await Promise.all([store.close(), ...others.map((other) => other.close())]);
      },
    };
  },
};

after(async () => {
  await server?.stop();
});

/** A new session row; see ./session-records.ts. */
const record = sessionRecord;

let deliveryCounter = 0;
function delivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  deliveryCounter++;
  return {
    id: `dlv_${deliveryCounter}`,
    messageId: `msg_${deliveryCounter}`,
    eventType: 'payment.succeeded',
    sessionId: 'cs_x',
    orderId: 'A-1',
    target: 'https://merchant.test/hooks',
    payload: JSON.stringify({ type: 'payment.succeeded', n: deliveryCounter }),
    createdAt: Date.now(),
    ...overrides,
  };
}

it('has one PostgreSQL migration for each SQLite migration', () => {
  assert.equal(POSTGRES_MIGRATIONS.length, MIGRATIONS.length);
});

for (const harness of [sqlite, postgres]) {
  describe(`Store conformance: ${harness.name}`, { ...(harness.skip ? { skip: harness.skip } : {}) }, () => {
    let db: Opened;
    let store: Store;
    const test = (name: string, optionsOrFn: { skip?: string | false } | (() => Promise<void>), maybeFn?: () => Promise<void>) => {
      const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn!;
      const options = typeof optionsOrFn === 'function' ? {} : optionsOrFn;
      return it(name, options, async () => {
        db = await harness.open();
        store = db.store;
        try {
          await fn();
        } finally {
          await db.dispose();
        }
      });
    };

    describe('schema', () => {
      test('migrates a new database to the latest version', async () => {
        assert.equal(await db.version(), MIGRATIONS.length);
      });

      test('keeps sessions, events and idempotency keys when reopened', async () => {
        const row = record({ providerData: { uid: 7 } });
        await store.insertSession(row, [{ sessionId: row.id, kind: 'created', toStatus: 'created' }]);
        await store.putIdempotencyKey({ key: 'k', fingerprint: 'f', sessionId: row.id, createdAt: 1 });
        const reopened = await db.reopen();
        assert.deepEqual(await reopened.getSession(row.id), row);
        assert.deepEqual((await reopened.listEvents(row.id)).map((event) => event.kind), ['created']);
        assert.equal((await reopened.getIdempotencyKey('k'))?.sessionId, row.id);
        assert.equal(await db.version(reopened), MIGRATIONS.length);
      });

      test('refuses a database written by a newer helper', async () => {
        await db.raw(
          harness.name === 'SqliteStore' ? `PRAGMA user_version = ${MIGRATIONS.length + 1}` : `UPDATE checkout_schema SET version = ${MIGRATIONS.length + 1}`,
        );
        await assert.rejects(async () => db.reopen(), /newer than this helper/);
      });
    });

    describe('sessions', () => {
      test('stores and reads back every field of a session', async () => {
        const row = record({
          returnUrl: 'https://shop.test/cart',
          providerPaymentId: 'deal-1',
          paymentUrl: 'https://pay.test/1',
          providerStatus: 'created',
          providerData: { uid: 12, secret: 'abc', nested: { list: [1, 'two', null] }, text: 'nul\u0000 and ünïcode' },
          paidAmountMinor: 150_000,
          errorCode: 'amount_mismatch',
          paidAt: 1_700_000_000_042,
          statusReadAt: 1_700_000_000_099,
          nextPollAt: 1_700_000_000_123,
          pollAttempts: 3,
          lastPolledAt: 1_700_000_000_000,
          locale: null,
          description: null,
        });
        await store.insertSession(row);
        assert.deepEqual(await store.getSession(row.id), row);
        assert.equal(await store.getSession('cs_missing'), undefined);
      });

      test('allows one open session per order, and a new one once it ended', async () => {
        const first = record();
        await store.insertSession(first);
        await assert.rejects(store.insertSession(record()), OpenSessionExistsError);
        await store.insertSession(record({ orderId: 'A-2' }));
        await store.mutate(first.id, () => ({ patch: { status: 'failed' } }));
        await store.insertSession(record());
        assert.equal((await store.listOrderSessions('A-1')).length, 2);
      });

      test('keeps one open session per order when two stores insert at once', async () => {
        const other = await db.second();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, index) => (index % 2 ? other : store).insertSession(record({ orderId: 'A-RACE' }))),
        );
        assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
        for (const result of results) {
          if (result.status === 'rejected') assert.ok(result.reason instanceof OpenSessionExistsError, String(result.reason));
        }
      });

      test('finds a session by its provider payment, which belongs to one session only', async () => {
        const a = record({ providerPaymentId: 'deal-1' });
        const b = record({ orderId: 'A-2' });
        await store.insertSession(a);
        await store.insertSession(b);
        assert.equal((await store.findByProviderPaymentId('repay', 'deal-1'))?.id, a.id);
        assert.equal(await store.findByProviderPaymentId('boxexchanger', 'deal-1'), undefined);
        await assert.rejects(store.mutate(b.id, () => ({ patch: { providerPaymentId: 'deal-1' } })), ProviderPaymentTakenError);
        assert.equal((await store.getSession(b.id))?.providerPaymentId, null);
        await store.mutate(b.id, () => ({ patch: { provider: 'boxexchanger', providerPaymentId: 'deal-1' } }));
        assert.equal((await store.findByProviderPaymentId('boxexchanger', 'deal-1'))?.id, b.id);
      });

      test('undoes a write that fails without undoing the writes made at the same time', async () => {
        const a = record({ providerPaymentId: 'deal-1' });
        const b = record({ orderId: 'A-2' });
        await store.insertSession(a);
        await store.insertSession(b);
        const c = record({ orderId: 'A-3' });
        // Issued together, without waiting in between (one group commit in SqliteStore).
        const results = await Promise.allSettled([
          store.mutate(b.id, () => ({ patch: { providerPaymentId: 'deal-1' }, events: [{ sessionId: b.id, kind: 'note', data: { n: 1 } }] })),
          store.insertSession(c, [{ sessionId: c.id, kind: 'created', toStatus: 'created' }]),
          store.mutate(a.id, () => ({ patch: { status: 'pending' }, events: [{ sessionId: a.id, kind: 'transition', toStatus: 'pending' }] })),
          store.insertSession(record(), []),
          store.mutate(b.id, () => {
            throw new Error('refused by the callback');
          }),
          store.appendEvent({ sessionId: a.id, kind: 'note', data: { n: 2 } }),
        ]);
        assert.deepEqual(
          results.map((result) => result.status),
          ['rejected', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
        );
        assert.ok((results[0] as PromiseRejectedResult).reason instanceof ProviderPaymentTakenError);
        assert.ok((results[3] as PromiseRejectedResult).reason instanceof OpenSessionExistsError);
        assert.match(String((results[4] as PromiseRejectedResult).reason), /refused by the callback/);
        assert.equal((await store.getSession(b.id))?.providerPaymentId, null);
        assert.deepEqual(await store.listEvents(b.id), []);
        assert.equal((await store.getSession(a.id))?.status, 'pending');
        assert.deepEqual((await store.listEvents(a.id)).map((event) => event.kind).sort(), ['note', 'transition']);
        assert.deepEqual((await store.listEvents(c.id)).map((event) => event.kind), ['created']);
        assert.equal((await store.listOrderSessions('A-1')).length, 1);
      });

      test('lists an order\'s sessions and all sessions newest first, ties in reverse insertion order', async () => {
        const at = Date.now();
        const rows = [record({ createdAt: at, status: 'failed' }), record({ createdAt: at, status: 'failed' }), record({ createdAt: at - 5 }), record({ orderId: 'A-2', createdAt: at + 5 })];
        for (const row of rows) await store.insertSession(row);
        assert.deepEqual((await store.listOrderSessions('A-1')).map((row) => row.id), [rows[1]!.id, rows[0]!.id, rows[2]!.id]);
        assert.deepEqual((await store.listSessions(3)).map((row) => row.id), [rows[3]!.id, rows[1]!.id, rows[0]!.id]);
        assert.deepEqual(await store.listOrderSessions('A-none'), []);
      });
    });

    describe('mutate', () => {
      test('makes the sessions of the same order it names due for a poll in the same change, and no other', async () => {
        const orderId = `A-due-${Date.now()}`;
        const [paid, held, otherOrder] = [record({ orderId, status: 'failed' }), record({ orderId, status: 'failed' }), record({ orderId: `${orderId}-x`, status: 'failed' })];
        for (const row of [paid, held, otherOrder]) await store.insertSession({ ...row, nextPollAt: null });
        const before = Date.now();
        await store.mutate(paid.id, () => ({ patch: { status: 'refunded' }, pollNow: [held.id, otherOrder.id] }));
        const due = await store.getSession(held.id);
        assert.ok(due!.nextPollAt !== null && due!.nextPollAt >= before && due!.nextPollAt <= Date.now());
        assert.equal((await store.getSession(otherOrder.id))!.nextPollAt, null, 'another order\'s session is not the change\'s to touch');
        assert.equal((await store.getSession(paid.id))!.status, 'refunded');
      });

      test('applies the patch, the events and the idempotency key together and returns the row after', async () => {
        const row = record();
        await store.insertSession(row);
        const after = await store.mutate(row.id, (current) => ({
          patch: { status: 'pending', providerStatus: 'waiting', providerData: { ...current.providerData, seen: true } },
          events: [{ sessionId: row.id, kind: 'transition', source: 'poll', fromStatus: 'created', toStatus: 'pending', providerStatus: 'waiting', amountMinor: 10 }],
          idempotencyKey: { key: 'key-1', fingerprint: 'fp', sessionId: row.id, createdAt: 5 },
        }));
        assert.equal(after?.status, 'pending');
        assert.deepEqual(await store.getSession(row.id), after);
        assert.deepEqual(after?.providerData, { seen: true });
        const [event] = await store.listEvents(row.id);
        assert.deepEqual(
          { ...event, seq: 0, at: 0 },
          { seq: 0, at: 0, sessionId: row.id, kind: 'transition', source: 'poll', fromStatus: 'created', toStatus: 'pending', providerStatus: 'waiting', amountMinor: 10, data: null },
        );
        assert.equal((await store.getIdempotencyKey('key-1'))?.fingerprint, 'fp');
      });

      test('changes nothing when the callback decides nothing, and answers undefined for an unknown session', async () => {
        const row = record();
        await store.insertSession(row);
        assert.deepEqual(await store.mutate(row.id, () => undefined), row);
        assert.equal(await store.mutate('cs_missing', () => ({ patch: { status: 'paid' } })), undefined);
        assert.deepEqual(await store.getSession(row.id), row);
      });

      test('rolls everything back when the callback throws', async () => {
        const row = record();
        await store.insertSession(row);
        await assert.rejects(
          store.mutate(row.id, () => {
            throw new Error('decided against it');
          }),
          /decided against it/,
        );
        assert.deepEqual(await store.getSession(row.id), row);
        assert.deepEqual(await store.listEvents(row.id), []);
      });

      test('shows the callback the order\'s other sessions, newest first', async () => {
        const older = record({ status: 'failed', createdAt: Date.now() - 10 });
        const paid = record({ status: 'paid', createdAt: Date.now() - 5 });
        const current = record();
        const foreign = record({ orderId: 'A-2' });
        for (const row of [older, paid, current, foreign]) await store.insertSession(row);
        let seen: string[] = [];
        await store.mutate(current.id, (_row, context) => {
          seen = context.orderSessions.map((session) => `${session.id}:${session.status}`);
          return undefined;
        });
        assert.deepEqual(seen, [`${paid.id}:paid`, `${older.id}:failed`]);
      });

      test('serialises concurrent read-modify-write from two stores (no lost update)', async () => {
        const row = record();
        await store.insertSession(row);
        const other = await db.second();
        await Promise.all(
          Array.from({ length: 40 }, (_, index) =>
            (index % 2 ? other : store).mutate(row.id, (current) => ({ patch: { pollAttempts: current.pollAttempts + 1 } })),
          ),
        );
        assert.equal((await store.getSession(row.id))?.pollAttempts, 40);
      });
    });

    describe('event log', () => {
      test('appends events in order, keeps their data and stores a dedupe key once', async () => {
        const row = record();
        await store.insertSession(row);
        assert.equal(await store.appendEvent({ sessionId: row.id, kind: 'webhook', source: 'webhook', data: { raw: '{"a":1}', list: [1, 2] }, dedupeKey: 'webhook:repay:x' }), true);
        assert.equal(await store.appendEvent({ sessionId: row.id, kind: 'webhook', source: 'webhook', data: { raw: 'again' }, dedupeKey: 'webhook:repay:x' }), false);
        assert.equal(await store.appendEvent({ sessionId: row.id, kind: 'note' }), true);
        assert.equal(await store.appendEvent({ sessionId: null, kind: 'webhook', data: { unmatched: true } }), true);
        const log = await store.listEvents(row.id);
        assert.deepEqual(log.map((event) => [event.kind, event.data]), [['webhook', { raw: '{"a":1}', list: [1, 2] }], ['note', null]]);
        assert.ok(log[0]!.seq < log[1]!.seq);
        assert.ok(Math.abs(log[0]!.at - Date.now()) < 60_000);
      });

      test('stores a callback with its change once, even when two stores receive it at once', async () => {
        const row = record();
        await store.insertSession(row);
        const other = await db.second();
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            (index % 2 ? other : store).appendEventAndMutate({ sessionId: row.id, kind: 'webhook', dedupeKey: 'webhook:box:1' }, (current) => ({
              patch: { pollAttempts: current.pollAttempts + 1 },
            })),
          ),
        );
        assert.equal(results.filter((result) => result.fresh).length, 1);
        assert.equal(results.find((result) => result.fresh)?.session?.pollAttempts, 1);
        assert.equal((await store.getSession(row.id))?.pollAttempts, 1);
        assert.equal((await store.listEvents(row.id)).length, 1);
      });

      test('refuses to rewrite or delete the events of a session that is still open or watched', async () => {
        const row = record();
        await store.insertSession(row, [{ sessionId: row.id, kind: 'created' }]);
        await assert.rejects(db.raw("UPDATE events SET kind = 'x'"), /append-only/);
        await assert.rejects(db.raw('DELETE FROM events'), /append-only/);
        await store.mutate(row.id, () => ({ patch: { status: 'expired', nextPollAt: Date.now() + 1000 } }));
        await assert.rejects(db.raw('DELETE FROM events'), /append-only/);
        if (harness.name === 'PostgresStore') await assert.rejects(db.raw('TRUNCATE events'), /append-only/);
        assert.equal((await store.listEvents(row.id)).length, 1);
      });

      test('prunes only the events of ended, unwatched sessions and old rejected callbacks', async () => {
        const ended = record({ status: 'paid', updatedAt: 1_000 });
        const watched = record({ orderId: 'A-2', status: 'expired', updatedAt: 1_000, nextPollAt: 5_000 });
        const open = record({ orderId: 'A-3', updatedAt: 1_000 });
        const recent = record({ orderId: 'A-4', status: 'cancelled' });
        for (const row of [ended, watched, open, recent]) await store.insertSession(row, [{ sessionId: row.id, kind: 'created' }]);
        await store.recordRejectedCallback({ provider: 'repay', code: 'invalid_signature', body: '{"x":1}', source: null });
        const report = await store.pruneEvents(Date.now() - 60_000);
        assert.equal(report.events, 1);
        assert.equal(report.rejectedCallbacks, 0);
        assert.deepEqual(await store.listEvents(ended.id), []);
        for (const row of [watched, open, recent]) assert.equal((await store.listEvents(row.id)).length, 1);
        assert.equal((await store.pruneEvents(Date.now() + 60_000)).rejectedCallbacks, 1);
      });

      test('keeps rejected callbacks as one digest per body, counted', async () => {
        const body = `{"deal_id":"d","signature":"bad","pad":"${'x'.repeat(400)}"}`;
        await store.recordRejectedCallback({ provider: 'repay', code: 'invalid_signature', body, source: '10.0.0.1' });
        await store.recordRejectedCallback({ provider: 'repay', code: 'invalid_signature', body, source: '10.0.0.2' });
        await store.recordRejectedCallback({ provider: 'agetrading', code: 'invalid_signature', body, source: null });
        const list = await store.listRejectedCallbacks(10);
        assert.equal(list.length, 2);
        const repay = list.find((item) => item.provider === 'repay')!;
        assert.equal(repay.count, 2);
        assert.equal(repay.source, '10.0.0.2');
        assert.equal(repay.size, Buffer.byteLength(body));
        assert.equal(repay.head, body.slice(0, 256));
        assert.match(repay.digest, /^[0-9a-f]{64}$/);
        assert.ok(repay.lastAt >= repay.firstAt);
      });
    });

    describe('outbox of merchant notifications', () => {
      /** Writes deliveries the way the helper does: with a change of the session, in its transaction. */
      const write = async (...deliveries: NewDelivery[]) => {
        const row = record({ orderId: `A-out-${deliveryCounter}` });
        await store.insertSession(row);
        await store.mutate(row.id, () => ({ patch: { status: 'paid' }, deliveries }));
        return row;
      };

      test('writes deliveries with the change that causes them, and none when the change rolls back', async () => {
        const row = record();
        await store.insertSession(row);
        const first = delivery({ sessionId: row.id });
        await assert.rejects(
          store.mutate(row.id, () => {
            throw new Error('no');
          }),
        );
        await store.mutate(row.id, () => ({ patch: { status: 'paid' }, deliveries: [first] }));
        const stored = await store.getDelivery(first.id);
        assert.deepEqual(
          { ...stored, seq: 0 },
          { ...first, seq: 0, status: 'pending', attempts: 0, nextAttemptAt: first.createdAt, lastError: null, lastStatus: null, updatedAt: first.createdAt, deliveredAt: null, leaseUntil: null },
        );
        assert.equal(await store.getDelivery('dlv_missing'), undefined);
      });

      test('hands out only the head of each order\'s queue per target, leased, in order, whichever session an event is about', async () => {
        const now = Date.now();
        const a1 = delivery({ sessionId: 'cs_a', createdAt: now - 30 });
        const a2 = delivery({ sessionId: 'cs_a', createdAt: now - 20 });
        const aHook = delivery({ sessionId: 'cs_a', target: 'hook:onEvent', createdAt: now - 10 });
        const b1 = delivery({ sessionId: 'cs_b', orderId: 'A-2', createdAt: now - 25 });
        const later = delivery({ sessionId: 'cs_c', orderId: 'A-3', createdAt: now + 60_000 });
        // Another session of the first order (a second payment, say): news about the same order, after a1 and a2.
        const second = delivery({ sessionId: 'cs_d', createdAt: now - 40 });
        await write(a1, a2, aHook);
        await write(b1, later);
        await write(second);
        const claimed = await store.claimDueDeliveries(now, 10, 30_000);
        assert.deepEqual(claimed.map((item) => item.id), [a1.id, b1.id, aHook.id]);
        assert.deepEqual(await store.claimDueDeliveries(now, 10, 30_000), []);
        await store.finishDelivery(claimed[0]!, { delivered: true, status: 204 }, now + 1);
        assert.deepEqual((await store.claimDueDeliveries(now + 2, 10, 30_000)).map((item) => item.id), [a2.id]);
        const done = await store.getDelivery(a1.id);
        assert.equal(done?.status, 'delivered');
        assert.equal(done?.attempts, 1);
        assert.equal(done?.lastStatus, 204);
        assert.equal(done?.deliveredAt, now + 1);
        // The lease of a sender that never finished runs out.
        assert.deepEqual((await store.claimDueDeliveries(now + 30_002, 10, 30_000)).map((item) => item.id).sort(), [a2.id, aHook.id, b1.id].sort());
        await store.finishDelivery({ id: a2.id, leaseUntil: now + 60_002 }, { delivered: true, status: 204 }, now + 30_003);
        assert.deepEqual((await store.claimDueDeliveries(now + 30_004, 10, 30_000)).map((item) => item.id), [second.id]);
      });

      test('schedules the next attempt after a failure, fails after the last, and retries on request', async () => {
        const now = Date.now();
        const item = delivery({ createdAt: now });
        await write(item);
        await store.finishDelivery({ id: item.id, leaseUntil: null }, { delivered: false, error: 'HTTP 500', status: 500, nextAttemptAt: now + 5_000 }, now);
        let stored = await store.getDelivery(item.id);
        assert.deepEqual([stored?.status, stored?.attempts, stored?.nextAttemptAt, stored?.lastError, stored?.lastStatus], ['pending', 1, now + 5_000, 'HTTP 500', 500]);
        assert.deepEqual(await store.claimDueDeliveries(now + 1_000, 10, 30_000), []);
        const [again] = await store.claimDueDeliveries(now + 5_000, 10, 30_000);
        assert.equal(again?.leaseUntil, now + 35_000);
        await store.finishDelivery(again!, { delivered: false, error: 'timeout', nextAttemptAt: null }, now + 6_000);
        stored = await store.getDelivery(item.id);
        assert.deepEqual([stored?.status, stored?.attempts, stored?.nextAttemptAt, stored?.lastStatus], ['failed', 2, null, null]);
        assert.deepEqual((await store.listDeliveries({ status: 'failed', limit: 10 })).map((d) => d.id), [item.id]);
        assert.deepEqual(await store.listDeliveries({ status: 'pending', limit: 10 }), []);
        const retried = await store.retryDelivery(item.id, now + 7_000);
        assert.deepEqual([retried?.status, retried?.attempts, retried?.nextAttemptAt], ['pending', 0, now + 7_000]);
        assert.equal((await store.claimDueDeliveries(now + 7_000, 10, 30_000))[0]?.id, item.id);
      });

      test('ignores the outcome of a sender whose lease ran out and whose row another sender took over', async () => {
        const now = Date.now();
        const item = delivery({ createdAt: now });
        await write(item);
        const [stalled] = await store.claimDueDeliveries(now, 10, 1_000);
        // The first sender stalls past its lease; a second one claims the row and delivers it.
        const [takenOver] = await store.claimDueDeliveries(now + 1_001, 10, 1_000);
        assert.equal(takenOver?.id, item.id);
        await store.finishDelivery(takenOver!, { delivered: true, status: 200 }, now + 1_100);
        // The first sender's late failure changes nothing: the row stays delivered, not pending again.
        await store.finishDelivery(stalled!, { delivered: false, error: 'timeout', nextAttemptAt: now + 5_000 }, now + 1_200);
        const stored = await store.getDelivery(item.id);
        assert.deepEqual([stored?.status, stored?.attempts, stored?.lastStatus], ['delivered', 1, 200]);
        assert.deepEqual(await store.claimDueDeliveries(now + 10_000, 10, 1_000), []);
      });

      test('lists deliveries newest first, by status and session', async () => {
        const first = delivery({ sessionId: 'cs_l1' });
        const second = delivery({ sessionId: 'cs_l2' });
        const third = delivery({ sessionId: 'cs_l1', target: 'hook:onEvent' });
        await write(first, second, third);
        assert.deepEqual((await store.listDeliveries({ limit: 10 })).map((d) => d.id), [third.id, second.id, first.id]);
        assert.deepEqual((await store.listDeliveries({ sessionId: 'cs_l1', limit: 10 })).map((d) => d.id), [third.id, first.id]);
        assert.deepEqual((await store.listDeliveries({ limit: 1 })).map((d) => d.id), [third.id]);
      });

      test('gives every due delivery to exactly one of two stores claiming at once', async () => {
        const now = Date.now();
        const items = Array.from({ length: 40 }, (_, index) => delivery({ sessionId: `cs_q${index}`, orderId: `A-q${index}`, createdAt: now - index }));
        await write(...items);
        const other = await db.second();
        const claims = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? other : store).claimDueDeliveries(now, 10, 60_000)));
        const ids = claims.flat().map((item) => item.id);
        assert.equal(ids.length, 40);
        assert.equal(new Set(ids).size, 40);
      });

      describe('after MERCHANT_WEBHOOK_URL changed', () => {
        const OLD = 'https://merchant.test/hooks';
        const NEW = 'https://merchant.test/hooks/';
        const OTHER = 'https://other.test/hooks';
        const HOOK = 'hook:onEvent';
        /** The same event to another target. */
        const alsoTo = (item: NewDelivery, target: string) => delivery({ orderId: item.orderId, messageId: item.messageId, target, createdAt: item.createdAt });
        const finish = (item: NewDelivery, outcome: Parameters<Store['finishDelivery']>[1], at: number) => store.finishDelivery({ id: item.id, leaseUntil: null }, outcome, at);

        test('moves pending and failed deliveries to the one configured URL their event lacks, in their order, and ends those whose event reaches every URL', async () => {
          const now = Date.now();
          // Being sent to the old URL right now by another instance: left to it.
          const sending = delivery({ orderId: 'A-ret-0', createdAt: now - 100 });
          await write(sending);
          const [claimed] = await store.claimDueDeliveries(now, 10, 60_000);
          assert.equal(claimed?.id, sending.id);
          // One order's events: paid failed for good at the old URL, held waiting for its next try there, and the refund,
          // written while both URLs were configured, pending at both. The hook has its own rows, whatever is configured.
          const paid = delivery({ orderId: 'A-ret-1', createdAt: now - 50 });
          const held = delivery({ orderId: 'A-ret-1', createdAt: now - 40 });
          const refunded = delivery({ orderId: 'A-ret-1', createdAt: now - 30 });
          const paidHook = alsoTo(paid, HOOK);
          const heldHook = alsoTo(held, HOOK);
          const refundedNew = alsoTo(refunded, NEW);
          // Delivered to the old URL: history, kept as it is.
          const shipped = delivery({ orderId: 'A-ret-2', createdAt: now - 20 });
          await write(paid, paidHook, held, heldHook, refunded, refundedNew, shipped);
          await finish(paid, { delivered: false, error: 'HTTP 500', status: 500, nextAttemptAt: null }, now);
          await finish(paidHook, { delivered: true }, now);
          await finish(held, { delivered: false, error: 'HTTP 404', status: 404, nextAttemptAt: now + 3_600_000 }, now);
          await finish(shipped, { delivered: true, status: 200 }, now);

          const report = await store.retargetDeliveries([NEW], now + 1);
          assert.deepEqual(report, { targets: [OLD], moved: 2, ended: 1, left: 1 });

          const after = async (item: NewDelivery) => (await store.getDelivery(item.id))!;
          const movedPaid = await after(paid);
          assert.deepEqual([movedPaid.target, movedPaid.status, movedPaid.attempts, movedPaid.lastStatus, movedPaid.payload], [NEW, 'failed', 1, 500, paid.payload]);
          const movedHeld = await after(held);
          assert.deepEqual([movedHeld.target, movedHeld.status, movedHeld.attempts, movedHeld.nextAttemptAt, movedHeld.payload], [NEW, 'pending', 0, now + 1, held.payload]);
          assert.equal(movedHeld.seq, (await store.listDeliveries({ limit: 100 })).find((item) => item.id === held.id)!.seq);
          const ended = await after(refunded);
          assert.deepEqual([ended.target, ended.status, ended.nextAttemptAt], [OLD, 'failed', null]);
          assert.match(ended.lastError ?? '', /^MERCHANT_WEBHOOK_URL no longer names this URL; /);
          for (const kept of [sending, shipped]) assert.equal((await after(kept)).target, OLD, kept.id);
          for (const kept of [paidHook, heldHook, refundedNew]) assert.equal((await after(kept)).target, kept.target, kept.id);
          assert.equal((await after(sending)).leaseUntil, claimed!.leaseUntil, 'the other sender\'s lease holds');

          // The held event keeps its place: first in the new URL's queue of its order, the refund after it.
          assert.deepEqual((await store.claimDueDeliveries(now + 2, 10, 1_000)).map((item) => item.id).sort(), [held.id, heldHook.id].sort());
          // A retry of the failed payment goes to the new URL (and is old news now: the order had later events).
          const retried = await store.retryDelivery(paid.id, now + 3, { force: true });
          assert.deepEqual([retried?.retry, retried?.target], ['queued', NEW]);
          // The other sender finishes its attempt at the old URL as usual.
          await store.finishDelivery(claimed!, { delivered: true, status: 200 }, now + 4);
          assert.deepEqual([(await after(sending)).status, (await after(sending)).target], ['delivered', OLD]);
          assert.deepEqual(await store.retargetDeliveries([NEW], now + 5), { targets: [OLD], moved: 0, ended: 0, left: 0 });
        });

        test('leaves a delivery two new URLs lack alone, and moves one whose event one of them has to the other', async () => {
          const now = Date.now();
          const unsure = delivery({ orderId: 'A-ret-3', createdAt: now - 30 });
          const half = delivery({ orderId: 'A-ret-4', createdAt: now - 20 });
          const halfNew = alsoTo(half, NEW);
          await write(unsure, half, halfNew);
          await finish(halfNew, { delivered: true }, now);
          assert.deepEqual(await store.retargetDeliveries([NEW, OTHER], now), { targets: [OLD], moved: 1, ended: 0, left: 1 });
          assert.equal((await store.getDelivery(unsure.id))?.target, OLD);
          assert.equal((await store.getDelivery(half.id))?.target, OTHER);
          assert.equal((await store.getDelivery(half.id))?.payload, half.payload);
        });

        test('marks a pending delivery moved behind a later event the new URL was sent already as redelivered', async () => {
          const now = Date.now();
          const payload = (type: string) => JSON.stringify({ type, data: { reason: 'provider_status' } });
          // Another instance, still configured with the old URL, wrote the order's paid; the new URL had its refund.
          const late = delivery({ orderId: 'A-ret-5', payload: payload('payment.paid'), createdAt: now - 10 });
          const next = delivery({ orderId: 'A-ret-5', target: NEW, payload: payload('payment.refunded'), createdAt: now - 5 });
          // Nothing later was sent to the new URL for this one: unmarked.
          const alone = delivery({ orderId: 'A-ret-6', payload: payload('payment.paid'), createdAt: now - 5 });
          await write(late, next, alone);
          await finish(next, { delivered: true }, now);
          assert.deepEqual(await store.retargetDeliveries([NEW], now + 1), { targets: [OLD], moved: 2, ended: 0, left: 0 });
          const moved = (await store.getDelivery(late.id))!;
          assert.deepEqual([moved.target, JSON.parse(moved.payload).data], [NEW, { reason: 'provider_status', redelivered: true }]);
          assert.equal((await store.getDelivery(alone.id))?.payload, alone.payload);
        });

        test('ends the pending deliveries to every URL once none is configured, and never touches the hook\'s', async () => {
          const now = Date.now();
          const queued = delivery({ orderId: 'A-ret-7', createdAt: now - 10 });
          const hook = alsoTo(queued, HOOK);
          await write(queued, hook);
          assert.deepEqual(await store.retargetDeliveries([], now), { targets: [OLD], moved: 0, ended: 1, left: 0 });
          assert.equal((await store.getDelivery(queued.id))?.status, 'failed');
          assert.deepEqual([(await store.getDelivery(hook.id))?.status, (await store.getDelivery(hook.id))?.target], ['pending', HOOK]);
        });

        test('leaves an order\'s later deliveries behind one another instance is sending to the old URL', async () => {
          const now = Date.now();
          const paid = delivery({ orderId: 'A-ret-8', createdAt: now - 20 });
          const refunded = delivery({ orderId: 'A-ret-8', createdAt: now - 10 });
          await write(paid, refunded);
          // An instance still on the old URL is sending the paid; the refund waits behind it.
          const [claimed] = await store.claimDueDeliveries(now, 1, 60_000);
          assert.equal(claimed?.id, paid.id);
          assert.deepEqual(await store.retargetDeliveries([NEW], now + 1), { targets: [OLD], moved: 0, ended: 0, left: 2 });
          assert.equal((await store.getDelivery(refunded.id))?.target, OLD);
          // Nothing of the order can reach the new URL before the paid is done with.
          assert.deepEqual(await store.claimDueDeliveries(now + 2, 10, 60_000), []);
        });

        test('marks a pending delivery moved behind a later event being sent to the new URL as redelivered', async () => {
          const now = Date.now();
          const payload = (type: string) => JSON.stringify({ type, data: { reason: 'provider_status' } });
          const paid = delivery({ orderId: 'A-ret-9', payload: payload('payment.paid'), createdAt: now - 20 });
          const refunded = delivery({ orderId: 'A-ret-9', target: NEW, payload: payload('payment.refunded'), createdAt: now - 10 });
          // The paid failed once at the old URL (next try later); the refund is being sent to the new one right now.
          await write(paid);
          await finish(paid, { delivered: false, error: 'HTTP 500', status: 500, nextAttemptAt: now + 3_600_000 }, now);
          await write(refunded);
          const [sending] = await store.claimDueDeliveries(now + 1, 10, 60_000);
          assert.equal(sending?.id, refunded.id);
          assert.deepEqual(await store.retargetDeliveries([NEW], now + 2), { targets: [OLD], moved: 1, ended: 0, left: 0 });
          assert.equal(JSON.parse((await store.getDelivery(paid.id))!.payload).data.redelivered, true);
        });

        test('leaves the deliveries where they are for an instance whose list is older than another\'s', async () => {
          const now = Date.now();
          const ACCOUNTING = 'https://accounting.test/hooks';
          // The old list's instances started first; a deploy adds a URL, and its instances write each event to both.
          assert.equal((await store.retargetDeliveries([OLD], now - 1_000)).outdated, undefined);
          const paid = delivery({ orderId: 'A-ret-10', createdAt: now - 10 });
          const paidAccounting = alsoTo(paid, ACCOUNTING);
          await write(paid, paidAccounting);
          assert.deepEqual(await store.retargetDeliveries([ACCOUNTING, OLD], now), { targets: [], moved: 0, ended: 0, left: 0 });
          // An instance of the old list restarts mid-deploy: it neither ends nor moves what the new list wrote.
          assert.equal((await store.retargetDeliveries([OLD], now + 1)).outdated, true);
          assert.deepEqual([(await store.getDelivery(paidAccounting.id))?.status, (await store.getDelivery(paidAccounting.id))?.target], ['pending', ACCOUNTING]);
        });

        test('never moves deliveries back for an instance started again with the list before the newest', async () => {
          const now = Date.now();
          assert.equal((await store.retargetDeliveries([OLD], now - 1_000)).outdated, undefined);
          const paid = delivery({ orderId: 'A-ret-11', createdAt: now - 10 });
          await write(paid);
          assert.equal((await store.retargetDeliveries([NEW], now)).moved, 1);
          assert.equal((await store.retargetDeliveries([OLD], now + 1)).outdated, true);
          assert.equal((await store.getDelivery(paid.id))?.target, NEW);
        });

        test('ranks a list that runs again after it had stopped (a rollback) newest, and a restart of the other one then older', async () => {
          const now = Date.now();
          const paid = delivery({ orderId: 'A-ret-12', createdAt: now - 10 });
          await write(paid);
          assert.equal((await store.retargetDeliveries([OLD], now - 1_000)).outdated, undefined);
          assert.equal((await store.retargetDeliveries([NEW], now)).moved, 1);
          // The old list's instances still run (a deploy under way): one restarted then waits.
          assert.equal(await store.touchWebhookList([OLD], now + 30_000), true);
          assert.equal((await store.retargetDeliveries([OLD], now + 50_000)).outdated, true);
          assert.equal((await store.getDelivery(paid.id))?.target, NEW);
          // The new list's instances go on running; long after the old list's last one stopped, it is deployed again
          // (a rollback): it decides, and moves it back.
          assert.equal(await store.touchWebhookList([NEW], now + 55_000), false);
          const rollback = now + 50_000 + WEBHOOK_LIST_ALIVE_MS + 1;
          assert.deepEqual(await store.retargetDeliveries([OLD], rollback), { targets: [NEW], moved: 1, ended: 0, left: 0 });
          assert.equal((await store.getDelivery(paid.id))?.target, OLD);
          // An instance of the list it replaces, restarted during that rollback, now waits.
          assert.equal(await store.touchWebhookList([NEW], rollback + 1), true);
          assert.equal((await store.retargetDeliveries([NEW], rollback + 2)).outdated, true);
          assert.equal((await store.getDelivery(paid.id))?.target, OLD);
        });

        test('reconciles once when two stores on the same database do it at the same time', async () => {
          const now = Date.now();
          // Each event pending at two URLs that are both gone: one moves to the new URL, the other ends.
          const items: NewDelivery[] = [];
          for (let index = 0; index < 20; index++) {
            const first = delivery({ orderId: `A-ret-c${index}`, createdAt: now - 100 + index });
            items.push(first, alsoTo(first, 'https://gone.test/hooks'));
          }
          await write(...items);
          const other = await db.second();
          const reports = await Promise.all([store.retargetDeliveries([NEW], now), other.retargetDeliveries([NEW], now)]);
          assert.equal(reports[0]!.moved + reports[1]!.moved, 20);
          assert.equal(reports[0]!.ended + reports[1]!.ended, 20);
          const rows = await store.listDeliveries({ limit: 100 });
          assert.equal(rows.filter((row) => row.target === NEW && row.status === 'pending').length, 20);
          assert.equal(new Set(rows.filter((row) => row.target === NEW).map((row) => row.messageId)).size, 20, 'one delivery per event to the new URL');
        });
      });

      test('prunes an order\'s deliveries together, whatever their targets, once all ended before the cutoff with their sessions\' history', async () => {
        const now = Date.now();
        const cutoff = now - 1_000;
        const old = now - 10_000;
        /** A session of its own order, changed at `updatedAt`, and deliveries of that order written with it. */
        const order = async (status: SessionRecord['status'], updatedAt: number, nextPollAt: number | null, count = 1, targets: string[] = []) => {
          const row = record({ orderId: `A-prune-${deliveryCounter}` });
          await store.insertSession(row);
          const made = Array.from({ length: count }, (_, index) =>
            delivery({ sessionId: row.id, orderId: row.orderId, createdAt: old, ...(targets[index] ? { target: targets[index] } : {}) }),
          );
          await store.mutate(row.id, () => ({ patch: { status, updatedAt, nextPollAt }, deliveries: made }));
          return made;
        };
        const done = (item: NewDelivery, at: number, delivered = true) =>
          store.finishDelivery({ id: item.id, leaseUntil: null }, delivered ? { delivered: true } : { delivered: false, error: 'HTTP 500', nextAttemptAt: null }, at);

        // Delivered long ago, its session ended and unwatched: pruned.
        const [gone] = await order('paid', old, null);
        await done(gone!, old);
        // A payment.paid that failed for good after the cutoff, and the later refund delivered before it: both kept,
        // so that a retry of the first still finds the second.
        const [paid, refunded] = await order('refunded', old, null, 2);
        await done(refunded!, old);
        await done(paid!, now, false);
        // The same with the refund sent to another URL (MERCHANT_WEBHOOK_URL changed in between): both kept too.
        const [paidOld, refundedNew] = await order('refunded', old, null, 2, ['https://merchant.test/hooks', 'https://merchant.test/moved']);
        await done(refundedNew!, old);
        await done(paidOld!, now, false);
        // Failed long ago, its session still held for a person: kept.
        const [held] = await order('held', old, null);
        await done(held!, old, false);
        // Its session ended, but still watched for a late payment: kept.
        const [watched] = await order('expired', old, now + 60_000);
        await done(watched!, old);
        // One of the order's deliveries still pending: the order's delivered one stays too.
        const [sent, queued] = await order('paid', old, null, 2);
        await done(sent!, old);

        assert.equal((await store.pruneEvents(cutoff)).deliveries, 1);
        assert.equal(await store.getDelivery(gone!.id), undefined);
        for (const kept of [paid, refunded, paidOld, refundedNew, held, watched, sent]) assert.notEqual(await store.getDelivery(kept!.id), undefined, kept!.id);
        assert.equal((await store.getDelivery(queued!.id))?.status, 'pending');
        assert.equal((await store.retryDelivery(paid!.id, now))?.retry, 'superseded');
        assert.equal((await store.retryDelivery(paidOld!.id, now))?.retry, 'superseded');
      });
    });

    describe('idempotency keys', () => {
      test('keeps the first record of a key', async () => {
        assert.equal(await store.getIdempotencyKey('k'), undefined);
        assert.deepEqual(await store.putIdempotencyKey({ key: 'k', fingerprint: 'f1', sessionId: 'cs_1', createdAt: 5 }), { key: 'k', fingerprint: 'f1', sessionId: 'cs_1', createdAt: 5 });
        assert.equal((await store.putIdempotencyKey({ key: 'k', fingerprint: 'f2', sessionId: 'cs_2', createdAt: 6 })).fingerprint, 'f1');
      });
    });

    describe('polling schedule', () => {
      test('lists due sessions by next poll time, and a claim leases them', async () => {
        const now = Date.now();
        const late = record({ nextPollAt: now - 10, createdAt: now - 50 });
        const early = record({ orderId: 'A-2', nextPollAt: now - 20, createdAt: now - 100 });
        const future = record({ orderId: 'A-3', nextPollAt: now + 60_000 });
        const unscheduled = record({ orderId: 'A-4', nextPollAt: null });
        for (const row of [late, early, future, unscheduled]) await store.insertSession(row);
        assert.deepEqual((await store.dueSessions(now, 10)).map((row) => row.id), [early.id, late.id]);
        const claimed = await store.claimDueSessions(now, 10, 30_000);
        assert.deepEqual(claimed.map((row) => [row.id, row.nextPollAt]), [[early.id, now + 30_000], [late.id, now + 30_000]]);
        assert.deepEqual(await store.claimDueSessions(now, 10, 30_000), []);
        assert.equal((await store.getSession(late.id))?.nextPollAt, now + 30_000);
        // A poller that never came back: the lease runs out and the sessions are due again.
        assert.deepEqual((await store.claimDueSessions(now + 30_000, 1, 30_000)).map((row) => row.id), [early.id]);
      });

      test('gives every due session to exactly one of two stores claiming at once', async () => {
        const now = Date.now();
        const rows = Array.from({ length: 60 }, (_, index) => record({ orderId: `A-${index}`, nextPollAt: now - index }));
        for (const row of rows) await store.insertSession(row);
        const other = await db.second();
        const claims = await Promise.all(Array.from({ length: 8 }, (_, index) => (index % 2 ? other : store).claimDueSessions(now, 10, 60_000)));
        const ids = claims.flat().map((row) => row.id);
        assert.equal(ids.length, 60);
        assert.equal(new Set(ids).size, 60);
      });
    });

    describe('nonces and locks', () => {
      test('takes increasing nonces: the clock, or one more than the last', async () => {
        assert.equal(await store.takeNonce('box:key', 1_000), 1_000);
        assert.equal(await store.takeNonce('box:key', 1_000), 1_001);
        assert.equal(await store.takeNonce('box:key', 900), 1_002);
        assert.equal(await store.takeNonce('box:key', 5_000), 5_000);
        assert.equal(await store.takeNonce('box:other', 10), 10);
      });

      test('never hands out one nonce twice to two stores asking at once', async () => {
        const other = await db.second();
        const now = Date.now();
        const nonces = await Promise.all(Array.from({ length: 100 }, (_, index) => (index % 2 ? other : store).takeNonce('box:key', now)));
        assert.equal(new Set(nonces).size, 100);
        assert.equal(Math.min(...nonces), now);
        assert.equal(Math.max(...nonces), now + 99);
      });

      test('runs the holders of one lock one after another, and of different locks side by side', async () => {
        let inside = 0;
        let most = 0;
        const order: number[] = [];
        const hold = (index: number) =>
          store.withLock('order:A-1', async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((resolve) => setTimeout(resolve, 5));
            order.push(index);
            inside--;
            return index;
          });
        let otherRan = false;
        const results = await Promise.all([hold(0), hold(1), hold(2), store.withLock('order:A-2', async () => (otherRan = true))]);
        assert.deepEqual(results.slice(0, 3), [0, 1, 2]);
        assert.deepEqual(order, [0, 1, 2]);
        assert.equal(most, 1);
        assert.ok(otherRan);
        await assert.rejects(store.withLock('order:A-1', async () => Promise.reject(new Error('inner'))), /inner/);
        assert.equal(await store.withLock('order:A-1', async () => 'free again'), 'free again');
      });

      test('withLockIfFree runs only when nobody holds or waits for the lock, and never waits', async () => {
        assert.deepEqual(await store.withLockIfFree('order:A-1', async () => 'ran'), { value: 'ran' });
        let release!: () => void;
        const holding = store.withLock('order:A-1', () => new Promise<void>((resolve) => (release = resolve)));
        let ran = false;
        assert.equal(await store.withLockIfFree('order:A-1', async () => (ran = true)), undefined);
        assert.equal(ran, false);
        assert.deepEqual(await store.withLockIfFree('order:A-2', async () => 'other key'), { value: 'other key' });
        release();
        await holding;
        await assert.rejects(store.withLockIfFree('order:A-1', async () => Promise.reject(new Error('inner'))), /inner/);
        assert.deepEqual(await store.withLockIfFree('order:A-1', async () => 'free again'), { value: 'free again' });
      });

      test('withLockIfFree finds a lock another store on the same database holds busy', { skip: harness.sharedLocks ? false : 'SQLite locks are per process; its unique indexes guard other processes' }, async () => {
        const other = await db.second();
        let release!: () => void;
        let entered!: () => void;
        const inside = new Promise<void>((resolve) => (entered = resolve));
        const holding = other.withLock('order:A-1', () => {
          entered();
          return new Promise<void>((resolve) => (release = resolve));
        });
        await inside;
        assert.equal(await store.withLockIfFree('order:A-1', async () => 'ran'), undefined);
        release();
        await holding;
        assert.deepEqual(await store.withLockIfFree('order:A-1', async () => 'ran'), { value: 'ran' });
      });

      test('holds a lock across two stores on the same database', { skip: harness.sharedLocks ? false : 'SQLite locks are per process; its unique indexes guard other processes' }, async () => {
        const other = await db.second();
        let inside = 0;
        let most = 0;
        await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            (index % 2 ? other : store).withLock('order:A-1', async () => {
              inside++;
              most = Math.max(most, inside);
              await new Promise((resolve) => setTimeout(resolve, 10));
              inside--;
            }),
          ),
        );
        assert.equal(most, 1);
      });
    });
  });
}
