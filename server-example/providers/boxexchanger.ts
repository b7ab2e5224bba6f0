/**
 * BoxExchanger "act as a payment processor" API. Facts: docs/server.md → Providers.
 *   API:     {base}/service/api/v1/{method}; answers { success, data?, error?: { errorCode, message, object } }
 *   auth:    optional headers apikey + hash = sha256hex(sha256hex(JSON.stringify(params)) + secret), params with
 *            a never-decreasing `time`
 *   create:  POST public/exchanger/order/create (per-order ipnUrl + random ipnSecret)            signed with a key
 *   status:  GET  public/exchanger/order/get?orderUID=&orderSecret=&type=order                 unsigned (see below)
 *   cancel:  PUT  public/exchanger/order/update-status { orderUID, orderSecret, status: "deleted" }  signed with a key
 *   IPN:     form-urlencoded, sent once; hash = sha256hex("orderId:newStatus:inAmount:outAmount:xml_from:xml_to:timestamp:ipnSecret")
 * The IPN is only a trigger: after verifying it, the helper re-reads order/get and applies that status.
 *
 * With an API key, create and cancel are signed: the signature files the order in the merchant's cabinet and
 * authorises the change. Its `time` nonce must increase with every call of the key, so signed calls go out one at a
 * time under the store's lock, one provider round trip each. The status read is not signed: the order's own secret
 * is the credential for order/get (BoxExchanger's front end reads an order with uid + secret alone), a signature
 * would only tell BoxExchanger who asks, and how far the helper trusts the answer rests on TLS to the configured
 * base URL either way. So reads run concurrently. A deployment that refuses the unsigned read (40301) but answers
 * it signed is read signed from then on.
 */
import { randomBytes } from 'node:crypto';
import type { BoxExchangerConfig, CheckoutConfig } from '../config.js';
import { providerBaseUrl } from '../config.js';
import { CheckoutError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { formatAmount, parseAmount } from '../money.js';
import { LockTimeoutError } from '../store.js';
import type { SessionRecord, Store } from '../store.js';
import type { SessionStatus } from '../types.js';
import { checkAnsweredPayment, isHttpUrl, optional, parseProviderTime } from './common.js';
import { hexEquals, sha256Hex } from './crypto.js';
import { defineProvider, verifiedClaim } from './define.js';
import { isRecord, providerRequest, scalarText, snippet } from './http.js';
import type { ProviderResponse } from './http.js';
import type { CallbackInput, CreatePaymentInput, CreatedPayment, ParsedCallback, ProviderStatusResult, VerifiedClaim } from './types.js';

const NAME = 'BoxExchanger';

const BOXEXCHANGER_STATUS_MAP: Readonly<Record<string, SessionStatus>> = {
  new: 'created',
  waitPayment: 'pending',
  inProgress: 'pending',
  inProgressPayout: 'pending',
  done: 'paid',
  errorPayment: 'failed',
  errorPayout: 'held',
  hold: 'held',
  returned: 'refunded',
  deleted: 'cancelled',
};

/** Every documented `errorCode` → the helper's code and a merchant-readable message. */
export const BOXEXCHANGER_ERRORS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  '5555555555555555': { code: 'provider_unavailable', message: 'BoxExchanger is under maintenance.' },
  '40301': { code: 'provider_auth_failed', message: 'BoxExchanger refused the API credentials: check BOXEXCHANGER_API_KEY and BOXEXCHANGER_API_SECRET.' },
  '5030000': { code: 'provider_rate_limited', message: 'BoxExchanger anti-flood: too many requests, retry later.' },
  '6231546409213868': { code: 'invalid_payment_field', message: 'BoxExchanger rejected a form field of the route.' },
  '5071545873252155': { code: 'amount_not_supported', message: 'BoxExchanger rejected the amount as invalid.' },
  '7701545348962387': { code: 'amount_too_small', message: 'BoxExchanger: the amount is below the route minimum.' },
  '3631545348962766': { code: 'amount_too_large', message: 'BoxExchanger: the amount is above the route maximum.' },
  '9951545348963165': { code: 'insufficient_reserve', message: 'BoxExchanger has not enough reserve for this amount now.' },
  '6801545277215051': { code: 'route_unavailable', message: 'BoxExchanger: the exchange route is unavailable.' },
};

/** The IPN fields the hash covers, in order (the per-order ipnSecret follows them). */
const IPN_SIGNED_FIELDS = ['orderId', 'newStatus', 'inAmount', 'outAmount', 'xml_from', 'xml_to', 'timestamp'] as const;
/** More form fields than any IPN carries (its own dozen, and the payout account's `toValues`). */
const MAX_IPN_FIELDS = 200;

/** The API request hash: sha256hex(sha256hex(JSON.stringify(params)) + secret). */
export function boxApiHash(params: Record<string, unknown>, secret: string): string {
  return sha256Hex(sha256Hex(JSON.stringify(params)) + secret);
}

/** The IPN hash: sha256hex("orderId:newStatus:inAmount:outAmount:xml_from:xml_to:timestamp:ipnSecret"). */
export function boxIpnHash(
  fields: { orderId: string; newStatus: string; inAmount: string; outAmount: string; xml_from: string; xml_to: string; timestamp: string },
  ipnSecret: string,
): string {
  return sha256Hex(
    [fields.orderId, fields.newStatus, fields.inAmount, fields.outAmount, fields.xml_from, fields.xml_to, fields.timestamp, ipnSecret].join(':'),
  );
}

/**
 * The answer's `error.errorCode`, as its digits. BoxExchanger writes its codes as bare JSON numbers, and some exceed
 * 2^53 (9951545348963165, not enough reserve), which JSON.parse rounds to another number: those are taken from the
 * answer's text.
 */
function errorCodeOf(body: unknown, text: string): string | undefined {
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  const code = body.error.errorCode;
  if (typeof code === 'number' && !Number.isSafeInteger(code)) return /"errorCode"\s*:\s*(\d+)/.exec(text)?.[1];
  return scalarText(code);
}

function boxError(httpStatus: number, body: unknown, text: string): CheckoutError {
  const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
  const errorCode = errorCodeOf(body, text);
  const object = error && isRecord(error.object) ? error.object : undefined;
  const detail = [errorCode, error ? scalarText(error.message) : undefined, object ? scalarText(object.nameField) ?? scalarText(object.fieldId) : undefined]
    .filter(Boolean)
    .join(' ') || snippet(text);
  const known = errorCode ? BOXEXCHANGER_ERRORS[errorCode] : undefined;
  if (known) {
    const field = object ? scalarText(object.nameField) : undefined;
    const message = known.code === 'invalid_payment_field' && field ? `${known.message} (${field})` : known.message;
    return new CheckoutError(known.code, message, { detail });
  }
  if (httpStatus === 429) return new CheckoutError('provider_rate_limited', 'BoxExchanger asks to slow down (429).', { detail });
  if (httpStatus >= 500) return new CheckoutError('provider_unavailable', `BoxExchanger is unavailable (${httpStatus}).`, { detail });
  if (httpStatus === 401 || httpStatus === 403) return new CheckoutError('provider_auth_failed', `BoxExchanger refused the credentials (${httpStatus}).`, { detail });
  return new CheckoutError('provider_error', `BoxExchanger answered with an unexpected error${errorCode ? ` (${errorCode})` : ` (${httpStatus})`}.`, { detail });
}

/**
 * The API's answer to a signed request whose `time` was not above the last one it saw (or whose hash is wrong); some
 * deployments also answer it to an unsigned read, and the sandbox to an order/get with a wrong order secret.
 */
const NOT_AUTHORISED = '40301';

interface CallResult {
  json: unknown;
  response: ProviderResponse;
}

/** A query string carries text only: the server hashes what it parses, so query params are sent (and hashed) as strings. */
function asSent(method: 'GET' | 'POST' | 'PUT', params: Record<string, unknown>): Record<string, unknown> {
  return method === 'GET' ? Object.fromEntries(Object.entries(params).map(([key, value]) => [key, String(value)])) : params;
}

/** The order is queried with its own uid and secret: a session without them (lost in a crash) cannot be re-read. */
function hasOrderCredentials(session: SessionRecord): boolean {
  return Boolean(session.providerPaymentId) && typeof session.providerData.uid === 'string' && typeof session.providerData.secret === 'string';
}

export class BoxExchangerProvider extends defineProvider<BoxExchangerConfig>({
  id: 'boxexchanger',
  name: NAME,
  methods: (config) => config.routes,
  cancel: true,
  // Each order carries its own ipnUrl (and ipnSecret): the URL names the session the IPN is about.
  webhookPath: 'per-session',
  // The payer comes back to clientCallbackUrl with ?status=success|error appended.
  returnStatusParam: true,
  canFetchStatus: hasOrderCredentials,
  // The payer pressed "paid" and BoxExchanger checks it (inProgress), or has the money and queues the payout
  // (inProgressPayout): an admin may take longer than the order's window, and the order can no longer be deleted.
  // A payment error (errorPayment, failed here) an admin may still fix: watched as long, since its IPN comes once.
  underwayStatuses: ['inProgress', 'inProgressPayout', 'errorPayment'],
}) {
  /** The adapter for the helper's configuration: its API base, and where its payment pages are. */
  static fromConfig(config: CheckoutConfig, nonces: Pick<Store, 'withLock' | 'takeNonce'>): BoxExchangerProvider {
    const box = config.providers.boxexchanger;
    const apiBase = providerBaseUrl(config, 'boxexchanger');
    // Pages are the payer's: BOXEXCHANGER_PAGE_URL, else the API's base; the sandbox's at the helper's public origin
    // (the API base is the helper's own listening address then, which the payer's browser may not reach).
    const pages = box.pageBaseUrl ?? (box.baseUrl === null ? `${new URL(config.publicUrl).origin}/sandbox/boxexchanger` : apiBase);
    return new BoxExchangerProvider(box, apiBase, pages, nonces);
  }

  private readonly apiBase: string;
  /** The nonce counter and the lock that orders signed calls, per API key (the key itself is not used as a name). */
  private readonly nonceScope: string;
  /**
   * Set once this deployment refused an unsigned order/get (40301) and answered it signed: later reads go signed at
   * once instead of paying for the refused round trip each time. Learnt again after a restart.
   */
  private signedReads = false;

  constructor(
    config: BoxExchangerConfig,
    baseUrl: string,
    private readonly pageBaseUrl: string,
    private readonly nonces: Pick<Store, 'withLock' | 'takeNonce'>,
  ) {
    super(config);
    this.apiBase = `${baseUrl}/service/api/v1`;
    this.nonceScope = `boxexchanger:${sha256Hex(`${baseUrl}\n${config.apiKey}`).slice(0, 24)}`;
  }

  override prepare(): Record<string, unknown> {
    // One random IPN secret per order: a leaked secret exposes one order only.
    return { ipnSecret: randomBytes(24).toString('hex') };
  }

  /** Sends one request as given: GET params go in the query string, others as a JSON body. */
  private async send(method: 'GET' | 'POST' | 'PUT', path: string, params: Record<string, unknown>, headers: Record<string, string>): Promise<CallResult> {
    const query = method === 'GET' ? `?${new URLSearchParams(params as Record<string, string>)}` : '';
    const response = await providerRequest(NAME, `${this.apiBase}/${path}${query}`, {
      method,
      headers: { accept: 'application/json', ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(method === 'GET' ? {} : { body: JSON.stringify(params) }),
      timeoutMs: this.config.timeoutMs,
    });
    return { json: response.json, response };
  }

  /**
   * Sends one API call, signed when an API key is configured. Signed calls carry `time`, which BoxExchanger requires
   * to increase with every call of the key: the value comes from the store (so it survives restarts and is shared by
   * every helper process on the database), and signed calls of one key are sent one at a time, so they arrive in the
   * order of their values. A 40301 (a concurrent caller outside this store, or a clock step) is retried once with a
   * fresh value.
   */
  private async call(method: 'GET' | 'POST' | 'PUT', path: string, params: Record<string, unknown>): Promise<CallResult> {
    if (!this.config.apiKey) return this.send(method, path, asSent(method, params), {});
    const signed = this.nonces.withLock(this.nonceScope, async () => {
      for (let attempt = 1; ; attempt++) {
        const sent = asSent(method, { ...params, time: await this.nonces.takeNonce(this.nonceScope, Date.now()) });
        const result = await this.send(method, path, sent, { apikey: this.config.apiKey, hash: boxApiHash(sent, this.config.apiSecret) });
        if (attempt >= 2 || errorCodeOf(result.json, result.response.text) !== NOT_AUTHORISED) return result;
      }
    });
    // Other instances kept the key's signed calls busy all that time: nothing was sent, and a later try may pass.
    return signed.catch((error: unknown) => {
      if (!(error instanceof LockTimeoutError)) throw error;
      throw new CheckoutError('provider_unavailable', 'BoxExchanger\'s signed calls were busy on other helper instances; nothing was sent.', { cause: error });
    });
  }

  /**
   * Reads with the order's own credentials, unsigned (no nonce, no lock: reads run concurrently). A 40301 is asked
   * again signed; only when the signed read is answered does this deployment count as one that wants signed reads
   * (the sandbox, for one, answers an unknown order or a wrong secret with 40301 whether signed or not).
   */
  private async read(path: string, params: Record<string, unknown>): Promise<CallResult> {
    if (!this.signedReads) {
      const unsigned = await this.send('GET', path, asSent('GET', params), {});
      if (!this.config.apiKey || errorCodeOf(unsigned.json, unsigned.response.text) !== NOT_AUTHORISED) return unsigned;
    }
    const signed = await this.call('GET', path, params);
    if (isRecord(signed.json) && signed.json.success === true) this.signedReads = true;
    return signed;
  }

  async create(input: CreatePaymentInput): Promise<CreatedPayment> {
    this.checkAmount(input.amountMinor, input.currency);
    const routeId = this.config.routes[input.method];
    if (!routeId) throw new CheckoutError('unknown_method', `BoxExchanger has no route for "${input.method}" configured.`);
    const ipnSecret = scalarText(input.providerData.ipnSecret);
    if (!ipnSecret) throw new Error('BoxExchanger session was created without an IPN secret.');
    const fromValues = input.email ? [{ key: this.config.fieldKeys.email, value: input.email }] : [];
    const toValues = this.config.toAccount ? [{ key: this.config.fieldKeys.toAccount, value: this.config.toAccount }] : [];
    const params = {
      routeId,
      // The API takes a number; two decimals are exact in JSON text.
      amount: Number(formatAmount(input.amountMinor)),
      fromValues,
      toValues,
      routeValues: [] as { key: string; value: string }[],
      lang: input.locale === 'ru' ? 'rus' : 'eng',
      agreement: true,
      hideOutData: true,
      clientCallbackUrl: input.urls.success,
      ipnUrl: input.urls.webhook,
      ipnSecret,
      ...(this.config.partner ? { partner: this.config.partner } : {}),
    };
    const { json, response } = await this.call('POST', 'public/exchanger/order/create', params);
    if (!isRecord(json) || json.success !== true || !isRecord(json.data)) throw boxError(response.status, json, response.text);
    const data = json.data;
    const orderId = scalarText(data._id);
    const uid = scalarText(data.uid);
    const secret = scalarText(data.secret);
    if (!orderId || !uid || !secret || !/^[A-Za-z0-9_-]+$/.test(uid) || !/^[A-Za-z0-9_-]+$/.test(secret)) {
      throw new CheckoutError('provider_error', 'BoxExchanger answered without an order id, uid or secret.');
    }
    const paymentUrl = `${this.pageBaseUrl}/${input.locale === 'ru' ? 'ru' : 'en'}/payment/${uid}/${secret}`;
    if (!isHttpUrl(paymentUrl)) throw new CheckoutError('provider_error', 'BoxExchanger payment URL is not valid.');
    const rawStatus = scalarText(data.status) ?? 'new';
    const expiresAt = parseProviderTime(data.expiresAt);
    return {
      providerPaymentId: orderId,
      paymentUrl,
      rawStatus,
      status: this.mapStatus(rawStatus) ?? 'created',
      ...optional('expiresAt', expiresAt),
      providerData: { uid, secret },
      raw: { ...data, secret: '[redacted]' },
    };
  }

  parseCallback(input: CallbackInput): ParsedCallback {
    if (!/^application\/x-www-form-urlencoded\b/i.test(input.contentType)) {
      throw new CheckoutError('unsupported_media_type', 'A BoxExchanger IPN is application/x-www-form-urlencoded.');
    }
    // Anyone can post here, before any signature is checked: the body is read in linear time, and a form far longer
    // than an IPN (a dozen fields and the payout's account) is refused at once.
    const grouped = new Map<string, string[]>();
    let count = 0;
    for (const [key, value] of new URLSearchParams(input.rawBody)) {
      if (++count > MAX_IPN_FIELDS) throw new CheckoutError('invalid_webhook', `A BoxExchanger IPN has at most ${MAX_IPN_FIELDS} fields.`);
      const values = grouped.get(key);
      if (values) values.push(value);
      else grouped.set(key, [value]);
    }
    const fields: Record<string, unknown> = Object.fromEntries([...grouped].map(([key, values]) => [key, values.length === 1 ? values[0] : values]));
    const required = ['orderId', 'newStatus', 'inAmount', 'outAmount', 'timestamp', this.config.ipnHashField];
    for (const name of required) {
      if (typeof fields[name] !== 'string') throw new CheckoutError('invalid_webhook', `The BoxExchanger IPN lacks "${name}".`);
    }
    const newStatus = fields.newStatus as string;
    const timestamp = parseProviderTime(fields.timestamp);
    const text = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : '');
    const parsed: ParsedCallback = {
      providerPaymentId: fields.orderId as string,
      claim: { rawStatus: newStatus, ...optional('status', this.mapStatus(newStatus)), ...optional('paidAmountMinor', parseAmount(fields.inAmount)) },
      // Exactly the fields the IPN hash covers.
      dedupeKey: IPN_SIGNED_FIELDS.map(text).join(':'),
      fields,
      ...optional('eventTimestamp', timestamp),
    };
    if (input.sessionIdFromUrl) parsed.reference = input.sessionIdFromUrl;
    return parsed;
  }

  /** The hash covers the signed fields with the session's own IPN secret; the timestamp must be fresh. */
  verifyCallback(_input: CallbackInput, parsed: ParsedCallback, session: SessionRecord | undefined): VerifiedClaim {
    const ipnSecret = session ? scalarText(session.providerData.ipnSecret) : undefined;
    if (!session || !ipnSecret) throw new CheckoutError('invalid_signature', 'The BoxExchanger IPN names no known order.');
    const form = parsed.fields;
    const text = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
    const [orderId, newStatus, inAmount, outAmount, xmlFrom, xmlTo, timestampText] = IPN_SIGNED_FIELDS.map(text) as [
      string, string, string, string, string, string, string,
    ];
    const expected = boxIpnHash({ orderId, newStatus, inAmount, outAmount, xml_from: xmlFrom, xml_to: xmlTo, timestamp: timestampText }, ipnSecret);
    if (!hexEquals(form[this.config.ipnHashField], expected)) {
      throw new CheckoutError('invalid_signature', 'The BoxExchanger IPN hash does not match.');
    }
    const timestamp = parsed.eventTimestamp;
    const maxAgeMs = this.config.ipnMaxAgeSeconds * 1000;
    if (timestamp === undefined || Math.abs(Date.now() - timestamp) > maxAgeMs) {
      throw new CheckoutError('stale_notification', 'The BoxExchanger IPN timestamp is outside the accepted window.');
    }
    return verifiedClaim(parsed, true);
  }

  private orderCredentials(session: SessionRecord): { orderUID: string; orderSecret: string } {
    const orderUID = scalarText(session.providerData.uid);
    const orderSecret = scalarText(session.providerData.secret);
    if (!orderUID || !orderSecret) throw new CheckoutError('unknown_session', 'The session has no BoxExchanger order yet.');
    return { orderUID, orderSecret };
  }

  async fetchStatus(session: SessionRecord): Promise<ProviderStatusResult> {
    const credentials = this.orderCredentials(session);
    const { json, response } = await this.read('public/exchanger/order/get', { ...credentials, type: 'order' });
    const order = isRecord(json) && json.success === true && isRecord(json.data) && isRecord(json.data.order) ? json.data.order : undefined;
    if (!order) throw boxError(response.status, json, response.text);
    // Either id the order has (its uid, and its _id: the session's payment) must be its own.
    checkAnsweredPayment(NAME, credentials.orderUID, order.uid);
    if (session.providerPaymentId) checkAnsweredPayment(NAME, session.providerPaymentId, order._id);
    const rawStatus = scalarText(order.status);
    if (!rawStatus) throw new CheckoutError('provider_error', 'BoxExchanger answered order/get without a status.');
    const expiresAt = parseProviderTime(order.expiresAt);
    const status = this.mapStatus(rawStatus, session, expiresAt);
    if (!status) throw new CheckoutError('provider_error', `BoxExchanger reported an unknown status "${rawStatus}".`);
    return {
      rawStatus,
      status,
      ...optional('paidAmountMinor', parseAmount(order.inAmount)),
      ...optional('expiresAt', expiresAt),
      raw: { ...order, secret: order.secret === undefined ? undefined : '[redacted]' },
    };
  }

  async cancel(session: SessionRecord): Promise<void> {
    const { json, response } = await this.call('PUT', 'public/exchanger/order/update-status', { ...this.orderCredentials(session), status: 'deleted' });
    if (!isRecord(json) || json.success !== true) throw boxError(response.status, json, response.text);
  }

  mapStatus(rawStatus: string, session?: SessionRecord, providerExpiresAt?: number): SessionStatus | undefined {
    if (!Object.hasOwn(BOXEXCHANGER_STATUS_MAP, rawStatus)) return undefined;
    if (rawStatus === 'inProgressPayout' && this.config.payoutQueuedIsPaid) return 'paid';
    if (rawStatus === 'deleted') {
      const expiresAt = providerExpiresAt ?? session?.expiresAt;
      return expiresAt !== undefined && Date.now() > expiresAt ? 'expired' : 'cancelled';
    }
    return BOXEXCHANGER_STATUS_MAP[rawStatus];
  }
}
