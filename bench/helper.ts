/**
 * Helper throughput and latency with autocannon (concurrency 50, loopback), each figure beside a bare `node:http`
 * server answering the very same requests with the same settings in the same run, and the helper's RSS after
 * 10,000 sessions. Servers run in child processes; autocannon runs here.
 *
 * The provider "answers instantly": a fake Repay / BoxExchanger API in a third process (bench/servers/
 * fake-provider.ts) that the helper reaches through its real-provider settings over loopback.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_ACCOUNTS } from '../server-example/sandbox/accounts.js';
import { rssOf, startChild, type Child } from './lib/proc.js';
import { row, type Row } from './lib/report.js';

const CONNECTIONS = 50;
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const POOL = Number(process.env.BENCH_WEBHOOK_POOL ?? 5000);
const RSS_SESSIONS = 10_000;
const ORIGIN = 'http://127.0.0.1:5173';
const SESSION_SECRET = 'bench-session-secret-0123456789abcdef0123';
const API = '/api/checkout';

/** Real-provider settings for Repay and BoxExchanger, pointed at the fake provider. */
function helperEnv(fakeUrl: string, databasePath: string): Record<string, string> {
  const repay = SANDBOX_ACCOUNTS.repay;
  const box = SANDBOX_ACCOUNTS.boxexchanger;
  return {
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

interface Shape {
  method: 'GET' | 'POST';
  /** Called once per request: path, headers and body. */
  next(): { path: string; headers: Record<string, string>; body?: string };
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
}

async function load(url: string, shape: Shape, run: { duration?: number; amount?: number }): Promise<Load> {
  const request: AutocannonRequest = {
    method: shape.method,
    setupRequest: (req) => {
      const next = shape.next();
      return { ...req, method: shape.method, path: next.path, headers: next.headers, body: next.body ?? '' };
    },
  };
  const result: AutocannonResult = await autocannon({
    url,
    connections: CONNECTIONS,
    pipelining: 1,
    timeout: 10,
    ...(run.amount ? { amount: run.amount } : { duration: run.duration ?? DURATION }),
    requests: [request],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = stat.count;
  const completed = result.requests.total;
  return {
    // With a fixed amount the run is short: total / duration is the honest rate; average is per-second samples.
    rps: run.amount ? completed / (result.duration || 1) : result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: completed,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

let counter = 0;
const runId = Date.now().toString(36).slice(-5);
function orderId(sku = 'tea'): string {
  counter++;
  return `${sku}-b${runId}${counter.toString(36).padStart(6, '0')}`;
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
function repayWebhooks(deals: RepayDeal[]): { path: string; headers: Record<string, string>; body: string }[] {
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
function boxIpns(orders: BoxOrder[]): { path: string; headers: Record<string, string>; body: string }[] {
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

function listShape(method: 'GET' | 'POST', items: { path: string; headers: Record<string, string>; body?: string }[]): Shape {
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
  helper: Load;
  bare: Load;
  minShare: number | null;
  note: string;
}

function pairRows(pair: Pair): Row[] {
  const share = pair.helper.rps / pair.bare.rps;
  const problems: string[] = [];
  if (pair.helper.non2xx || pair.helper.errors) {
    problems.push(`helper answered ${pair.helper.non2xx} non-2xx / ${pair.helper.errors} errors of ${pair.helper.requests} (${JSON.stringify(pair.helper.statusCodes)}): figures are not valid`);
  }
  const valid = problems.length === 0;
  const missBy = pair.minShare !== null && share < pair.minShare ? ` ${((pair.minShare - share) * 100).toFixed(0)} points under the target.` : '';
  return [
    row({
      group: 'helper',
      metric: `${pair.metric}, throughput`,
      value: pair.helper.rps,
      unit: 'req/s',
      baseline: pair.bare.rps,
      baselineLabel: 'bare node:http',
      target: pair.minShare === null ? '' : `≥ ${pair.minShare * 100} % of bare`,
      verdict: !valid ? 'error' : pair.minShare === null ? 'info' : share >= pair.minShare ? 'pass' : 'miss',
      note: [pair.note, ...problems].join(' ') + missBy,
      detail: { helper: pair.helper, bare: pair.bare },
    }),
    row({
      group: 'helper',
      metric: `${pair.metric}, p50 latency`,
      value: pair.helper.p50,
      unit: 'ms',
      baseline: pair.bare.p50,
      baselineLabel: 'bare node:http',
      target: '',
      verdict: 'info',
      note: '',
    }),
    row({
      group: 'helper',
      metric: `${pair.metric}, p99 latency`,
      value: pair.helper.p99,
      unit: 'ms',
      baseline: pair.bare.p99,
      baselineLabel: 'bare node:http',
      target: '',
      verdict: 'info',
      note: '',
    }),
  ];
}

export async function measureHelper(log: (line: string) => void): Promise<Row[]> {
  const rows: Row[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'pay-checkout-bench-helper-'));
  const started: Child<unknown>[] = [];
  try {
    const fake = await startChild<{ url: string }>('servers/fake-provider.ts');
    started.push(fake);
    const bare = await startChild<{ url: string }>('servers/bare.ts');
    started.push(bare);
    const helper = await startChild<{ url: string }>('servers/helper.ts', helperEnv(fake.ready.url, join(dataDir, 'throughput.sqlite')));
    started.push(helper);
    const H = helper.ready.url;
    const B = bare.ready.url;
    log(`helper: listening at ${H}, bare at ${B}, fake provider at ${fake.ready.url}`);

    // Warm both servers up with the request they serve first (JIT, SQLite pages, connection pools).
    await load(H, createShape('repay'), { duration: WARMUP });
    await load(B, createShape('repay'), { duration: WARMUP });

    const pairs: Pair[] = [];
    // POST /sessions: a distinct order id and Idempotency-Key per request, so every request creates a deal.
    {
      const bareLoad = await load(B, createShape('repay'), {});
      const helperLoad = await load(H, createShape('repay'), {});
      pairs.push({
        metric: 'POST /sessions (Repay)',
        helper: helperLoad,
        bare: bareLoad,
        minShare: 0.3,
        note: `Each request a new order and Idempotency-Key: the helper resolves the order, signs and calls the fake Repay API (separate process, instant canned answer) and writes SQLite (file, WAL). ${DURATION} s, ${CONNECTIONS} connections.`,
      });
      log(`helper: POST /sessions ${helperLoad.rps.toFixed(0)} req/s vs bare ${bareLoad.rps.toFixed(0)}`);
    }
    // GET /sessions/:id over a pool of sessions, each with its own bearer token.
    {
      const pool = await createSessions(H, 'repay', 1000);
      const items = pool.map((s) => ({ path: `${API}/sessions/${s.id}`, headers: { authorization: `Bearer ${s.token}` } }));
      const bareLoad = await load(B, listShape('GET', items), {});
      const helperLoad = await load(H, listShape('GET', items), {});
      pairs.push({
        metric: 'GET /sessions/:id',
        helper: helperLoad,
        bare: bareLoad,
        minShare: null,
        note: `Round-robin over 1,000 open sessions with their bearer tokens; ${DURATION} s.`,
      });
      log(`helper: GET /sessions/:id ${helperLoad.rps.toFixed(0)} req/s vs bare ${bareLoad.rps.toFixed(0)}`);
    }
    // Verified webhooks: one first delivery per session (no replays), signed like the provider signs.
    for (const provider of ['repay', 'boxexchanger'] as const) {
      await createSessions(H, provider, POOL);
      await json(`${fake.ready.url}/__bench/pay-all`, { method: 'POST' });
      const items =
        provider === 'repay'
          ? repayWebhooks((await json<RepayDeal[]>(`${fake.ready.url}/__bench/repay-deals`)).slice(-POOL))
          : boxIpns((await json<BoxOrder[]>(`${fake.ready.url}/__bench/box-orders`)).slice(-POOL));
      const bareLoad = await load(B, listShape('POST', items), { amount: items.length });
      const helperLoad = await load(H, listShape('POST', items), { amount: items.length });
      pairs.push({
        metric: provider === 'repay' ? 'Repay webhook (verified)' : 'BoxExchanger IPN (verified)',
        helper: helperLoad,
        bare: bareLoad,
        minShare: 0.4,
        note:
          provider === 'repay'
            ? `${items.length.toLocaleString('en-US')} first deliveries, one per open session: md5 signature checked, stored raw, status confirmed (fake provider) and applied.`
            : `${items.length.toLocaleString('en-US')} first deliveries, one per open session: form-encoded, sha256 with the order's own ipnSecret, re-read from the fake provider and applied.`,
      });
      log(`helper: ${provider} webhook ${helperLoad.rps.toFixed(0)} req/s vs bare ${bareLoad.rps.toFixed(0)}`);
    }
    const stats = await json<{ counts: Record<string, number>; unknown: Record<string, number> }>(`${fake.ready.url}/__bench/stats`);
    for (const pair of pairs) rows.push(...pairRows(pair));
    if (Object.keys(stats.unknown).length) {
      rows[0]!.note += ` The helper called unknown fake-provider routes: ${JSON.stringify(stats.unknown)}.`;
    }
    const bareRss = rssOf(bare.pid);
    await helper.stop();

    // RSS after 10,000 sessions, in a fresh helper process.
    const fresh = await startChild<{ url: string }>('servers/helper.ts', helperEnv(fake.ready.url, join(dataDir, 'rss.sqlite')));
    started.push(fresh);
    await new Promise((r) => setTimeout(r, 500));
    const idle = rssOf(fresh.pid);
    const created = await load(fresh.ready.url, createShape('repay'), { amount: RSS_SESSIONS });
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssOf(fresh.pid);
    const limit = 150_000_000;
    log(`helper: RSS ${(after / 1e6).toFixed(1)} MB after ${RSS_SESSIONS} sessions (idle ${(idle / 1e6).toFixed(1)} MB)`);
    rows.push(
      row({
        group: 'helper',
        metric: `RSS after ${RSS_SESSIONS.toLocaleString('en-US')} sessions`,
        value: after,
        unit: 'B',
        baseline: idle,
        baselineLabel: 'same helper idle',
        target: '< 150 MB',
        verdict: created.non2xx || created.errors ? 'error' : after < limit ? 'pass' : 'miss',
        note:
          `VmRSS of a fresh helper process after ${created.requests.toLocaleString('en-US')} POST /sessions (${created.non2xx} non-2xx); bare node:http after its runs: ${(bareRss / 1e6).toFixed(1)} MB. MB = 10^6 bytes.` +
          (after >= limit ? ` Over by ${((after - limit) / 1e6).toFixed(1)} MB.` : ''),
      }),
    );
  } finally {
    for (const child of started.reverse()) await child.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}
