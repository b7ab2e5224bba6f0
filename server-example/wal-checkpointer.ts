/**
 * WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL
 * pages: that commit copies the pages into the database file and waits for two fsyncs, with the event loop blocked.
 * Here a worker thread with a connection of its own runs a PASSIVE checkpoint every `intervalMs` (it never blocks
 * the helper's readers or writers, and the fsyncs are waited for on the worker's thread); once it runs, the store's
 * connection turns its automatic checkpoint off, and back on should the worker fail.
 *
 * The worker starts `startAfterMs` after the store opens, so that short-lived stores (tests, scripts) never pay for
 * a thread; until then SQLite checkpoints as usual.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface WalCheckpointer {
  /** Stops the worker; the store's own connection checkpoints again until it closes. */
  stop(): Promise<void>;
}

export interface WalCheckpointerOptions {
  /** The database file (not ':memory:'). */
  path: string;
  /** Sets the store connection's `wal_autocheckpoint` (0 = off, 1000 = SQLite's default). */
  setAutoCheckpoint(pages: number): void;
  onError(message: string): void;
  intervalMs?: number;
  startAfterMs?: number;
}

/** How often the same checkpoint error is reported again while it lasts. */
const REPEAT_ERROR_MS = 60_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -64');
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
}, workerData.intervalMs);
parentPort.postMessage({ ready: true });
`;

export function startWalCheckpointer(options: WalCheckpointerOptions): WalCheckpointer {
  let worker: Worker | undefined;
  let stopped = false;
  // A lasting fault (a full disk) fails every checkpoint: said once a minute while it lasts, not twice a second.
  let last: { message: string; at: number } | undefined;
  const report = (message: string) => {
    const now = Date.now();
    if (last?.message === message && now - last.at < REPEAT_ERROR_MS) return;
    last = { message, at: now };
    options.onError(message);
  };
  const start = () => {
    if (stopped) return;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver, path: options.path, intervalMs: options.intervalMs ?? 500 },
      // The source above is plain CommonJS: none of the process's flags (a loader such as tsx, --input-type) apply.
      execArgv: [],
      // A checkpoint needs next to no JavaScript memory, nor page cache (64 KB above): keep the thread small.
      resourceLimits: { maxOldGenerationSizeMb: 12, maxYoungGenerationSizeMb: 2 },
    });
    worker.on('message', (message: { ready?: boolean; error?: string }) => {
      if (message.ready && !stopped) options.setAutoCheckpoint(0);
      if (message.error) report(message.error);
    });
    worker.on('error', (error) => options.onError(error.message));
    worker.on('exit', () => {
      worker = undefined;
      if (!stopped) options.setAutoCheckpoint(1000);
    });
    // After the listeners: adding a 'message' listener refs the worker again, and a store left open must not keep
    // its process alive through this thread.
    worker.unref();
  };
  const timer = setTimeout(start, options.startAfterMs ?? 2_000);
  timer.unref();
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      const running = worker;
      worker = undefined;
      if (running) {
        options.setAutoCheckpoint(1000);
        await running.terminate();
      }
    },
  };
}
