/**
 * The few helper and sandbox routes the demo reads (the element talks to the helper itself). Parsing is
 * defensive: the demo shows whatever the helper sends and never crashes on a field it does not know.
 */
import type { HeldResolution } from '../contract/index.js';

interface ProviderMethod {
  id: string;
  label: { ru: string; en: string };
}

export interface ProviderInfo {
  id: string;
  name: string;
  methods: ProviderMethod[];
  minAmount?: number;
  frameable?: boolean;
  sandbox?: boolean;
}

export interface CheckoutConfig {
  providers: ProviderInfo[];
  defaultProvider?: string;
  currency?: string;
  sandbox?: boolean;
}

export interface DemoSession {
  id: string;
  orderId?: string;
  provider?: string;
  method?: string;
  status?: string;
  amount?: number;
  currency?: string;
  paidAmount?: number;
  createdAt?: string | number;
  updatedAt?: string | number;
  /** The helper's version of the session as listed (its merchant API's ETag): a decision is made on it. */
  version?: string;
  [field: string]: unknown;
}

export interface SessionEvent {
  at?: string | number;
  source?: string;
  type?: string;
  from?: string;
  to?: string;
  providerStatus?: string;
  amount?: number;
  raw?: unknown;
  [field: string]: unknown;
}

/** Used before `/config` answers, or when the helper is not running: the three providers of the product. */
export const FALLBACK_CONFIG: CheckoutConfig = {
  providers: [
    { id: 'repay', name: 'Repay', methods: methodsOf(['sbp', 'card']) },
    { id: 'boxexchanger', name: 'BoxExchanger', methods: methodsOf(['sbp', 'card']) },
    { id: 'agetrading', name: 'age.trading', methods: methodsOf(['sbp', 'card']) },
  ],
  defaultProvider: 'repay',
  currency: 'RUB',
};

function methodsOf(ids: string[]): ProviderMethod[] {
  const labels: Record<string, ProviderMethod['label']> = {
    sbp: { ru: 'СБП', en: 'SBP' },
    card: { ru: 'Банковская карта', en: 'Bank card' },
  };
  return ids.map((id) => ({ id, label: labels[id] ?? { ru: id, en: id } }));
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }
}

async function getJson(url: string, timeoutMs = 8000): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      cache: 'no-store',
    });
  } catch (cause) {
    throw new ApiError(`${url}: ${cause instanceof Error ? cause.message : String(cause)}`, undefined, { cause });
  }
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      if (body.error?.message) detail += ` — ${body.error.code ?? ''} ${body.error.message}`.trimEnd();
    } catch {
      // Not JSON (e.g. the dev server's own 404 page): the status says enough.
    }
    throw new ApiError(detail, response.status);
  }
  try {
    return await response.json();
  } catch (cause) {
    throw new ApiError(`${url}: the answer is not JSON`, response.status, { cause });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A finite number, or a string holding one; undefined otherwise. */
export function optionalNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function parseMethod(value: unknown): ProviderMethod | undefined {
  if (typeof value === 'string') return methodsOf([value])[0];
  if (!isRecord(value) || typeof value.id !== 'string') return undefined;
  const label = isRecord(value.label) ? value.label : {};
  const ru = typeof label.ru === 'string' ? label.ru : typeof value.label === 'string' ? value.label : value.id;
  const en = typeof label.en === 'string' ? label.en : ru;
  return { id: value.id, label: { ru, en } };
}

export async function fetchConfig(): Promise<CheckoutConfig> {
  const body = await getJson('/api/checkout/config');
  if (!isRecord(body) || !Array.isArray(body.providers)) throw new ApiError('/config: unexpected answer');
  const providers: ProviderInfo[] = [];
  for (const item of body.providers) {
    if (!isRecord(item) || typeof item.id !== 'string') continue;
    const methods = Array.isArray(item.methods)
      ? item.methods.map(parseMethod).filter((m): m is ProviderMethod => m !== undefined)
      : [];
    const minAmount = optionalNumber(item.minAmount);
    providers.push({
      id: item.id,
      name: typeof item.name === 'string' ? item.name : item.id,
      methods,
      ...(minAmount !== undefined ? { minAmount } : {}),
      ...(typeof item.frameable === 'boolean' ? { frameable: item.frameable } : {}),
      ...(typeof item.sandbox === 'boolean' ? { sandbox: item.sandbox } : {}),
    });
  }
  return {
    providers,
    ...(typeof body.defaultProvider === 'string' ? { defaultProvider: body.defaultProvider } : {}),
    ...(typeof body.currency === 'string' ? { currency: body.currency } : {}),
    ...(typeof body.sandbox === 'boolean' ? { sandbox: body.sandbox } : {}),
  };
}

/** Accepts a bare array or `{ sessions: [...] }` / `{ items: [...] }`. */
function listOf(body: unknown, ...keys: string[]): unknown[] {
  if (Array.isArray(body)) return body;
  if (isRecord(body)) {
    for (const key of keys) {
      const value = body[key];
      if (Array.isArray(value)) return value;
    }
  }
  throw new ApiError('unexpected answer: not a list');
}

export async function fetchSessions(): Promise<DemoSession[]> {
  const body = await getJson('/api/checkout/demo/sessions');
  return listOf(body, 'sessions', 'items')
    .filter((item): item is Record<string, unknown> => isRecord(item) && typeof item.id === 'string')
    .map((item) => {
      const session: DemoSession = { ...item, id: item.id as string };
      for (const field of ['amount', 'paidAmount'] as const) {
        const value = optionalNumber(item[field]);
        if (value === undefined) delete session[field];
        else session[field] = value;
      }
      return session;
    });
}

export async function fetchSessionEvents(sessionId: string): Promise<SessionEvent[]> {
  const body = await getJson(`/api/checkout/demo/sessions/${encodeURIComponent(sessionId)}/events`);
  return listOf(body, 'events', 'items').filter(isRecord) as SessionEvent[];
}

/** An order as the demo shop's own backend keeps it (demo/merchant-backend.ts `ShopOrder`), read defensively. */
export interface ShopOrderView {
  orderId: string;
  status: string;
  amount?: string | null;
  currency?: string;
  createdBy?: string;
  createdAt?: string;
  updatedAt?: string;
  paidAt?: string | null;
  paidTwice?: boolean;
  webhooks: ShopWebhookView[];
  [field: string]: unknown;
}

export interface ShopWebhookView {
  webhookId: string;
  type: string;
  receivedAt?: string;
  sessionId?: string | null;
  sessionStatus?: string | null;
  previousStatus?: string | null;
  reason?: string | null;
  note?: string;
  orderStatus?: string;
}

/** The shop's own orders (GET /shop/orders): what it learned from the helper's webhooks. */
export async function fetchShopOrders(): Promise<ShopOrderView[]> {
  const body = await getJson('/shop/orders');
  return listOf(body, 'orders')
    .filter((item): item is Record<string, unknown> => isRecord(item) && typeof item.orderId === 'string')
    .map((item) => ({
      ...item,
      orderId: item.orderId as string,
      status: typeof item.status === 'string' ? item.status : 'new',
      webhooks: Array.isArray(item.webhooks)
        ? (item.webhooks.filter((hook) => isRecord(hook) && typeof hook.webhookId === 'string') as unknown as ShopWebhookView[])
        : [],
    }));
}

/**
 * Settles a held payment through the shop's backend (POST /shop/orders/:orderId/resolve), which calls the helper's
 * merchant API with its key; the page never sees the key. Resolves to the helper's answer, throws its error (412
 * `session_changed` when the payment changed since `version` was listed).
 */
export async function resolveHeldPayment(
  orderId: string,
  sessionId: string,
  status: HeldResolution,
  note: string,
  version?: string,
): Promise<unknown> {
  const url = `/shop/orders/${encodeURIComponent(orderId)}/resolve`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ sessionId, status, note, ...(version ? { version } : {}) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (cause) {
    throw new ApiError(`${url}: ${cause instanceof Error ? cause.message : String(cause)}`, undefined, { cause });
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // The status says enough.
  }
  if (!response.ok) {
    const error = isRecord(body) && isRecord(body.error) ? body.error : {};
    const code = typeof error.code === 'string' ? error.code : '';
    const message = typeof error.message === 'string' ? error.message : '';
    throw new ApiError(`HTTP ${response.status}${code || message ? ` — ${code} ${message}`.trimEnd() : ''}`, response.status);
  }
  return body;
}

export async function fetchSandboxCredentials(): Promise<Record<string, unknown>> {
  const body = await getJson('/sandbox/credentials');
  if (!isRecord(body)) throw new ApiError('/sandbox/credentials: unexpected answer');
  return body;
}

/** `JSON.stringify` that survives cycles, errors, bigints and DOM nodes (event details can hold anything). */
export function prettyJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return (
      JSON.stringify(
        value,
        (_key, item: unknown) => {
          if (typeof item === 'bigint') return `${item}n`;
          if (item instanceof Error) return { name: item.name, message: item.message };
          if (typeof Node !== 'undefined' && item instanceof Node) return `<${item.nodeName.toLowerCase()}>`;
          if (typeof item === 'object' && item !== null) {
            if (seen.has(item)) return '[circular]';
            seen.add(item);
          }
          return item;
        },
        2,
      ) ?? String(value)
    );
  } catch {
    return String(value);
  }
}

/** A date from an ISO string or epoch milliseconds / seconds; undefined when unparsable. */
export function toDate(value: unknown): Date | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return new Date(value < 1e12 ? value * 1000 : value);
  }
  if (typeof value === 'string' && value) {
    const date = new Date(/^\d+$/.test(value) ? Number(value) : value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}
