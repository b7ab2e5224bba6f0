/**
 * BoxExchanger (self-hosted exchanger engine, "act as a payment processor") simulated under
 * `/sandbox/boxexchanger`: `service/api/v1/public/exchanger/{order/create, order/get, order/update-status,
 * route/get/one}` with the optional `apikey` + `hash` auth and its never-decreasing `time` nonce, every documented
 * `errorCode`, the payment page `/{lang}/payment/{uid}/{secret}` (and `/order/`), the IPN (form-urlencoded, sent
 * once per status change, never retried) and the payer's return to `clientCallbackUrl?status=success|error`.
 *
 * Bodies: JSON (what a JavaScript client of the real API sends) and `application/x-www-form-urlencoded` with the
 * documented bracket keys (`fromValues[0][key]=…`, parsed like Express/qs) are both accepted.
 */
import { Hono, type Context } from 'hono';
import { sha256Hex } from '../providers/crypto.js';
import { SANDBOX_ACCOUNTS } from './accounts.js';
import {
  BoundedMap,
  decimalString,
  isHttpUrl,
  newNonce,
  notFoundPage,
  objectId,
  openState,
  otherAmount,
  pageHeaders,
  parseBracketForm,
  pickLocale,
  randomToken,
  readActionForm,
  requisitesFor,
  sealState,
  secretEquals,
  sweepOpen,
  withAndWithoutSlash,
  withQuery,
  type ProviderSandbox,
  type SandboxContext,
} from './common.js';
import { pageAction, renderPaymentPage, SANDBOX_ACTIONS, type PageState, type SandboxAction } from './page.js';

export type BoxStatus =
  | 'new'
  | 'waitPayment'
  | 'inProgress'
  | 'inProgressPayout'
  | 'done'
  | 'errorPayment'
  | 'errorPayout'
  | 'hold'
  | 'returned'
  | 'deleted';

/** Documented error codes. Several exceed 2^53: they are written into the JSON with their exact digits. */
const BOX_ERRORS = {
  maintenance: '5555555555555555',
  notAuthorised: '40301',
  antiFlood: '5030000',
  fieldInvalid: '6231546409213868',
  amountInvalid: '5071545873252155',
  amountBelowMin: '7701545348962387',
  amountAboveMax: '3631545348962766',
  notEnoughReserve: '9951545348963165',
  routeUnavailable: '6801545277215051',
} as const;

/** RUB per USDT of both sandbox routes. */
const BOX_RATE = 95.5;

interface BoxField {
  key: string;
  name: string;
  value: string;
}

export interface BoxOrder {
  _id: string;
  uid: number;
  secret: string;
  routeId: string;
  method: 'sbp' | 'card';
  status: BoxStatus;
  inAmount: string;
  outAmount: string;
  /** The amount the order was created with (inAmount changes when the payer pays another amount). */
  createdInAmount: string;
  xml_from: string;
  xml_to: string;
  fromValues: BoxField[];
  toValues: BoxField[];
  routeValues: BoxField[];
  lang: 'eng' | 'rus';
  agreement: boolean;
  hideOutData: boolean;
  clientCallbackUrl: string | null;
  ipnUrl: string | null;
  ipnSecret: string | null;
  partner: string | null;
  authorised: boolean;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

interface BoxErrorInit {
  status: 400 | 403 | 404 | 429 | 503;
  code: string;
  message: string;
  field?: { fieldId?: string; nameField: string; err?: string };
}

export function boxApiHash(params: unknown, secret: string): string {
  return boxApiHashOfText(JSON.stringify(params), secret);
}

/** The API hash over the JSON text the client hashed (which `prepare` can only guess among candidates). */
const boxApiHashOfText = (json: string, secret: string): string => sha256Hex(sha256Hex(json) + secret);

export function boxIpnHash(fields: {
  orderId: string;
  newStatus: string;
  inAmount: string;
  outAmount: string;
  xml_from: string;
  xml_to: string;
  timestamp: string | number;
}, ipnSecret: string): string {
  const { orderId, newStatus, inAmount, outAmount, xml_from, xml_to, timestamp } = fields;
  return sha256Hex(`${orderId}:${newStatus}:${inAmount}:${outAmount}:${xml_from}:${xml_to}:${timestamp}:${ipnSecret}`);
}

const OPEN: ReadonlySet<BoxStatus> = new Set(['new', 'waitPayment']);
const ACTIVE: ReadonlySet<BoxStatus> = new Set(['new', 'waitPayment', 'inProgress']);

export function createBoxExchangerSandbox(ctx: SandboxContext): ProviderSandbox {
  const account = SANDBOX_ACCOUNTS.boxexchanger;
  const FIELD_NAMES: Record<string, string> = {
    [account.fieldKeys.fromAccount]: 'Номер телефона или карты отправителя',
    [account.fieldKeys.toAccount]: 'Кошелёк получателя USDT (TRC20)',
    [account.fieldKeys.email]: 'E-mail',
  };
  const ROUTES = new Map<string, { method: 'sbp' | 'card'; xml_from: string; name: string }>([
    [account.routes.sbp, { method: 'sbp', xml_from: 'SBPRUB', name: 'СБП RUB → Tether TRC20' }],
    [account.routes.card, { method: 'card', xml_from: 'CARDRUB', name: 'Visa/MasterCard/МИР RUB → Tether TRC20' }],
  ]);
  const XML_TO = 'USDTTRC20';

  /** Switches of the exchanger's admin panel, changed by `POST /sandbox/boxexchanger/_admin`. */
  const admin = {
    maintenance: false,
    /** Requests per second per API key (or per anonymous client) before 5030000; 0 = off. */
    antiFloodPerSecond: 0,
    reserveUsdt: 2500,
    disabledRoutes: [] as string[],
  };
  const floods = new Map<string, { second: number; count: number }>();
  const lastTime = new Map<string, number>();
  let nextUid = Math.max(1000, Math.floor(Date.now() / 1000) - 1_700_000_000);

  const open = new Set<number>();
  const orders = new BoundedMap<number, BoxOrder>(ctx.maxEntries, (uid) => open.delete(uid));
  const app = new Hono();

  // ---- envelope ------------------------------------------------------------------------------------------------
  function respond(c: Context, started: number, data: unknown): Response {
    return c.json({ success: true, requestId: randomToken(16), latency_ms: Date.now() - started, data });
  }

  function failure(c: Context, started: number, e: BoxErrorInit): Response {
    const body = JSON.stringify({
      success: false,
      requestId: randomToken(16),
      latency_ms: Date.now() - started,
      error: {
        errorCode: '__ERROR_CODE__',
        message: e.message,
        object: e.field
          ? { fieldId: e.field.fieldId ?? null, nameField: e.field.nameField, err: e.field.err ?? e.message, type: 'field' }
          : {},
      },
    }).replace('"__ERROR_CODE__"', e.code);
    return c.body(body, e.status, { 'Content-Type': 'application/json; charset=UTF-8' });
  }

  const fieldError = (nameField: string, message: string, fieldId?: string): BoxErrorInit => ({
    status: 400,
    code: BOX_ERRORS.fieldInvalid,
    message,
    field: { nameField, err: message, ...(fieldId ? { fieldId } : {}) },
  });

  // ---- request reading, auth, nonce, anti-flood ---------------------------------------------------------------
  interface ParsedRequest {
    params: Record<string, unknown>;
    authorised: boolean;
  }

  async function readBody(c: Context): Promise<{ raw: string; body: Record<string, unknown> } | BoxErrorInit> {
    if (c.req.method === 'GET') return { raw: '', body: {} };
    const raw = await c.req.text();
    if (!raw.trim()) return { raw, body: {} };
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    if (type.includes('application/x-www-form-urlencoded')) return { raw, body: parseBracketForm(new URLSearchParams(raw)) };
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return { raw, body: parsed as Record<string, unknown> };
    } catch {
      return fieldError('body', 'Request body must be a JSON object or a form');
    }
  }

  /** JSON texts the client may have hashed: its params are query + body, whose value types a query string loses. */
  function hashCandidates(query: Record<string, string>, body: Record<string, unknown>, raw: string): string[] {
    const numeric = (v: string) => (/^-?\d+(\.\d+)?$/.test(v) && String(Number(v)) === v ? Number(v) : v);
    const asStrings = { ...query, ...body };
    const allNumbers = { ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, numeric(v)])), ...body };
    const timeNumber = { ...query, ...(query.time !== undefined ? { time: numeric(query.time) } : {}), ...body };
    const texts = new Set([JSON.stringify(asStrings), JSON.stringify(allNumbers), JSON.stringify(timeNumber)]);
    if (raw && Object.keys(query).length === 0) texts.add(raw);
    return [...texts];
  }

  async function prepare(c: Context, started: number): Promise<ParsedRequest | Response> {
    if (admin.maintenance) {
      return failure(c, started, { status: 503, code: BOX_ERRORS.maintenance, message: 'Technical works. Try again later' });
    }
    const read = await readBody(c);
    if ('code' in read) return failure(c, started, read);
    const query = c.req.query();
    const params = { ...query, ...read.body };
    const apikey = c.req.header('apikey');
    const hash = c.req.header('hash');

    const floodKey = apikey ?? 'public';
    if (admin.antiFloodPerSecond > 0) {
      const second = Math.floor(Date.now() / 1000);
      const entry = floods.get(floodKey);
      // Keyed by the apikey header, which anyone can vary: keep the table small.
      if (floods.size > 1000 && !entry) floods.clear();
      if (!entry || entry.second !== second) floods.set(floodKey, { second, count: 1 });
      else if (++entry.count > admin.antiFloodPerSecond) {
        return failure(c, started, { status: 429, code: BOX_ERRORS.antiFlood, message: 'Too many requests, try again later' });
      }
    }

    if (apikey === undefined && hash === undefined) return { params, authorised: false };
    const unauthorised = (message: string) => failure(c, started, { status: 403, code: BOX_ERRORS.notAuthorised, message });
    if (!apikey || !hash) return unauthorised('Both apikey and hash headers are required');
    if (!secretEquals(apikey, account.apiKey)) return unauthorised('Unknown apikey');
    const candidates = hashCandidates(query, read.body, read.raw);
    if (!candidates.some((text) => secretEquals(hash, boxApiHashOfText(text, account.apiSecret)))) {
      return unauthorised('Invalid hash');
    }
    const time = typeof params.time === 'number' ? params.time : typeof params.time === 'string' ? Number(params.time) : NaN;
    if (!Number.isFinite(time)) return unauthorised('Parameter time is required with apikey authorisation');
    // `time` is a nonce: it may never repeat or decrease.
    const last = lastTime.get(apikey) ?? -Infinity;
    if (time <= last) return unauthorised(`Parameter time must be greater than the last one used (${last})`);
    lastTime.set(apikey, time);
    return { params, authorised: true };
  }

  // ---- orders --------------------------------------------------------------------------------------------------
  const iso = (ms: number) => new Date(ms).toISOString();
  const publicOrder = (order: BoxOrder) => ({
    _id: order._id,
    uid: order.uid,
    status: order.status,
    routeId: order.routeId,
    inAmount: order.inAmount,
    outAmount: order.outAmount,
    xml_from: order.xml_from,
    xml_to: order.xml_to,
    fromValues: order.fromValues,
    toValues: order.hideOutData ? order.toValues.map((f) => ({ ...f, value: '***' })) : order.toValues,
    routeValues: order.routeValues,
    lang: order.lang,
    partner: order.partner,
    clientCallbackUrl: order.clientCallbackUrl,
    hideOutData: order.hideOutData,
    course: { in: BOX_RATE, out: 1 },
    createdAt: iso(order.createdAt),
    updatedAt: iso(order.updatedAt),
    expiresAt: iso(order.expiresAt),
  });

  async function sendIpn(order: BoxOrder): Promise<void> {
    if (!order.ipnUrl || !order.ipnSecret) return;
    const timestamp = ctx.now();
    const fields = {
      orderId: order._id,
      newStatus: order.status,
      inAmount: order.inAmount,
      outAmount: order.outAmount,
      xml_from: order.xml_from,
      xml_to: order.xml_to,
      timestamp,
    };
    const form = new URLSearchParams();
    form.set('orderUID', String(order.uid));
    for (const [key, value] of Object.entries(fields)) form.set(key, String(value));
    order.toValues.forEach((field, i) => {
      form.set(`toValues[${i}][key]`, field.key);
      form.set(`toValues[${i}][name]`, field.name);
      form.set(`toValues[${i}][value]`, field.value);
    });
    form.set(account.ipnHashField, boxIpnHash(fields, order.ipnSecret));
    // Sent once; not retried whatever the answer (documented).
    await ctx.notify({
      provider: 'boxexchanger',
      reference: String(order.uid),
      url: order.ipnUrl,
      contentType: 'application/x-www-form-urlencoded',
      body: form.toString(),
    });
  }

  async function setStatus(order: BoxOrder, status: BoxStatus): Promise<void> {
    if (order.status === status) return;
    order.status = status;
    order.updatedAt = ctx.now();
    if (!ACTIVE.has(status)) open.delete(order.uid);
    await sendIpn(order);
  }

  function refresh(order: BoxOrder): BoxOrder {
    if (OPEN.has(order.status) && ctx.now() >= order.expiresAt) void setStatus(order, 'deleted');
    return order;
  }

  function remember(order: BoxOrder): void {
    orders.set(order.uid, order);
    if (ACTIVE.has(order.status)) open.add(order.uid);
  }

  function readFields(value: unknown, nameField: string): BoxField[] | BoxErrorInit {
    if (value === undefined || value === null || value === '') return [];
    const list = Array.isArray(value) ? value : typeof value === 'object' ? Object.values(value as object) : null;
    if (!list || list.length > 20) return fieldError(nameField, `${nameField} must be an array of { key, value }`);
    const out: BoxField[] = [];
    for (const item of list) {
      if (!item || typeof item !== 'object') return fieldError(nameField, `${nameField} must be an array of { key, value }`);
      const { key, value: fieldValue } = item as { key?: unknown; value?: unknown };
      const name = typeof key === 'string' ? FIELD_NAMES[key] : undefined;
      if (typeof key !== 'string' || !name) return fieldError(nameField, `Unknown field key ${String(key)}`, typeof key === 'string' ? key : undefined);
      const text = typeof fieldValue === 'number' ? String(fieldValue) : fieldValue;
      if (typeof text !== 'string' || text.trim() === '' || text.length > 256) return fieldError(name, `Field "${name}" is invalid`, key);
      if (key === account.fieldKeys.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(text)) return fieldError(name, `Field "${name}" is invalid`, key);
      out.push({ key, name, value: text });
    }
    return out;
  }

  const bool = (value: unknown): boolean | undefined =>
    value === true || value === 'true' || value === 1 || value === '1' ? true : value === false || value === 'false' || value === 0 || value === '0' ? false : undefined;

  app.on('POST', withAndWithoutSlash('/service/api/v1/public/exchanger/order/create'), async (c) => {
    const started = Date.now();
    const prepared = await prepare(c, started);
    if (prepared instanceof Response) return prepared;
    const p = prepared.params;

    const routeId = typeof p.routeId === 'string' ? p.routeId : '';
    const route = ROUTES.get(routeId);
    if (!route || admin.disabledRoutes.includes(routeId)) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.routeUnavailable, message: 'Direction is not available' });
    }
    const amount = typeof p.amount === 'number' ? p.amount : typeof p.amount === 'string' && p.amount.trim() !== '' ? Number(p.amount) : NaN;
    if (!Number.isFinite(amount) || amount <= 0) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.amountInvalid, message: 'Amount is invalid' });
    }
    if (amount < account.minAmount) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.amountBelowMin, message: `Minimum amount is ${account.minAmount} RUB` });
    }
    if (amount > account.maxAmount) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.amountAboveMax, message: `Maximum amount is ${account.maxAmount} RUB` });
    }
    const fromValues = readFields(p.fromValues, 'fromValues');
    if (!Array.isArray(fromValues)) return failure(c, started, fromValues);
    const toValues = readFields(p.toValues, 'toValues');
    if (!Array.isArray(toValues)) return failure(c, started, toValues);
    const routeValues = readFields(p.routeValues, 'routeValues');
    if (!Array.isArray(routeValues)) return failure(c, started, routeValues);
    const lang = p.lang === undefined || p.lang === '' ? 'rus' : p.lang;
    if (lang !== 'eng' && lang !== 'rus') return failure(c, started, fieldError('lang', 'lang must be eng or rus'));
    const agreement = p.agreement === undefined ? true : bool(p.agreement);
    if (agreement !== true) return failure(c, started, fieldError('agreement', 'You must accept the exchange rules'));
    const hideOutData = p.hideOutData === undefined ? false : bool(p.hideOutData);
    if (hideOutData === undefined) return failure(c, started, fieldError('hideOutData', 'hideOutData must be a boolean'));
    for (const name of ['clientCallbackUrl', 'ipnUrl'] as const) {
      if (p[name] !== undefined && p[name] !== '' && !isHttpUrl(p[name])) return failure(c, started, fieldError(name, `${name} must be an http(s) URL`));
    }
    const ipnUrl = typeof p.ipnUrl === 'string' && p.ipnUrl ? p.ipnUrl : null;
    const ipnSecret = typeof p.ipnSecret === 'string' && p.ipnSecret ? p.ipnSecret : null;
    if (p.ipnSecret !== undefined && typeof p.ipnSecret !== 'string') return failure(c, started, fieldError('ipnSecret', 'ipnSecret must be a string'));
    if (ipnUrl && !ipnSecret) return failure(c, started, fieldError('ipnSecret', 'ipnSecret is required with ipnUrl'));
    if (ipnSecret && ipnSecret.length > 256) return failure(c, started, fieldError('ipnSecret', 'ipnSecret is too long'));
    const out = amount / BOX_RATE;
    if (out > admin.reserveUsdt) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.notEnoughReserve, message: 'Not enough reserve' });
    }

    const now = ctx.now();
    const inAmount = decimalString(amount);
    const order: BoxOrder = {
      _id: objectId(now),
      uid: nextUid++,
      secret: randomToken(24),
      routeId,
      method: route.method,
      status: 'new',
      inAmount,
      outAmount: decimalString(out),
      createdInAmount: inAmount,
      xml_from: route.xml_from,
      xml_to: XML_TO,
      fromValues,
      toValues,
      routeValues,
      lang,
      agreement: true,
      hideOutData,
      clientCallbackUrl: typeof p.clientCallbackUrl === 'string' && p.clientCallbackUrl ? p.clientCallbackUrl : null,
      ipnUrl,
      ipnSecret,
      partner: typeof p.partner === 'string' && p.partner ? p.partner.slice(0, 64) : null,
      authorised: prepared.authorised,
      createdAt: now,
      expiresAt: now + ctx.windows.boxexchanger,
      updatedAt: now,
    };
    remember(order);
    return respond(c, started, { ...publicOrder(order), secret: order.secret });
  });

  function findOrder(uidValue: unknown, secret: unknown): BoxOrder | undefined {
    const uid = typeof uidValue === 'number' ? uidValue : typeof uidValue === 'string' ? Number(uidValue) : NaN;
    const order = Number.isInteger(uid) ? orders.get(uid) : undefined;
    return order && typeof secret === 'string' && secretEquals(secret, order.secret) ? order : undefined;
  }

  app.on('GET', withAndWithoutSlash('/service/api/v1/public/exchanger/order/get'), async (c) => {
    const started = Date.now();
    const prepared = await prepare(c, started);
    if (prepared instanceof Response) return prepared;
    const p = prepared.params;
    if (p.type !== undefined && p.type !== 'order') return failure(c, started, fieldError('type', 'type must be order'));
    if (!p.orderUID) return failure(c, started, fieldError('orderUID', 'orderUID is required'));
    if (!p.orderSecret) return failure(c, started, fieldError('orderSecret', 'orderSecret is required'));
    const order = findOrder(p.orderUID, p.orderSecret);
    if (!order) return failure(c, started, { status: 404, code: BOX_ERRORS.notAuthorised, message: 'Order not found' });
    return respond(c, started, { order: publicOrder(refresh(order)) });
  });

  app.on('PUT', withAndWithoutSlash('/service/api/v1/public/exchanger/order/update-status'), async (c) => {
    const started = Date.now();
    const prepared = await prepare(c, started);
    if (prepared instanceof Response) return prepared;
    const p = prepared.params;
    if (p.status !== 'inProgress' && p.status !== 'deleted') {
      return failure(c, started, fieldError('status', 'status must be inProgress or deleted'));
    }
    const order = findOrder(p.orderUID, p.orderSecret);
    if (!order) return failure(c, started, { status: 404, code: BOX_ERRORS.notAuthorised, message: 'Order not found' });
    refresh(order);
    if (!OPEN.has(order.status)) {
      return failure(c, started, fieldError('status', `Status can not be changed from ${order.status}`));
    }
    await setStatus(order, p.status);
    return respond(c, started, { order: publicOrder(order) });
  });

  app.on('GET', withAndWithoutSlash('/service/api/v1/public/exchanger/route/get/one'), async (c) => {
    const started = Date.now();
    const prepared = await prepare(c, started);
    if (prepared instanceof Response) return prepared;
    const id = prepared.params.id;
    const route = typeof id === 'string' ? ROUTES.get(id) : undefined;
    if (!route || admin.disabledRoutes.includes(id as string)) {
      return failure(c, started, { status: 400, code: BOX_ERRORS.routeUnavailable, message: 'Direction is not available' });
    }
    const field = (key: string, required: boolean) => ({ _id: key, key, name: FIELD_NAMES[key], required });
    return respond(c, started, {
      _id: id,
      name: route.name,
      status: 'active',
      from: { xml: route.xml_from, currency: 'RUB', name: route.method === 'sbp' ? 'СБП' : 'Visa/MasterCard/МИР' },
      to: { xml: XML_TO, currency: 'USDT', name: 'Tether TRC20' },
      course: { in: BOX_RATE, out: 1 },
      min: account.minAmount,
      max: account.maxAmount,
      reserve: admin.reserveUsdt,
      fromValues: [field(account.fieldKeys.fromAccount, false)],
      toValues: [field(account.fieldKeys.toAccount, false)],
      routeValues: [field(account.fieldKeys.email, false)],
    });
  });

  // ---- admin panel switches ------------------------------------------------------------------------------------
  app.get('/_admin', (c) => c.json(admin));
  app.post('/_admin', async (c) => {
    let body: Record<string, unknown> = {};
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {
      return c.json({ error: 'JSON body expected' }, 400);
    }
    if (typeof body.maintenance === 'boolean') admin.maintenance = body.maintenance;
    if (typeof body.antiFloodPerSecond === 'number' && body.antiFloodPerSecond >= 0) admin.antiFloodPerSecond = body.antiFloodPerSecond;
    if (typeof body.reserveUsdt === 'number' && body.reserveUsdt >= 0) admin.reserveUsdt = body.reserveUsdt;
    if (Array.isArray(body.disabledRoutes)) admin.disabledRoutes = body.disabledRoutes.filter((r): r is string => typeof r === 'string');
    return c.json(admin);
  });

  // ---- payment page --------------------------------------------------------------------------------------------
  function pageState(order: BoxOrder): PageState {
    switch (order.status) {
      case 'new':
      case 'waitPayment':
        return 'open';
      case 'inProgress':
      case 'inProgressPayout':
        return 'checking';
      case 'done':
        return order.inAmount !== order.createdInAmount ? 'review' : 'paid';
      case 'hold':
      case 'errorPayout':
        return 'review';
      case 'deleted':
        return ctx.now() >= order.expiresAt ? 'expired' : 'cancelled';
      default:
        return 'failed';
    }
  }

  function callbackUrl(order: BoxOrder): string | undefined {
    if (!order.clientCallbackUrl) return undefined;
    const state = pageState(order);
    if (state === 'open' || state === 'checking') return undefined;
    return withQuery(order.clientCallbackUrl, { status: state === 'paid' || state === 'review' ? 'success' : 'error' });
  }

  const LANGS = new Set(['en', 'eng', 'ru', 'rus']);
  /** The payment page answers at both `/{lang}/payment/…` and `/{lang}/order/…`. */
  const PAGE_KINDS = ['payment', 'order'] as const;
  type PageKind = (typeof PAGE_KINDS)[number];
  const pagePath = (order: BoxOrder, lang: string, kind: PageKind) => `/sandbox/boxexchanger/${lang}/${kind}/${order.uid}/${order.secret}`;
  // The page URL carries the order's secret: keep it out of the Referer, the 404 included.
  const orderNotFound = (c: Context) => notFoundPage(c, { text: 'Заявка не найдена · Order not found', noReferrer: true });

  function render(c: Context, order: BoxOrder, kind: PageKind): Response {
    const nonce = newNonce();
    pageHeaders(c, nonce, ctx.frameDeny('boxexchanger'));
    const lang = c.req.param('lang') ?? 'rus';
    const locale = pickLocale(lang, c.req.header('accept-language'));
    const back = callbackUrl(order);
    const status = order.status;
    const actions: SandboxAction[] = OPEN.has(status) ? [...SANDBOX_ACTIONS] : status === 'inProgress' ? ['pay', 'fail'] : [];
    return c.html(
      renderPaymentPage({
        provider: 'boxexchanger',
        locale,
        nonce,
        amount: Number(order.createdInAmount),
        ...(order.inAmount !== order.createdInAmount ? { paidAmount: Number(order.inAmount) } : {}),
        reference: String(order.uid),
        requisites: requisitesFor(order._id, order.method === 'sbp' ? 'phone' : 'card'),
        expiresAt: order.expiresAt,
        now: ctx.now(),
        state: pageState(order),
        providerStatus: order.status,
        actions,
        actionUrl: `${ctx.publicUrl}${pagePath(order, lang, kind)}`,
        hidden: { s: sealState(ctx.stateKey, order) },
        ...(back ? { returnUrl: back } : {}),
      }),
    );
  }

  function pageOrder(c: Context): BoxOrder | undefined {
    if (!LANGS.has(c.req.param('lang') ?? '')) return undefined;
    return findOrder(c.req.param('uid'), c.req.param('secret'));
  }

  for (const kind of PAGE_KINDS) {
    app.get(`/:lang/${kind}/:uid/:secret`, async (c) => {
      const order = pageOrder(c);
      if (!order) return orderNotFound(c);
      refresh(order);
      // The payer sees the requisites: the order now waits for the payment.
      if (order.status === 'new') await setStatus(order, 'waitPayment');
      return render(c, order, kind);
    });

    app.post(`/:lang/${kind}/:uid/:secret`, async (c) => {
      const form = await readActionForm(c);
      let order = pageOrder(c);
      if (!order) {
        const restored = openState<BoxOrder>(ctx.stateKey, form.s);
        if (!restored || !LANGS.has(c.req.param('lang') ?? '') || String(restored.uid) !== c.req.param('uid') || restored.secret !== c.req.param('secret') || orders.has(restored.uid)) {
          return orderNotFound(c);
        }
        order = restored;
        remember(order);
      }
      refresh(order);
      const action = pageAction(form.action);
      if (!action) return c.text('Unknown action', 400);
      if (ACTIVE.has(order.status)) {
        if (action === 'pay' || action === 'pay-other-amount') {
          if (action === 'pay-other-amount' && OPEN.has(order.status)) {
            const paid = otherAmount(Number(order.createdInAmount), form.other_amount);
            order.inAmount = decimalString(paid);
            order.outAmount = decimalString(paid / BOX_RATE);
          }
          // "I have paid" → the exchanger checks → done; one IPN per status change, each awaited so the merchant
          // has heard before the payer is back.
          if (order.status !== 'inProgress') await setStatus(order, 'inProgress');
          await setStatus(order, 'done');
        } else if (action === 'fail') {
          await setStatus(order, 'errorPayment');
        } else if (OPEN.has(order.status)) {
          await setStatus(order, 'deleted');
        }
      }
      return c.redirect(callbackUrl(order) ?? `${ctx.publicUrl}${pagePath(order, c.req.param('lang') ?? 'rus', kind)}`, 303);
    });
  }

  return { app, sweep: () => sweepOpen(open, orders, refresh) };
}
