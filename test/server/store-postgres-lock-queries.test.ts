// PostgresStore takes every advisory lock of the instance on one connection. Locks of many keys asked for at once
// are sent one query at a time: pg still queues queries sent while one is under way, but warns that this goes
// away in pg 9.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { PostgresStore } from '../../server-example/store-postgres.js';
import { describeWithPostgres } from './pg-suite.js';

// From the start of the file: pg warns once per process.
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.message));

describeWithPostgres('PostgresStore: many locks at once', (postgres) => {
  it('holds fifty keys together, one query at a time on the lock connection', async () => {
    const store = new PostgresStore(await postgres().createDatabase('lock_queries'));
    try {
      let inside = 0;
      let most = 0;
      const keys = Array.from({ length: 50 }, (_, index) => `order:O-${index}`);
      const values = await Promise.all(
        keys.map((key) =>
          store.withLock(key, async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((resolve) => setTimeout(resolve, 20));
            inside--;
            return key;
          }),
        ),
      );
      assert.deepEqual(values, keys);
      assert.ok(most > 1, 'different keys are held side by side');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((message) => /already executing a query/.test(message)), []);
    } finally {
      await store.close();
    }
  });
});

describeWithPostgres('PostgresStore: one key wanted by a busy instance and another', (postgres) => {
  it('gives the other instance its turn while the busy one still has callers queued', async () => {
    const url = await postgres().createDatabase('lock_turns');
    const busy = new PostgresStore(url);
    const other = new PostgresStore(url);
    try {
      await Promise.all([busy.ready(), other.ready()]);
      const ran: string[] = [];
      const hold = (name: string) => async () => {
        ran.push(name);
        await new Promise((resolve) => setTimeout(resolve, 100));
      };
      // Thirty callers of one instance, each holding the key for 100 ms, handed on to one another at once…
      const queue = Array.from({ length: 30 }, (_, index) => busy.withLock('boxexchanger:key', hold(`busy-${index}`)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // …and one of another instance, which can only try now and then.
      await Promise.all([...queue, other.withLock('boxexchanger:key', hold('other'))]);
      const turn = ran.indexOf('other');
      assert.ok(turn > 0 && turn < 25, `the other instance ran at turn ${turn} of ${ran.length}`);
    } finally {
      await Promise.all([busy.close(), other.close()]);
    }
  });
});
