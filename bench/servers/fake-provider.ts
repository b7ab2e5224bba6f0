/**
 * "The provider answering instantly": Repay and BoxExchanger API endpoints with canned, well-formed answers and no
 * work beyond remembering what was created, in their own process on loopback. The helper is pointed at it through
 * its real-provider settings (REPAY_BASE_URL, BOXEXCHANGER_BASE_URL), so it runs the same adapter code, signatures
 * and HTTP calls as against the real services, and the bench measures the helper, not a simulator. It checks no
 * BoxExchanger apikey / hash: the helper's creations arrive signed, its order/get reads unsigned (with the order's
 * secret, which is checked), and both are answered.
 *
 * Bench-only control routes under /__bench: the created deals / orders (to sign webhooks the way the provider
 * would), marking them paid, and counts of unknown routes the helper called.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenAndAnnounce } from './listen.js';
import { randomBytes } from 'node:crypto';

interface RepayDeal {
  id: string;
  amount: string;
  orderId: string;
  state: string;
}
interface BoxOrder {
  _id: string;
  uid: number;
  secret: string;
  inAmount: string;
  outAmount: string;
  ipnUrl: string;
  ipnSecret: string;
  status: string;
}

const repayDeals = new Map<string, RepayDeal>();
const boxOrders = new Map<number, BoxOrder>();
const unknown: Record<string, number> = {};
const counts: Record<string, number> = {};
let nextUid = 100_000;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** JSON or form bodies, flattened to the fields the bench needs (nested form keys kept as written). */
function parseBody(text: string, type: string | undefined): Record<string, unknown> {
  if (!text) return {};
  if (type?.includes('json') || text.startsWith('{')) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const count = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://fake');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = request.method ?? 'GET';

  // Repay: create deal.
  if (method === 'POST' && path.endsWith('/api/v1/private/deals')) {
    count('repay.create');
    const body = parseBody(await readBody(request), request.headers['content-type']);
    const id = `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`;
    const deal: RepayDeal = { id, amount: String(body.amount ?? ''), orderId: String(body.order_id ?? ''), state: 'created' };
    repayDeals.set(id, deal);
    return send(response, 200, {
      status_code: 200,
      error: {},
      payload: {
        id,
        state: 'created',
        success_url: body.success_url ?? null,
        error_url: body.error_url ?? null,
        cancel_url: body.cancel_url ?? null,
        webhook_url: body.webhook_url ?? null,
        payment_url: `http://127.0.0.1/fake-repay/pay/${id}`,
      },
    });
  }
  // Repay: deal status.
  const repayStatus = /\/api\/v1\/external\/deals\/([^/]+)$/.exec(path);
  if (method === 'GET' && repayStatus) {
    count('repay.status');
    const deal = repayDeals.get(repayStatus[1]!);
    if (!deal) return send(response, 404, { code: 404, error: 'not found', description: 'deal not found' });
    return send(response, 200, {
      status_code: 200,
      error: {},
      payload: { id: deal.id, amount_usdt: 7.5, amount: Number(deal.amount), currency: 'RUB', state: deal.state, receiver_info: {} },
    });
  }

  // BoxExchanger: create order.
  if (method === 'POST' && path.endsWith('/public/exchanger/order/create')) {
    count('box.create');
    const body = parseBody(await readBody(request), request.headers['content-type']);
    const uid = nextUid++;
    const order: BoxOrder = {
      _id: hex(12),
      uid,
      secret: hex(16),
      inAmount: String(body.amount ?? ''),
      outAmount: String(body.amount ?? ''),
      ipnUrl: String(body.ipnUrl ?? ''),
      ipnSecret: String(body.ipnSecret ?? ''),
      status: 'new',
    };
    boxOrders.set(uid, order);
    return send(response, 200, {
      success: true,
      requestId: hex(8),
      latency_ms: 0,
      data: { _id: order._id, uid, secret: order.secret, inAmount: Number(order.inAmount), outAmount: Number(order.outAmount), status: 'new', createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 30 * 60_000).toISOString() },
    });
  }
  // BoxExchanger: order status.
  if (method === 'GET' && path.endsWith('/public/exchanger/order/get')) {
    count('box.status');
    const order = boxOrders.get(Number(url.searchParams.get('orderUID')));
    if (!order || order.secret !== url.searchParams.get('orderSecret')) {
      return send(response, 200, { success: false, requestId: hex(8), latency_ms: 0, error: { errorCode: 6231546409213868, message: 'order not found', object: {} } });
    }
    return send(response, 200, {
      success: true,
      requestId: hex(8),
      latency_ms: 0,
      data: { order: { _id: order._id, uid: order.uid, status: order.status, inAmount: Number(order.inAmount), outAmount: Number(order.outAmount), createdAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 30 * 60_000).toISOString() } },
    });
  }
  // BoxExchanger: route description (if the adapter asks for the form's field keys).
  if (method === 'GET' && path.endsWith('/public/exchanger/route/get/one')) {
    count('box.route');
    return send(response, 200, { success: true, requestId: hex(8), latency_ms: 0, data: { _id: url.searchParams.get('id'), fromValues: [], toValues: [], routeValues: [], min: 1, max: 1e9 } });
  }

  // Bench control.
  if (path === '/__bench/repay-deals') return send(response, 200, [...repayDeals.values()]);
  if (path === '/__bench/box-orders') return send(response, 200, [...boxOrders.values()]);
  if (path === '/__bench/pay-all' && method === 'POST') {
    for (const deal of repayDeals.values()) deal.state = 'completed';
    for (const order of boxOrders.values()) order.status = 'done';
    return send(response, 200, { ok: true });
  }
  if (path === '/__bench/stats') return send(response, 200, { counts, unknown });

  const key = `${method} ${path}`;
  unknown[key] = (unknown[key] ?? 0) + 1;
  return send(response, 404, { code: 404, error: 'not found', description: key });
}

const server = createServer((request, response) => {
  handle(request, response).catch((error: unknown) => send(response, 500, { error: String(error) }));
});
listenAndAnnounce(server);
