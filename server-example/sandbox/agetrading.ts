/**
 * age.trading (P2P processing) simulated under `/sandbox/agetrading`: request creation with its 202 answer,
 * the duplicate `merchant_request_id` 400, the previous-unclosed-request reuse, the ban progression
 * (4 cancelled in a row → 30 × 4^(n−1) minutes, every request cancelled at once meanwhile), the
 * "Administrator has disabled you." switch, the status and cancel endpoints and the signed callback whose
 * formats the public documentation leaves open (the defaults in accounts.ts, docs/sandbox.md), the payment page and
 * its redirects (success → success_redirect_url; failure and cancel → failure_redirect_url).
 */
import { Hono, type Context } from 'hono';
import { hmacSha256Hex } from '../providers/crypto.js';
import { SANDBOX_ACCOUNTS } from './accounts.js';
import {
  BoundedMap,
  isHttpUrl,
  newNonce,
  notFoundPage,
  openState,
  otherAmount,
  pageHeaders,
  pickLocale,
  readActionForm,
  readJsonObject,
  requisitesFor,
  sealState,
  secretEquals,
  sweepOpen,
  uuid,
  withAndWithoutSlash,
  type ProviderSandbox,
  type SandboxContext,
} from './common.js';
import { pageAction, renderPaymentPage, SANDBOX_ACTIONS, type PageState } from './page.js';

export type AgeStatus = 'CREATED' | 'PENDING' | 'SUCCESS' | 'FAILED' | 'CANCELLED' | 'EXPIRED';
const OPEN: ReadonlySet<AgeStatus> = new Set(['CREATED', 'PENDING']);

/** Cancelled requests in a row that trigger a ban, and the first ban's length. */
const AGE_BAN_AFTER = 4;
const AGE_BAN_BASE_MINUTES = 30;
const AGE_DISABLED_DETAIL = 'Administrator has disabled you.';

/** Ban length for the n-th ban in a row: 30 × 4^(n−1) minutes. */
const ageBanMinutes = (bansInRow: number): number => AGE_BAN_BASE_MINUTES * 4 ** (bansInRow - 1);

export interface AgeRequest {
  id: number;
  request_proprietary_id: string;
  merchant_request_id: string;
  merchant: string;
  client: string;
  initial_amount: string;
  amount: string;
  status: AgeStatus;
  payment_method: number;
  success_redirect_url: string;
  failure_redirect_url: string;
  webhook_url: string;
  /** Cancelled at creation because the client was banned. */
  banned: boolean;
  created: number;
  expiresAt: number;
  updatedAt: number;
}

interface ClientRecord {
  /** Ids of the client's requests, oldest first (the last few only). */
  history: number[];
  bansInRow: number;
  bannedUntil: number;
  /** Requests created before the last ban started do not count toward the next one. */
  countSince: number;
}

function ageCallbackSignature(rawBody: string, secret: string): string {
  return hmacSha256Hex(secret, rawBody);
}

/** ISO timestamp with microseconds in Moscow time, as age.trading prints `created`. */
function moscowIso(ms: number): string {
  return new Date(ms + 3 * 3600_000).toISOString().replace('Z', '000+03:00');
}

/** Map key of a merchant's own name space (its merchant_request_ids, its clients). */
const merchantKey = (merchant: string, id: string): string => `${merchant}\n${id}`;

export function createAgeTradingSandbox(ctx: SandboxContext): ProviderSandbox {
  const account = SANDBOX_ACCOUNTS.agetrading;
  const methods = new Set<number>(Object.values(account.methods));
  const methodKind = (method: number): 'card' | 'phone' => (method === account.methods.card ? 'card' : 'phone');
  /** Runtime "Administrator has disabled you." switch per merchant key (the disabled account is always off). */
  const disabled = new Set<string>([account.disabledApiKey]);

  const byMerchantRequestId = new Map<string, number>();
  const byUuid = new Map<string, number>();
  const open = new Set<number>();
  const requests = new BoundedMap<number, AgeRequest>(ctx.maxEntries, (id, request) => {
    open.delete(id);
    byUuid.delete(request.request_proprietary_id);
    if (byMerchantRequestId.get(merchantKey(request.merchant, request.merchant_request_id)) === id) {
      byMerchantRequestId.delete(merchantKey(request.merchant, request.merchant_request_id));
    }
  });
  const clients = new BoundedMap<string, ClientRecord>(ctx.maxEntries);
  let nextId = Math.max(100, Math.floor(Date.now() / 1000) - 1_700_000_000);
  const app = new Hono();

  const pageUrl = (request: AgeRequest, lang?: string) =>
    `${ctx.publicUrl}/sandbox/agetrading/payment?id=${request.request_proprietary_id}${lang === 'en' ? '&lang=en' : ''}`;

  /** The creation answer: exactly the documented fields. */
  function createdRequest(request: AgeRequest) {
    return {
      id: request.id,
      request_proprietary_id: request.request_proprietary_id,
      merchant_request_id: request.merchant_request_id,
      initial_amount: request.initial_amount,
      created: moscowIso(request.created),
      redirect_url: pageUrl(request),
      payment_method: request.payment_method,
    };
  }

  /** The status answer (accounts.ts defaults): the creation fields plus `amount` and `status`. */
  function publicRequest(request: AgeRequest) {
    return {
      id: request.id,
      request_proprietary_id: request.request_proprietary_id,
      merchant_request_id: request.merchant_request_id,
      initial_amount: request.initial_amount,
      amount: request.amount,
      status: request.status,
      created: moscowIso(request.created),
      redirect_url: pageUrl(request),
      payment_method: request.payment_method,
    };
  }

  async function sendCallback(request: AgeRequest): Promise<void> {
    const body = JSON.stringify({
      id: request.id,
      request_proprietary_id: request.request_proprietary_id,
      merchant_request_id: request.merchant_request_id,
      status: request.status,
      initial_amount: request.initial_amount,
      amount: request.amount,
    });
    await ctx.notify({
      provider: 'agetrading',
      reference: String(request.id),
      url: request.webhook_url,
      contentType: 'application/json',
      body,
      headers: { [account.callbackSignatureHeader]: ageCallbackSignature(body, account.callbackSecret) },
      retryDelaysMs: [5_000, 30_000],
    });
  }

  /** Moves a request to a final status; `notify: 'now'` awaits the callback, `'later'` sends it in the background. */
  async function finish(request: AgeRequest, status: AgeStatus, notify: 'now' | 'later'): Promise<void> {
    if (!OPEN.has(request.status)) return;
    request.status = status;
    request.updatedAt = ctx.now();
    open.delete(request.id);
    if (status === 'SUCCESS') {
      const record = clients.get(merchantKey(request.merchant, request.client));
      if (record) record.bansInRow = 0;
    }
    if (notify === 'now') await sendCallback(request);
    else ctx.later(0, () => sendCallback(request));
  }

  /** Time passes: the requisites are found (CREATED → PENDING), an unpaid request times out (→ EXPIRED). */
  function refresh(request: AgeRequest): AgeRequest {
    if (!OPEN.has(request.status)) return request;
    const now = ctx.now();
    if (now >= request.expiresAt) void finish(request, 'EXPIRED', 'later');
    else if (request.status === 'CREATED' && now - request.created >= 500) request.status = 'PENDING';
    return request;
  }

  function remember(request: AgeRequest): void {
    requests.set(request.id, request);
    byUuid.set(request.request_proprietary_id, request.id);
    byMerchantRequestId.set(merchantKey(request.merchant, request.merchant_request_id), request.id);
    if (OPEN.has(request.status)) open.add(request.id);
  }

  function clientRecord(merchant: string, client: string): ClientRecord {
    const key = merchantKey(merchant, client);
    let record = clients.get(key);
    if (!record) {
      record = { history: [], bansInRow: 0, bannedUntil: 0, countSince: 0 };
      clients.set(key, record);
    }
    return record;
  }

  // ---- auth (Django REST framework's TokenAuthentication) ------------------------------------------------------
  function authenticate(c: Context): string | Response {
    const header = c.req.header(account.authHeader);
    if (!header) {
      c.header('WWW-Authenticate', account.authScheme);
      return c.json({ detail: 'Authentication credentials were not provided.' }, 401);
    }
    const [scheme, token, extra] = header.trim().split(/\s+/);
    if (scheme?.toLowerCase() !== account.authScheme.toLowerCase() || !token || extra) {
      c.header('WWW-Authenticate', account.authScheme);
      return c.json({ detail: 'Invalid token header.' }, 401);
    }
    const known = [account.apiKey, account.disabledApiKey].find((key) => secretEquals(token, key));
    if (!known) {
      c.header('WWW-Authenticate', account.authScheme);
      return c.json({ detail: 'Invalid token.' }, 401);
    }
    return known;
  }

  /** A DRF serializer error, with a `detail` summary for clients that only read that. */
  const fieldError = (c: Context, field: string, message: string) => c.json({ detail: `${field}: ${message}`, [field]: [message] }, 400);

  // ---- create --------------------------------------------------------------------------------------------------
  app.on('POST', withAndWithoutSlash('/api/requests/create/'), async (c) => {
    const merchant = authenticate(c);
    if (merchant instanceof Response) return merchant;
    if (disabled.has(merchant)) return c.json({ detail: AGE_DISABLED_DETAIL }, 400);

    const body = await readJsonObject(c);
    if (!body) return c.json({ detail: 'JSON parse error - Expecting value: line 1 column 1 (char 0)' }, 400);
    for (const field of ['client', 'merchant_request_id', 'initial_amount', 'success_redirect_url', 'failure_redirect_url', 'webhook_url']) {
      const value = body[field];
      if (value === undefined || value === null) return fieldError(c, field, 'This field is required.');
      if (value === '') return fieldError(c, field, 'This field may not be blank.');
    }
    const { client, merchant_request_id: merchantRequestId } = body;
    if (typeof client !== 'string') return fieldError(c, 'client', 'Not a valid string.');
    if (client.length > 36) return fieldError(c, 'client', 'Ensure this field has no more than 36 characters.');
    if (typeof merchantRequestId !== 'string') return fieldError(c, 'merchant_request_id', 'Not a valid string.');
    if (merchantRequestId.length > 50) return fieldError(c, 'merchant_request_id', 'Ensure this field has no more than 50 characters.');
    const rawAmount = body.initial_amount;
    const amountText = typeof rawAmount === 'number' ? String(rawAmount) : typeof rawAmount === 'string' ? rawAmount.trim() : '';
    if (!/^\d{1,9}(\.\d+)?$/.test(amountText)) return fieldError(c, 'initial_amount', 'A valid number is required.');
    if (!/^\d+(\.\d{1,2})?$/.test(amountText)) return fieldError(c, 'initial_amount', 'Ensure that there are no more than 2 decimal places.');
    const amount = Number(amountText);
    if (amount <= 0) return fieldError(c, 'initial_amount', 'Ensure this value is greater than or equal to 1.');
    for (const field of ['success_redirect_url', 'failure_redirect_url', 'webhook_url']) {
      if (!isHttpUrl(body[field])) return fieldError(c, field, 'Enter a valid URL.');
    }
    const method = body.payment_method === undefined || body.payment_method === null ? account.methods.sbp : body.payment_method;
    if (typeof method !== 'number' || !Number.isInteger(method)) {
      return fieldError(c, 'payment_method', `Incorrect type. Expected pk value, received ${typeof method}.`);
    }
    if (!methods.has(method)) return fieldError(c, 'payment_method', `Invalid pk "${method}" - object does not exist.`);

    if (byMerchantRequestId.has(merchantKey(merchant, merchantRequestId))) {
      return c.json({ detail: `Request with merchant_request_id ${merchantRequestId} already exists.` }, 400);
    }

    const now = ctx.now();
    const record = clientRecord(merchant, client);
    // A client with an unclosed request gets that request back until it is cancelled or times out.
    for (const id of [...record.history].reverse()) {
      const previous = requests.get(id);
      if (previous && OPEN.has(refresh(previous).status)) return c.json(createdRequest(previous), 202);
    }

    // Ban: the last 4 requests (since the previous ban) all cancelled → this one starts a ban.
    if (record.bannedUntil <= now) {
      const counted = record.history
        .map((id) => requests.get(id))
        .filter((r): r is AgeRequest => !!r && !r.banned && r.created >= record.countSince);
      const lastFour = counted.slice(-AGE_BAN_AFTER);
      if (lastFour.length === AGE_BAN_AFTER && lastFour.every((r) => r.status === 'CANCELLED')) {
        record.bansInRow += 1;
        record.bannedUntil = now + ageBanMinutes(record.bansInRow) * 60_000;
        record.countSince = now + 1;
      }
    }
    const banned = record.bannedUntil > now;

    const request: AgeRequest = {
      id: nextId++,
      request_proprietary_id: uuid(),
      merchant_request_id: merchantRequestId,
      merchant,
      client,
      initial_amount: amount.toFixed(2),
      amount: amount.toFixed(2),
      status: banned ? 'CANCELLED' : 'CREATED',
      payment_method: method,
      success_redirect_url: body.success_redirect_url as string,
      failure_redirect_url: body.failure_redirect_url as string,
      webhook_url: body.webhook_url as string,
      banned,
      created: now,
      expiresAt: now + ctx.windows.agetrading,
      updatedAt: now,
    };
    remember(request);
    record.history.push(request.id);
    if (record.history.length > 16) record.history.splice(0, record.history.length - 16);
    // A banned client's request is cancelled at once, skipping the requisites search; the merchant hears it shortly
    // after the 202 (so that it has stored the request first).
    if (banned) ctx.later(ctx.autoDelayMs, () => sendCallback(request));
    return c.json(createdRequest(request), 202);
  });

  // ---- status and cancel ---------------------------------------------------------------------------------------
  function findOwned(c: Context, merchant: string): AgeRequest | undefined {
    const key = c.req.param('id') ?? '';
    const id = /^\d+$/.test(key) ? Number(key) : byUuid.get(key);
    const request = id === undefined ? undefined : requests.get(id);
    return request && request.merchant === merchant ? request : undefined;
  }

  app.on('GET', withAndWithoutSlash('/api/requests/:id/'), (c) => {
    const merchant = authenticate(c);
    if (merchant instanceof Response) return merchant;
    const request = findOwned(c, merchant);
    if (!request) return c.json({ detail: 'Not found.' }, 404);
    return c.json(publicRequest(refresh(request)));
  });

  app.on('POST', withAndWithoutSlash('/api/requests/:id/cancel/'), async (c) => {
    const merchant = authenticate(c);
    if (merchant instanceof Response) return merchant;
    const request = findOwned(c, merchant);
    if (!request) return c.json({ detail: 'Not found.' }, 404);
    refresh(request);
    if (request.status === 'CANCELLED') return c.json({ id: request.id, status: request.status });
    if (!OPEN.has(request.status)) return c.json({ detail: `Request in status ${request.status} can not be cancelled.` }, 400);
    await finish(request, 'CANCELLED', 'later');
    return c.json({ id: request.id, status: request.status });
  });

  // ---- admin: the "Administrator has disabled you." switch and ban reset ---------------------------------------
  app.get('/_admin', (c) => c.json({ disabled: disabled.has(account.apiKey) }));
  app.post('/_admin/disable', (c) => {
    disabled.add(account.apiKey);
    return c.json({ disabled: true });
  });
  app.post('/_admin/enable', (c) => {
    disabled.delete(account.apiKey);
    return c.json({ disabled: false });
  });
  app.post('/_admin/unban', async (c) => {
    let client: unknown;
    try {
      client = ((await c.req.json()) as { client?: unknown }).client;
    } catch {
      client = undefined;
    }
    for (const merchant of [account.apiKey, account.disabledApiKey]) {
      const record = typeof client === 'string' ? clients.get(merchantKey(merchant, client)) : undefined;
      if (record) Object.assign(record, { bansInRow: 0, bannedUntil: 0, countSince: ctx.now() });
    }
    return c.json({ unbanned: typeof client === 'string' ? client : null });
  });

  // ---- payment page --------------------------------------------------------------------------------------------
  function pageState(request: AgeRequest): PageState {
    switch (request.status) {
      case 'CREATED':
        return 'searching';
      case 'PENDING':
        return 'open';
      case 'SUCCESS':
        return request.amount !== request.initial_amount ? 'review' : 'paid';
      case 'FAILED':
        return 'failed';
      case 'EXPIRED':
        return 'expired';
      default:
        return request.banned ? 'banned' : 'cancelled';
    }
  }

  function returnUrl(request: AgeRequest): string | undefined {
    if (OPEN.has(request.status)) return undefined;
    // No cancel page at age.trading: failure_redirect_url covers failure and cancel.
    return request.status === 'SUCCESS' ? request.success_redirect_url : request.failure_redirect_url;
  }

  function render(c: Context, request: AgeRequest): Response {
    const nonce = newNonce();
    pageHeaders(c, nonce, ctx.frameDeny('agetrading'));
    const locale = pickLocale(c.req.query('lang'), c.req.header('accept-language'));
    const back = returnUrl(request);
    return c.html(
      renderPaymentPage({
        provider: 'agetrading',
        locale,
        nonce,
        amount: Number(request.initial_amount),
        ...(request.amount !== request.initial_amount ? { paidAmount: Number(request.amount) } : {}),
        reference: String(request.id),
        requisites: requisitesFor(request.request_proprietary_id, methodKind(request.payment_method)),
        expiresAt: request.expiresAt,
        now: ctx.now(),
        state: pageState(request),
        providerStatus: request.status,
        actions: SANDBOX_ACTIONS,
        actionUrl: pageUrl(request, locale),
        hidden: { s: sealState(ctx.stateKey, request) },
        ...(back ? { returnUrl: back } : {}),
      }),
    );
  }

  function findByUuid(key: string | undefined): AgeRequest | undefined {
    const id = key ? byUuid.get(key) : undefined;
    return id === undefined ? undefined : requests.get(id);
  }

  app.get('/payment', (c) => {
    const request = findByUuid(c.req.query('id'));
    if (!request) return notFoundPage(c);
    refresh(request);
    // The page shows the search; the sandbox finds requisites at once.
    if (request.status === 'CREATED') request.status = 'PENDING';
    return render(c, request);
  });

  app.post('/payment', async (c) => {
    const key = c.req.query('id');
    const form = await readActionForm(c);
    let request = findByUuid(key);
    if (!request) {
      const restored = openState<AgeRequest>(ctx.stateKey, form.s);
      if (!restored || restored.request_proprietary_id !== key || requests.has(restored.id)) return notFoundPage(c);
      request = restored;
      remember(request);
      const record = clientRecord(request.merchant, request.client);
      if (!record.history.includes(request.id)) record.history.push(request.id);
    }
    refresh(request);
    const action = pageAction(form.action);
    if (!action) return c.text('Unknown action', 400);
    if (OPEN.has(request.status)) {
      if (action === 'pay') await finish(request, 'SUCCESS', 'now');
      else if (action === 'pay-other-amount') {
        request.amount = otherAmount(Number(request.initial_amount), form.other_amount).toFixed(2);
        await finish(request, 'SUCCESS', 'now');
      } else if (action === 'fail') await finish(request, 'FAILED', 'now');
      else await finish(request, 'CANCELLED', 'now');
    }
    return c.redirect(returnUrl(request) ?? pageUrl(request, c.req.query('lang')), 303);
  });

  return { app, sweep: () => sweepOpen(open, requests, refresh) };
}
