// PostgresStore's lock connection going half-open: the network drops its packets without a reset (a NAT or firewall
// that forgot the flow, a database host gone). A real PostgreSQL started here; between it and the store a small TCP
// proxy that can be frozen:
//
// - while frozen it forwards no bytes on any connection, in the chosen directions, and closes nothing: a close by one
//   side is not passed on either (a half-open link). New connections are accepted and get no bytes forwarded.
// - on thaw, every connection that was open while frozen is closed on both sides, as the next packet on a flow a NAT
//   has forgotten would be answered with a reset; only connections opened afterwards carry traffic.
//
// withLock() on a half-open lock connection must fail after the lock query timeout (not hang, not wait for the lock
// timeout), and the next withLock() after the thaw must succeed on a new connection.
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { findPostgres, postgresMissingMessage, startPostgres, type PostgresServer } from './pg-server.js';

const pgMissing = findPostgres() ? undefined : postgresMissingMessage();

/** Generous: only a hang runs into it (the lock query timeout in this file is 300 ms, the lock timeout 60 s). */
const GUARD_MS = 10_000;
const LOCK_QUERY_TIMEOUT_MS = 300;
const LOCK_TIMEOUT_MS = 60_000;

interface Link {
  client: Socket;
  server: Socket;
}

interface FreezingProxy {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** 'both': nothing passes; 'down': what the client sends reaches PostgreSQL, its answers are lost. */
  freeze(direction?: 'both' | 'down'): void;
  thaw(): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<FreezingProxy> {
  let frozen: 'both' | 'down' | undefined;
  let accepted = 0;
  const links = new Set<Link>();
  /** Links open at some moment while frozen: closed on thaw. */
  const lost = new Set<Link>();

  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(targetPort, '127.0.0.1');
    const link: Link = { client, server: upstream };
    links.add(link);
    if (frozen) lost.add(link);
    client.on('data', (chunk) => {
      if (frozen !== 'both') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!frozen) client.write(chunk);
    });
    const closeBoth = () => {
      // Frozen: the other side hears nothing of it (half-open); the thaw closes the link.
      if (frozen) return;
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    get accepted() {
      return accepted;
    },
    freeze(direction = 'both') {
      frozen = direction;
      for (const link of links) lost.add(link);
    },
    thaw() {
      frozen = undefined;
      for (const link of lost) {
        links.delete(link);
        link.client.destroy();
        link.server.destroy();
      }
      lost.clear();
    },
    async close() {
      frozen = undefined;
      for (const link of links) {
        link.client.destroy();
        link.server.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `promise` settled, or 'hung' after GUARD_MS. */
async function settledWithin<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown } | 'hung'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), GUARD_MS)));
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgresStore: a half-open lock connection', { ...(pgMissing ? { skip: pgMissing } : {}) }, () => {
  let server: PostgresServer;
  let proxy: FreezingProxy;
  let store: PostgresStore;
  /** Straight to PostgreSQL, not through the proxy: what the server itself sees. */
  let direct: pg.Client;

  /** Backend pids of the store's lock connection(s) holding an advisory lock right now. */
  async function lockHolders(): Promise<number[]> {
    const { rows } = await direct.query<{ pid: number }>(
      `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = 'pay-checkout-locks'`,
    );
    return rows.map((row) => row.pid);
  }

  before(async () => {
    server = await startPostgres();
    const url = await server.createDatabase('lockconn');
    direct = new pg.Client({ connectionString: url });
    await direct.connect();
    proxy = await startProxy(server.port);
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    store = new PostgresStore(proxied.toString(), { lockTimeoutMs: LOCK_TIMEOUT_MS, lockQueryTimeoutMs: LOCK_QUERY_TIMEOUT_MS });
    await store.ready();
  });

  after(async () => {
    proxy?.thaw();
    await store?.close();
    await direct?.end().catch(() => undefined);
    await proxy?.close();
    await server?.stop();
  });

  it('fails withLock() after the lock query timeout instead of hanging, then locks on a new connection', async () => {
    // The lock connection exists and works.
    const before = await store.withLock('order:half-open', async () => lockHolders());
    assert.equal(before.length, 1);

    proxy.freeze();
    let ran = false;
    const started = Date.now();
    const outcome = await settledWithin(store.withLock('order:half-open', async () => (ran = true)));
    assert.notEqual(outcome, 'hung', `withLock() on a half-open lock connection did not settle within ${GUARD_MS} ms`);
    assert.ok(typeof outcome === 'object' && 'error' in outcome, 'withLock() must reject while the lock connection is silent');
    assert.match((outcome.error as Error).message, /did not answer on the lock connection/);
    assert.equal(ran, false, 'the callback must not run without the lock');
    assert.ok(Date.now() - started < LOCK_TIMEOUT_MS, 'it did not wait for the lock timeout');

    proxy.thaw();
    const acceptedBefore = proxy.accepted;
    const after = await settledWithin(store.withLock('order:half-open', async () => lockHolders()));
    assert.ok(typeof after === 'object' && 'value' in after, `withLock() after the thaw must succeed: ${after === 'hung' ? 'hung' : String((after as { error: unknown }).error)}`);
    assert.equal(after.value.length, 1, 'the callback runs holding the lock');
    assert.notEqual(after.value[0], before[0], 'on a new lock connection (a new backend)');
    assert.ok(proxy.accepted > acceptedBefore, 'a new connection was opened');
  });

  it('a lock granted whose answer was lost is released by closing its connection', async () => {
    // The query reaches PostgreSQL and takes the lock; only the answer is lost.
    await store.withLock('order:lost-answer', async () => undefined);
    proxy.freeze('down');
    const outcome = await settledWithin(store.withLock('order:lost-answer', async () => 'ran'));
    assert.ok(typeof outcome === 'object' && 'error' in outcome, 'withLock() must reject when the answer never comes');
    // The server granted it to the now abandoned session.
    assert.equal((await lockHolders()).length, 1);

    // The close reaches the server, which ends the session and drops its locks: the key can be taken again.
    proxy.thaw();
    const after = await settledWithin(store.withLock('order:lost-answer', async () => 'ran'));
    assert.deepEqual(after, { value: 'ran' });
  });
});
