/**
 * The demo shop's own backend (Node only, no framework): what a merchant's server does with pay-checkout.
 *
 *   POST /shop/webhooks                 the helper's signed notifications (Standard Webhooks). Verified with the
 *                                       `standardwebhooks` package's own `Webhook` verifier over the raw body — not
 *                                       with the helper's signing code — then deduplicated by `webhook-id`; only
 *                                       then do they change the shop's orders. A bad signature is refused (401) and
 *                                       changes nothing.
 *   POST /shop/orders                   `{ orderId }`: the storefront starts a purchase (the order is also created
 *                                       by its first webhook, whichever comes first)
 *   GET  /shop/orders                   `{ orders }`, newest first: the shop's view, with the webhooks it received
 *   GET  /shop/orders/:orderId          one order
 *   POST /shop/orders/:orderId/resolve  `{ sessionId, status: paid|refunded|failed, note }`: a person settles a held
 *                                       payment. Proxied to the helper's merchant API with MERCHANT_API_KEY, which
 *                                       never leaves this process; the order itself changes only when the
 *                                       resulting webhook arrives.
 *
 * The orders live in one JSON file (written atomically after every change, before the webhook is answered), so a
 * restart keeps them and the webhook ids already seen. An order is `paid` — ship it — when any of its payment
 * sessions is paid, as the webhooks say; the browser's `pay-success` plays no part in it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { HeldResolution, MerchantEventType, SessionStatus } from '../contract/index.js';
import { DEMO_PRODUCTS } from '../server-example/demo-catalogue.js';

/**
 * The shop's order status, derived from the payment sessions the webhooks told it about: `new` until a session
 * settles, then the settled session's status (contract/index.d.ts).
 */
export type ShopOrderStatus = 'new' | Exclude<SessionStatus, 'created' | 'pending'>;

/** One webhook as the shop received it. */
export interface ReceivedWebhook {
  /** The `webhook-id` header (= the event's `id`). */
  webhookId: string;
  type: string;
  receivedAt: string;
  /** When the helper made the event. */
  createdAt: string | null;
  sessionId: string | null;
  sessionStatus: string | null;
  previousStatus: string | null;
  reason: string | null;
  note?: string;
  /** The order's status right after this event. */
  orderStatus: ShopOrderStatus;
}

/** What the shop keeps of one payment session: its last status as told by the webhooks. */
export interface KnownSession {
  id: string;
  status: string;
  provider: string | null;
  method: string | null;
  amount: string | null;
  paidAmount: string | null;
  errorCode: string | null;
  updatedAt: string;
}

export interface ShopOrder {
  orderId: string;
  sku: string | null;
  title: { ru: string; en: string } | null;
  /** Decimal string, from the shop's own catalogue. */
  amount: string | null;
  currency: string;
  status: ShopOrderStatus;
  /** Who told the shop first: the storefront starting the purchase, or a webhook. */
  createdBy: 'storefront' | 'webhook';
  createdAt: string;
  updatedAt: string;
  /** When the shop learned the order is paid (and would ship it). */
  paidAt: string | null;
  /** `order.paid_twice` arrived: a person must refund one of the two payments. */
  paidTwice: boolean;
  sessions: Record<string, KnownSession>;
  /** Oldest first. */
  webhooks: ReceivedWebhook[];
}

interface ShopFile {
  version: 1;
  orders: Record<string, ShopOrder>;
  /** Every `webhook-id` processed, in order (a retry of one of them is answered 200 and changes nothing). */
  seenWebhookIds: string[];
}

export interface ShopBackendOptions {
  /** The JSON file the orders are kept in (created with its directory). */
  dataFile: string;
  /** `whsec_…`: the same value the helper gets as MERCHANT_WEBHOOK_SECRET. */
  webhookSecret: string;
  /** The helper's merchant API, e.g. `http://127.0.0.1:8787/api/checkout/merchant`. */
  merchantApiUrl: string;
  /** The helper's MERCHANT_API_KEY: used only here, never sent to a browser. */
  merchantApiKey: string;
  /** Browser origins allowed to POST orders and resolutions (a request with another Origin is refused). */
  allowedOrigins?: readonly string[];
  log?: (message: string) => void;
}

export interface ShopBackend {
  url: string;
  server: Server;
  /** The shop's orders, as persisted. */
  orders(): ShopOrder[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 256 * 1024;
const RESOLUTIONS: readonly HeldResolution[] = ['paid', 'refunded', 'failed'];
const ORDER_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const SESSION_STATUSES_BY_EVENT: Record<MerchantEventType, SessionStatus> = {
  'payment.paid': 'paid',
  'payment.revived': 'paid',
  'payment.reinstated': 'paid',
  'payment.held': 'held',
  'order.paid_twice': 'held',
  'payment.failed': 'failed',
  'payment.cancelled': 'cancelled',
  'payment.expired': 'expired',
  'payment.refunded': 'refunded',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

export interface ShopSecrets {
  /** `whsec_` + base64 of 32 random bytes. */
  webhookSecret: string;
  /** 43 random base64url characters. */
  merchantApiKey: string;
}

/**
 * The webhook secret and merchant API key the demo shop shares with its helper: made on first run and kept in
 * `file` (mode 0600), so the helper's pending notifications, the shop and a `curl` by hand agree across restarts.
 */
export function loadOrCreateShopSecrets(file: string): ShopSecrets {
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShopSecrets>;
    if (typeof stored.webhookSecret === 'string' && typeof stored.merchantApiKey === 'string') {
      return { webhookSecret: stored.webhookSecret, merchantApiKey: stored.merchantApiKey };
    }
  }
  const secrets: ShopSecrets = {
    webhookSecret: `whsec_${randomBytes(32).toString('base64')}`,
    merchantApiKey: randomBytes(32).toString('base64url'),
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  return secrets;
}

// ---------------------------------------------------------------------------------------------------------------
// Orders

function loadFile(path: string): ShopFile {
  if (!existsSync(path)) return { version: 1, orders: {}, seenWebhookIds: [] };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ShopFile>;
  return {
    version: 1,
    orders: parsed.orders && typeof parsed.orders === 'object' ? parsed.orders : {},
    seenWebhookIds: Array.isArray(parsed.seenWebhookIds) ? parsed.seenWebhookIds : [],
  };
}

/** Written to a temporary file and renamed over the old one: a crash leaves the old or the new file, never half. */
function saveFile(path: string, data: ShopFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(temporary, path);
}

function productOf(orderId: string) {
  return DEMO_PRODUCTS.find((product) => orderId.startsWith(`${product.sku}-`));
}

function newOrder(orderId: string, createdBy: ShopOrder['createdBy'], now: string): ShopOrder {
  const product = productOf(orderId);
  return {
    orderId,
    sku: product?.sku ?? null,
    title: product ? { ru: product.title.ru, en: product.title.en } : null,
    amount: product ? product.price.toFixed(2) : null,
    currency: product?.currency ?? 'RUB',
    status: 'new',
    createdBy,
    createdAt: now,
    updatedAt: now,
    paidAt: null,
    paidTwice: false,
    sessions: {},
    webhooks: [],
  };
}

/** Paid if any session is paid (ship), else held if any is held (a person looks), else the latest session's end. */
function deriveStatus(order: ShopOrder): ShopOrderStatus {
  const sessions = Object.values(order.sessions);
  if (sessions.some((session) => session.status === 'paid')) return 'paid';
  if (sessions.some((session) => session.status === 'held')) return 'held';
  const latest = sessions.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  switch (latest?.status) {
    case 'failed':
    case 'cancelled':
    case 'expired':
    case 'refunded':
      return latest.status;
    default:
      return 'new';
  }
}

/**
 * A payment ships only at the order's price, in its currency: another amount counts as held for a person to look at,
 * unless a person already did (`reason: "manual"`: they accepted that payment).
 */
function paidAsOrdered(order: ShopOrder, session: Record<string, unknown>, status: string, reason: string | null): string {
  if (status !== 'paid' || reason === 'manual' || order.amount === null) return status;
  return session.amount === order.amount && session.currency === order.currency ? 'paid' : 'held';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'payload_too_large', 'The body is too large.'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolveBody(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status, { 'cache-control': 'no-store' }).end();
    return;
  }
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(text);
}

function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function parseJsonObject(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'invalid_json', 'The body is not JSON.');
  }
  if (!isRecord(value)) throw new HttpError(400, 'invalid_json', 'The body must be a JSON object.');
  return value;
}

export function createShopBackend(options: ShopBackendOptions): Omit<ShopBackend, 'url' | 'close'> & {
  handle(request: IncomingMessage, response: ServerResponse): void;
} {
  const verifier = new Webhook(options.webhookSecret);
  const data = loadFile(options.dataFile);
  const seen = new Set(data.seenWebhookIds);
  const log = options.log ?? (() => undefined);
  const allowedOrigins = new Set(options.allowedOrigins ?? []);

  const save = () => saveFile(options.dataFile, data);

  const listOrders = () => Object.values(data.orders).sort((a, b) => b.createdAt.localeCompare(a.createdAt));

  /** A browser's state-changing request: JSON only (so a cross-site form cannot send it) from an allowed origin. */
  function checkBrowserPost(request: IncomingMessage): void {
    const type = header(request, 'content-type');
    if (!/^application\/json\s*(;|$)/i.test(type.trim())) {
      throw new HttpError(415, 'unsupported_media_type', 'Send JSON (Content-Type: application/json).');
    }
    const origin = header(request, 'origin');
    if (origin && allowedOrigins.size > 0 && !allowedOrigins.has(origin)) {
      throw new HttpError(403, 'origin_not_allowed', `Origin ${origin} may not change the shop's orders.`);
    }
  }

  function receiveWebhook(raw: Buffer, request: IncomingMessage): { status: number; body?: unknown } {
    const headers = {
      'webhook-id': header(request, 'webhook-id'),
      'webhook-timestamp': header(request, 'webhook-timestamp'),
      'webhook-signature': header(request, 'webhook-signature'),
    };
    try {
      // The signature over the raw bytes exactly as received, and the timestamp (within 5 minutes of now).
      verifier.verify(raw, headers, { jsonParse: false });
    } catch (error) {
      log(`[shop] refused a webhook: ${error instanceof Error ? error.message : String(error)}`);
      throw new HttpError(401, 'invalid_signature', 'The webhook signature does not verify.');
    }
    const webhookId = headers['webhook-id'];
    if (seen.has(webhookId)) return { status: 200, body: { duplicate: true } };
    const event = parseJsonObject(raw);
    if (typeof event.type !== 'string' || !isRecord(event.data)) {
      throw new HttpError(400, 'invalid_event', 'Not a pay-checkout event.');
    }
    const now = new Date().toISOString();
    const session = isRecord(event.data.session) ? event.data.session : undefined;
    const orderId = stringOrNull(session?.orderId);
    const sessionStatus = Object.hasOwn(SESSION_STATUSES_BY_EVENT, event.type) ? stringOrNull(session?.status) : null;
    if (orderId && ORDER_ID.test(orderId)) {
      const order = (data.orders[orderId] ??= newOrder(orderId, 'webhook', now));
      const sessionId = stringOrNull(session?.id);
      const updatedAt = stringOrNull(session?.updatedAt) ?? now;
      const kept = sessionId ? order.sessions[sessionId] : undefined;
      // Old news is recorded and changes nothing: an event a person had sent again (`redelivered`: a refunded order's
      // old payment.paid must not ship it again), or an older copy of the session than the one kept. An unknown type
      // changes nothing either.
      const old = event.data.redelivered === true || (kept !== undefined && Date.parse(updatedAt) < Date.parse(kept.updatedAt));
      if (sessionId && sessionStatus && !old) {
        order.sessions[sessionId] = {
          id: sessionId,
          status: paidAsOrdered(order, session!, sessionStatus, stringOrNull(event.data.reason)),
          provider: stringOrNull(session?.provider),
          method: stringOrNull(session?.method),
          amount: stringOrNull(session?.amount),
          paidAmount: stringOrNull(session?.paidAmount),
          errorCode: stringOrNull(session?.errorCode),
          updatedAt,
        };
      }
      if (event.type === 'order.paid_twice') order.paidTwice = true;
      order.status = deriveStatus(order);
      // Shipped once: a payment back from a hold (payment.reinstated), or a second session paid, ships nothing more;
      // after a refund the shipment was cancelled, and a new payment ships again.
      if (order.status === 'paid') order.paidAt ??= now;
      else if (order.status === 'refunded') order.paidAt = null;
      order.updatedAt = now;
      const note = stringOrNull(event.data.note);
      order.webhooks.push({
        webhookId,
        type: event.type,
        receivedAt: now,
        createdAt: stringOrNull(event.createdAt),
        sessionId,
        sessionStatus: stringOrNull(session?.status),
        previousStatus: stringOrNull(event.data.previousStatus),
        reason: stringOrNull(event.data.reason),
        ...(note !== null ? { note } : {}),
        orderStatus: order.status,
      });
      log(`[shop] ${event.type} (${webhookId}) → order ${orderId} is ${order.status}`);
    }
    seen.add(webhookId);
    data.seenWebhookIds.push(webhookId);
    // Persisted before the answer: a 2xx means the shop will not lose this event.
    save();
    return { status: 204 };
  }

  function startOrder(body: Record<string, unknown>): { status: number; body: unknown } {
    const orderId = body.orderId;
    if (typeof orderId !== 'string' || !ORDER_ID.test(orderId)) {
      throw new HttpError(400, 'invalid_field', 'orderId: letters, digits and . _ : - (at most 100).');
    }
    if (!productOf(orderId)) throw new HttpError(404, 'unknown_product', 'The order id names no product of the shop.');
    const existing = data.orders[orderId];
    if (existing) return { status: 200, body: existing };
    const order = newOrder(orderId, 'storefront', new Date().toISOString());
    data.orders[orderId] = order;
    save();
    return { status: 201, body: order };
  }

  async function merchantApi(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(`${options.merchantApiUrl}${path}`, {
        ...init,
        headers: { ...init.headers, authorization: `Bearer ${options.merchantApiKey}`, accept: 'application/json' },
        signal: AbortSignal.timeout(10_000),
      });
    } catch (error) {
      throw new HttpError(502, 'helper_unreachable', `The helper's merchant API did not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // An empty or non-JSON answer: the status says it.
    }
    return { status: response.status, body };
  }

  async function resolveHeld(orderId: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
    if (!data.orders[orderId]) throw new HttpError(404, 'unknown_order', 'The shop has no such order.');
    const { sessionId, status, note, version } = body;
    if (typeof sessionId !== 'string' || !/^[A-Za-z0-9_-]{1,100}$/.test(sessionId)) {
      throw new HttpError(400, 'invalid_field', 'sessionId is required.');
    }
    if (typeof status !== 'string' || !(RESOLUTIONS as readonly string[]).includes(status)) {
      throw new HttpError(400, 'invalid_field', 'status must be "paid", "refunded" or "failed".');
    }
    if (typeof note !== 'string' || note.trim() === '') throw new HttpError(400, 'invalid_field', 'note must say why.');
    if (version !== undefined && typeof version !== 'string') throw new HttpError(400, 'invalid_field', 'version must be the listed session\'s version.');
    // The session must belong to this order, as the helper (not the browser) says.
    const session = await merchantApi(`/sessions/${encodeURIComponent(sessionId)}`);
    if (session.status !== 200) return session;
    if (!isRecord(session.body) || session.body.orderId !== orderId) {
      throw new HttpError(404, 'unknown_session', 'This payment session is not one of the order.');
    }
    const result = await merchantApi(`/sessions/${encodeURIComponent(sessionId)}/resolve`, {
      method: 'POST',
      // The version the person decided on: the helper refuses the decision (412) if the payment changed since.
      headers: { 'content-type': 'application/json', ...(version ? { 'if-match': version } : {}) },
      body: JSON.stringify({ status, note: note.trim() }),
    });
    log(`[shop] resolve ${sessionId} of ${orderId} as ${status}: HTTP ${result.status}`);
    return result;
  }

  async function route(request: IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const url = new URL(request.url ?? '/', 'http://shop.invalid');
    const path = url.pathname.replace(/\/+$/, '');
    const method = request.method ?? 'GET';

    if (path === '/shop/webhooks') {
      if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only.');
      return receiveWebhook(await readBody(request), request);
    }
    if (path === '/shop/orders') {
      if (method === 'GET') return { status: 200, body: { orders: listOrders() } };
      if (method === 'POST') {
        checkBrowserPost(request);
        return startOrder(parseJsonObject(await readBody(request)));
      }
      throw new HttpError(405, 'method_not_allowed', 'GET or POST.');
    }
    // A staff action (settling a held payment as paid ships the order): a real shop puts it behind its staff login. The
    // demo shop listens on 127.0.0.1 only, for the person running it, so it is left open here.
    const resolveMatch = /^\/shop\/orders\/([^/]+)\/resolve$/.exec(path);
    if (resolveMatch) {
      if (method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'POST only.');
      checkBrowserPost(request);
      return resolveHeld(decodeURIComponent(resolveMatch[1]!), parseJsonObject(await readBody(request)));
    }
    const orderMatch = /^\/shop\/orders\/([^/]+)$/.exec(path);
    if (orderMatch && method === 'GET') {
      const order = data.orders[decodeURIComponent(orderMatch[1]!)];
      if (!order) throw new HttpError(404, 'unknown_order', 'The shop has no such order.');
      return { status: 200, body: order };
    }
    throw new HttpError(404, 'not_found', 'No such endpoint.');
  }

  function handle(request: IncomingMessage, response: ServerResponse): void {
    route(request).then(
      (result) => send(response, result.status, result.body),
      (error: unknown) => {
        if (error instanceof HttpError) {
          send(response, error.status, { error: { code: error.code, message: error.message } });
          return;
        }
        log(`[shop] ${request.method} ${request.url} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        send(response, 500, { error: { code: 'internal', message: 'The shop backend failed.' } });
      },
    );
  }

  const server = createServer(handle);
  return { server, handle, orders: listOrders };
}

/** Starts the shop backend on 127.0.0.1:`port` (0: a free one). */
export async function startShopBackend(options: ShopBackendOptions & { port: number }): Promise<ShopBackend> {
  const backend = createShopBackend(options);
  await new Promise<void>((ready, reject) => {
    backend.server.once('error', reject);
    backend.server.listen(options.port, '127.0.0.1', () => ready());
  });
  const address = backend.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://127.0.0.1:${port}`,
    server: backend.server,
    orders: backend.orders,
    close: () =>
      new Promise<void>((done) => {
        backend.server.close(() => done());
        backend.server.closeAllConnections();
      }),
  };
}
