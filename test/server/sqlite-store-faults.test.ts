// SqliteStore beside other users of its file: the retention command runs in a process of its own next to the
// helper, and a restored file may belong to another user. The helper must be able to write while retention runs, and
// must refuse at start a file it cannot write rather than fail every payment later.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../server-example/store.js';
import { sessionRecord } from './session-records.js';

describe('SqliteStore: retention beside a running helper', () => {
  it('prunes in short transactions that let another connection write between them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-prune-'));
    const path = join(dir, 'checkout.sqlite');
    const store = new SqliteStore(path);
    // The running helper: another connection that does not wait for the lock at all.
    const helper = new Database(path);
    helper.pragma('busy_timeout = 0');
    try {
      const ended = Array.from({ length: 2_500 }, (_, i) =>
        sessionRecord({ id: `cs_prune${String(i).padStart(18, '0')}`, orderId: `P-${i}`, status: 'paid', updatedAt: 1_000 }),
      );
      for (const row of ended) await store.insertSession(row, [{ sessionId: row.id, kind: 'created' }]);
      const count = () => (helper.prepare('SELECT count(*) FROM events').pluck().get() as number);
      assert.equal(count(), 2_500);

      const pruning = store.pruneEvents(Date.now() - 60_000);
      // The first batch is committed and the write lock free again before the rest: the helper writes meanwhile.
      const left = count();
      assert.ok(left > 0 && left < 2_500, `a first batch only (${left} events left)`);
      helper.prepare("INSERT INTO rejected_callbacks (digest, provider, code, size, head, source, count, first_at, last_at) VALUES ('d', 'repay', 'x', 1, '', NULL, 1, 1, 1)").run();
      assert.equal((await pruning).events, 2_500);
      assert.equal(count(), 0);
    } finally {
      helper.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteStore: a file it cannot write', () => {
  // In a directory it may write, as after a restore with the wrong owner. Root writes any file whatever its mode: the
  // store is then opened by an unprivileged user.
  const root = process.getuid?.() === 0;
  const runuser = root && spawnSync('runuser', ['--help']).status === 0;
  it('is refused at start, naming the file', { ...(root && !runuser ? { skip: 'needs runuser to open the file as another user' } : {}) }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-readonly-'));
    const path = join(dir, 'checkout.sqlite');
    try {
      await new SqliteStore(path).close();
      chmodSync(dir, 0o777);
      chmodSync(path, 0o444);
      const script = `import('${new URL('../../server-example/store.ts', import.meta.url).pathname}').then(
        ({ SqliteStore }) => { new SqliteStore(${JSON.stringify(path)}); console.log('opened'); },
        (error) => { console.log(error.message); },
      ).catch((error) => console.log(error.message));`;
      const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', script];
      const run = root ? spawnSync('runuser', ['-u', 'nobody', '--', ...node], { encoding: 'utf8', cwd: process.cwd() }) : spawnSync(node[0]!, node.slice(1), { encoding: 'utf8' });
      assert.match(run.stdout, /cannot be written \(SQLITE_READONLY\)/, run.stderr);
      assert.doesNotMatch(run.stdout, /opened/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
