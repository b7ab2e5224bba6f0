/**
 * age.trading P2P processing. Facts: docs/server.md → Providers; docs: docs.age.trading.
 *   create:   POST {base}/api/requests/create/ → 202 { id, request_proprietary_id, merchant_request_id, redirect_url, … }
 *   errors:   400 / 500 with { "detail": "…" }
 * Unconfirmed by public docs, hence configuration (defaults = the sandbox, see sandbox/accounts.ts): the auth
 * header, the status and cancel paths, the status names, the callback body and its signature. Callbacks are
 * therefore only triggers: the helper re-reads the request with its own credentials and applies that.
 */
import type { AgeTradingConfig } from '../config.js';
import { CheckoutError } from '../errors.js';
import { formatAmount, parseAmount } from '../money.js';
import { referenceOf } from '../sessions/references.js';
import type { SessionRecord } from '../store.js';
import type { SessionStatus } from '../types.js';
import { checkAnsweredPayment, isHttpUrl, optional } from './common.js';
import { hexEquals, hmacSha256Hex, sha256Hex } from './crypto.js';
import { defineProvider, verifiedClaim } from './define.js';
import { NoAnswerError, isRecord, parseJsonCallback, providerRequest, scalarText, snippet } from './http.js';
import type { CallbackInput, CreatePaymentInput, CreatedPayment, ParsedCallback, ProviderStatusResult, VerifiedClaim } from './types.js';

const NAME = 'age.trading';

export const AGETRADING_DISABLED_DETAIL = 'Administrator has disabled you.';

/** age.trading's `client` (≤ 36 chars) for a customer: a stable hash, so no personal id leaves the merchant. */
export function ageTradingClientId(customerRef: string): string {
  return sha256Hex(`pay-checkout:client:${customerRef}`).slice(0, 32);
}

/** Maps an age.trading error answer ({ detail } with 400 / 500) to a CheckoutError. */
function ageTradingError(httpStatus: number, body: unknown, text: string): CheckoutError {
  const detail = isRecord(body) ? scalarText(body.detail) ?? JSON.stringify(body) : snippet(text);
  const lower = (detail ?? '').toLowerCase();
  if (detail?.trim() === AGETRADING_DISABLED_DETAIL || lower.includes('disabled you')) {
    return new CheckoutError('merchant_disabled', 'age.trading has switched off this merchant\'s traffic ("Administrator has disabled you.").', { detail });
  }
  // \b knows ASCII word characters only: the Russian word's end is spelled out.
  if (/\bban(ned)?\b|blocked|заблокир|бан(?![а-яё])/.test(lower)) {
    return new CheckoutError('customer_blocked', 'age.trading has temporarily banned this customer after repeated cancellations.', { detail });
  }
  if (/merchant_request_id/.test(lower) && /exist|unique|already|уже|существ/.test(lower)) {
    return new CheckoutError('duplicate_request', 'age.trading already has a request with this merchant_request_id.', { detail });
  }
  if (httpStatus === 401 || httpStatus === 403) {
    return new CheckoutError('provider_auth_failed', `age.trading refused the credentials (${httpStatus}): check AGETRADING_AUTH_HEADER / AGETRADING_AUTH_VALUE.`, { detail });
  }
  if (httpStatus === 404) return new CheckoutError('provider_not_found', 'age.trading does not know this request (404).', { detail });
  if (httpStatus === 429) return new CheckoutError('provider_rate_limited', 'age.trading asks to slow down (429).', { detail });
  if (httpStatus >= 500) return new CheckoutError('provider_unavailable', `age.trading is unavailable (${httpStatus}).`, { detail });
  if (httpStatus === 400) return new CheckoutError('provider_rejected', 'age.trading rejected the request (400).', { detail });
  return new CheckoutError('provider_error', `age.trading answered with an unexpected status (${httpStatus}).`, { detail });
}

/** An age.trading status name → the unified status: the name as sent, else in upper case (AGETRADING_STATUS_MAP). */
export function ageStatus(map: Readonly<Record<string, SessionStatus>>, rawStatus: string): SessionStatus | undefined {
  if (Object.hasOwn(map, rawStatus)) return map[rawStatus];
  const upper = rawStatus.toUpperCase();
  return Object.hasOwn(map, upper) ? map[upper] : undefined;
}

export class AgeTradingProvider extends defineProvider<AgeTradingConfig>({
  id: 'agetrading',
  name: NAME,
  methods: (config) => config.methods,
  // The cancel path is configuration (unconfirmed by public docs); without one a cancel is recorded locally.
  cancel: (config) => Boolean(config.cancelPath),
  webhookPath: 'shared',
}) {
  constructor(
    config: AgeTradingConfig,
    private readonly baseUrl: string,
  ) {
    super(config);
  }

  private headers(json: boolean): Record<string, string> {
    return { accept: 'application/json', [this.config.authHeader]: this.config.authValue, ...(json ? { 'content-type': 'application/json' } : {}) };
  }

  private path(template: string, id: string): string {
    return `${this.baseUrl}${template.replaceAll('{id}', encodeURIComponent(id))}`;
  }

  async create(input: CreatePaymentInput): Promise<CreatedPayment> {
    this.checkAmount(input.amountMinor, input.currency);
    const paymentMethod = this.config.methods[input.method];
    if (paymentMethod === undefined) throw new CheckoutError('unknown_method', `age.trading has no payment method "${input.method}" configured.`);
    const body = {
      client: ageTradingClientId(input.customerRef),
      merchant_request_id: input.reference,
      initial_amount: formatAmount(input.amountMinor),
      success_redirect_url: input.urls.success,
      // There is no cancel page at age.trading: failure covers both failure and cancel.
      failure_redirect_url: input.urls.error,
      webhook_url: input.urls.webhook,
      payment_method: paymentMethod,
    };
    const response = await providerRequest(NAME, `${this.baseUrl}${this.config.createPath}`, {
      method: 'POST',
      headers: this.headers(true),
      body: JSON.stringify(body),
      timeoutMs: this.config.timeoutMs,
    });
    const json = response.json;
    // age.trading's own errors are { detail } with 400 / 500. A 5xx without one is a gateway's page, and a success that
    // cannot be read may still have created the request: either way whether it exists is unknown. Recorded as
    // interrupted (sessions/create.ts), the request age.trading hands back on the next attempt is taken over instead
    // of blocking the customer until it times out.
    const ownError = isRecord(json) && scalarText(json.detail) !== undefined;
    const success = response.status >= 200 && response.status < 300;
    if (!success && !(response.status >= 500 && !ownError)) throw ageTradingError(response.status, json, response.text);
    const id = isRecord(json) ? scalarText(json.id) : undefined;
    const redirectUrl = isRecord(json) ? scalarText(json.redirect_url) : undefined;
    if (!success || !isRecord(json) || !id || !redirectUrl || !isHttpUrl(redirectUrl)) {
      throw new NoAnswerError(
        'provider_unavailable',
        success
          ? 'age.trading accepted the request but its answer has no request id or redirect_url.'
          : `age.trading is unavailable (${response.status}) and may have created the request.`,
        { detail: snippet(response.text) },
      );
    }
    // A customer with an unclosed request gets that request back instead of a new one: the caller decides whether
    // it is one of ours to recover, or the payer must wait.
    const returnedReference = scalarText(json.merchant_request_id);
    const reference = returnedReference ?? input.reference;
    const created: CreatedPayment = {
      providerPaymentId: id,
      paymentUrl: redirectUrl,
      rawStatus: 'CREATED',
      status: 'created',
      providerData: { requestProprietaryId: scalarText(json.request_proprietary_id) ?? null },
      raw: json,
      ...(returnedReference !== input.reference ? { reference: returnedReference ?? '' } : {}),
    };
    // A banned customer's requests are accepted (202) and cancelled at once: look before sending the payer. A request
    // that failed at once is not said to be a ban (the documented sign is a cancellation): age.trading could not take
    // this payment now, and another attempt or method may work.
    try {
      const current = await this.fetchStatusById(id, scalarText(json.request_proprietary_id), reference);
      created.rawStatus = current.rawStatus;
      created.status = current.status;
      const detail = { detail: `status ${current.rawStatus} right after creation` };
      if (current.status === 'cancelled') {
        created.rejection = new CheckoutError('customer_blocked', 'age.trading cancelled the request at once: the customer is temporarily banned.', detail);
      } else if (current.status === 'failed') {
        created.rejection = new CheckoutError('route_unavailable', 'age.trading failed the request at once: it cannot take this payment now.', detail);
      }
    } catch {
      // The status re-read is a courtesy; the reconciler polls the request anyway.
    }
    return created;
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    const body = parseJsonCallback(NAME, input.rawBody);
    const merchantRequestId = scalarText(body.merchant_request_id);
    const id = scalarText(body.id);
    if (!merchantRequestId && !id) throw new CheckoutError('invalid_webhook', 'The age.trading callback names no request.');
    const rawStatus = scalarText(body.status);
    const paidAmountMinor = parseAmount(body[this.config.amountField]);
    // Signed callbacks are covered whole by the HMAC. An unsigned one says whatever its sender chose, so nothing in it
    // identifies it: unsigned callbacks are never deduplicated by this key but throttled per session
    // (sessions/callbacks.ts, `unsignedTrigger()`).
    const parsed: ParsedCallback = { dedupeKey: sha256Hex(input.rawBody), fields: body };
    if (merchantRequestId) parsed.reference = merchantRequestId;
    if (id) parsed.providerPaymentId = id;
    if (rawStatus) {
      parsed.claim = { rawStatus, ...optional('status', this.mapStatus(rawStatus)), ...optional('paidAmountMinor', paidAmountMinor) };
    }
    return parsed;
  }

  /**
   * With AGETRADING_CALLBACK_SECRET the HMAC covers the whole body; without it a callback is an unsigned trigger (stored
   * and followed by a status read at most once per window per session).
   */
  verifyCallback(input: CallbackInput, parsed: ParsedCallback): VerifiedClaim {
    if (this.config.callbackSecret) {
      const received = input.headers.get(this.config.callbackSignatureHeader);
      if (!hexEquals(received ?? undefined, hmacSha256Hex(this.config.callbackSecret, input.rawBody))) {
        throw new CheckoutError('invalid_signature', 'The age.trading callback signature does not match.');
      }
    }
    return verifiedClaim(parsed, Boolean(this.config.callbackSecret));
  }

  async fetchStatus(session: SessionRecord): Promise<ProviderStatusResult> {
    if (!session.providerPaymentId) throw new CheckoutError('unknown_session', 'The session has no age.trading request yet.');
    return this.fetchStatusById(session.providerPaymentId, scalarText(session.providerData.requestProprietaryId), referenceOf(session));
  }

  /**
   * `uuid`: the request's `request_proprietary_id` from the create answer, when known; `reference`: our
   * `merchant_request_id` for it.
   */
  private async fetchStatusById(id: string, uuid: string | undefined, reference: string): Promise<ProviderStatusResult> {
    const response = await providerRequest(NAME, this.path(this.config.statusPath, id), {
      method: 'GET',
      headers: this.headers(false),
      timeoutMs: this.config.timeoutMs,
    });
    const json = response.json;
    if (response.status < 200 || response.status >= 300 || !isRecord(json)) throw ageTradingError(response.status, json, response.text);
    // The status answer's fields are not documented: the request's uuid decides when both sides have one (so a status
    // `id` that means something else does not fail every read), and only when the answer has none does its `id`.
    const answeredUuid = scalarText(json.request_proprietary_id);
    if (uuid !== undefined && answeredUuid !== undefined) checkAnsweredPayment(NAME, uuid.toLowerCase(), answeredUuid.toLowerCase()); // a UUID's case means nothing
    else checkAnsweredPayment(NAME, id, json.id);
    // An answer about another merchant's request with the same id (a misrouted or shared-cache answer) is not ours.
    checkAnsweredPayment(NAME, reference, json.merchant_request_id);
    const rawStatus = scalarText(json.status);
    if (!rawStatus) throw new CheckoutError('provider_error', 'age.trading answered the status query without a status.');
    const status = this.mapStatus(rawStatus);
    if (!status) throw new CheckoutError('provider_error', `age.trading reported an unknown status "${rawStatus}": extend AGETRADING_STATUS_MAP.`);
    return { rawStatus, status, ...optional('paidAmountMinor', parseAmount(json[this.config.amountField])), raw: json };
  }

  async cancel(session: SessionRecord): Promise<void> {
    if (!this.config.cancelPath) return;
    if (!session.providerPaymentId) throw new CheckoutError('unknown_session', 'The session has no age.trading request yet.');
    const response = await providerRequest(NAME, this.path(this.config.cancelPath, session.providerPaymentId), {
      method: 'POST',
      headers: this.headers(true),
      body: '{}',
      timeoutMs: this.config.timeoutMs,
    });
    // The cancel path is configuration: an answer that is not age.trading's (a missing route, an HTML page) is not
    // taken for a cancellation.
    if (response.status === 404 || response.status === 405 || (response.status >= 200 && response.status < 300 && !isRecord(response.json))) {
      throw new CheckoutError(
        'provider_error',
        `age.trading's cancel path answered ${response.status}${isRecord(response.json) ? '' : ' without JSON'}: check AGETRADING_CANCEL_PATH (or set it empty to end payments locally).`,
        { detail: snippet(response.text) },
      );
    }
    if (response.status < 200 || response.status >= 300) throw ageTradingError(response.status, response.json, response.text);
  }

  mapStatus(rawStatus: string): SessionStatus | undefined {
    return ageStatus(this.config.statusMap, rawStatus);
  }

  // Status names are unconfirmed (PROVIDERS.md), so they are matched in any case, as mapStatus() does: a `processing`
  // that mapStatus() reads as pending is a payment under way too.
  override paymentUnderway(session: SessionRecord): boolean {
    return session.providerStatus !== null && this.config.underwayStatuses.includes(session.providerStatus.toUpperCase());
  }
}
