/**
 * A real, throw-away PostgreSQL server for the tests and the bench: `initdb` in a temporary directory, `postgres` on a
 * free 127.0.0.1 port (and a Unix socket in the same directory), stopped and deleted at the end — also when the
 * process exits without calling stop(). No mock database.
 *
 * The binaries are looked up in PG_BIN, then /usr/lib/postgresql/<version>/bin (Debian), then the PATH. initdb refuses
 * to run as root, so as root the cluster belongs to the `postgres` user (PG_USER) and the binaries run with its uid.
 * Where no binaries exist, `findPostgres()` says so and `POSTGRES_INSTALL_COMMAND` is what installs them
 * (scripts/ensure-postgres.mjs runs it on CI).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const POSTGRES_INSTALL_COMMAND = 'apt-get install -y --no-install-recommends postgresql';

/** The directory holding initdb and postgres, or undefined. */
export function findPostgres(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => join(debian, version, 'bin')));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
}

/** One line for a skipped Postgres suite. */
export function postgresMissingMessage(): string {
  return `PostgreSQL not found (no initdb/postgres in PG_BIN, /usr/lib/postgresql/*/bin or PATH): install it with \`sudo ${POSTGRES_INSTALL_COMMAND}\` to run the PostgreSQL store tests`;
}

/** Who owns the cluster when the tests run as root: PG_USER, else `postgres` (the Debian package's), else `nobody`. */
function unprivilegedUser(): { uid: number; gid: number } {
  for (const name of [process.env.PG_USER, 'postgres', 'nobody']) {
    if (!name) continue;
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid !== 0) return { uid, gid };
    } catch {
      // no such user
    }
  }
  throw new Error('Running as root and no unprivileged user (PG_USER, postgres, nobody) to own the test PostgreSQL: initdb refuses root.');
}

export interface PostgresServer {
  /** postgres://…@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** A new empty database on this server; its URL. */
  createDatabase(prefix?: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Test speed over durability: fsync off (default true). The bench passes false: fsync on, commits not waited for
   * (synchronous_commit off), the same bargain as the embedded SQLite's WAL with synchronous=NORMAL.
   */
  fast?: boolean;
  maxConnections?: number;
}

const running = new Set<() => void>();
let exitHookInstalled = false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = findPostgres();
  if (!bin) throw new Error(postgresMissingMessage());
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // As root the cluster is owned by `postgres` (or PG_USER); otherwise by whoever runs the tests.
  const owner = isRoot ? unprivilegedUser() : undefined;

  const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-pg-'));
  const data = join(dir, 'data');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true });

  const user = 'checkout';
  const password = randomBytes(12).toString('hex');
  const passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) chownSync(passwordFile, owner.uid, owner.gid);
  // As root: the binaries run with the owner's uid and gid (what `runuser -u postgres --` does, minus a process in between).
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', user, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    encoding: 'utf8',
    cwd: dir,
    ...owner,
  });
  if (init.status !== 0) {
    cleanupDir();
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.stdout}`);
  }

  const port = await freePort();
  const fast = options.fast ?? true;
  const settings = [
    `listen_addresses=127.0.0.1`,
    `port=${port}`,
    `unix_socket_directories=${dir}`,
    `max_connections=${options.maxConnections ?? 200}`,
    'shared_buffers=64MB',
    ...(fast ? ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'] : ['synchronous_commit=off']),
  ];
  const child: ChildProcess = spawn(join(bin, 'postgres'), ['-D', data, ...settings.flatMap((setting) => ['-c', setting])], {
    stdio: ['ignore', 'ignore', 'pipe'],
    cwd: dir,
    ...owner,
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const url = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
  // A process killed outright (SIGKILL, a runner's timeout) runs no exit hook: a detached watchdog stops the server
  // and removes its directory once this process is gone, so no test leaves a PostgreSQL behind.
  const watchdog = spawn(
    'sh',
    ['-c', 'while [ -d "/proc/$1" ]; do sleep 1; done; kill -QUIT "$2" 2>/dev/null; sleep 3; rm -rf "$3"', 'pg-watchdog', String(process.pid), String(child.pid), dir],
    { detached: true, stdio: 'ignore' },
  );
  watchdog.unref();

  const kill = () => {
    // Immediate shutdown: the data is thrown away anyway.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
    if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
  };
  const stopSync = () => {
    kill();
    const pidFile = join(data, 'postmaster.pid');
    for (let i = 0; i < 100 && existsSync(pidFile); i++) spawnSync('sleep', ['0.05']);
    cleanupDir();
  };
  running.add(stopSync);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const stop of running) stop();
    });
  }

  // Ready when a connection succeeds.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      running.delete(stopSync);
      cleanupDir();
      throw new Error(`postgres exited (${child.exitCode}): ${log}`);
    }
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        stopSync();
        running.delete(stopSync);
        throw new Error(`postgres did not accept connections within 30 s: ${(error as Error).message}\n${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  let counter = 0;
  return {
    url,
    port,
    async createDatabase(prefix = 'checkout') {
      const name = `${prefix}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url.replace(/\/postgres$/, `/${name}`);
    },
    async stop() {
      if (!running.delete(stopSync)) return;
      kill();
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
      cleanupDir();
    },
  };
}
