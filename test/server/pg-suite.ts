// A describe() block with its own throw-away PostgreSQL server (pg-server.ts), started before its tests and stopped
// after them; skipped, saying how to install one, where the binaries are missing.
import { after, before, describe } from 'node:test';
import { findPostgres, postgresMissingMessage, startPostgres, type PostgresServer } from './pg-server.js';

export function describeWithPostgres(name: string, body: (postgres: () => PostgresServer) => void): void {
  const missing = findPostgres() ? undefined : postgresMissingMessage();
  describe(name, { ...(missing ? { skip: missing } : {}) }, () => {
    let server: PostgresServer | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.stop();
    });
    body(() => server!);
  });
}
