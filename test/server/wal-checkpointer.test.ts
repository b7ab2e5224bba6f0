// WAL checkpoints on a worker thread: the pages reach the database file without the store's connection
// checkpointing, and the connection's own automatic checkpoint is off only while the worker runs.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startWalCheckpointer } from '../../server-example/wal-checkpointer.js';

describe('the WAL checkpointer', () => {
  it('copies committed pages into the database file from its own thread, with the connection\'s autocheckpoint off meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-wal-'));
    const path = join(dir, 'db.sqlite');
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (v TEXT)');
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000)); // ≈ 60 pages: below SQLite's own 1,000-page checkpoint
      const before = statSync(path).size;
      const errors: string[] = [];
      const checkpointer = startWalCheckpointer({
        path,
        setAutoCheckpoint: (pages) => db.pragma(`wal_autocheckpoint = ${pages}`),
        onError: (message) => errors.push(message),
        startAfterMs: 0,
        intervalMs: 20,
      });
      const deadline = Date.now() + 10_000;
      while (statSync(path).size <= before) {
        assert.ok(Date.now() < deadline, 'the database file never grew: no checkpoint ran');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(statSync(path).size >= 200 * 1000, 'the rows are in the database file');
      while (db.pragma('wal_autocheckpoint', { simple: true }) !== 0) await new Promise((r) => setTimeout(r, 10));
      await checkpointer.stop();
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'SQLite checkpoints again once the worker stopped');
      assert.deepEqual(errors, []);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never starts a thread for a store closed before the delay', async () => {
    let changed = false;
    const checkpointer = startWalCheckpointer({ path: '/nonexistent/db.sqlite', setAutoCheckpoint: () => (changed = true), onError: () => (changed = true), startAfterMs: 50 });
    await checkpointer.stop();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(changed, false);
  });
});
