/**
 * The helper under load, in its own process and as production runs it: plain Node on the compiled JavaScript
 * (`BENCH_HELPER_DIST`, built by bench/helper.ts from tsconfig.server.json, like dist/server/), `startServer()`
 * (helper + sandbox, as `npm run server`) configured by the environment the bench passes, with the real-provider
 * settings pointed at the fake provider on loopback. Prints `{"ready": {"url"}}` once listening.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

try {
  const dist = process.env.BENCH_HELPER_DIST;
  if (!dist) throw new Error('BENCH_HELPER_DIST is required');
  const { startServer } = await import(pathToFileURL(`${dist}/index.js`).href);
  const server = await startServer({ host: '127.0.0.1', port: 0, env: process.env });
  process.stdout.write(`${JSON.stringify({ ready: { url: server.url, port: server.port } })}\n`);
  const stop = async () => {
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  // {"cmd":"memory"} on stdin → process.memoryUsage(), before and (when run with --expose-gc) after a full GC.
  // {"cmd":"profile-start"} / {"cmd":"profile-stop","file":…}: a V8 CPU profile of just the part in between.
  const inspector = new Session();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const command = JSON.parse(line);
    if (command.cmd === 'profile-start') {
      void (async () => {
        inspector.connect();
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.start');
        process.stdout.write(`${JSON.stringify({ profiling: true })}\n`);
      })();
      return;
    }
    if (command.cmd === 'profile-stop' && command.file) {
      const file = command.file;
      void (async () => {
        const { profile } = await inspector.post('Profiler.stop');
        writeFileSync(file, JSON.stringify(profile));
        inspector.disconnect();
        process.stdout.write(`${JSON.stringify({ profile: file })}\n`);
      })();
      return;
    }
    if (command.cmd !== 'memory') return;
    const before = process.memoryUsage();
    const gc = globalThis.gc;
    if (gc) gc();
    const after = gc ? process.memoryUsage() : undefined;
    process.stdout.write(`${JSON.stringify({ memory: { before, after } })}\n`);
  });
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error?.stack ?? String(error) })}\n`);
  process.exit(1);
}
