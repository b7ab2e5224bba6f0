/**
 * Repay (repay.cx) simulated under `/sandbox/repay`: the deals API with its md5 body signature and error codes,
 * the `external` status API with `api-key`, disputes, the hosted payment page, and the success-only webhook.
 * Like Repay's own stage contour, amount 101 completes by itself and 102 is rejected.
 */
import { Hono, type Context } from 'hono';
import { md5Hex } from '../providers/crypto.js';
import { SANDBOX_ACCOUNTS } from './accounts.js';
import {
  BoundedMap,
  decimalString,
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

export type RepayState =
  | 'created'
  | 'card_search'
  | 'choosing_amount'
  | 'waiting_payment'
  | 'completed'
  | 'proceedings'
  | 'rejected_timeout'
  | 'reject_manual_by_client'
  | 'rejected_by_new_deal'
  | 'rejected_by_system'
  | 'reject_by_office';

const OPEN_STATES: ReadonlySet<RepayState> = new Set(['created', 'card_search', 'choosing_amount', 'waiting_payment']);

/** RUB per USDT used for `amount_usdt` / `amount_usdt_income`. */
const REPAY_USDT_RATE = 95.5;
const REPAY_MIN_AMOUNT = 100;
/** Amounts that behave like Repay's "fake transactions" on their stage contour. */
const REPAY_MAGIC = { complete: 101, reject: 102 } as const;

export interface RepayDeal {
  id: string;
  /** The payment page's own id (Repay's payment_url is not the deal id). */
  pageToken: string;
  cassaId: string;
  /** Whole rubles as created. */
  amount: number;
  /** Rubles actually paid, once paid (differs from `amount` after "pay other amount" or a dispute). */
  paidAmount?: number;
  currency: string;
  paymentMethodId: string;
  method: 'sbp' | 'card';
  orderId: string | null;
  successUrl: string | null;
  errorUrl: string | null;
  cancelUrl: string | null;
  webhookUrl: string | null;
  userId: string | null;
  trusted: boolean | null;
  state: RepayState;
  createdAt: number;
  expiresAt: number;
  updatedAt: number;
}

type RepayError = { status: 400 | 401 | 404 | 451; code: number; error: string; description: string };

const ERRORS = {
  badRequest: (description: string): RepayError => ({ status: 400, code: 400, error: 'Bad request', description }),
  notFound: (description: string): RepayError => ({ status: 404, code: 404, error: 'Not found exception', description }),
  tooSmall: (): RepayError => ({
    status: 400,
    code: 610,
    error: 'Too small money amount',
    description: `You can not create deal with amount less then ${REPAY_MIN_AMOUNT}`,
  }),
  badSignature: (): RepayError => ({ status: 400, code: 611, error: 'Bad signature', description: 'Signature has been generated incorrectly' }),
  badMethod: (): RepayError => ({ status: 400, code: 612, error: 'Unsupported payment method', description: 'Payment method is not supported' }),
  badCurrency: (): RepayError => ({ status: 400, code: 613, error: 'Unsupported currency', description: 'Currency is not supported' }),
  unauthorized: (): RepayError => ({ status: 401, code: 401, error: 'Unauthorized', description: 'Invalid api-key' }),
  refused: (description: string): RepayError => ({
    status: 451,
    code: 451,
    error: 'Unavailable for legal status',
    description,
  }),
};

function fail(c: Context, e: RepayError): Response {
  // HTTP carries 4xx (a fetch Response cannot carry 610); the body's `code` is Repay's.
  return c.json({ code: e.code, error: e.error, description: e.description }, e.status);
}

const METHOD_BY_ID = new Map<string, 'sbp' | 'card'>(
  Object.entries(SANDBOX_ACCOUNTS.repay.methods).map(([method, id]) => [id, method as 'sbp' | 'card']),
);

function repaySignature(cassaId: string, amount: string, secretWord1: string): string {
  return md5Hex(`${cassaId}:${amount}:${secretWord1}`);
}

function repayWebhookSignature(dealId: string, amount: string, secretWord2: string): string {
  return md5Hex(`${dealId}:${amount}:${secretWord2}`);
}

export function createRepaySandbox(ctx: SandboxContext): ProviderSandbox {
  const account = SANDBOX_ACCOUNTS.repay;
  const byToken = new Map<string, string>();
  const openByUser = new Map<string, string>();
  const open = new Set<string>();
  const deals = new BoundedMap<string, RepayDeal>(ctx.maxEntries, (id, deal) => {
    byToken.delete(deal.pageToken);
    open.delete(id);
    if (deal.userId && openByUser.get(deal.userId) === id) openByUser.delete(deal.userId);
  });
  const app = new Hono();

  const pageUrl = (deal: RepayDeal, lang?: string) =>
    `${ctx.publicUrl}/sandbox/repay/pay/${deal.pageToken}${lang === 'en' ? '?lang=en' : ''}`;

  function setState(deal: RepayDeal, state: RepayState): void {
    deal.state = state;
    deal.updatedAt = ctx.now();
    if (!OPEN_STATES.has(state)) {
      open.delete(deal.id);
      if (deal.userId && openByUser.get(deal.userId) === deal.id) openByUser.delete(deal.userId);
    }
  }

  /** Applies the passage of time: an unpaid deal past its window is `rejected_timeout`. */
  function refresh(deal: RepayDeal): RepayDeal {
    if (OPEN_STATES.has(deal.state) && ctx.now() >= deal.expiresAt) setState(deal, 'rejected_timeout');
    return deal;
  }

  /** The success webhook: only `completed` is ever reported (Repay sends nothing on failure). */
  async function sendWebhook(deal: RepayDeal): Promise<void> {
    if (!deal.webhookUrl) return;
    const amount = String(deal.paidAmount ?? deal.amount);
    const body = JSON.stringify({
      deal_id: deal.id,
      state: 'completed',
      amount,
      currency: deal.currency,
      amount_usdt_income: Number(decimalString((deal.paidAmount ?? deal.amount) / REPAY_USDT_RATE)),
      signature: repayWebhookSignature(deal.id, amount, account.secretWord2),
      order_id: deal.orderId,
    });
    await ctx.notify({
      provider: 'repay',
      reference: deal.id,
      url: deal.webhookUrl,
      contentType: 'application/json',
      body,
      accept: (status, text) => status === 200 && text.trim() === 'OK',
      retryDelaysMs: [5_000, 30_000, 120_000],
    });
  }

  async function complete(deal: RepayDeal, paid: number): Promise<void> {
    deal.paidAmount = paid;
    setState(deal, 'completed');
    await sendWebhook(deal);
  }

  function remember(deal: RepayDeal): void {
    deals.set(deal.id, deal);
    byToken.set(deal.pageToken, deal.id);
    if (OPEN_STATES.has(deal.state)) {
      open.add(deal.id);
      if (deal.userId) openByUser.set(deal.userId, deal.id);
    }
  }

  // ---- Create deposit -------------------------------------------------------------------------------------------
  app.on('POST', withAndWithoutSlash('/api/v1/private/deals/'), async (c) => {
    const body = await readJsonObject(c);
    if (!body) return fail(c, ERRORS.badRequest('Request body must be a JSON object'));
    for (const field of ['cassa_id', 'amount', 'currency', 'payment_method_id', 'signature'] as const) {
      if (body[field] === undefined || body[field] === null || body[field] === '') {
        return fail(c, ERRORS.badRequest(`Field required: ${field}`));
      }
    }
    const { cassa_id: cassaId, signature, currency, payment_method_id: methodId } = body;
    const rawAmount = typeof body.amount === 'number' ? String(body.amount) : body.amount;
    if (typeof cassaId !== 'string' || typeof signature !== 'string' || typeof rawAmount !== 'string') {
      return fail(c, ERRORS.badRequest('cassa_id, amount and signature must be strings'));
    }
    if (typeof currency !== 'string' || typeof methodId !== 'string') {
      return fail(c, ERRORS.badRequest('currency and payment_method_id must be strings'));
    }
    for (const field of ['order_id', 'success_url', 'error_url', 'cancel_url', 'webhook_url'] as const) {
      const value = body[field];
      if (value !== undefined && value !== null && typeof value !== 'string') {
        return fail(c, ERRORS.badRequest(`${field} must be a string`));
      }
      if (field !== 'order_id' && typeof value === 'string' && value !== '' && !isHttpUrl(value)) {
        return fail(c, ERRORS.badRequest(`${field} must be an absolute http(s) URL`));
      }
    }
    if (typeof body.order_id === 'string' && body.order_id.length > 255) {
      return fail(c, ERRORS.badRequest('order_id is too long'));
    }
    const payload = body.payload;
    if (payload !== undefined && payload !== null && (typeof payload !== 'object' || Array.isArray(payload))) {
      return fail(c, ERRORS.badRequest('payload must be an object'));
    }
    const payloadObject = (payload ?? {}) as Record<string, unknown>;
    if (payloadObject.user_id !== undefined && typeof payloadObject.user_id !== 'string') {
      return fail(c, ERRORS.badRequest('payload.user_id must be a string'));
    }
    const trustedRaw = payloadObject.trusted;
    if (trustedRaw !== undefined && typeof trustedRaw !== 'boolean' && trustedRaw !== 'true' && trustedRaw !== 'false') {
      return fail(c, ERRORS.badRequest('payload.trusted must be a boolean'));
    }

    if (cassaId !== account.cassaId) return fail(c, ERRORS.notFound(`Cassa ${cassaId} not found`));
    // The signature covers the amount string exactly as sent ("300" is not "300.0").
    if (!secretEquals(signature, repaySignature(cassaId, rawAmount, account.secretWord1))) {
      return fail(c, ERRORS.badSignature());
    }
    if (!/^\d{1,9}$/.test(rawAmount)) {
      return fail(c, ERRORS.badRequest('amount must be a whole number of currency units, without cents'));
    }
    if (currency !== 'RUB') return fail(c, ERRORS.badCurrency());
    const method = METHOD_BY_ID.get(methodId);
    if (!method) return fail(c, ERRORS.badMethod());
    const amount = Number(rawAmount);
    if (amount < REPAY_MIN_AMOUNT) return fail(c, ERRORS.tooSmall());

    const now = ctx.now();
    const userId = typeof payloadObject.user_id === 'string' && payloadObject.user_id ? payloadObject.user_id : null;
    // "rejected_by_new_deal": the same payer's previous open deal is cancelled by the new one.
    if (userId) {
      const previous = openByUser.get(userId);
      const previousDeal = previous ? deals.get(previous) : undefined;
      if (previousDeal && OPEN_STATES.has(refresh(previousDeal).state)) setState(previousDeal, 'rejected_by_new_deal');
    }
    const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
    const deal: RepayDeal = {
      id: uuid(),
      pageToken: uuid(),
      cassaId,
      amount,
      currency,
      paymentMethodId: methodId,
      method,
      orderId: str(body.order_id),
      successUrl: str(body.success_url),
      errorUrl: str(body.error_url),
      cancelUrl: str(body.cancel_url),
      webhookUrl: str(body.webhook_url),
      userId,
      trusted: trustedRaw === undefined ? null : trustedRaw === true || trustedRaw === 'true',
      state: 'created',
      createdAt: now,
      expiresAt: now + ctx.windows.repay,
      updatedAt: now,
    };
    remember(deal);

    if (amount === REPAY_MAGIC.complete || amount === REPAY_MAGIC.reject) {
      ctx.later(ctx.autoDelayMs, async () => {
        if (!OPEN_STATES.has(refresh(deal).state)) return;
        if (amount === REPAY_MAGIC.complete) await complete(deal, deal.amount);
        else setState(deal, 'rejected_by_system');
      });
    }

    return c.json({
      status_code: 200,
      error: {},
      payload: {
        id: deal.id,
        state: deal.state,
        success_url: deal.successUrl,
        error_url: deal.errorUrl,
        cancel_url: deal.cancelUrl,
        webhook_url: deal.webhookUrl,
        payment_url: pageUrl(deal),
      },
    });
  });

  // ---- Status --------------------------------------------------------------------------------------------------
  const authorised = (c: Context) => secretEquals(c.req.header('api-key') ?? '', account.apiKey);

  app.on('GET', withAndWithoutSlash('/api/v1/external/deals/:id'), (c) => {
    if (!authorised(c)) return fail(c, ERRORS.unauthorized());
    const deal = deals.get(c.req.param('id') ?? '');
    if (!deal) return fail(c, ERRORS.notFound('Deal not found'));
    refresh(deal);
    const amount = deal.paidAmount ?? deal.amount;
    const requisites = deal.state === 'created' || deal.state === 'card_search' ? null : requisitesFor(deal.id, deal.method === 'sbp' ? 'phone' : 'card');
    return c.json({
      status_code: 200,
      error: {},
      payload: {
        id: deal.id,
        amount_usdt: Number(decimalString(amount / REPAY_USDT_RATE)),
        amount,
        currency: deal.currency,
        state: deal.state,
        receiver_info: requisites
          ? {
              bank_name: requisites.bank.en,
              receiver: requisites.number,
              receiver_name: requisites.holder.en,
              type: requisites.kind === 'phone' ? 'sbp' : 'card',
            }
          : null,
      },
    });
  });

  // ---- Disputes: the payer paid another amount; the deal goes to proceedings and completes with `new_amount` ----
  app.on('POST', withAndWithoutSlash('/api/v1/external/deals/:id/disputes'), async (c) => {
    if (!authorised(c)) return fail(c, ERRORS.unauthorized());
    const deal = deals.get(c.req.param('id') ?? '');
    if (!deal) return fail(c, ERRORS.notFound('Deal not found'));
    refresh(deal);
    let form: Record<string, unknown>;
    try {
      form = await c.req.parseBody({ all: true });
    } catch {
      return fail(c, ERRORS.badRequest('Expected multipart/form-data with files and new_amount'));
    }
    const newAmountRaw = form.new_amount;
    const newAmount = typeof newAmountRaw === 'string' ? Number(newAmountRaw) : NaN;
    if (!Number.isInteger(newAmount) || newAmount <= 0) return fail(c, ERRORS.badRequest('new_amount must be a positive whole number'));
    const files = form.files;
    if (!files || (Array.isArray(files) && files.length === 0) || typeof files === 'string') {
      return fail(c, ERRORS.badRequest('files: at least one receipt is required'));
    }
    if (deal.state === 'proceedings') {
      return fail(c, ERRORS.refused('A dispute is already open for this deal'));
    }
    setState(deal, 'proceedings');
    ctx.later(ctx.autoDelayMs, () => complete(deal, newAmount));
    return c.json({ status_code: 200, error: {}, payload: { id: deal.id, state: deal.state } });
  });

  // ---- Hosted payment page -------------------------------------------------------------------------------------
  function pageState(deal: RepayDeal): PageState {
    switch (deal.state) {
      case 'completed':
        return deal.paidAmount !== undefined && deal.paidAmount !== deal.amount ? 'review' : 'paid';
      case 'proceedings':
        return 'review';
      case 'rejected_timeout':
        return 'expired';
      case 'reject_manual_by_client':
      case 'rejected_by_new_deal':
        return 'cancelled';
      case 'rejected_by_system':
      case 'reject_by_office':
        return 'failed';
      case 'created':
      case 'card_search':
        return 'searching';
      default:
        return 'open';
    }
  }

  function returnUrl(deal: RepayDeal): string | undefined {
    const state = pageState(deal);
    if (state === 'paid' || state === 'review') return deal.successUrl ?? undefined;
    if (state === 'cancelled') return deal.cancelUrl ?? undefined;
    if (state === 'failed' || state === 'expired') return deal.errorUrl ?? undefined;
    return undefined;
  }

  function render(c: Context, deal: RepayDeal): Response {
    const nonce = newNonce();
    pageHeaders(c, nonce, ctx.frameDeny('repay'));
    const locale = pickLocale(c.req.query('lang'), c.req.header('accept-language'));
    const magic =
      deal.amount === REPAY_MAGIC.complete
        ? locale === 'ru' ? 'Тестовая сумма 101: платёж завершится автоматически.' : 'Test amount 101: the payment completes by itself.'
        : deal.amount === REPAY_MAGIC.reject
          ? locale === 'ru' ? 'Тестовая сумма 102: платёж будет отклонён.' : 'Test amount 102: the payment will be rejected.'
          : undefined;
    const back = returnUrl(deal);
    const html = renderPaymentPage({
      provider: 'repay',
      locale,
      nonce,
      amount: deal.amount,
      ...(deal.paidAmount !== undefined ? { paidAmount: deal.paidAmount } : {}),
      currency: deal.currency,
      reference: deal.id.slice(0, 8).toUpperCase(),
      requisites: requisitesFor(deal.id, deal.method === 'sbp' ? 'phone' : 'card'),
      expiresAt: deal.expiresAt,
      now: ctx.now(),
      state: pageState(deal),
      providerStatus: deal.state,
      actions: SANDBOX_ACTIONS,
      actionUrl: pageUrl(deal, locale),
      hidden: { s: sealState(ctx.stateKey, deal) },
      ...(back ? { returnUrl: back } : {}),
      ...(magic ? { note: magic } : {}),
    });
    return c.html(html);
  }

  function findByToken(token: string): RepayDeal | undefined {
    const id = byToken.get(token);
    return id ? deals.get(id) : undefined;
  }

  app.get('/pay/:token', (c) => {
    const deal = findByToken(c.req.param('token'));
    if (!deal) return notFoundPage(c);
    refresh(deal);
    // Opening the page starts the requisites search; the sandbox finds them at once.
    if (deal.state === 'created' || deal.state === 'card_search') setState(deal, 'waiting_payment');
    return render(c, deal);
  });

  app.post('/pay/:token', async (c) => {
    const token = c.req.param('token');
    const form = await readActionForm(c);
    let deal = findByToken(token);
    if (!deal) {
      // The process restarted since the page was served: restore the deal from the page's signed state.
      const restored = openState<RepayDeal>(ctx.stateKey, form.s);
      if (!restored || restored.pageToken !== token) return notFoundPage(c);
      deal = restored;
      remember(deal);
    }
    refresh(deal);
    const action = pageAction(form.action);
    if (!action) return c.text('Unknown action', 400);
    if (OPEN_STATES.has(deal.state)) {
      if (action === 'pay') await complete(deal, deal.amount);
      else if (action === 'pay-other-amount') await complete(deal, otherAmount(deal.amount, form.other_amount));
      else if (action === 'fail') setState(deal, 'rejected_by_system');
      else setState(deal, 'reject_manual_by_client');
    }
    // Already finished (a second click, another tab): the payer goes where the deal's outcome says.
    const target = returnUrl(deal) ?? pageUrl(deal, c.req.query('lang'));
    return c.redirect(target, 303);
  });

  return { app, sweep: () => sweepOpen(open, deals, refresh) };
}
