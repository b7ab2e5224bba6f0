// Makes sure PostgreSQL's server binaries (initdb, postgres) exist before the server tests, which start a throw-away
// PostgreSQL of their own (test/server/pg-server.ts) for the PostgresStore suites. As root on Debian it installs the
// `postgresql` package; anywhere else it says how, and those suites skip with the same one line.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const POSTGRES_INSTALL_COMMAND = 'apt-get install -y --no-install-recommends postgresql';

/** Same lookup as test/server/pg-server.ts: PG_BIN, /usr/lib/postgresql/<version>/bin, then the PATH. */
export function findPostgres() {
  const candidates = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, 'bin')));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
}

let found = findPostgres();
if (!found) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    console.log(`[pay-checkout] PostgreSQL not found: the PostgreSQL store tests will be skipped. Install it with \`sudo ${POSTGRES_INSTALL_COMMAND}\`.`);
    process.exit(0);
  }
  console.log(`[pay-checkout] Installing PostgreSQL: apt-get update && ${POSTGRES_INSTALL_COMMAND}`);
  execSync(`apt-get update && ${POSTGRES_INSTALL_COMMAND}`, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  found = findPostgres();
  if (!found) {
    console.error('[pay-checkout] apt-get finished but no initdb/postgres appeared under /usr/lib/postgresql/*/bin.');
    process.exit(1);
  }
}
console.log(`[pay-checkout] PostgreSQL: ${found}`);
