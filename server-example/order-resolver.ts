/**
 * Order lookup over HTTP (`ORDER_RESOLVE_URL`): a `ResolveOrder` for merchants whose backend is not JavaScript.
 * For every new payment the helper POSTs `{ orderId, claimedCustomerId, locale }` to the merchant's URL, signed with
 * Standard Webhooks headers (a fresh `webhook-id` per call, the merchant webhook secret), and takes the amount,
 * currency, description and customer id from the answer. Contract in docs/server.md, "Order lookup over HTTP".
 *
 * Answers: 200 with the order → the order; 404 → `unknown_order`; anything else — another status, a redirect, a
 * timeout, a body that is not the documented JSON, a float or negative amount — is an error, never a default price:
 * transport failures are `order_lookup_failed` (502), a malformed order is `invalid_order` (500). Both keep the
 * merchant-facing detail in the log only.
 */
import { readBoundedStream } from './bounded-body.js';
import { CheckoutError } from './errors.js';
import type { Logger } from './logger.js';
import { parseAmount } from './money.js';
import { signWebhook, validateWebhookSecret } from './merchant-webhooks/signing.js';
import { credentialsRefusal, redactUrlCredentials } from './merchant-webhooks/url-credentials.js';
import type { ResolveOrder, ResolveOrderContext, ResolvedOrder } from './types.js';

export const DEFAULT_ORDER_RESOLVE_TIMEOUT_MS = 5_000;
/** An order answer is a few hundred bytes; anything this large is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpOrderResolverOptions {
  /** The merchant's endpoint (ORDER_RESOLVE_URL), http(s). */
  url: string;
  /** `whsec_…` secret the requests are signed with (MERCHANT_WEBHOOK_SECRET); several = one signature each (rotation). */
  secret: string | readonly string[];
  /** Whole-request timeout, answer included (default 5 s). */
  timeoutMs?: number;
  /** Forward the payer's `Cookie` header so the merchant can check the order is theirs (default false). */
  forwardCookies?: boolean;
  /** Where failures are logged with their detail (default: nowhere; the app's error handler logs the detail). */
  log?: Logger;
}

/** The JSON body the helper POSTs to ORDER_RESOLVE_URL. */
export interface OrderResolveRequestBody {
  orderId: string;
  claimedCustomerId: string | null;
  locale: string | null;
  /**
   * The helper forwards the payer's cookies (ORDER_RESOLVE_FORWARD_COOKIES): a lookup without the owner's login is
   * then a stranger's, and an order that belongs to a customer must be refused to it. Signed with the rest, so the shop
   * can rely on it.
   */
  forwardsCookies: boolean;
}

export function createHttpOrderResolver(options: HttpOrderResolverOptions): ResolveOrder {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new TypeError(`ORDER_RESOLVE_URL is not a valid URL: "${redactUrlCredentials(options.url)}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('ORDER_RESOLVE_URL must be an http(s) URL.');
  // fetch refuses such a URL: every lookup would fail, and its error would quote the password.
  const credentials = credentialsRefusal('ORDER_RESOLVE_URL', options.url, 'lookup');
  if (credentials) throw new TypeError(credentials);
  const target = url.toString();
  const secret = (typeof options.secret === 'string' ? [options.secret] : [...options.secret]).map((item) => validateWebhookSecret(item));
  if (secret.length === 0) throw new TypeError('createHttpOrderResolver() needs a whsec_… secret.');
  const timeoutMs = options.timeoutMs ?? DEFAULT_ORDER_RESOLVE_TIMEOUT_MS;
  const forwardCookies = options.forwardCookies ?? false;

  return async (orderId: string, context: ResolveOrderContext): Promise<ResolvedOrder | null> => {
    const payload: OrderResolveRequestBody = {
      orderId,
      claimedCustomerId: context.claimedCustomerId ?? null,
      locale: context.locale ?? null,
      forwardsCookies: forwardCookies,
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'user-agent': 'pay-checkout-helper',
      ...signWebhook(secret, body),
    };
    const cookie = forwardCookies ? context.request?.headers.get('cookie') : null;
    if (cookie) headers.cookie = cookie;

    const fail = (message: string, rawDetail: string, retryable: boolean, cause?: unknown): CheckoutError => {
      // An error's text may quote the URL (fetch's does): never its user name or password, in the log or the error.
      const detail = redactUrlCredentials(rawDetail, [target]);
      const keepCause = cause !== undefined && detail === rawDetail;
      options.log?.warn('order lookup failed', { orderId, detail });
      return new CheckoutError('order_lookup_failed', message, { retryable, detail, ...(keepCause ? { cause } : {}) });
    };
    const invalid = (detail: string, message = "The shop's order lookup did not answer with an order."): CheckoutError => {
      options.log?.error('order lookup answered an invalid order', { orderId, detail });
      return new CheckoutError('invalid_order', message, { detail });
    };

    // One deadline for connecting, the status line and the body: a server that trickles its answer is a timeout too.
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      // Redirects are not followed: the signed request goes to the configured URL only.
      const post = () => fetch(target, { method: 'POST', headers, body, redirect: 'manual', signal });
      try {
        response = await post();
      } catch (error) {
        // A kept-alive connection the shop closed just as it was reused fails before any answer. A lookup only
        // reads, so it is sent once more, on a new connection, within the same deadline.
        if (signal.aborted || !closedWithoutAnswer(error)) throw error;
        response = await post();
      }
      text = await readLimited(response);
    } catch (error) {
      if (signal.aborted) throw fail('The shop did not answer the order lookup in time.', `no answer within ${timeoutMs} ms`, true, error);
      if (error instanceof AnswerTooLargeError) throw invalid(`answer larger than ${MAX_ANSWER_BYTES} bytes`);
      throw fail('The shop could not be reached for the order lookup.', error instanceof Error ? describe(error) : String(error), true, error);
    }

    if (response.status === 404) return null;
    if (response.status < 200 || response.status > 299) {
      const redirect = response.status >= 300 && response.status < 400;
      throw fail(
        `The shop's order lookup answered HTTP ${response.status}.`,
        redirect
          ? `HTTP ${response.status} redirect to ${response.headers.get('location') ?? '(none)'}: redirects are not followed, set ORDER_RESOLVE_URL to the final URL`
          : `HTTP ${response.status}: ${snippet(text)}`,
        // 5xx, 408 and 429 may pass; a 401/403 (e.g. the merchant refused our signature) or a redirect will not.
        response.status >= 500 || response.status === 408 || response.status === 429,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw invalid(`the answer is not JSON: ${snippet(text)}`);
    }
    return parseResolvedOrder(json, invalid);
  };
}

/**
 * The documented answer → a ResolvedOrder. Strict: a wrong type is an error rather than a guess, because a
 * guessed field could become a price.
 */
function parseResolvedOrder(json: unknown, invalid: (detail: string, message?: string) => CheckoutError): ResolvedOrder {
  const badAmount = 'The shop returned an invalid amount for this order.';
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw invalid('the answer is not a JSON object');
  const answer = json as Record<string, unknown>;
  const present = (field: string) => answer[field] !== undefined && answer[field] !== null;

  const amount = answer.amount;
  let validAmount: string | number;
  if (typeof amount === 'number') {
    // JSON numbers are whole rubles only: 1500.5 as a number could be a float rounding of anything.
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw invalid(`amount ${JSON.stringify(amount)}: a JSON number must be a positive whole number of rubles; send kopecks as a string ("1500.50")`, badAmount);
    }
    validAmount = amount;
  } else if (typeof amount === 'string') {
    const minor = parseAmount(amount);
    if (minor === undefined || minor <= 0 || amount.trim() !== amount) {
      throw invalid(`amount ${JSON.stringify(amount.slice(0, 40))}: must be a positive decimal string with at most two decimals, e.g. "1500.00"`, badAmount);
    }
    validAmount = amount;
  } else {
    throw invalid(amount === undefined || amount === null ? 'amount is missing' : `amount has type ${typeof amount}`, badAmount);
  }

  const currency = answer.currency;
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) {
    throw invalid(`currency ${JSON.stringify(currency ?? null)}: must be an ISO 4217 code such as "RUB"`, 'The shop returned an invalid currency for this order.');
  }

  const order: ResolvedOrder = { amount: validAmount, currency };
  const text = (field: 'description' | 'customerId' | 'email', max: number) => {
    if (!present(field)) return;
    const value = answer[field];
    if (typeof value !== 'string' || value.length > max) throw invalid(`${field} must be a string of at most ${max} characters`);
    if (value !== '') order[field] = value;
  };
  const bool = (field: 'paid' | 'trusted') => {
    if (!present(field)) return;
    const value = answer[field];
    if (typeof value !== 'boolean') throw invalid(`${field} must be true or false`);
    order[field] = value;
  };
  text('description', 1000);
  text('customerId', 200);
  text('email', 320);
  bool('paid');
  bool('trusted');
  return order;
}

class AnswerTooLargeError extends Error {}

async function readLimited(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new AnswerTooLargeError();
  }
  const chunks = await readBoundedStream(response.body, MAX_ANSWER_BYTES, () => new AnswerTooLargeError());
  return Buffer.concat(chunks).toString('utf8');
}

/** The connection was closed or reset with the request sent and no answer begun. */
function closedWithoutAnswer(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** fetch() hides the reason in `cause` ("ECONNREFUSED 127.0.0.1:9"): bring it up for the log. */
function describe(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
