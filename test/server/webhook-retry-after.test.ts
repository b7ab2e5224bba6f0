// A receiver that answers 429 Too Many Requests or 503 Service Unavailable with `Retry-After` is not tried again
// before that time (seconds or an HTTP date), capped at the retry schedule's longest step; a 410 Gone is retried like
// any other failure. Real HTTP to a receiver on 127.0.0.1, the real SQLite outbox, the sender driven pass by pass.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { DeliveryConfig } from '../../server-example/config.js';
import type { Logger } from '../../server-example/logger.js';
import { DeliverySender, retryAfterMs } from '../../server-example/merchant-webhooks/sender.js';
import { generateWebhookSecret } from '../../server-example/merchant-webhooks/signing.js';
import { SqliteStore } from '../../server-example/store.js';
import { sessionRecord } from './session-records.js';

const SECRET = generateWebhookSecret();
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const MINUTE = 60_000;

/** The receiver: each path answers with its own function; every request is counted per path. */
let server: Server;
let base = '';
const answers = new Map<string, (response: ServerResponse) => void>();
const hits = new Map<string, number>();
before(async () => {
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      const path = request.url ?? '';
      hits.set(path, (hits.get(path) ?? 0) + 1);
      (answers.get(path) ?? ((r: ServerResponse) => r.writeHead(204).end()))(response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

let dir = '';
let store: SqliteStore;
let counter = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pay-checkout-retry-after-'));
  store = new SqliteStore(join(dir, 'checkout.sqlite'));
  answers.clear();
  hits.clear();
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One queued payment.paid for `path` on the receiver; returns its delivery id. */
async function queue(path: string): Promise<string> {
  const id = `dlv_ra${++counter}`;
  const row = sessionRecord({ orderId: `A-retry-after-${counter}` });
  await store.insertSession(row);
  await store.mutate(row.id, () => ({
    patch: { status: 'paid' },
    deliveries: [{ id, messageId: `msg_ra${counter}`, eventType: 'payment.paid', sessionId: row.id, orderId: row.orderId, target: `${base}${path}`, payload: '{"type":"payment.paid"}', createdAt: Date.now() - 1_000 }],
  }));
  return id;
}

function sender(retryDelaysMs: number[]): DeliverySender {
  const delivery: DeliveryConfig = { timeoutMs: 2_000, retryDelaysMs, intervalMs: 1_000 };
  return new DeliverySender({ store, delivery, webhooks: { urls: [], secrets: [SECRET] }, log: silent });
}

/** One pass now; the delivery's next attempt as a delay from the pass (bounds: the pass's start and end). */
async function attempt(send: DeliverySender, id: string): Promise<{ earliest: number; latest: number; nextAttemptAt: number | null; status: string }> {
  const started = Date.now();
  await send.tick(started);
  const ended = Date.now();
  const record = await store.getDelivery(id);
  assert.ok(record);
  const next = record.nextAttemptAt;
  return { earliest: next === null ? NaN : next - ended, latest: next === null ? NaN : next - started, nextAttemptAt: next, status: record.status };
}

describe('Retry-After on a webhook answer', () => {
  it('waits at least the seconds of a 429\'s Retry-After, then sends again at that time', async () => {
    answers.set('/busy', (response) => response.writeHead(429, { 'retry-after': '120' }).end());
    const id = await queue('/busy');
    const send = sender([1_000, 10 * MINUTE]);
    const first = await attempt(send, id);
    assert.equal(hits.get('/busy'), 1);
    assert.equal(first.status, 'pending');
    // The schedule says about 1 s; the receiver asked for 2 minutes.
    assert.ok(first.earliest >= 119_000 && first.latest <= 121_000, `next attempt in ${first.earliest}–${first.latest} ms`);
    // Not sent before then…
    await send.tick(first.nextAttemptAt! - 1);
    assert.equal(hits.get('/busy'), 1);
    // …and sent at that time, the same delivery.
    answers.set('/busy', (response) => response.writeHead(204).end());
    await send.tick(first.nextAttemptAt!);
    assert.equal(hits.get('/busy'), 2);
    assert.equal((await store.getDelivery(id))?.status, 'delivered');
  });

  it('reads a 503\'s Retry-After given as an HTTP date', async () => {
    const at = new Date(Math.ceil((Date.now() + 5 * MINUTE) / 1000) * 1000);
    answers.set('/maintenance', (response) => response.writeHead(503, { 'retry-after': at.toUTCString() }).end());
    const id = await queue('/maintenance');
    const first = await attempt(sender([1_000, 10 * MINUTE]), id);
    assert.ok(Math.abs(first.nextAttemptAt! - at.getTime()) <= 1_000, `next attempt at ${new Date(first.nextAttemptAt!).toISOString()}, asked ${at.toISOString()}`);
  });

  it('caps a Retry-After at the schedule\'s longest step; a shorter one does not hurry the schedule, and a 410 is retried as usual', async () => {
    answers.set('/week', (response) => response.writeHead(429, { 'retry-after': String(7 * 86_400) }).end());
    answers.set('/soon', (response) => response.writeHead(503, { 'retry-after': '1' }).end());
    answers.set('/gone', (response) => response.writeHead(410).end());
    const week = await queue('/week');
    const soon = await queue('/soon');
    const gone = await queue('/gone');
    const send = sender([1_000, 10 * MINUTE]);
    const started = Date.now();
    await send.tick(started);
    const ended = Date.now();
    const delay = async (id: string) => {
      const record = await store.getDelivery(id);
      assert.equal(record?.status, 'pending', `${id} waits for another attempt`);
      return { min: record.nextAttemptAt! - ended, max: record.nextAttemptAt! - started };
    };
    const capped = await delay(week);
    // The delay was measured from a moment within the pass: exactly the longest step.
    assert.ok(capped.min <= 10 * MINUTE && capped.max >= 10 * MINUTE, `capped at the longest step, got ${capped.min}–${capped.max} ms`);
    // 1 s asked, about 1 s scheduled (±10 %): the schedule stands.
    const onSchedule = (range: { min: number; max: number }) => range.min <= 1_100 && range.max >= 900 && range.min < 2_000;
    const short = await delay(soon);
    assert.ok(onSchedule(short), `on schedule, got ${short.min}–${short.max} ms`);
    // A 410 Gone is a failure like any other: retried on the schedule, never dropped.
    const goneDelay = await delay(gone);
    assert.ok(onSchedule(goneDelay), `on schedule, got ${goneDelay.min}–${goneDelay.max} ms`);
  });

  it('reads Retry-After as delay-seconds or an HTTP date, and ignores anything else', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    assert.equal(retryAfterMs('0', now), 0);
    assert.equal(retryAfterMs(' 30 ', now), 30_000);
    assert.equal(retryAfterMs('Tue, 01 Dec 2026 10:02:00 GMT', now), 120_000);
    assert.equal(retryAfterMs('Tue, 01 Dec 2026 09:00:00 GMT', now), 0, 'a date in the past: no wait');
    for (const value of [null, '', '-5', '1.5', '12abc', 'soon', 'Tue, 99 Foo 2026 10:00:00 GMT']) assert.equal(retryAfterMs(value, now), undefined, String(value));
  });
});
