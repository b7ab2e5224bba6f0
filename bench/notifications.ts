/**
 * Merchant notifications, beside baselines from the same run:
 * - delivery throughput: the outbox sender draining N queued `payment.paid` deliveries to a local receiver, against a
 *   bare loop doing only the unavoidable work (sign with standardwebhooks, POST, same concurrency);
 * - latency from a provider callback to the merchant webhook (p50 / p99): the sandbox's "pay" press sends Repay's
 *   signed callback and waits for the helper's answer (the baseline: callback handling alone); the figure is the
 *   time until the merchant's endpoint has the signed `payment.paid`.
 * The helper runs in this process (startServer, SQLite, test mode); the receiver answers 200 at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startServer } from '../server-example/index.js';
import { signWebhook } from '../server-example/merchant-webhooks/signing.js';
import { pressButton } from '../server-example/sandbox/testing.js';
import { row, type Row } from './lib/report.js';
import { percentile, round } from './lib/stats.js';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const QUEUED = Number(process.env.BENCH_NOTIFY_QUEUED ?? 2000);
const PAYMENTS = Number(process.env.BENCH_NOTIFY_PAYMENTS ?? 60);
const CONCURRENCY = 50;

interface Receiver {
  url: string;
  count: number;
  /** Resolves when `count` requests have arrived. */
  until(count: number): Promise<void>;
  /** Arrival times (performance.now()) by order id, for payment.paid events. */
  paidAt: Map<string, number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const receiver: Receiver = {
    url: '',
    count: 0,
    paidAt: new Map(),
    until: (count) => new Promise((resolve) => (receiver.count >= count ? resolve() : waiters.push({ count, resolve }))),
    close: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.writeHead(200).end();
      receiver.count++;
      const body = Buffer.concat(chunks).toString('utf8');
      if (body.includes('"payment.paid"')) {
        const orderId = /"orderId":"([^"]+)"/.exec(body)?.[1];
        if (orderId && !receiver.paidAt.has(orderId)) receiver.paidAt.set(orderId, performance.now());
      }
      for (const waiter of waiters.filter((item) => receiver.count >= item.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** The floor: sign and POST QUEUED bodies of the same size, CONCURRENCY at a time. */
async function bareDeliveries(receiver: Receiver, body: string): Promise<number> {
  const start = receiver.count;
  const began = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < QUEUED) {
        next++;
        const response = await fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', ...signWebhook(SECRET, body) }, body });
        await response.body?.cancel();
      }
    }),
  );
  await receiver.until(start + QUEUED);
  return QUEUED / ((performance.now() - began) / 1000);
}

export async function measureNotifications(log: (line: string) => void): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-bench-notify-'));
  const receiver = await startReceiver();
  const server = await startServer({
    port: 0,
    env: { DATABASE_PATH: join(dir, 'checkout.sqlite'), LOG_LEVEL: 'error', MERCHANT_WEBHOOK_URL: receiver.url, MERCHANT_WEBHOOK_SECRET: SECRET, CHECKOUT_PROVIDERS: 'repay' },
  });
  try {
    const { store, deliveries } = server.app.checkout;
    // Latency: one payment at a time, so each figure is the path's own time.
    log(`notifications: ${PAYMENTS} payments, callback → merchant webhook`);
    const handled: number[] = [];
    const delivered: number[] = [];
    for (let index = 0; index < PAYMENTS; index++) {
      const orderId = `tea-lat${index}x`;
      const response = await fetch(`${server.url}/api/checkout/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId }) });
      const session = (await response.json()) as { paymentUrl: string };
      const began = performance.now();
      await pressButton(session.paymentUrl, 'pay');
      handled.push(performance.now() - began);
      while (!receiver.paidAt.has(orderId)) await new Promise((resolve) => setTimeout(resolve, 1));
      delivered.push(receiver.paidAt.get(orderId)! - began);
    }

    // Throughput: QUEUED deliveries written straight to the outbox, then drained by the sender.
    log(`notifications: draining ${QUEUED} queued deliveries`);
    await deliveries.stop();
    const [sample] = await store.listDeliveries({ status: 'delivered', limit: 1 });
    const body = sample!.payload;
    for (let index = 0; index < QUEUED; index++) {
      const id = `cs_${String(index).padStart(22, '0')}`;
      const now = Date.now();
      await store.insertSession({
        id, orderId: `bench-${index}`, provider: 'repay', method: 'sbp', status: 'pending', amountMinor: 65000, currency: 'RUB', description: null,
        customerRef: 'bench', locale: null, storefrontOrigin: 'http://127.0.0.1', returnUrl: null, providerPaymentId: null, paymentUrl: null,
        providerStatus: null, providerData: {}, paidAmountMinor: null, errorCode: null, paidAt: null, statusReadAt: null, createdAt: now, updatedAt: now, expiresAt: now + 60_000,
        nextPollAt: null, pollAttempts: 0, lastPolledAt: null,
      });
      await store.mutate(id, () => ({
        deliveries: [{ id: `dlv_bench${index}`, messageId: `msg_bench${index}`, eventType: 'payment.paid', sessionId: id, orderId: `bench-${index}`, target: receiver.url, payload: body, createdAt: now }],
      }));
    }
    const before = receiver.count;
    const began = performance.now();
    deliveries.start();
    await receiver.until(before + QUEUED);
    const helperRate = QUEUED / ((performance.now() - began) / 1000);
    const bareRate = await bareDeliveries(receiver, body);

    const p50 = percentile(delivered, 50);
    const p99 = percentile(delivered, 99);
    return [
      row({
        group: 'helper',
        metric: 'merchant webhook deliveries from the outbox',
        value: round(helperRate, 0),
        unit: 'req/s',
        baseline: round(bareRate, 0),
        baselineLabel: 'bare signed POSTs, same concurrency',
        target: '—',
        verdict: 'info',
        note: `${QUEUED} queued deliveries, one per session, to a local receiver answering 200`,
      }),
      row({
        group: 'helper',
        metric: 'provider callback → merchant webhook, p50',
        value: round(p50, 1),
        unit: 'ms',
        baseline: round(percentile(handled, 50), 1),
        baselineLabel: 'callback handled (sandbox pay press), p50',
        target: '—',
        verdict: 'info',
        note: `${PAYMENTS} sandbox payments one at a time; includes the status re-read and the signed POST`,
        detail: { delivered, handled },
      }),
      row({
        group: 'helper',
        metric: 'provider callback → merchant webhook, p99',
        value: round(p99, 1),
        unit: 'ms',
        baseline: round(percentile(handled, 99), 1),
        baselineLabel: 'callback handled (sandbox pay press), p99',
        target: '—',
        verdict: 'info',
        note: '',
      }),
    ];
  } finally {
    await server.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
