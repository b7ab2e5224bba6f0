// One helper instance in its own process, for the multi-instance tests: `startServer()` configured by the environment
// the test passes (DATABASE_URL, providers pointed at a shared sandbox), on a free port. Prints one line
// `{"ready":{"url"}}` (or `{"error"}`), stops cleanly on SIGTERM; the tests also kill it with SIGKILL.
import { startServer } from '../../server-example/index.js';

try {
  const server = await startServer({ host: '127.0.0.1', port: 0, env: process.env });
  process.stdout.write(`${JSON.stringify({ ready: { url: server.url, pid: process.pid } })}\n`);
  process.once('SIGTERM', () => {
    void server.close().finally(() => process.exit(0));
  });
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: (error as Error).stack ?? String(error) })}\n`);
  process.exit(1);
}
