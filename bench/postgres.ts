/**
 * The helper on its two stores, in the same run: POST /sessions and verified Repay webhook throughput on the embedded
 * SQLite file (one instance), on PostgreSQL with one instance, and on PostgreSQL with two instances sharing the
 * database (the load split evenly between them). Every figure is beside the SQLite one measured in the same run.
 *
 * Each helper is `startServer()` in its own process as production runs it (bench/servers/helper.mjs: plain Node on
 * the helper compiled by tsconfig.server.json), its providers pointed at the fake
 * provider (bench/servers/fake-provider.ts); PostgreSQL is a throw-away server started here (test/server/pg-server.ts)
 * with fsync on and commits not waited for, the bargain SQLite's WAL with synchronous=NORMAL makes. All processes share
 * this machine's cores: a second instance adds no CPU, so the two-instance figure shows the cost of coordination
 * through the database, not the scaling a second machine would bring.
 */
import autocannon, { type AutocannonRequest } from 'autocannon';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SANDBOX_ACCOUNTS } from '../server-example/sandbox/accounts.js';
import { sessionIdOfReference } from '../server-example/sessions.js';
import { ROOT } from '../scripts/bundle.js';
import { findPostgres, postgresMissingMessage, startPostgres } from '../test/server/pg-server.js';
import { atExit, startChild, type Child } from './lib/proc.js';
import { errorRow, row, type Row } from './lib/report.js';
import { median } from './lib/stats.js';

const CONNECTIONS = 50;
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
/** Sessions created per set and round: a fixed number sent, timed until the last answer (slow answers still count). */
const CREATES = Number(process.env.BENCH_STORE_CREATES ?? 500);
/** Repay sessions per store set up for the webhook runs (each delivered once over the rounds). */
const POOL = Number(process.env.BENCH_STORE_WEBHOOK_POOL ?? 1500);
const ORIGIN = 'http://127.0.0.1:5173';
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123';
const API = '/api/checkout';

type StoreKind = 'sqlite' | 'pg1' | 'pg2';
const LABELS: Record<StoreKind, string> = {
  sqlite: 'SQLite, 1 instance',
  pg1: 'PostgreSQL, 1 instance',
  pg2: 'PostgreSQL, 2 instances',
};

function helperEnv(fakeUrl: string, database: { path: string } | { url: string }): Record<string, string> {
  const repay = SANDBOX_ACCOUNTS.repay;
  return {
    ...('url' in database ? { DATABASE_URL: database.url } : { DATABASE_PATH: database.path }),
    SESSION_SECRET,
    CHECKOUT_MODE: 'test',
    ALLOWED_ORIGINS: ORIGIN,
    LOG_LEVEL: 'warn',
    CHECKOUT_PROVIDERS: 'repay',
    DEFAULT_PROVIDER: 'repay',
    REPAY_CASSA_ID: repay.cassaId,
    REPAY_SECRET_WORD_1: repay.secretWord1,
    REPAY_SECRET_WORD_2: repay.secretWord2,
    REPAY_API_KEY: repay.apiKey,
    REPAY_METHOD_SBP: repay.methods.sbp,
    REPAY_METHOD_CARD: repay.methods.card,
    REPAY_BASE_URL: fakeUrl,
  };
}

interface Planned {
  path: string;
  headers: Record<string, string>;
  body: string;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failed: number;
  statusCodes: Record<string, number>;
}

/**
 * One load on every URL of a store set at once, CONNECTIONS split between them. `items` (one list per URL): each sent
 * once, the rate measured until the last answer; otherwise `next()` for DURATION seconds.
 */
async function load(urls: string[], plan: { next?: () => Planned; items?: Planned[][]; duration?: number }): Promise<Load> {
  const connections = Math.floor(CONNECTIONS / urls.length);
  let answered = 0;
  let last = 0;
  const started = performance.now();
  const results = await Promise.all(
    urls.map((url, index) => {
      const items = plan.items?.[index];
      let i = 0;
      const request: AutocannonRequest = {
        method: 'POST',
        setupRequest: (req) => {
          const next = items ? items[i++ % items.length]! : plan.next!();
          return { ...req, method: 'POST', path: next.path, headers: next.headers, body: next.body };
        },
        onResponse: () => {
          answered++;
          last = performance.now();
        },
      };
      const perConnection = items ? Math.floor(items.length / connections) : 0;
      if (items && perConnection < 1) {
        throw new Error(`${items.length} requests for ${connections} connections to ${url}: each connection needs at least one (raise the pool).`);
      }
      return autocannon({
        url,
        connections,
        pipelining: 1,
        timeout: 10,
        duration: items ? 600 : plan.duration ?? DURATION,
        ...(items ? { maxConnectionRequests: perConnection } : {}),
        requests: [request],
      });
    }),
  );
  const seconds = ((plan.items ? last : performance.now()) - started) / 1000;
  const requests = plan.items ? answered : results.reduce((sum, result) => sum + result.requests.total, 0);
  const statusCodes: Record<string, number> = {};
  for (const result of results) {
    for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (statusCodes[code] ?? 0) + stat.count;
    if (result.timeouts) statusCodes.timeout = (statusCodes.timeout ?? 0) + result.timeouts;
  }
  return {
    rps: requests / seconds,
    p50: median(results.map((result) => result.latency.p50)),
    p99: Math.max(...results.map((result) => result.latency.p99)),
    requests,
    failed: results.reduce((sum, result) => sum + result.non2xx + result.errors + result.timeouts, 0),
    statusCodes,
  };
}

let counter = 0;
const runId = Date.now().toString(36).slice(-5);
function createRequest(): Planned {
  counter++;
  const id = `tea-s${runId}${counter.toString(36).padStart(6, '0')}`;
  return {
    path: `${API}/sessions`,
    headers: { 'content-type': 'application/json', origin: ORIGIN, 'idempotency-key': `k-${id}` },
    body: JSON.stringify({ orderId: id, provider: 'repay', method: 'sbp' }),
  };
}

/** Sessions made outside any measurement, spread over the set's instances. */
async function createSessions(urls: string[], n: number): Promise<Set<string>> {
  const made = new Set<string>();
  let failures = 0;
  const worker = async (url: string) => {
    while (made.size + failures < n) {
      const next = createRequest();
      const response = await fetch(`${url}${next.path}`, { method: 'POST', headers: next.headers, body: next.body });
      const text = await response.text();
      if (response.status === 201) made.add((JSON.parse(text) as { id: string }).id);
      else if (++failures > 20) throw new Error(`POST /sessions failed: ${response.status} ${text.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, index) => worker(urls[index % urls.length]!)));
  return made;
}

interface RepayDeal {
  id: string;
  amount: string;
  orderId: string;
}

/** Repay's deposit callback for each deal, signed as Repay signs it. */
function repayWebhook(deal: RepayDeal): Planned {
  const signature = createHash('md5').update(`${deal.id}:${deal.amount}:${SANDBOX_ACCOUNTS.repay.secretWord2}`).digest('hex');
  return {
    path: `${API}/webhooks/repay`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deal_id: deal.id, state: 'completed', amount: deal.amount, currency: 'RUB', signature, order_id: deal.orderId }),
  };
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

interface StoreSet {
  kind: StoreKind;
  urls: string[];
  /** Sessions whose Repay callback was stored as a matched webhook event and which are paid. */
  countPaidWebhooks(): Promise<number>;
}

/** Compiles the helper (tsconfig.server.json) under node_modules/.cache, where its dependencies resolve. */
function buildHelper(): { dir: string; remove: () => void } {
  const cache = join(ROOT, 'node_modules/.cache/pay-checkout-bench');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'stores-'));
  const remove = atExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.server.json', '--outDir', dir, '--declaration', 'false'], { cwd: ROOT, stdio: 'pipe' });
  } catch (error) {
    // tsc still emits on type errors; measure what it emitted.
    if (!existsSync(join(dir, 'index.js'))) throw error;
  }
  return { dir, remove };
}

export async function measureStores(log: (line: string) => void): Promise<Row[]> {
  if (!findPostgres()) return [errorRow('helper', 'POST /sessions and webhooks on PostgreSQL', new Error(postgresMissingMessage()))];
  const dataDir = mkdtempSync(join(tmpdir(), 'pay-checkout-bench-stores-'));
  const removeData = atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  const children: Child<{ url: string }>[] = [];
  // Stopped below; on Ctrl-C its own exit hook stops it.
  const postgres = await startPostgres({ fast: false });
  const pools: pg.Pool[] = [];
  const compiled = buildHelper();
  const helper = (env: Record<string, string>) => startChild<{ url: string }>('servers/helper.mjs', { ...env, BENCH_HELPER_DIST: compiled.dir });
  try {
    const fake = await startChild<{ url: string }>('servers/fake-provider.ts');
    children.push(fake);
    const sqlitePath = join(dataDir, 'stores.sqlite');
    const sqlite = await helper(helperEnv(fake.ready.url, { path: sqlitePath }));
    children.push(sqlite);
    // Two databases: one for the single instance, one shared by the pair (so neither set sees the other's rows).
    const singleUrl = await postgres.createDatabase('bench_single');
    const pairUrl = await postgres.createDatabase('bench_pair');
    const single = await helper(helperEnv(fake.ready.url, { url: singleUrl }));
    children.push(single);
    const pair = await Promise.all([0, 1].map(() => helper(helperEnv(fake.ready.url, { url: pairUrl }))));
    children.push(...pair);

    const countPg = (url: string) => async () => {
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      pools.push(pool);
      const { rows } = await pool.query<{ n: string }>(
        "SELECT count(DISTINCT e.session_id) AS n FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.kind = 'webhook' AND s.status = 'paid'",
      );
      return Number(rows[0]!.n);
    };
    const sets: StoreSet[] = [
      {
        kind: 'sqlite',
        urls: [sqlite.ready.url],
        async countPaidWebhooks() {
          const db = new Database(sqlitePath, { readonly: true });
          const result = db
            .prepare("SELECT count(DISTINCT e.session_id) AS n FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.kind = 'webhook' AND s.status = 'paid'")
            .get() as { n: number };
          db.close();
          return result.n;
        },
      },
      { kind: 'pg1', urls: [single.ready.url], countPaidWebhooks: countPg(singleUrl) },
      { kind: 'pg2', urls: pair.map((child) => child.ready.url), countPaidWebhooks: countPg(pairUrl) },
    ];
    log(`stores: SQLite ${sqlite.ready.url}; PostgreSQL ${single.ready.url} and ${pair.map((child) => child.ready.url).join(' + ')}`);

    for (const set of sets) await load(set.urls, { next: createRequest, duration: WARMUP });

    // POST /sessions: a new order and Idempotency-Key per request; the sets take turns, round after round.
    const creates: Record<StoreKind, Load[]> = { sqlite: [], pg1: [], pg2: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const set of sets) {
        const perUrl = set.urls.map(() => Array.from({ length: Math.floor(CREATES / set.urls.length) }, createRequest));
        creates[set.kind].push(await load(set.urls, { items: perUrl }));
      }
    }
    log(`stores: POST /sessions ${sets.map((set) => `${set.kind} ${summary(creates[set.kind]).rps.toFixed(0)}`).join(', ')} req/s`);

    // Verified Repay webhooks: a pool of open sessions per set, paid at the fake provider, each callback delivered once.
    const webhooks: Record<StoreKind, Load[]> = { sqlite: [], pg1: [], pg2: [] };
    const problems: Partial<Record<StoreKind, string>> = {};
    const items: Record<StoreKind, Planned[]> = { sqlite: [], pg1: [], pg2: [] };
    for (const set of sets) {
      // Repay's deal carries our reference as order_id (the order id, then the session id's random part): each set
      // gets the callbacks of its own sessions only.
      const made = await createSessions(set.urls, POOL);
      const deals = (await json<RepayDeal[]>(`${fake.ready.url}/__bench/repay-deals`)).filter((deal) => made.has(sessionIdOfReference(deal.orderId) ?? ''));
      if (deals.length < POOL) throw new Error(`${LABELS[set.kind]}: ${deals.length} of the ${POOL} Repay deals made for its sessions were found at the fake provider.`);
      items[set.kind] = deals.slice(0, POOL).map(repayWebhook);
    }
    await json(`${fake.ready.url}/__bench/pay-all`, { method: 'POST' });
    const chunk = Math.floor(POOL / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      for (const set of sets) {
        const slice = items[set.kind].slice(round * chunk, (round + 1) * chunk);
        const perUrl = set.urls.map((_, index) => slice.filter((_, i) => i % set.urls.length === index));
        webhooks[set.kind].push(await load(set.urls, { items: perUrl }));
      }
    }
    for (const set of sets) {
      const delivered = webhooks[set.kind].reduce((sum, l) => sum + l.requests, 0);
      const stored = await set.countPaidWebhooks();
      if (stored !== delivered) problems[set.kind] = `Of ${delivered} answered callbacks ${stored} were stored as matched callbacks of paid sessions: not a valid figure.`;
    }
    log(`stores: Repay webhook ${sets.map((set) => `${set.kind} ${summary(webhooks[set.kind]).rps.toFixed(0)}`).join(', ')} req/s`);

    const rows: Row[] = [await measureOutboxBacklog(log, await postgres.createDatabase('bench_outbox'))];
    const cores = `${cpus().length} cores shared by every process`;
    for (const [metric, runs, note] of [
      ['POST /sessions (Repay)', creates, `Each request a new order: resolve, row written before the call, fake Repay called, row updated. ${ROUNDS} rounds × ${CREATES} requests per set, timed to the last answer, ${CONNECTIONS} connections (split evenly over the instances), sets alternating.`],
      ['Repay webhook (verified)', webhooks, `${POOL.toLocaleString('en-US')} paid sessions per set, each callback delivered once over ${ROUNDS} rounds: verified, stored raw, status re-read from the fake provider, applied.`],
    ] as const) {
      const base = summary(runs.sqlite);
      for (const set of sets) {
        const figure = summary(runs[set.kind]);
        const ratio = set.kind === 'sqlite' ? 1 : median(runs[set.kind].map((l, i) => l.rps / runs.sqlite[i]!.rps));
        const issues = [
          ...(figure.failed ? [`${figure.failed} of ${figure.requests} answers were not 2xx or failed (${JSON.stringify(figure.statusCodes)}): not a valid figure.`] : []),
          ...(metric.startsWith('Repay') && problems[set.kind] ? [problems[set.kind]!] : []),
        ];
        rows.push(
          row({
            group: 'helper',
            metric: `${metric}, ${LABELS[set.kind]}`,
            value: figure.rps,
            unit: 'req/s',
            baseline: base.rps,
            baselineLabel: LABELS.sqlite,
            target: '',
            ratio,
            verdict: issues.length ? 'error' : 'info',
            note: [
              note,
              `p50 ${figure.p50.toFixed(1)} ms, p99 ${figure.p99.toFixed(1)} ms.`,
              set.kind === 'sqlite' ? '' : `Ratio = median of per-round ratios to SQLite. PostgreSQL 15 local, fsync on, synchronous_commit off; ${cores}.`,
              ...issues,
            ]
              .filter(Boolean)
              .join(' '),
            detail: { runs: runs[set.kind] },
          }),
        );
      }
    }
    return rows;
  } finally {
    for (const child of children.reverse()) await child.stop().catch(() => {});
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
    await postgres.stop().catch(() => undefined);
    compiled.remove();
    removeData();
  }
}

/** Pending deliveries after a long outage of the shop's endpoint, and a small backlog for the baseline. */
const BACKLOG = 15_000;
const SMALL_BACKLOG = 1_500;
/** Events per order in the backlog (a payment, a hold, a refund…): only the head of each order's queue is due. */
const EVENTS_PER_ORDER = 5;
/** Claims timed per backlog: 5 × 50 heads, fewer than the small backlog has orders. */
const CLAIMS = 5;

/**
 * The outbox sender's claim on PostgreSQL (`claimDueDeliveries`: the heads of the orders' queues, 50 at a time) from
 * a backlog of BACKLOG pending deliveries, beside the same claim from SMALL_BACKLOG. A claim that reads the backlog
 * row by row instead of searching the queue index grows with it, and past the attempt's time limit the sender skips
 * everything it claimed, for good.
 */
async function measureOutboxBacklog(log: (line: string) => void, url: string): Promise<Row> {
  const { PostgresStore } = await import('../server-example/store-postgres.js');
  const store = new PostgresStore(url);
  try {
    await store.ready();
    const claim = async (pending: number): Promise<number[]> => {
      await store.pool.query('TRUNCATE deliveries');
      const now = Date.now();
      await store.pool.query(
        `INSERT INTO deliveries (id, message_id, event_type, session_id, order_id, target, payload, status, attempts, next_attempt_at, created_at, updated_at)
         SELECT 'dlv_' || g, 'msg_' || g, 'payment.paid', 'cs_' || g, 'bench-' || (g % ($1::int / ${EVENTS_PER_ORDER})), 'hook:onEvent', '{}', 'pending', 0, $2::bigint - 1000, $2::bigint, $2::bigint
         FROM generate_series(1, $1::int) g`,
        [pending, now],
      );
      await store.pool.query('ANALYZE deliveries');
      const times: number[] = [];
      for (let index = 0; index < CLAIMS; index++) {
        const began = performance.now();
        const claimed = await store.claimDueDeliveries(now, 50, 60_000);
        times.push(performance.now() - began);
        if (claimed.length !== 50) throw new Error(`a claim from ${pending} pending deliveries gave ${claimed.length} of 50`);
      }
      return times;
    };
    const small = median(await claim(SMALL_BACKLOG));
    const large = median(await claim(BACKLOG));
    log(`stores: outbox claim ${large.toFixed(1)} ms from ${BACKLOG} pending, ${small.toFixed(1)} ms from ${SMALL_BACKLOG}`);
    return row({
      group: 'helper',
      metric: `outbox claim from ${BACKLOG.toLocaleString('en-US')} pending deliveries, PostgreSQL`,
      value: Math.round(large * 10) / 10,
      unit: 'ms',
      baseline: Math.round(small * 10) / 10,
      baselineLabel: `from ${SMALL_BACKLOG.toLocaleString('en-US')} pending`,
      target: '',
      verdict: 'info',
      note: `The sender's claim of 50 queue heads (one per order and target, ${EVENTS_PER_ORDER} events per order) after a shop outage; median of ${CLAIMS} claims.`,
    });
  } finally {
    await store.close();
  }
}

function summary(loads: Load[]): Load {
  const requests = loads.reduce((sum, l) => sum + l.requests, 0);
  const seconds = loads.reduce((sum, l) => sum + l.requests / l.rps, 0);
  const statusCodes: Record<string, number> = {};
  for (const l of loads) for (const [code, n] of Object.entries(l.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  return {
    rps: requests / seconds,
    p50: median(loads.map((l) => l.p50)),
    p99: median(loads.map((l) => l.p99)),
    requests,
    failed: loads.reduce((sum, l) => sum + l.failed, 0),
    statusCodes,
  };
}
