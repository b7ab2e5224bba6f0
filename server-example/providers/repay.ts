/**
 * Repay (repay.cx) deals API. Facts: docs/server.md → Providers; docs: apidocs.repay.bz.
 *   create:   POST {base}/api/v1/private/deals/            signature = md5("cassa_id:amount:secret_word_1")
 *   callback: POST JSON to webhook_url, only on success       signature = md5("deal_id:amount:secret_word_2")
 *   status:   GET  {base}/api/v1/external/deals/{id}          header api-key
 * Repay has no cancel call for deposits; the payer cancels on Repay's page.
 */
import type { RepayConfig } from '../config.js';
import { CheckoutError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { parseAmount, wholeRubles } from '../money.js';
import type { SessionRecord } from '../store.js';
import type { SessionStatus } from '../types.js';
import { checkAnsweredPayment, isHttpUrl, optional } from './common.js';
import { hexEquals, md5Hex } from './crypto.js';
import { defineProvider, verifiedClaim } from './define.js';
import { isRecord, parseJsonCallback, providerRequest, scalarText, snippet } from './http.js';
import type { CallbackInput, CreatePaymentInput, CreatedPayment, ParsedCallback, ProviderStatusResult, VerifiedClaim } from './types.js';

const NAME = 'Repay';

/** Repay `state` → unified status (docs/server.md → Providers). `proceedingsN` is handled by pattern. */
const REPAY_STATUS_MAP: Readonly<Record<string, SessionStatus>> = {
  created: 'created',
  card_search: 'created',
  choosing_amount: 'pending',
  waiting_payment: 'pending',
  completed: 'paid',
  proceedings: 'held',
  rejected_timeout: 'expired',
  reject_manual_by_client: 'cancelled',
  rejected_by_new_deal: 'cancelled',
  rejected_by_system: 'failed',
  reject_by_office: 'failed',
};

/** Repay error codes → the helper's codes and merchant-readable messages. */
export const REPAY_ERRORS: Readonly<Record<number, { code: ErrorCode; message: string }>> = {
  400: { code: 'provider_rejected', message: 'Repay rejected the request as malformed (400).' },
  404: { code: 'provider_not_found', message: 'Repay could not find the cashier or deal (404): check REPAY_CASSA_ID.' },
  451: { code: 'provider_rejected', message: 'Repay refused the deal: the created transaction has an incorrect status (451).' },
  610: { code: 'amount_too_small', message: 'Repay refused the amount: below the minimum of 100 RUB (610).' },
  611: { code: 'provider_auth_failed', message: 'Repay rejected the signature (611): check REPAY_CASSA_ID and REPAY_SECRET_WORD_1.' },
  612: { code: 'unsupported_payment_method', message: 'Repay does not support this payment method for the cashier (612): check REPAY_METHOD_*.' },
  613: { code: 'unsupported_currency', message: 'Repay does not support this currency for the cashier (613).' },
};

/** md5("cassa_id:amount:secret_word_1"): the create-deal signature. */
export function repayCreateSignature(cassaId: string, amount: string, secretWord1: string): string {
  return md5Hex(`${cassaId}:${amount}:${secretWord1}`);
}

/** md5("deal_id:amount:secret_word_2"): the deposit-callback signature. */
export function repayCallbackSignature(dealId: string, amount: string, secretWord2: string): string {
  return md5Hex(`${dealId}:${amount}:${secretWord2}`);
}

export function mapRepayState(state: string): SessionStatus | undefined {
  if (Object.hasOwn(REPAY_STATUS_MAP, state)) return REPAY_STATUS_MAP[state];
  if (/^proceedings\d*$/.test(state)) return 'held';
  return undefined;
}

/** Maps a Repay error answer (HTTP status + body) to a CheckoutError. */
function repayError(httpStatus: number, body: unknown, text: string): CheckoutError {
  const record = isRecord(body) ? body : {};
  const nested = isRecord(record.error) ? record.error : {};
  const code = Number(record.code ?? nested.code ?? (record.status_code !== 200 ? record.status_code : undefined) ?? httpStatus);
  const description = [scalarText(record.error) ?? scalarText(nested.error), scalarText(record.description) ?? scalarText(nested.description)]
    .filter(Boolean)
    .join(': ');
  const detail = description || snippet(text);
  const known = REPAY_ERRORS[code];
  if (known) return new CheckoutError(known.code, known.message, { detail });
  if (httpStatus === 429) return new CheckoutError('provider_rate_limited', 'Repay asks to slow down (429).', { detail });
  // The status query's `api-key` header (no code of Repay's own is documented for it): the shop's credentials.
  if (httpStatus === 401 || httpStatus === 403) {
    return new CheckoutError('provider_auth_failed', `Repay refused the API key (${httpStatus}): check REPAY_API_KEY.`, { detail });
  }
  if (httpStatus >= 500 || code >= 500 && code < 600) {
    return new CheckoutError('provider_unavailable', `Repay is unavailable (${httpStatus}).`, { detail });
  }
  return new CheckoutError('provider_error', `Repay answered with an unexpected error (${Number.isFinite(code) ? code : httpStatus}).`, { detail });
}

/** The raw text of a top-level JSON field as sent (so "300.0" stays "300.0" for the signature). */
export function rawJsonField(body: string, field: string): string | undefined {
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`"${escaped}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*"|-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`).exec(body);
  if (!match) return undefined;
  const token = match[1]!;
  if (token.startsWith('"')) {
    try {
      return JSON.parse(token) as string;
    } catch {
      return undefined;
    }
  }
  return token;
}

export class RepayProvider extends defineProvider<RepayConfig>({
  id: 'repay',
  name: NAME,
  methods: (config) => config.methods,
  // No cancel call for deposits: the payer cancels on Repay's page.
  cancel: false,
  webhookPath: 'shared',
}) {
  constructor(
    config: RepayConfig,
    private readonly baseUrl: string,
  ) {
    super(config);
  }

  override checkAmount(amountMinor: number, currency: string): void {
    if (wholeRubles(amountMinor) === undefined) {
      throw new CheckoutError('amount_not_supported', 'Repay accepts whole rubles only; the order amount has kopecks.');
    }
    super.checkAmount(amountMinor, currency);
  }

  async create(input: CreatePaymentInput): Promise<CreatedPayment> {
    this.checkAmount(input.amountMinor, input.currency);
    const methodId = this.config.methods[input.method];
    if (!methodId) throw new CheckoutError('unknown_method', `Repay has no payment method "${input.method}" configured.`);
    const amount = wholeRubles(input.amountMinor)!;
    const body = {
      cassa_id: this.config.cassaId,
      amount,
      currency: input.currency,
      payment_method_id: methodId,
      order_id: input.reference,
      success_url: input.urls.success,
      error_url: input.urls.error,
      cancel_url: input.urls.cancel,
      webhook_url: input.urls.webhook,
      // Repay's anti-fraud flag: the order's word when resolveOrder() gives one, else REPAY_TRUSTED.
      payload: { user_id: input.customerRef, trusted: input.trusted ?? this.config.trusted },
      signature: repayCreateSignature(this.config.cassaId, amount, this.config.secretWord1),
    };
    const response = await providerRequest(NAME, `${this.baseUrl}/api/v1/private/deals/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      timeoutMs: this.config.timeoutMs,
    });
    const json = response.json;
    const payload = isRecord(json) && isRecord(json.payload) ? json.payload : undefined;
    const ok = response.status >= 200 && response.status < 300 && isRecord(json) && (json.status_code === undefined || Number(json.status_code) === 200);
    if (!ok || !payload) throw repayError(response.status, json, response.text);
    const dealId = scalarText(payload.id);
    const paymentUrl = scalarText(payload.payment_url);
    if (!dealId || !paymentUrl || !isHttpUrl(paymentUrl)) {
      throw new CheckoutError('provider_error', 'Repay answered without a deal id or payment URL.', { detail: snippet(response.text) });
    }
    const rawStatus = scalarText(payload.state) ?? 'created';
    return {
      providerPaymentId: dealId,
      paymentUrl,
      rawStatus,
      status: mapRepayState(rawStatus) ?? 'created',
      raw: json,
    };
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    const body = parseJsonCallback(NAME, input.rawBody);
    const dealId = scalarText(body.deal_id);
    const amount = rawJsonField(input.rawBody, 'amount');
    if (!dealId || amount === undefined || typeof body.signature !== 'string') {
      throw new CheckoutError('invalid_webhook', 'The Repay callback lacks deal_id, amount or signature.');
    }
    // `state` and `order_id` are not signed: the state is only a claim, and the deal is re-read before anything moves.
    const state = scalarText(body.state) ?? 'completed';
    const parsed: ParsedCallback = {
      providerPaymentId: dealId,
      claim: { rawStatus: state, ...optional('status', mapRepayState(state)), ...optional('paidAmountMinor', parseAmount(amount)) },
      dedupeKey: `${dealId}:${amount}`,
      fields: body,
    };
    const orderId = scalarText(body.order_id);
    if (orderId) parsed.reference = orderId;
    return parsed;
  }

  /** The signature covers the deal id and the amount only: the claimed state and order id are not relied on. */
  verifyCallback(input: CallbackInput, parsed: ParsedCallback): VerifiedClaim {
    const amount = rawJsonField(input.rawBody, 'amount') ?? '';
    const expected = repayCallbackSignature(parsed.providerPaymentId ?? '', amount, this.config.secretWord2);
    if (!hexEquals(parsed.fields.signature, expected)) {
      throw new CheckoutError('invalid_signature', 'The Repay callback signature does not match.');
    }
    const claim = verifiedClaim(parsed, true);
    // What the payer paid, as Repay signs it (in rubles: PROVIDERS.md). Whatever the callback's `currency` says: it is not
    // signed, and a copy saying another currency must not keep the amount out of the check of the status answer.
    return claim.paidAmountMinor !== undefined ? { ...claim, signedPaidAmountMinor: claim.paidAmountMinor } : claim;
  }

  async fetchStatus(session: SessionRecord): Promise<ProviderStatusResult> {
    if (!session.providerPaymentId) throw new CheckoutError('unknown_session', 'The session has no Repay deal yet.');
    const response = await providerRequest(NAME, `${this.baseUrl}/api/v1/external/deals/${encodeURIComponent(session.providerPaymentId)}`, {
      method: 'GET',
      headers: { 'api-key': this.config.apiKey, accept: 'application/json' },
      timeoutMs: this.config.timeoutMs,
    });
    const json = response.json;
    const payload = isRecord(json) && isRecord(json.payload) ? json.payload : undefined;
    if (response.status < 200 || response.status >= 300 || !payload || (isRecord(json) && json.status_code !== undefined && Number(json.status_code) !== 200)) {
      throw repayError(response.status, json, response.text);
    }
    checkAnsweredPayment(NAME, session.providerPaymentId, payload.id);
    const rawStatus = scalarText(payload.state);
    if (!rawStatus) throw new CheckoutError('provider_error', 'Repay answered the status query without a state.', { detail: snippet(response.text) });
    const status = this.mapStatus(rawStatus);
    if (!status) throw new CheckoutError('provider_error', `Repay reported an unknown state "${rawStatus}".`);
    // An amount in another currency than the session's is no amount of it: a person looks (held, amount unknown).
    const currency = scalarText(payload.currency);
    const sameCurrency = currency === undefined || currency.toUpperCase() === session.currency;
    return { rawStatus, status, ...optional('paidAmountMinor', sameCurrency ? parseAmount(payload.amount) : undefined), raw: json };
  }

  async cancel(): Promise<void> {
    // Never called (capabilities.cancel is false): the caller records the cancel locally.
  }

  mapStatus(rawStatus: string): SessionStatus | undefined {
    return mapRepayState(rawStatus);
  }
}
