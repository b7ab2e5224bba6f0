/**
 * Helper throughput and latency with autocannon (concurrency 50, loopback), each figure beside a bare `node:http`
 * server answering the very same requests with the same settings in the same run, and the helper's RSS after
 * 10,000 sessions. Servers run in child processes; autocannon runs here.
 *
 * The helper runs as production runs it: plain Node on the helper compiled to JavaScript (tsconfig.server.json, the
 * same build as dist/server/), into a directory inside the repository so that it resolves node_modules.
 *
 * The provider "answers instantly": a fake Repay / BoxExchanger API in a third process (bench/servers/
 * fake-provider.ts) that the helper reaches through its real-provider settings over loopback.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../scripts/bundle.js';
import { SANDBOX_ACCOUNTS } from '../server-example/sandbox/accounts.js';
import { atExit, rssOf, startChild, type Child } from './lib/proc.js';
import { row, type Row } from './lib/report.js';
import { median } from './lib/stats.js';

const CONNECTIONS = 50;
const DURATION = Number(process.env.BENCH_DURATION ?? 3);
/** Alternating bare / helper rounds per figure. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const POOL = Number(process.env.BENCH_WEBHOOK_POOL ?? 4500);
const RSS_SESSIONS = 10_000;
const ORIGIN = 'http://127.0.0.1:5173';
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123';
const API = '/api/checkout';

/** Real-provider settings for Repay and BoxExchanger, pointed at the fake provider. */
function helperEnv(fakeUrl: string, databasePath: string): Record<string, string> {
  const repay = SANDBOX_ACCOUNTS.repay;
  const box = SANDBOX_ACCOUNTS.boxexchanger;
  return {
    // Test mode: real-provider settings (pointed at the fake provider) with the demo catalogue's orders.
    CHECKOUT_MODE: 'test',
    DATABASE_PATH: databasePath,
    SESSION_SECRET,
    ALLOWED_ORIGINS: ORIGIN,
    LOG_LEVEL: 'warn',
    CHECKOUT_PROVIDERS: 'repay,boxexchanger',
    DEFAULT_PROVIDER: 'repay',
    REPAY_CASSA_ID: repay.cassaId,
    REPAY_SECRET_WORD_1: repay.secretWord1,
    REPAY_SECRET_WORD_2: repay.secretWord2,
    REPAY_API_KEY: repay.apiKey,
    REPAY_METHOD_SBP: repay.methods.sbp,
    REPAY_METHOD_CARD: repay.methods.card,
    REPAY_BASE_URL: fakeUrl,
    BOXEXCHANGER_BASE_URL: fakeUrl,
    BOXEXCHANGER_API_KEY: box.apiKey,
    BOXEXCHANGER_API_SECRET: box.apiSecret,
    BOXEXCHANGER_ROUTE_SBP: box.routes.sbp,
    BOXEXCHANGER_ROUTE_CARD: box.routes.card,
    BOXEXCHANGER_TO_ACCOUNT: 'bench-merchant-wallet',
  };
}

/** One request as autocannon and fetch send it. */
interface Planned {
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Shape {
  method: 'GET' | 'POST';
  /** Called once per request. */
  next(): Planned;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  seconds: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

/**
 * One autocannon run. With `firstOnly: n`, each connection sends n / CONNECTIONS of the shape's requests and then
 * stops, so no request is ever sent twice; the rate is answers / time until the last answer (autocannon's own
 * `amount` and `stop()` act on whole-second ticks, which would distort short runs or let requests repeat).
 */
async function load(url: string, shape: Shape, run: { duration?: number; firstOnly?: number } = {}): Promise<Load> {
  let answered = 0;
  let stopAt = Number.POSITIVE_INFINITY;
  let stoppedAt = 0;
  const request: AutocannonRequest = {
    method: shape.method,
    setupRequest: (req) => {
      const next = shape.next();
      return { ...req, method: shape.method, path: next.path, headers: next.headers, body: next.body ?? '' };
    },
    onResponse: () => {
      answered++;
      if (answered >= stopAt && !stoppedAt) stoppedAt = performance.now();
    },
  };
  const perConnection = run.firstOnly ? Math.floor(run.firstOnly / CONNECTIONS) : 0;
  if (run.firstOnly) stopAt = perConnection * CONNECTIONS;
  const started = performance.now();
  const result: AutocannonResult = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    duration: run.firstOnly ? 600 : run.duration ?? DURATION,
    ...(run.firstOnly ? { maxConnectionRequests: perConnection } : {}),
    requests: [request],
  });
  const seconds = ((stoppedAt || performance.now()) - started) / 1000;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const requests = run.firstOnly ? answered : result.requests.total;
  return {
    rps: requests / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests,
    seconds,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

interface Rounds {
  helper: Load[];
  bare: Load[];
  /** The hand-written floor for the same work (bench/servers/bare-work.ts). */
  work?: Load[];
}

/** Alternates bare (and work-floor) and helper runs, so that drift on a shared machine hits all alike. */
async function rounds(
  helperUrl: string,
  bareUrl: string,
  shapes: (round: number) => { helper: Shape; bare: Shape; work?: Shape; firstOnly?: number },
  workUrl?: string,
): Promise<Rounds> {
  const out: Rounds = { helper: [], bare: [], ...(workUrl ? { work: [] } : {}) };
  for (let round = 0; round < ROUNDS; round++) {
    const { helper, bare, work, firstOnly } = shapes(round);
    out.bare.push(await load(bareUrl, bare));
    if (workUrl && work) out.work!.push(await load(workUrl, work));
    out.helper.push(await load(helperUrl, helper, firstOnly ? { firstOnly } : {}));
  }
  return out;
}

let counter = 0;
const runId = Date.now().toString(36).slice(-5);
function orderId(): string {
  counter++;
  return `tea-b${runId}${counter.toString(36).padStart(6, '0')}`;
}

function createShape(provider: 'repay' | 'boxexchanger'): Shape {
  return {
    method: 'POST',
    next: () => {
      const id = orderId();
      return {
        path: `${API}/sessions`,
        headers: { 'content-type': 'application/json', origin: ORIGIN, 'idempotency-key': `k-${id}` },
        body: JSON.stringify({ orderId: id, provider, method: 'sbp' }),
      };
    },
  };
}

interface Created {
  id: string;
  token: string;
}

/** Creates sessions outside any measurement (concurrency 50), for the GET and webhook runs. */
async function createSessions(url: string, provider: 'repay' | 'boxexchanger', n: number): Promise<Created[]> {
  const shape = createShape(provider);
  const out: Created[] = [];
  let failures = 0;
  let lastError = '';
  const worker = async () => {
    while (out.length + failures < n) {
      const next = shape.next();
      const response = await fetch(`${url}${next.path}`, { method: 'POST', headers: next.headers, body: next.body ?? null });
      const text = await response.text();
      if (response.status !== 201 && response.status !== 200) {
        failures++;
        lastError = `${response.status} ${text.slice(0, 200)}`;
        if (failures > 20) throw new Error(`POST /sessions failed: ${lastError}`);
        continue;
      }
      const body = JSON.parse(text) as Created;
      out.push({ id: body.id, token: body.token });
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return out.slice(0, n);
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface RepayDeal {
  id: string;
  amount: string;
  orderId: string;
}
interface BoxOrder {
  _id: string;
  uid: number;
  inAmount: string;
  outAmount: string;
  ipnUrl: string;
  ipnSecret: string;
}

/** Repay's deposit callback for each deal, signed as Repay signs it: md5("deal_id:amount:secret_word_2"). */
function repayWebhooks(deals: RepayDeal[]): Planned[] {
  const secret = SANDBOX_ACCOUNTS.repay.secretWord2;
  return deals.map((deal) => ({
    path: `${API}/webhooks/repay`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      deal_id: deal.id,
      state: 'completed',
      amount: deal.amount,
      currency: 'RUB',
      amount_usdt_income: '7.5',
      signature: md5(`${deal.id}:${deal.amount}:${secret}`),
      order_id: deal.orderId,
    }),
  }));
}

/** BoxExchanger's IPN for each order, form-encoded, with the documented sha256 over the raw strings. */
function boxIpns(orders: BoxOrder[]): Planned[] {
  const hashField = SANDBOX_ACCOUNTS.boxexchanger.ipnHashField;
  return orders.map((order) => {
    const fields = {
      orderUID: String(order.uid),
      orderId: order._id,
      newStatus: 'done',
      inAmount: order.inAmount,
      outAmount: order.outAmount,
      xml_from: 'SBPRUB',
      xml_to: 'USDTTRC20',
      timestamp: String(Date.now()),
    };
    const hash = sha256(
      [fields.orderId, fields.newStatus, fields.inAmount, fields.outAmount, fields.xml_from, fields.xml_to, fields.timestamp, order.ipnSecret].join(':'),
    );
    const form = new URLSearchParams({ ...fields, [hashField]: hash });
    form.append('toValues[0][key]', 'account');
    form.append('toValues[0][name]', 'Wallet');
    form.append('toValues[0][value]', 'bench-merchant-wallet');
    const path = new URL(order.ipnUrl).pathname + new URL(order.ipnUrl).search;
    return { path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() };
  });
}

function listShape(method: 'GET' | 'POST', items: Planned[]): Shape {
  let i = 0;
  return { method, next: () => items[i++ % items.length]! };
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return (await response.json()) as T;
}

interface Pair {
  metric: string;
  runs: Rounds;
  minShare: number | null;
  note: string;
  /** Why the helper's answers do not show the work counted (a measurement of nothing). */
  problem?: string;
}

/** The hand-written floor for the same work, as a sentence for the notes. */
function workNote(runs: Rounds, what: string): string {
  if (!runs.work?.length) return '';
  const floor = aggregate(runs.work);
  if (floor.non2xx || floor.errors) return `The hand-written floor (bench/servers/bare-work.ts) failed ${floor.non2xx + floor.errors} of ${floor.requests} requests: no floor figure.`;
  const floorShare = median(runs.work.map((w, i) => w.rps / runs.bare[i]!.rps));
  const vsFloor = median(runs.helper.map((h, i) => h.rps / runs.work![i]!.rps));
  return `The same unavoidable work hand-written on bare node:http (${what}; bench/servers/bare-work.ts): ${Math.round(floor.rps).toLocaleString('en-US')} req/s = ${(floorShare * 100).toFixed(1)} % of bare; the helper reaches ${(vsFloor * 100).toFixed(0)} % of that floor.`;
}

function aggregate(loads: Load[]): { rps: number; p50: number; p99: number; requests: number; non2xx: number; errors: number } {
  const requests = loads.reduce((sum, l) => sum + l.requests, 0);
  const seconds = loads.reduce((sum, l) => sum + l.seconds, 0);
  return {
    rps: requests / seconds,
    p50: median(loads.map((l) => l.p50)),
    p99: median(loads.map((l) => l.p99)),
    requests,
    non2xx: loads.reduce((sum, l) => sum + l.non2xx, 0),
    errors: loads.reduce((sum, l) => sum + l.errors, 0),
  };
}

function pairRows(pair: Pair): Row[] {
  const helper = aggregate(pair.runs.helper);
  const bare = aggregate(pair.runs.bare);
  // The share is the median of the per-round ratios: each helper round is compared with the bare round beside it.
  const share = median(pair.runs.helper.map((h, i) => h.rps / pair.runs.bare[i]!.rps));
  const problems: string[] = [];
  if (helper.non2xx || helper.errors) {
    const codes: Record<string, number> = {};
    for (const l of pair.runs.helper) for (const [code, n] of Object.entries(l.statusCodes)) codes[code] = (codes[code] ?? 0) + n;
    problems.push(`The helper answered ${helper.non2xx} non-2xx / ${helper.errors} errors of ${helper.requests} (${JSON.stringify(codes)}): not a valid figure.`);
  }
  if (pair.problem) problems.push(pair.problem);
  const valid = problems.length === 0;
  const missBy =
    pair.minShare !== null && share < pair.minShare
      ? ` Share ${(share * 100).toFixed(1)} %: ${((pair.minShare - share) * 100).toFixed(1)} points under the target.`
      : '';
  return [
    row({
      group: 'helper',
      metric: `${pair.metric}, throughput`,
      value: helper.rps,
      unit: 'req/s',
      baseline: bare.rps,
      baselineLabel: 'bare node:http',
      target: pair.minShare === null ? '' : `≥ ${pair.minShare * 100} % of bare`,
      ratio: share,
      verdict: !valid ? 'error' : pair.minShare === null ? 'info' : share >= pair.minShare ? 'pass' : 'miss',
      note: [pair.note, `Ratio = median of ${ROUNDS} alternating bare/helper rounds.`, ...problems].join(' ') + missBy,
      detail: pair.runs as unknown as Record<string, unknown>,
    }),
    row({
      group: 'helper',
      metric: `${pair.metric}, p50 latency`,
      value: helper.p50,
      unit: 'ms',
      baseline: bare.p50,
      baselineLabel: 'bare node:http',
      target: '',
      ratio: null,
      verdict: 'info',
      note: '',
    }),
    row({
      group: 'helper',
      metric: `${pair.metric}, p99 latency`,
      value: helper.p99,
      unit: 'ms',
      baseline: bare.p99,
      baselineLabel: 'bare node:http',
      target: '',
      ratio: null,
      verdict: 'info',
      note: '',
    }),
  ];
}

/** Compiles the helper (tsconfig.server.json) into a fresh directory under node_modules/.cache. */
function buildHelper(): { dir: string; remove: () => void } {
  const cache = join(ROOT, 'node_modules/.cache/pay-checkout-bench');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'server-'));
  const remove = atExit(() => rmSync(dir, { recursive: true, force: true }));
  try {
    execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.server.json', '--outDir', dir, '--declaration', 'false'], { cwd: ROOT, stdio: 'pipe' });
  } catch (error) {
    // tsc still emits on type errors; measure what it emitted, but say so.
    if (!existsSync(join(dir, 'index.js'))) throw error;
    process.stderr.write(`[bench] tsconfig.server.json has type errors; measuring the emitted JavaScript anyway:\n${String((error as { stdout?: Buffer }).stdout ?? '')}\n`);
  }
  return { dir, remove };
}

export async function measureHelper(log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'pay-checkout-bench-helper-'));
  const removeData = atExit(() => rmSync(dataDir, { recursive: true, force: true }));
  const compiled = buildHelper();
  log(`helper: compiled to ${compiled.dir}`);
  const started: Child<unknown>[] = [];
  try {
    const fake = await startChild<{ url: string }>('servers/fake-provider.ts');
    started.push(fake);
    const bare = await startChild<{ url: string }>('servers/bare.ts');
    started.push(bare);
    const helperDatabase = join(dataDir, 'throughput.sqlite');
    const helper = await startChild<{ url: string }>('servers/helper.mjs', { ...helperEnv(fake.ready.url, helperDatabase), BENCH_HELPER_DIST: compiled.dir });
    started.push(helper);
    const H = helper.ready.url;
    const B = bare.ready.url;
    log(`helper: listening at ${H}, bare at ${B}, fake provider at ${fake.ready.url}`);

    // Warm both servers up with the request they serve first (JIT, SQLite pages, connection pools).
    await load(H, createShape('repay'), { duration: WARMUP });
    await load(B, createShape('repay'), { duration: WARMUP });

    const work = await startChild<{ url: string }>('servers/bare-work.ts', {
      BENCH_PROVIDER_URL: fake.ready.url,
      BENCH_DATABASE_PATH: join(dataDir, 'work-floor.sqlite'),
    });
    started.push(work);
    const pairs: Pair[] = [];
    // POST /sessions: a distinct order id and Idempotency-Key per request, so every request creates a deal.
    {
      await load(work.ready.url, createShape('repay'), { duration: WARMUP });
      const runs = await rounds(H, B, () => ({ helper: createShape('repay'), bare: createShape('repay'), work: createShape('repay') }), work.ready.url);
      pairs.push({
        metric: 'POST /sessions (Repay)',
        runs,
        minShare: 0.08,
        note:
          `Each request a new order and Idempotency-Key: the helper resolves the order, signs and calls the fake Repay API (own process, instant canned answer over loopback) and writes SQLite (file, WAL). ${ROUNDS} × ${DURATION} s, ${CONNECTIONS} connections. ` +
          workNote(runs, 'row before the call, one keep-alive provider call, one update'),
      });
      log(`helper: POST /sessions ${aggregate(runs.helper).rps.toFixed(0)} req/s vs bare ${aggregate(runs.bare).rps.toFixed(0)}`);
    }
    // GET /sessions/:id over a pool of sessions, each with its own bearer token.
    {
      const pool = await createSessions(H, 'repay', 1000);
      const items = pool.map((s) => ({ path: `${API}/sessions/${s.id}`, headers: { authorization: `Bearer ${s.token}` } }));
      const runs = await rounds(H, B, () => ({ helper: listShape('GET', items), bare: listShape('GET', items) }));
      pairs.push({
        metric: 'GET /sessions/:id',
        runs,
        minShare: null,
        note: `Round-robin over 1,000 open Repay sessions with their bearer tokens (the helper re-reads the provider at most every 3 s per session); ${ROUNDS} × ${DURATION} s.`,
      });
      log(`helper: GET /sessions/:id ${aggregate(runs.helper).rps.toFixed(0)} req/s vs bare ${aggregate(runs.bare).rps.toFixed(0)}`);
    }
    // Verified webhooks: one first delivery per session (never a replay), signed like the provider signs.
    for (const provider of ['repay', 'boxexchanger'] as const) {
      await createSessions(H, provider, POOL);
      await json(`${fake.ready.url}/__bench/pay-all`, { method: 'POST' });
      const items =
        provider === 'repay'
          ? repayWebhooks((await json<RepayDeal[]>(`${fake.ready.url}/__bench/repay-deals`)).slice(-POOL))
          : boxIpns((await json<BoxOrder[]>(`${fake.ready.url}/__bench/box-orders`)).slice(-POOL));
      const chunk = Math.floor(items.length / ROUNDS);
      const runs = await rounds(
        H,
        B,
        (round) => {
          const slice = items.slice(round * chunk, (round + 1) * chunk);
          return { helper: listShape('POST', slice), bare: listShape('POST', slice), work: listShape('POST', slice), firstOnly: slice.length };
        },
        work.ready.url,
      );
      // Every answered delivery must have been matched to its session and stored as a fresh callback (a 200 alone
      // could be a duplicate or an unmatched callback), and must have left its session paid.
      const delivered = aggregate(runs.helper).requests;
      const db = new Database(helperDatabase, { readonly: true });
      const stored = db
        .prepare("SELECT count(*) AS n FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.kind = 'webhook' AND s.provider = ?")
        .get(provider) as { n: number };
      const paid = db
        .prepare("SELECT count(DISTINCT e.session_id) AS n FROM events e JOIN sessions s ON s.id = e.session_id WHERE e.kind = 'webhook' AND s.provider = ? AND s.status = 'paid'")
        .get(provider) as { n: number };
      db.close();
      const problem =
        stored.n !== delivered || paid.n !== delivered
          ? `Of ${delivered} answered deliveries the helper stored ${stored.n} as matched callbacks and ${paid.n} of their sessions are paid: not a valid figure.`
          : undefined;
      pairs.push({
        metric: provider === 'repay' ? 'Repay webhook (verified)' : 'BoxExchanger IPN (verified)',
        runs,
        ...(problem ? { problem } : {}),
        minShare: 0.08,
        note:
          (provider === 'repay'
            ? `Repay callbacks (JSON, md5 signature) for ${POOL.toLocaleString('en-US')} open sessions, each delivered once: verified, stored raw, applied.`
            : `BoxExchanger IPNs (form-encoded, sha256 with each order's own ipnSecret) for ${POOL.toLocaleString('en-US')} open sessions, each delivered once: verified, stored raw, re-read from the fake provider (order/get, unsigned: the order's secret is its credential, so no nonce and no lock) and applied.`) +
          ` Helper rounds stop before any delivery repeats; bare rounds replay the same bodies for ${DURATION} s. ` +
          workNote(runs, 'one hash, raw body stored and session updated in one transaction, one status query'),
      });
      log(`helper: ${provider} webhook ${aggregate(runs.helper).rps.toFixed(0)} req/s vs bare ${aggregate(runs.bare).rps.toFixed(0)}`);
    }
    const stats = await json<{ counts: Record<string, number>; unknown: Record<string, number> }>(`${fake.ready.url}/__bench/stats`);
    for (const pair of pairs) rows.push(...pairRows(pair));
    if (Object.keys(stats.unknown).length) {
      rows[0]!.note += ` The helper called unknown fake-provider routes: ${JSON.stringify(stats.unknown)}.`;
    }
    const bareRss = rssOf(bare.pid);
    await helper.stop();

    // RSS after 10,000 sessions, in a fresh helper process (as `npm run server` runs it: plain Node, compiled JS).
    const fresh = await startChild<{ url: string }>('servers/helper.mjs', { ...helperEnv(fake.ready.url, join(dataDir, 'rss.sqlite')), BENCH_HELPER_DIST: compiled.dir }, {
      nodeArgs: ['--expose-gc'],
    });
    started.push(fresh);
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssOf(fresh.pid);
    const created = await createSessions(fresh.ready.url, 'repay', RSS_SESSIONS);
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssOf(fresh.pid);
    // Diagnostic only (after the RSS reading): what a full GC leaves, i.e. what the sessions really retain.
    fresh.send({ cmd: 'memory' });
    const memory = (await fresh.next()).memory as { before: NodeJS.MemoryUsage; after?: NodeJS.MemoryUsage };
    const limit = 150_000_000;
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    log(`helper: RSS ${mb(after)} after ${RSS_SESSIONS} sessions (idle ${mb(idle)})`);
    rows.push(
      row({
        group: 'helper',
        metric: `RSS after ${RSS_SESSIONS.toLocaleString('en-US')} sessions`,
        value: after,
        unit: 'B',
        baseline: idle,
        baselineLabel: 'same helper idle',
        target: '< 150 MB',
        verdict: created.length < RSS_SESSIONS ? 'error' : after < limit ? 'pass' : 'miss',
        note:
          `VmRSS of a fresh helper process (plain Node on the compiled helper, as npm run server) after ${created.length.toLocaleString('en-US')} POST /sessions at concurrency ${CONNECTIONS}. ` +
          `V8 heap then: ${mb(memory.before.heapTotal)} reserved, ${mb(memory.before.heapUsed)} used, ${memory.after ? mb(memory.after.heapUsed) : '?'} used after a full GC (retained). ` +
          `Bare node:http (also under tsx) after its runs: ${mb(bareRss)}. MB = 10^6 bytes.` +
          (after >= limit ? ` Over by ${mb(after - limit)}.` : ''),
        detail: { idle, after, memory },
      }),
    );
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
    removeData();
    compiled.remove();
  }
  return rows;
}
