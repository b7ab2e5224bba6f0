// Shared fixtures for the helper's tests: a configuration pointing every provider at a mocked base URL, an app on
// a real SQLite file in a temp dir, and stateful msw mocks of the three provider APIs.
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach } from 'node:test';
import { http, HttpResponse } from 'msw';
import type { HttpHandler } from 'msw';
import { setupServer, type SetupServer } from 'msw/node';
import { createCheckoutApp, loadConfig } from '../../server-example/index.js';
import type { CheckoutApp, CheckoutConfig, ResolvedOrder } from '../../server-example/index.js';

export const REPAY = 'https://repay.test';
export const BOX = 'https://box.test';
export const AGE = 'https://age.test';
export const MERCHANT = 'https://merchant.test';
export const SHOP = 'https://shop.test';

export const SECRETS = {
  repaySecret1: 'repay-secret-word-one',
  repaySecret2: 'repay-secret-word-two',
  repayApiKey: 'repay-api-key-123',
  boxApiKey: 'box-api-key',
  boxApiSecret: '97aab8410868ba7c1824f490999607c0ce46a3de',
  ageApiKey: 'age-token-xyz',
  ageCallbackSecret: 'age-callback-secret',
  sessionSecret: 'test-session-secret-0123456789abcdef0123456789',
};

export const md5 = (text: string) => createHash('md5').update(text).digest('hex');
export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
export const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

export function testEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PUBLIC_URL: MERCHANT,
    ALLOWED_ORIGINS: `${SHOP},${MERCHANT}`,
    SESSION_SECRET: SECRETS.sessionSecret,
    DATABASE_PATH: join(dir, 'checkout.sqlite'),
    LOG_LEVEL: 'silent',
    REPAY_BASE_URL: REPAY,
    REPAY_CASSA_ID: 'cassa-1',
    REPAY_SECRET_WORD_1: SECRETS.repaySecret1,
    REPAY_SECRET_WORD_2: SECRETS.repaySecret2,
    REPAY_API_KEY: SECRETS.repayApiKey,
    REPAY_METHOD_SBP: 'repay-method-sbp',
    REPAY_METHOD_CARD: 'repay-method-card',
    BOXEXCHANGER_BASE_URL: BOX,
    BOXEXCHANGER_API_KEY: SECRETS.boxApiKey,
    BOXEXCHANGER_API_SECRET: SECRETS.boxApiSecret,
    BOXEXCHANGER_ROUTE_SBP: 'route-sbp',
    BOXEXCHANGER_ROUTE_CARD: 'route-card',
    BOXEXCHANGER_TO_ACCOUNT: 'merchant-wallet',
    BOXEXCHANGER_MIN_AMOUNT: '100',
    AGETRADING_BASE_URL: AGE,
    AGETRADING_API_KEY: SECRETS.ageApiKey,
    AGETRADING_CALLBACK_SECRET: SECRETS.ageCallbackSecret,
    RECONCILE_MIN_BACKOFF_MS: '1000',
    RECONCILE_CRASH_GRACE_MS: '60000',
    ...extra,
  };
}

export interface Orders {
  [orderId: string]: ResolvedOrder;
}

export function defaultOrders(): Orders {
  return {
    'A-1001': { amount: '1500', currency: 'RUB', description: 'Samovar', customerId: 'customer-1' },
    'A-1002': { amount: 650, currency: 'RUB', customerId: 'customer-2' },
    'A-1003': { amount: '2500.00', currency: 'RUB', customerId: 'customer-3' },
    'A-KOP': { amount: '1500.50', currency: 'RUB' },
    'A-SMALL': { amount: '99', currency: 'RUB' },
    'A-USD': { amount: '100', currency: 'USD' },
    'A-PAID': { amount: '500', currency: 'RUB', paid: true },
  };
}

export interface TestApp {
  app: CheckoutApp;
  config: CheckoutConfig;
  orders: Orders;
  dir: string;
  /** Close the app (database stays). */
  close(): Promise<void>;
  /** Close and delete the temp dir. */
  dispose(): Promise<void>;
  /** Re-open a new app on the same database file. */
  reopen(): Promise<TestApp>;
  createSession(body: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; json: any }>;
  getSession(id: string, token: string): Promise<{ status: number; json: any }>;
  post(path: string, body: string, contentType: string, headers?: Record<string, string>): Promise<Response>;
}

export function makeTestApp(options: { env?: Record<string, string>; orders?: Orders; config?: Partial<CheckoutConfig>; dir?: string } = {}): TestApp {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'pay-checkout-test-'));
  const orders = options.orders ?? defaultOrders();
  const config: CheckoutConfig = {
    ...loadConfig(testEnv(dir, options.env)),
    resolveOrder: (orderId: string) => orders[orderId],
    ...options.config,
  };
  const app = createCheckoutApp(config);
  let closed = false;
  const result: TestApp = {
    app,
    config,
    orders,
    dir,
    async close() {
      if (closed) return;
      closed = true;
      await app.checkout.close();
    },
    async dispose() {
      await result.close();
      rmSync(dir, { recursive: true, force: true });
    },
    async reopen() {
      await result.close();
      return makeTestApp({ ...options, orders, dir });
    },
    async createSession(body, headers = {}) {
      const response = await app.request('/api/checkout/sessions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: SHOP, ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: await response.json() };
    },
    async getSession(id, token) {
      const response = await app.request(`/api/checkout/sessions/${id}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: response.status, json: await response.json() };
    },
    post(path, body, contentType, headers = {}) {
      return Promise.resolve(app.request(path, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body }));
    },
  };
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Provider mocks: small stateful fakes, each counting its calls.

export interface RepayDeal {
  id: string;
  state: string;
  amount: string;
  /** What the status query reports; RUB unless a test says otherwise. */
  currency?: string;
  orderId: string;
  body: Record<string, any>;
}

export class RepayMock {
  deals = new Map<string, RepayDeal>();
  creates = 0;
  statusCalls = 0;
  nextError: { status: number; body: unknown } | undefined;
  createDelayMs = 0;
  /** Runs when a create call reaches Repay, before it is answered. */
  onCreate: (() => void | Promise<void>) | undefined;
  statusFails = false;
  /** The deal state each status read saw, in order of arrival (snapshotted as the read arrives). */
  statusReads: string[] = [];
  /**
   * Runs when a status read has arrived and the deal been snapshotted; the answer (what the deal was at arrival) is
   * sent once the returned promise settles, so a test can have Repay answer a read late.
   */
  holdStatus: (() => Promise<void> | undefined) | undefined;
  /** The number of the last deal made (its id is `deal-<counter>`). */
  counter = 0;

  /**
   * Holds the answer to the next status read (the deal as it was when the read arrived) until `answer()`; later reads
   * are answered at once. `arrived` settles once that read has reached Repay.
   */
  holdNextStatusRead(): { arrived: Promise<void>; answer: () => void } {
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    this.holdStatus = () => {
      this.holdStatus = undefined;
      arrive();
      return answered;
    };
    return { arrived, answer };
  }

  handlers(): HttpHandler[] {
    return [
      http.post(`${REPAY}/api/v1/private/deals/`, async ({ request }) => {
        this.creates++;
        const body = (await request.json()) as Record<string, any>;
        await this.onCreate?.();
        if (this.createDelayMs) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
        if (this.nextError) return HttpResponse.json(this.nextError.body as any, { status: this.nextError.status });
        if (body.signature !== md5(`${body.cassa_id}:${body.amount}:${SECRETS.repaySecret1}`)) {
          return HttpResponse.json({ code: 611, error: 'Bad signature', description: 'Signature has been generated incorrectly' }, { status: 400 });
        }
        const id = `deal-${++this.counter}`;
        this.deals.set(id, { id, state: 'created', amount: body.amount, orderId: body.order_id, body });
        return HttpResponse.json({
          status_code: 200,
          error: {},
          payload: { id, state: 'created', success_url: body.success_url, error_url: body.error_url, cancel_url: body.cancel_url, webhook_url: body.webhook_url, payment_url: `https://pay.repay.test/${id}` },
        });
      }),
      http.get(`${REPAY}/api/v1/external/deals/:id`, async ({ request, params }) => {
        this.statusCalls++;
        if (this.statusFails) return HttpResponse.text('Bad gateway', { status: 502 });
        if (request.headers.get('api-key') !== SECRETS.repayApiKey) return HttpResponse.json({ code: 403, error: 'Forbidden' }, { status: 403 });
        const deal = this.deals.get(String(params.id));
        if (!deal) return HttpResponse.json({ code: 404, error: 'Not found exception', description: 'Deal not found' }, { status: 404 });
        const { id, amount, state, currency = 'RUB' } = deal;
        this.statusReads.push(state);
        await this.holdStatus?.();
        return HttpResponse.json({
          status_code: 200,
          error: {},
          payload: { id, amount_usdt: 15.2, amount: Number(amount), currency, state, receiver_info: {} },
        });
      }),
    ];
  }

  /** A genuine Repay callback body for a deal (signed with secret word 2). */
  callback(dealId: string, amount: string, extra: Record<string, unknown> = {}): string {
    const deal = this.deals.get(dealId);
    return JSON.stringify({
      deal_id: dealId,
      state: 'completed',
      amount,
      currency: 'RUB',
      amount_usdt_income: '15.2',
      signature: md5(`${dealId}:${amount}:${SECRETS.repaySecret2}`),
      order_id: deal?.orderId ?? '',
      ...extra,
    });
  }
}

export interface BoxOrder {
  _id: string;
  uid: number;
  secret: string;
  status: string;
  inAmount: string;
  body: Record<string, any>;
  expiresAt?: string;
}

export class BoxMock {
  orders = new Map<string, BoxOrder>();
  creates = 0;
  gets = 0;
  updates: Array<Record<string, any>> = [];
  nextError: { errorCode: string; message: string; nameField?: string; status?: number } | undefined;
  /** The `time` of every signed call accepted, in order of arrival. */
  lastTimes: number[] = [];
  /** Every API call as it arrived: which one, and whether it carried the apikey + hash headers (then its `time`). */
  calls: Array<{ call: 'create' | 'get' | 'update'; signed: boolean; time?: number }> = [];
  /** As a deployment that wants even order/get signed: an unsigned read is refused with 40301. */
  refuseUnsignedReads = false;
  private counter = 0;

  private record(call: 'create' | 'get' | 'update', request: Request, params: Record<string, unknown>): boolean {
    const signed = request.headers.has('apikey') || request.headers.has('hash');
    this.calls.push({ call, signed, ...(signed ? { time: Number(params.time) } : {}) });
    return signed;
  }

  private checkAuth(request: Request, params: Record<string, unknown>): Response | undefined {
    const apikey = request.headers.get('apikey');
    const hash = request.headers.get('hash');
    if (apikey !== SECRETS.boxApiKey || hash !== sha256(sha256(JSON.stringify(params)) + SECRETS.boxApiSecret)) {
      return HttpResponse.json({ success: false, error: { errorCode: 40301, message: 'Not authorised', object: {} } }, { status: 403 });
    }
    const time = Number(params.time);
    if (this.lastTimes.length > 0 && time <= this.lastTimes[this.lastTimes.length - 1]!) {
      return HttpResponse.json({ success: false, error: { errorCode: 40301, message: 'time must increase', object: {} } }, { status: 403 });
    }
    this.lastTimes.push(time);
    return undefined;
  }

  byUid(uid: string): BoxOrder | undefined {
    return [...this.orders.values()].find((order) => String(order.uid) === uid);
  }

  handlers(): HttpHandler[] {
    return [
      http.post(`${BOX}/service/api/v1/public/exchanger/order/create`, async ({ request }) => {
        this.creates++;
        const body = (await request.json()) as Record<string, any>;
        this.record('create', request, body);
        const denied = this.checkAuth(request, body);
        if (denied) return denied;
        if (this.nextError) {
          const { errorCode, message, nameField, status } = this.nextError;
          // A bare JSON number with the code's exact digits, as BoxExchanger writes it (some exceed 2^53).
          const body = JSON.stringify({ success: false, requestId: 'r', latency_ms: 1, error: { errorCode: '__CODE__', message, object: { fieldId: 'f', nameField: nameField ?? '', err: message, type: 'x' } } });
          return new HttpResponse(body.replace('"__CODE__"', errorCode), { status: status ?? 400, headers: { 'content-type': 'application/json' } });
        }
        const n = ++this.counter;
        const order: BoxOrder = { _id: `5d8e6002b80b7b4cd75a64${String(n).padStart(2, '0')}`, uid: 1400 + n, secret: `sec${n}Abc`, status: 'new', inAmount: String(body.amount), body };
        this.orders.set(order._id, order);
        return HttpResponse.json({ success: true, requestId: 'r', latency_ms: 1, data: { _id: order._id, uid: order.uid, secret: order.secret, inAmount: order.inAmount, outAmount: '20', status: 'new' } });
      }),
      http.get(`${BOX}/service/api/v1/public/exchanger/order/get`, ({ request }) => {
        this.gets++;
        const url = new URL(request.url);
        const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
        // The order's secret is the credential for reading it; a signature, when sent, must still be right.
        if (this.record('get', request, params)) {
          const denied = this.checkAuth(request, params);
          if (denied) return denied;
        } else if (this.refuseUnsignedReads) {
          return HttpResponse.json({ success: false, error: { errorCode: 40301, message: 'Not authorised', object: {} } }, { status: 403 });
        }
        const order = this.byUid(String(params.orderUID));
        if (!order || order.secret !== params.orderSecret) {
          return HttpResponse.json({ success: false, error: { errorCode: 6231546409213868, message: 'order not found', object: {} } }, { status: 404 });
        }
        return HttpResponse.json({
          success: true,
          data: { order: { _id: order._id, uid: order.uid, status: order.status, inAmount: order.inAmount, outAmount: '20', createdAt: new Date().toISOString(), expiresAt: order.expiresAt } },
        });
      }),
      http.put(`${BOX}/service/api/v1/public/exchanger/order/update-status`, async ({ request }) => {
        const body = (await request.json()) as Record<string, any>;
        this.record('update', request, body);
        const denied = this.checkAuth(request, body);
        if (denied) return denied;
        this.updates.push(body);
        const order = this.byUid(String(body.orderUID));
        if (!order || order.secret !== body.orderSecret) return HttpResponse.json({ success: false, error: { errorCode: 1, message: 'not found', object: {} } }, { status: 404 });
        if (!['new', 'waitPayment'].includes(order.status)) return HttpResponse.json({ success: false, error: { errorCode: 2, message: 'status cannot change', object: {} } }, { status: 400 });
        order.status = body.status;
        return HttpResponse.json({ success: true, data: { status: order.status } });
      }),
    ];
  }

  /** A genuine IPN form body for an order. */
  ipn(order: BoxOrder, ipnSecret: string, newStatus: string, options: { timestamp?: number; inAmount?: string; hashField?: string; hash?: string } = {}): string {
    const timestamp = String(options.timestamp ?? Date.now());
    const inAmount = options.inAmount ?? order.inAmount;
    const fields = { orderUID: String(order.uid), orderId: order._id, newStatus, inAmount, outAmount: '20', xml_from: 'SBPRUB', xml_to: 'USDTTRC20', timestamp };
    const hash = options.hash ?? sha256([fields.orderId, newStatus, inAmount, fields.outAmount, fields.xml_from, fields.xml_to, timestamp, ipnSecret].join(':'));
    const form = new URLSearchParams({ ...fields, [options.hashField ?? 'hash']: hash });
    form.append('toValues[0][key]', 'wallet');
    form.append('toValues[0][value]', 'merchant-wallet');
    return form.toString();
  }
}

export interface AgeRequest {
  id: number;
  merchantRequestId: string;
  client: string;
  status: string;
  initialAmount: string;
  amount?: string;
  body: Record<string, any>;
}

export class AgeMock {
  requests = new Map<number, AgeRequest>();
  creates = 0;
  statusCalls = 0;
  cancels = 0;
  nextError: { status: number; detail: string } | undefined;
  /** Customers (client ids) that are banned: their requests are cancelled at once. */
  banned = new Set<string>();
  /** New requests fail at once (no payment details found for them). */
  failAtOnce = false;
  /** When set, create returns this existing request (the unclosed-request behaviour). */
  returnExisting: AgeRequest | undefined;
  /** A request is created at once, its answer sent this much later (e.g. after the helper gave up waiting). */
  createDelayMs = 0;
  /** A request is created, and its answer lost: a gateway's HTML 502, or a 202 cut short. */
  createAnswer: 'gateway' | 'truncated' | undefined;
  private counter = 100;

  handlers(): HttpHandler[] {
    return [
      http.post(`${AGE}/api/requests/create/`, async ({ request }) => {
        this.creates++;
        if (request.headers.get('authorization') !== `Token ${SECRETS.ageApiKey}`) return HttpResponse.json({ detail: 'Invalid token.' }, { status: 401 });
        const body = (await request.json()) as Record<string, any>;
        if (this.nextError) return HttpResponse.json({ detail: this.nextError.detail }, { status: this.nextError.status });
        const existing = this.returnExisting ?? undefined;
        const req: AgeRequest = existing ?? {
          id: ++this.counter,
          merchantRequestId: body.merchant_request_id,
          client: body.client,
          status: this.banned.has(body.client) ? 'CANCELLED' : this.failAtOnce ? 'FAILED' : 'CREATED',
          initialAmount: body.initial_amount,
          body,
        };
        this.requests.set(req.id, req);
        if (this.createDelayMs) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
        if (this.createAnswer === 'gateway') return new HttpResponse('<html><body>502 Bad Gateway</body></html>', { status: 502, headers: { 'content-type': 'text/html' } });
        if (this.createAnswer === 'truncated') return new HttpResponse(`{"id": ${req.id}, "request_proprietary_id": "uuid-`, { status: 202, headers: { 'content-type': 'application/json' } });
        return HttpResponse.json(
          {
            id: req.id,
            request_proprietary_id: `uuid-${req.id}`,
            merchant_request_id: req.merchantRequestId,
            initial_amount: req.initialAmount,
            created: new Date().toISOString(),
            redirect_url: `https://pay.age.test/payment?id=uuid-${req.id}`,
            payment_method: body.payment_method,
          },
          { status: 202 },
        );
      }),
      http.get(`${AGE}/api/requests/:id/`, ({ request, params }) => {
        this.statusCalls++;
        if (request.headers.get('authorization') !== `Token ${SECRETS.ageApiKey}`) return HttpResponse.json({ detail: 'Invalid token.' }, { status: 401 });
        const req = this.requests.get(Number(params.id));
        if (!req) return HttpResponse.json({ detail: 'Not found.' }, { status: 404 });
        return HttpResponse.json({
          id: req.id,
          request_proprietary_id: `uuid-${req.id}`,
          merchant_request_id: req.merchantRequestId,
          initial_amount: req.initialAmount,
          ...(req.amount !== undefined ? { amount: req.amount } : {}),
          status: req.status,
        });
      }),
      http.post(`${AGE}/api/requests/:id/cancel/`, ({ params }) => {
        this.cancels++;
        const req = this.requests.get(Number(params.id));
        if (!req) return HttpResponse.json({ detail: 'Not found.' }, { status: 404 });
        req.status = 'CANCELLED';
        return HttpResponse.json({ id: req.id, status: 'CANCELLED' });
      }),
    ];
  }

  callback(req: AgeRequest, status: string, amount?: string): { body: string; signature: string } {
    const body = JSON.stringify({
      id: req.id,
      request_proprietary_id: `uuid-${req.id}`,
      merchant_request_id: req.merchantRequestId,
      status,
      initial_amount: req.initialAmount,
      ...(amount !== undefined ? { amount } : {}),
    });
    return { body, signature: hmac(SECRETS.ageCallbackSecret, body) };
  }
}

export async function events(app: CheckoutApp, sessionId: string) {
  return app.checkout.store.listEvents(sessionId);
}

export async function session(app: CheckoutApp, sessionId: string) {
  return (await app.checkout.store.getSession(sessionId))!;
}

// ---------------------------------------------------------------------------------------------------------------
// Test-file set-up.

export interface ProviderMocks {
  t: TestApp;
  repay: RepayMock;
  box: BoxMock;
  age: AgeMock;
}

/**
 * Registers the hooks of a test file that talks to all three providers: msw in front of their APIs (an unmocked
 * request fails the test); before each test, fresh mocks and a fresh app handed to `bind`; after it, the per-test
 * handlers dropped and `currentApp()` disposed (a test may have swapped in an app with other settings). Returns the
 * msw server for per-test overrides (`msw.use(…)`).
 */
export function useProviderMocks(bind: (mocks: ProviderMocks) => void, currentApp: () => TestApp): SetupServer {
  const msw = setupServer();
  before(() => msw.listen({ onUnhandledRequest: 'error' }));
  after(() => msw.close());
  beforeEach(() => {
    const repay = new RepayMock();
    const box = new BoxMock();
    const age = new AgeMock();
    msw.use(...repay.handlers(), ...box.handlers(), ...age.handlers());
    bind({ t: makeTestApp(), repay, box, age });
  });
  afterEach(async () => {
    msw.resetHandlers();
    await currentApp().dispose();
  });
  return msw;
}
