// How every bench server child starts: keep-alive like a production server, a free loopback port, one JSON
// `ready` line on stdout for the parent (bench/lib/proc.ts), and a clean exit on SIGTERM.
import type { Server } from 'node:http';

export function listenAndAnnounce(server: Server): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    process.stdout.write(`${JSON.stringify({ ready: { url: `http://127.0.0.1:${address.port}` } })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
