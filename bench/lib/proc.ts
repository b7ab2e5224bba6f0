/**
 * Child processes for the servers under test. Servers run in their own process so the load generator (autocannon,
 * in the bench process) never shares an event loop with what it measures. Each child prints one JSON line
 * `{"ready": …}` on stdout when it listens; every child started here is killed on exit, even on Ctrl-C.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
const cleanups = new Set<() => void>();

/** Runs `cleanup` (synchronous: temporary directories) at exit, including Ctrl-C; returns a function that runs it now. */
export function atExit(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => {
    if (cleanups.delete(cleanup)) cleanup();
  };
}

function killAll(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // best effort at exit
    }
  }
  cleanups.clear();
}
process.once('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

export interface Child<T> {
  pid: number;
  ready: T;
  /** Further JSON lines the child prints (answers to `send`). */
  next(): Promise<Record<string, unknown>>;
  send(message: Record<string, unknown>): void;
  stop(): Promise<void>;
}

/**
 * Runs a file from `bench/` in a child process and waits for its ready line: TypeScript with tsx, JavaScript
 * (`.mjs`) with plain Node, as production runs it.
 */
export async function startChild<T>(
  relativeFile: string,
  env: Record<string, string> = {},
  options: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<Child<T>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const file = fileURLToPath(new URL(`../${relativeFile}`, import.meta.url));
  // BENCH_PROFILE=<dir>: each server child writes a V8 CPU profile there on exit (open it in Chrome DevTools).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const loader = relativeFile.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...profile, ...(options.nodeArgs ?? []), ...loader, file], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout! });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((line: Record<string, unknown>) => void)[] = [];
  lines.on('line', (line) => {
    if (!line.startsWith('{')) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(parsed);
    else queue.push(parsed);
  });
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`${relativeFile} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' / ')}`)));
  });
  exited.catch(() => {});
  const next = (ms = timeoutMs) =>
    Promise.race([
      new Promise<Record<string, unknown>>((resolve) => {
        const queued = queue.shift();
        if (queued) resolve(queued);
        else waiters.push(resolve);
      }),
      exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${relativeFile}: no answer in ${ms} ms. ${stderr}`)), ms).unref()),
    ]);
  const first = await next();
  if ('error' in first) throw new Error(`${relativeFile}: ${String(first.error)}`);
  return {
    pid: child.pid!,
    ready: first.ready as T,
    next: () => next(),
    send: (message) => child.stdin!.write(`${JSON.stringify(message)}\n`),
    stop: async () => {
      if (child.exitCode !== null) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}
