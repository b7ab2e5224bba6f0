import ky, { HTTPError, TimeoutError, type KyInstance } from 'ky';
import { PayCheckoutError } from './errors.js';
import type { ConfigView, ProviderConfigView, SessionView } from '../contract/index.js';
import { helperBase, resolveSessionUrl } from './helper-url.js';

/** `GET {base}/config`: the contract's `ConfigView`. */
export type HelperConfig = ConfigView;
export type ProviderConfig = ProviderConfigView;

/**
 * The helper's session (the contract's `SessionView`); `token` only comes with creation. A session without an
 * http(s) `paymentUrl` is refused as `bad_response` (`checkSession`), so here it is always a string.
 */
export interface SessionData extends Omit<SessionView, 'paymentUrl' | 'expiresAt' | 'updatedAt'> {
  token?: string;
  paymentUrl: string;
  /** ISO 8601 from the helper; epoch seconds or milliseconds are read too. */
  expiresAt?: string | number | null;
  /** The session's change stamp (ISO 8601); absent from an older helper, or a session kept in the tab by one. */
  updatedAt?: string;
}

export interface CreateSessionBody {
  orderId: string;
  provider?: string;
  method?: string;
  locale?: string;
  returnUrl?: string;
}

const STATUSES: readonly string[] = ['created', 'pending', 'paid', 'held', 'refunded', 'failed', 'cancelled', 'expired'];

/**
 * The element's only HTTP client. GETs are retried with exponential backoff; POSTs never are, because the
 * payer's own retry reuses the attempt's `Idempotency-Key` and gets the same session back.
 */
export class SessionClient {
  /** `session-url` resolved against the document. */
  readonly url: string;
  /** The directory of `session-url`: where `/config` lives. */
  readonly base: string;
  /** Where return-page messages must come from. */
  readonly origin: string;
  readonly #http: KyInstance;

  constructor(sessionUrl: string, timeout: number) {
    this.url = resolveSessionUrl(sessionUrl);
    this.base = helperBase(this.url);
    this.origin = new URL(this.url).origin;
    this.#http = ky.create({
      timeout,
      credentials: 'same-origin',
      retry: { limit: 2, methods: ['get'], statusCodes: [408, 429, 500, 502, 503, 504], backoffLimit: 3000 },
      headers: { accept: 'application/json' },
    });
  }

  config(signal?: AbortSignal): Promise<HelperConfig> {
    return this.#call(() => this.#http.get(`${this.base}/config`, { signal }), (body) => {
      const cfg = body as HelperConfig;
      if (!Array.isArray(cfg?.providers)) throw new TypeError('providers');
      return cfg;
    });
  }

  create(body: CreateSessionBody, idempotencyKey: string, signal?: AbortSignal): Promise<SessionData> {
    return this.#call(
      () => this.#http.post(this.url, { json: body, headers: { 'idempotency-key': idempotencyKey }, signal }),
      (data) => {
        const session = checkSession(data);
        if (typeof session.token !== 'string' || !session.token) throw new TypeError('token');
        return session;
      },
    );
  }

  get(id: string, token: string, signal?: AbortSignal): Promise<SessionData> {
    return this.#call(
      () => this.#http.get(`${this.url}/${encodeURIComponent(id)}`, { headers: bearer(token), signal }),
      checkSession,
    );
  }

  cancel(id: string, token: string, signal?: AbortSignal): Promise<SessionData> {
    return this.#call(
      () => this.#http.post(`${this.url}/${encodeURIComponent(id)}/cancel`, { headers: bearer(token), signal }),
      checkSession,
    );
  }

  async #call<T>(send: () => ReturnType<KyInstance['get']>, check: (body: unknown) => T): Promise<T> {
    let body: unknown;
    try {
      body = await send().json();
    } catch (error) {
      throw await toCheckoutError(error);
    }
    try {
      return check(body);
    } catch (cause) {
      throw new PayCheckoutError('bad_response', true, 'Malformed helper response', { cause });
    }
  }
}

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function checkSession(body: unknown): SessionData {
  const s = body as SessionData;
  if (!s || typeof s.id !== 'string' || !STATUSES.includes(s.status) || typeof s.orderId !== 'string') {
    throw new TypeError('session');
  }
  // A payment URL is put into an iframe, a popup or location: only http(s) may pass.
  if (!/^https?:$/.test(new URL(s.paymentUrl).protocol)) throw new TypeError('paymentUrl');
  return s;
}

/** Maps ky's errors and the helper's `{ error: { code, message, retryable } }` bodies to `PayCheckoutError`. */
/** @internal exported for tests */
export async function toCheckoutError(error: unknown): Promise<unknown> {
  if (error instanceof DOMException && error.name === 'AbortError') return error;
  if (error instanceof TimeoutError) return new PayCheckoutError('timeout', true, 'Request timed out', { cause: error });
  if (error instanceof HTTPError) {
    const status = error.response.status;
    let detail: { code?: unknown; message?: unknown; retryable?: unknown } | undefined;
    try {
      // ky 2 reads the body itself (into `error.data`, leaving the response consumed); ky 1 leaves it to us.
      const body = 'data' in error ? (error as { data?: unknown }).data : await error.response.json();
      detail = (body as { error?: typeof detail } | undefined)?.error;
    } catch {
      // not JSON: fall through to bad_response
    }
    if (detail && typeof detail.code === 'string') {
      return new PayCheckoutError(
        detail.code,
        typeof detail.retryable === 'boolean' ? detail.retryable : status >= 500 || status === 429,
        typeof detail.message === 'string' ? detail.message : detail.code,
        { cause: error, status },
      );
    }
    return new PayCheckoutError('bad_response', status >= 500 || status === 429, `HTTP ${status}`, { cause: error, status });
  }
  if (error instanceof SyntaxError) return new PayCheckoutError('bad_response', true, 'Malformed JSON', { cause: error });
  // fetch rejects with a TypeError when the network fails
  return new PayCheckoutError('network_error', true, 'Network error', { cause: error });
}
