// WAL checkpoints on a worker thread: the pages reach the database file without the store's connection
// checkpointing, and the connection's own automatic checkpoint is off only while the worker runs.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { startWalCheckpointer, type WalCheckpointer } from '../../server-example/wal-checkpointer.js';

const CHECKPOINTER_MODULE = fileURLToPath(new URL('../../server-example/wal-checkpointer.ts', import.meta.url));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the WAL checkpointer', () => {
  it('copies committed pages into the database file from its own thread, with the connection\'s autocheckpoint off meanwhile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-wal-'));
    const path = join(dir, 'db.sqlite');
    const db = new Database(path);
    const errors: string[] = [];
    let checkpointer: WalCheckpointer | undefined;
    try {
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE t (v TEXT)');
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      for (let i = 0; i < 200; i++) insert.run('x'.repeat(1000)); // ≈ 60 pages: below SQLite's own 1,000-page checkpoint
      assert.ok(statSync(path).size < 200 * 1000, 'the rows start in the WAL only');
      checkpointer = startWalCheckpointer({
        path,
        setAutoCheckpoint: (pages) => db.pragma(`wal_autocheckpoint = ${pages}`),
        onError: (message) => errors.push(message),
        startAfterMs: 0,
        intervalMs: 20,
      });
      // The file grows page by page while a checkpoint copies: wait for all of them, not for the first.
      const deadline = Date.now() + 10_000;
      while (statSync(path).size < 200 * 1000) {
        assert.ok(Date.now() < deadline, `the rows never reached the database file (${statSync(path).size} bytes)`);
        await pause(20);
      }
      while (db.pragma('wal_autocheckpoint', { simple: true }) !== 0) await pause(10);
      await checkpointer.stop();
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'SQLite checkpoints again once the worker stopped');
      assert.deepEqual(errors, []);
    } finally {
      await checkpointer?.stop();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never keeps its process alive: a store left open lets the process end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-wal-'));
    // The child starts the worker, waits until it runs (autocheckpoint off), and returns without stopping it.
    const script = `
      import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
      import { startWalCheckpointer } from ${JSON.stringify(CHECKPOINTER_MODULE)};
      const path = ${JSON.stringify(join(dir, 'db.sqlite'))};
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      startWalCheckpointer({ path, setAutoCheckpoint: (pages) => db.pragma('wal_autocheckpoint = ' + pages), onError: (m) => console.error(m), startAfterMs: 0, intervalMs: 20 });
      while (db.pragma('wal_autocheckpoint', { simple: true }) !== 0) await new Promise((r) => setTimeout(r, 10));
      console.log('running');
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const ended = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 20_000)));
    try {
      const result = await Promise.race([ended, hung]);
      assert.equal(result, 0, `the process ended on its own: ${output}`);
      assert.match(output, /running/, 'the worker had started');
    } finally {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never starts a thread for a store closed before the delay', async () => {
    let changed = false;
    const checkpointer = startWalCheckpointer({ path: '/nonexistent/db.sqlite', setAutoCheckpoint: () => (changed = true), onError: () => (changed = true), startAfterMs: 50 });
    await checkpointer.stop();
    await pause(100);
    assert.equal(changed, false);
  });
});
