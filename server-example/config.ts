/**
 * Configuration: `loadConfig(env)` reads the environment (every variable is documented in .env.example), and
 * `CheckoutConfig` is what `createCheckoutApp()` takes. A provider without real credentials in the environment
 * runs against the embedded sandbox with the sandbox merchant account.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { validateWebhookSecret, WebhookSecretError } from './merchant-webhooks/signing.js';
import { DEFAULT_ORDER_RESOLVE_TIMEOUT_MS } from './order-resolver.js';
import { SANDBOX_ACCOUNTS } from './sandbox/accounts.js';
import type { LogLevel, Logger } from './logger.js';
import type { Store } from './store.js';
import { METHOD_IDS, PROVIDER_IDS, SESSION_STATUSES } from './types.js';
import type { MerchantEvent, MethodId, ProviderId, ResolveOrder, SessionStatus } from './types.js';

export interface ProviderCommonConfig {
  /** True when the provider runs against the embedded sandbox (no real credentials configured). */
  sandbox: boolean;
  /** API base URL; null = the sandbox at `sandboxBaseUrl + /sandbox/<provider>`. */
  baseUrl: string | null;
  /** Whether the provider's payment page may be shown in an iframe. */
  frameable: boolean;
  /** Minimum amount in whole rubles, checked before calling the provider. */
  minAmount: number;
  /** Maximum amount in whole rubles (0 = none). */
  maxAmount: number;
  /** How long a payment stays open at the provider, when the provider does not say. */
  sessionTtlSeconds: number;
  /** Per-request timeout for provider API calls. */
  timeoutMs: number;
}

export interface RepayConfig extends ProviderCommonConfig {
  cassaId: string;
  secretWord1: string;
  secretWord2: string;
  apiKey: string;
  /** payment_method_id per method (issued by Repay support per cashier). */
  methods: Partial<Record<MethodId, string>>;
  /** Default of payload.trusted when resolveOrder() does not say. */
  trusted: boolean;
}

export interface BoxExchangerConfig extends ProviderCommonConfig {
  /** Optional API auth (headers apikey + hash); both empty = unauthenticated order creation. */
  apiKey: string;
  apiSecret: string;
  /** Where payment pages live (`{pageBaseUrl}/{lang}/payment/{uid}/{secret}`); null = the API base URL. */
  pageBaseUrl: string | null;
  /** routeId per method. */
  routes: Partial<Record<MethodId, string>>;
  fieldKeys: { fromAccount: string; toAccount: string; email: string };
  /** The merchant's receiving account, sent as the route's "to" field. */
  toAccount: string;
  partner: string;
  /** Name of the IPN form field that carries the hash (undocumented by BoxExchanger). */
  ipnHashField: string;
  /** IPNs older (or further in the future) than this are rejected. */
  ipnMaxAgeSeconds: number;
  /** Treat `inProgressPayout` (payment received, payout queued) as paid. */
  payoutQueuedIsPaid: boolean;
}

export interface AgeTradingConfig extends ProviderCommonConfig {
  authHeader: string;
  /** Full header value, e.g. "Token abc…". */
  authValue: string;
  createPath: string;
  /** Status path; `{id}` is replaced by the provider's request id. */
  statusPath: string;
  /** Cancel path; `{id}` as above; empty = cancelling is not supported. */
  cancelPath: string;
  /** Provider status → unified status. */
  statusMap: Record<string, SessionStatus>;
  /** Field of the status response that carries the paid amount. */
  amountField: string;
  /** payment_method integer per method. */
  methods: Partial<Record<MethodId, number>>;
  /** When set, callbacks must carry hex(hmac_sha256(secret, rawBody)) in `callbackSignatureHeader`. */
  callbackSecret: string;
  callbackSignatureHeader: string;
}

export interface ProvidersConfig {
  repay: RepayConfig;
  boxexchanger: BoxExchangerConfig;
  agetrading: AgeTradingConfig;
}

export interface ReconcileConfig {
  /** How often the reconciler looks for due sessions. */
  intervalMs: number;
  /** First poll delay after creation; doubles per attempt up to maxBackoffMs. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** A session row without a provider payment this long after creation was left by a crash. */
  crashGraceMs: number;
  /** Extra time after the provider's window before a session is expired. */
  expiryGraceMs: number;
  /** How long after its window an ended (or held) session is still polled for a late payment or a resolution. */
  latePaymentWatchMs: number;
}

/**
 * `test`: the provider sandbox is mounted, providers without credentials run against it, the demo catalogue and
 * the demo session log are available. `live`: none of that; every enabled provider must be configured.
 */
export type CheckoutMode = 'test' | 'live';

export interface CheckoutConfig {
  mode: CheckoutMode;
  /** Public base URL of the site that serves /api/checkout (the merchant's domain); no trailing slash. */
  publicUrl: string;
  /** Path the helper's routes answer under (default `/api/checkout`); provider return and webhook URLs use it. */
  basePath?: string;
  /** Storefront origins allowed to create sessions (CORS) and to receive return-page messages. */
  allowedOrigins: string[];
  sessionSecret: string;
  databasePath: string;
  /** PostgreSQL URL (DATABASE_URL): the store of several helper instances; unset = SQLite at databasePath. */
  databaseUrl?: string;
  /** Connections each instance keeps to PostgreSQL (DATABASE_POOL_SIZE, default 10). */
  databasePoolSize?: number;
  /** Where the helper reaches the embedded sandbox (its own listening address). */
  sandboxBaseUrl: string;
  enabledProviders: ProviderId[];
  defaultProvider: ProviderId;
  /** The merchant's order lookup; undefined = `orderResolve` when set, else the demo catalogue. */
  resolveOrder?: ResolveOrder;
  /** Order lookup over HTTP (ORDER_RESOLVE_URL), used when no `resolveOrder` is given. */
  orderResolve?: OrderResolveConfig;
  /** Sandbox providers whose pages refuse framing (SANDBOX_FRAME_DENY). */
  frameDeny: Partial<Record<ProviderId, boolean>>;
  /** Lifetime of session bearer tokens. */
  tokenTtlSeconds: number;
  reconcile: ReconcileConfig;
  logLevel: LogLevel;
  logger?: Logger;
  /** A ready store (e.g. a shared database); default: SQLite at databasePath. */
  store?: Store;
  providers: ProvidersConfig;
  /** Signed webhooks to the merchant's backend (MERCHANT_WEBHOOK_URL, MERCHANT_WEBHOOK_SECRET). */
  merchantWebhooks?: MerchantWebhooksConfig;
  /**
   * In-process hook for Node merchants: called with every merchant event, through the same outbox as the webhooks
   * (at least once, in order per session; retried with the same backoff when it throws).
   */
  onEvent?: (event: MerchantEvent) => void | Promise<void>;
  /** How merchant notifications are sent and retried (webhooks and `onEvent`). */
  delivery: DeliveryConfig;
  /** Bearer key of the merchant API (`/merchant/…`, MERCHANT_API_KEY); unset: those routes answer 404. */
  merchantApiKey?: string;
}

export interface MerchantWebhooksConfig {
  urls: string[];
  /** `whsec_…` secrets; several (key rotation) sign each message once each. */
  secrets: string[];
}

export interface DeliveryConfig {
  /** Time limit of one webhook attempt. */
  timeoutMs: number;
  /** Delays before the 2nd, 3rd, … attempt (jittered ±10 %); after the last, a delivery is `failed`. */
  retryDelaysMs: number[];
  /** How often the sender looks for due deliveries when nothing wakes it. */
  intervalMs: number;
}

/** About three days of retries: 5 s, 5 min, 30 min, 2 h, 5 h, then 10 h six times (≈ 67.6 h after the first try). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, ...Array.from({ length: 6 }, () => 36_000_000),
];

export interface OrderResolveConfig {
  /** The merchant's endpoint the helper POSTs `{ orderId, claimedCustomerId, locale }` to. */
  url: string;
  /** `whsec_…` secret(s) the lookups are signed with (MERCHANT_WEBHOOK_SECRET; several during a rotation). */
  secret: string | string[];
  timeoutMs: number;
  /** Forward the payer's Cookie header (ORDER_RESOLVE_FORWARD_COOKIES=1). */
  forwardCookies: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export interface LoadConfigOptions {
  /** Listening host and port, used for the PUBLIC_URL and sandbox defaults. */
  host?: string;
  port?: number;
  /** Persist a generated SESSION_SECRET next to the database (default true). */
  persistSecret?: boolean;
}

const DEFAULT_AGE_STATUS_MAP: Record<string, SessionStatus> = {
  CREATED: 'created',
  NEW: 'created',
  PENDING: 'pending',
  PROCESSING: 'pending',
  SUCCESS: 'paid',
  COMPLETED: 'paid',
  FAILED: 'failed',
  ERROR: 'failed',
  CANCELLED: 'cancelled',
  CANCELED: 'cancelled',
  EXPIRED: 'expired',
  TIMEOUT: 'expired',
};

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): CheckoutConfig {
  const get = (name: string): string => (env[name] ?? '').trim();

  const host = options.host ?? (get('HOST') || '127.0.0.1');
  const port = options.port ?? intVar(env, 'PORT', 8787, 0, 65535);
  const listenHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const ownUrl = `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`;

  const mode = loadMode(env);
  if (mode === 'live' && !get('PUBLIC_URL')) {
    throw new ConfigError('CHECKOUT_MODE=live needs PUBLIC_URL: the https address of the site that serves the helper.');
  }
  const publicUrl = normaliseBaseUrl(get('PUBLIC_URL') || ownUrl, 'PUBLIC_URL');
  const publicOrigin = new URL(publicUrl).origin;
  const allowedOrigins = get('ALLOWED_ORIGINS')
    ? get('ALLOWED_ORIGINS')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
        .map((item) => parseOrigin(item, 'ALLOWED_ORIGINS'))
    : mode === 'live'
      ? [publicOrigin]
      : unique([publicOrigin, 'http://localhost:5173', 'http://127.0.0.1:5173']);

  const databasePath = get('DATABASE_PATH') || resolve('data/checkout.sqlite');
  const database = loadDatabase(env);
  const sessionSecret = get('SESSION_SECRET') || loadOrCreateSecret(databasePath, options.persistSecret ?? true);
  if (sessionSecret.length < 32) throw new ConfigError('SESSION_SECRET must be at least 32 characters long.');

  const enabledProviders = get('CHECKOUT_PROVIDERS')
    ? get('CHECKOUT_PROVIDERS')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
        .map((item) => {
          if (!isProviderId(item)) throw new ConfigError(`CHECKOUT_PROVIDERS: unknown provider "${item}".`);
          return item;
        })
    : [...PROVIDER_IDS];
  if (enabledProviders.length === 0) throw new ConfigError('CHECKOUT_PROVIDERS enables no provider.');
  const defaultProviderRaw = get('DEFAULT_PROVIDER') || enabledProviders[0]!;
  if (!isProviderId(defaultProviderRaw) || !enabledProviders.includes(defaultProviderRaw)) {
    throw new ConfigError(`DEFAULT_PROVIDER "${defaultProviderRaw}" is not an enabled provider.`);
  }

  const frameDeny: Partial<Record<ProviderId, boolean>> = {};
  for (const item of get('SANDBOX_FRAME_DENY').split(/[\s,]+/).map((part) => part.trim().toLowerCase()).filter(Boolean)) {
    if (['all', '*', '1', 'true'].includes(item)) {
      for (const provider of PROVIDER_IDS) frameDeny[provider] = true;
    } else if (isProviderId(item)) {
      frameDeny[item] = true;
    } else {
      throw new ConfigError(`SANDBOX_FRAME_DENY: unknown provider "${item}" (use repay, boxexchanger, agetrading or all).`);
    }
  }

  const logLevel = (get('LOG_LEVEL') || 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) throw new ConfigError('LOG_LEVEL must be debug, info, warn, error or silent.');

  const providers: ProvidersConfig = {
    repay: loadRepay(env, frameDeny),
    boxexchanger: loadBoxExchanger(env, frameDeny),
    agetrading: loadAgeTrading(env, frameDeny),
  };
  if (mode === 'live') {
    for (const id of enabledProviders) {
      if (providers[id].sandbox) {
        throw new ConfigError(
          `CHECKOUT_MODE=live: ${PROVIDER_NAMES[id]} has no credentials (${CREDENTIAL_VARIABLES[id].join(', ')}); ` +
            'configure it, or leave it out of CHECKOUT_PROVIDERS. Live mode never falls back to the sandbox.',
        );
      }
    }
  }

  return {
    mode,
    publicUrl,
    basePath: checkoutBasePath({ basePath: get('CHECKOUT_BASE_PATH') || DEFAULT_BASE_PATH }),
    allowedOrigins,
    sessionSecret,
    databasePath,
    ...database,
    sandboxBaseUrl: normaliseBaseUrl(get('SANDBOX_BASE_URL') || ownUrl, 'SANDBOX_BASE_URL'),
    enabledProviders,
    defaultProvider: defaultProviderRaw,
    ...loadOrderResolve(env),
    ...loadMerchantSide(env),
    frameDeny,
    tokenTtlSeconds: intVar(env, 'SESSION_TOKEN_TTL_SECONDS', 86_400, 60, 30 * 86_400),
    reconcile: {
      intervalMs: intVar(env, 'RECONCILE_INTERVAL_MS', 5_000, 50, 3_600_000),
      minBackoffMs: intVar(env, 'RECONCILE_MIN_BACKOFF_MS', 5_000, 10, 3_600_000),
      maxBackoffMs: intVar(env, 'RECONCILE_MAX_BACKOFF_MS', 300_000, 10, 86_400_000),
      crashGraceMs: intVar(env, 'RECONCILE_CRASH_GRACE_MS', 120_000, 0, 86_400_000),
      expiryGraceMs: intVar(env, 'RECONCILE_EXPIRY_GRACE_MS', 60_000, 0, 86_400_000),
      latePaymentWatchMs: intVar(env, 'RECONCILE_LATE_PAYMENT_WATCH_MS', 3_600_000, 0, 30 * 86_400_000),
    },
    logLevel,
    providers,
  };
}

/** Merchant webhooks, their delivery settings and the merchant API key. */
function loadMerchantSide(env: Env): Pick<CheckoutConfig, 'merchantWebhooks' | 'delivery' | 'merchantApiKey'> {
  const get = (name: string) => (env[name] ?? '').trim();
  const list = (name: string) => get(name).split(',').map((item) => item.trim()).filter(Boolean);
  const delivery: DeliveryConfig = {
    timeoutMs: intVar(env, 'MERCHANT_WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    retryDelaysMs: [...DEFAULT_RETRY_DELAYS_MS],
    intervalMs: intVar(env, 'MERCHANT_WEBHOOK_INTERVAL_MS', 1_000, 10, 60_000),
  };
  const result: Pick<CheckoutConfig, 'merchantWebhooks' | 'delivery' | 'merchantApiKey'> = { delivery };
  const urls = list('MERCHANT_WEBHOOK_URL').map((item) => {
    try {
      const url = new URL(item);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
      return url.toString();
    } catch {
      throw new ConfigError(`MERCHANT_WEBHOOK_URL: "${item}" is not an http(s) URL.`);
    }
  });
  if (urls.length > 0) {
    const secrets = list('MERCHANT_WEBHOOK_SECRET');
    if (secrets.length === 0) throw new ConfigError('MERCHANT_WEBHOOK_URL needs MERCHANT_WEBHOOK_SECRET (whsec_…): every webhook is signed.');
    try {
      result.merchantWebhooks = { urls, secrets: secrets.map((secret) => validateWebhookSecret(secret)) };
    } catch (error) {
      if (error instanceof WebhookSecretError) throw new ConfigError(error.message);
      throw error;
    }
  }
  const apiKey = get('MERCHANT_API_KEY');
  if (apiKey) {
    if (apiKey.length < 24) throw new ConfigError('MERCHANT_API_KEY must be at least 24 characters (a random key).');
    result.merchantApiKey = apiKey;
  }
  return result;
}

/** ORDER_RESOLVE_URL and its settings; signed with MERCHANT_WEBHOOK_SECRET, which it therefore requires. */
function loadOrderResolve(env: Env): { orderResolve?: OrderResolveConfig } {
  const get = (name: string) => (env[name] ?? '').trim();
  if (!get('ORDER_RESOLVE_URL')) return {};
  let url: URL;
  try {
    url = new URL(get('ORDER_RESOLVE_URL'));
  } catch {
    throw new ConfigError(`ORDER_RESOLVE_URL is not a valid URL: "${get('ORDER_RESOLVE_URL')}".`);
  }
  // Kept as written (a trailing slash or a query may matter to the merchant's router).
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('ORDER_RESOLVE_URL must be an http(s) URL.');
  if (!get('MERCHANT_WEBHOOK_SECRET')) {
    throw new ConfigError('ORDER_RESOLVE_URL needs MERCHANT_WEBHOOK_SECRET (whsec_…): the order lookups are signed with it.');
  }
  // A comma list during a rotation, as for the webhooks: every lookup carries one signature per secret.
  let secrets: string[];
  try {
    secrets = get('MERCHANT_WEBHOOK_SECRET')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean)
      .map((item) => validateWebhookSecret(item));
  } catch (error) {
    if (error instanceof WebhookSecretError) throw new ConfigError(error.message);
    throw error;
  }
  if (secrets.length === 0) throw new ConfigError('MERCHANT_WEBHOOK_SECRET names no secret (whsec_…, comma-separated during a rotation).');
  return {
    orderResolve: {
      url: url.toString(),
      secret: secrets.length === 1 ? secrets[0]! : secrets,
      timeoutMs: intVar(env, 'ORDER_RESOLVE_TIMEOUT_MS', DEFAULT_ORDER_RESOLVE_TIMEOUT_MS, 100, 60_000),
      forwardCookies: flag(env, 'ORDER_RESOLVE_FORWARD_COOKIES', false),
    },
  };
}

const PROVIDER_NAMES: Readonly<Record<ProviderId, string>> = { repay: 'Repay', boxexchanger: 'BoxExchanger', agetrading: 'age.trading' };
const PROVIDER_PREFIXES: Readonly<Record<ProviderId, string>> = { repay: 'REPAY', boxexchanger: 'BOXEXCHANGER', agetrading: 'AGETRADING' };

/** The variables whose presence means "this provider is real"; any one of them set asks for the rest. */
const CREDENTIAL_VARIABLES: Readonly<Record<ProviderId, readonly string[]>> = {
  repay: ['REPAY_CASSA_ID', 'REPAY_SECRET_WORD_1', 'REPAY_SECRET_WORD_2', 'REPAY_API_KEY'],
  boxexchanger: ['BOXEXCHANGER_BASE_URL', 'BOXEXCHANGER_API_KEY', 'BOXEXCHANGER_API_SECRET'],
  agetrading: ['AGETRADING_API_KEY', 'AGETRADING_AUTH_VALUE', 'AGETRADING_CALLBACK_SECRET'],
};

/** Every provider variable the helper reads (documented in .env.example): anything else with the prefix is a typo. */
const COMMON_SUFFIXES = ['BASE_URL', 'FRAMEABLE', 'MIN_AMOUNT', 'MAX_AMOUNT', 'SESSION_TTL_SECONDS', 'TIMEOUT_MS', 'METHOD_SBP', 'METHOD_CARD'];
const PROVIDER_VARIABLES: ReadonlySet<string> = new Set([
  ...PROVIDER_IDS.flatMap((id) => COMMON_SUFFIXES.map((suffix) => `${PROVIDER_PREFIXES[id]}_${suffix}`)),
  ...Object.values(CREDENTIAL_VARIABLES).flat(),
  'REPAY_TRUSTED',
  'BOXEXCHANGER_PAGE_URL',
  'BOXEXCHANGER_ROUTE_SBP',
  'BOXEXCHANGER_ROUTE_CARD',
  'BOXEXCHANGER_FIELD_FROM_ACCOUNT',
  'BOXEXCHANGER_FIELD_TO_ACCOUNT',
  'BOXEXCHANGER_FIELD_EMAIL',
  'BOXEXCHANGER_TO_ACCOUNT',
  'BOXEXCHANGER_PARTNER',
  'BOXEXCHANGER_IPN_HASH_FIELD',
  'BOXEXCHANGER_IPN_MAX_AGE_SECONDS',
  'BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID',
  'AGETRADING_AUTH_HEADER',
  'AGETRADING_CREATE_PATH',
  'AGETRADING_STATUS_PATH',
  'AGETRADING_CANCEL_PATH',
  'AGETRADING_STATUS_MAP',
  'AGETRADING_AMOUNT_FIELD',
  'AGETRADING_CALLBACK_SIGNATURE_HEADER',
]);

/**
 * CHECKOUT_MODE, defaulting to `live` as soon as any provider credential is set and to `test` otherwise. A
 * provider variable the helper does not know (a typo such as REPAY_CASA_ID) stops start-up in either mode: it would
 * otherwise leave a provider silently unconfigured.
 */
function loadMode(env: Env): CheckoutMode {
  for (const name of Object.keys(env)) {
    if (!/^(REPAY|BOXEXCHANGER|AGETRADING)_/.test(name) || PROVIDER_VARIABLES.has(name) || !(env[name] ?? '').trim()) continue;
    const suggestion = closestName(name, PROVIDER_VARIABLES);
    throw new ConfigError(`Unknown variable ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; see .env.example.`);
  }
  const raw = (env.CHECKOUT_MODE ?? '').trim().toLowerCase();
  if (raw === 'test' || raw === 'live') return raw;
  if (raw) throw new ConfigError(`CHECKOUT_MODE must be "test" or "live", not "${raw}".`);
  const configured = Object.values(CREDENTIAL_VARIABLES).flat().some((name) => (env[name] ?? '').trim());
  return configured ? 'live' : 'test';
}

/** The known name closest to a mistyped one (at most 3 edits away). */
function closestName(name: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** A provider with some credentials set but not the one that switches it on: name what is missing. */
function requireSwitch(env: Env, provider: ProviderId, switchName: string): boolean {
  const set = (name: string) => Boolean((env[name] ?? '').trim());
  if (set(switchName)) return true;
  const partial = CREDENTIAL_VARIABLES[provider].find(set);
  if (partial) throw new ConfigError(`${switchName} is required when ${partial} is set (${PROVIDER_NAMES[provider]} would otherwise run against the sandbox).`);
  return false;
}

/** The settings every provider shares, read from its `<PREFIX>_…` variables. */
function loadCommon(
  env: Env,
  provider: ProviderId,
  prefix: string,
  real: boolean,
  frameDeny: Partial<Record<ProviderId, boolean>>,
  defaults: { baseUrl?: string; minAmount: number; maxAmount: number; sessionTtlSeconds: number },
): ProviderCommonConfig {
  const baseUrl = (env[`${prefix}_BASE_URL`] ?? '').trim() || defaults.baseUrl || '';
  return {
    sandbox: !real,
    baseUrl: real ? normaliseBaseUrl(baseUrl, `${prefix}_BASE_URL`) : null,
    frameable: real ? flag(env, `${prefix}_FRAMEABLE`, true) : !frameDeny[provider],
    minAmount: intVar(env, `${prefix}_MIN_AMOUNT`, defaults.minAmount, 1, 1e9),
    maxAmount: intVar(env, `${prefix}_MAX_AMOUNT`, defaults.maxAmount, 0, 1e9),
    sessionTtlSeconds: intVar(env, `${prefix}_SESSION_TTL_SECONDS`, defaults.sessionTtlSeconds, 60, 7 * 86_400),
    timeoutMs: intVar(env, `${prefix}_TIMEOUT_MS`, 15_000, 100, 120_000),
  };
}

function loadRepay(env: Env, frameDeny: Partial<Record<ProviderId, boolean>>): RepayConfig {
  const get = (name: string) => (env[name] ?? '').trim();
  const real = requireSwitch(env, 'repay', 'REPAY_CASSA_ID');
  const account = SANDBOX_ACCOUNTS.repay;
  if (real) {
    for (const name of ['REPAY_SECRET_WORD_1', 'REPAY_SECRET_WORD_2', 'REPAY_API_KEY']) {
      if (!get(name)) throw new ConfigError(`${name} is required when REPAY_CASSA_ID is set.`);
    }
  }
  const methods: Partial<Record<MethodId, string>> = real ? {} : { ...account.methods };
  for (const method of METHOD_IDS) {
    const value = get(`REPAY_METHOD_${method.toUpperCase()}`);
    if (value) methods[method] = value;
  }
  if (real && Object.keys(methods).length === 0) {
    throw new ConfigError('Repay needs at least one payment method id: REPAY_METHOD_SBP and/or REPAY_METHOD_CARD.');
  }
  return {
    ...loadCommon(env, 'repay', 'REPAY', real, frameDeny, { baseUrl: 'https://repay.cx', minAmount: 100, maxAmount: 0, sessionTtlSeconds: 900 }),
    cassaId: real ? get('REPAY_CASSA_ID') : account.cassaId,
    secretWord1: real ? get('REPAY_SECRET_WORD_1') : account.secretWord1,
    secretWord2: real ? get('REPAY_SECRET_WORD_2') : account.secretWord2,
    apiKey: real ? get('REPAY_API_KEY') : account.apiKey,
    methods,
    trusted: flag(env, 'REPAY_TRUSTED', false),
  };
}

function loadBoxExchanger(env: Env, frameDeny: Partial<Record<ProviderId, boolean>>): BoxExchangerConfig {
  const get = (name: string) => (env[name] ?? '').trim();
  const real = requireSwitch(env, 'boxexchanger', 'BOXEXCHANGER_BASE_URL');
  const account = SANDBOX_ACCOUNTS.boxexchanger;
  const routes: Partial<Record<MethodId, string>> = real ? {} : { ...account.routes };
  for (const method of METHOD_IDS) {
    const value = get(`BOXEXCHANGER_ROUTE_${method.toUpperCase()}`);
    if (value) routes[method] = value;
  }
  if (real && Object.keys(routes).length === 0) {
    throw new ConfigError('BoxExchanger needs at least one route id: BOXEXCHANGER_ROUTE_SBP and/or BOXEXCHANGER_ROUTE_CARD.');
  }
  const apiKey = real ? get('BOXEXCHANGER_API_KEY') : account.apiKey;
  const apiSecret = real ? get('BOXEXCHANGER_API_SECRET') : account.apiSecret;
  if (Boolean(apiKey) !== Boolean(apiSecret)) {
    throw new ConfigError('Set both BOXEXCHANGER_API_KEY and BOXEXCHANGER_API_SECRET, or neither.');
  }
  const hashField = get('BOXEXCHANGER_IPN_HASH_FIELD') || account.ipnHashField;
  if (!/^[A-Za-z0-9_\-[\]]{1,64}$/.test(hashField)) throw new ConfigError('BOXEXCHANGER_IPN_HASH_FIELD is not a valid field name.');
  return {
    ...loadCommon(env, 'boxexchanger', 'BOXEXCHANGER', real, frameDeny, {
      minAmount: real ? 1 : account.minAmount,
      maxAmount: real ? 0 : account.maxAmount,
      sessionTtlSeconds: 1200,
    }),
    pageBaseUrl: get('BOXEXCHANGER_PAGE_URL') ? normaliseBaseUrl(get('BOXEXCHANGER_PAGE_URL'), 'BOXEXCHANGER_PAGE_URL') : null,
    apiKey,
    apiSecret,
    routes,
    fieldKeys: {
      fromAccount: get('BOXEXCHANGER_FIELD_FROM_ACCOUNT') || account.fieldKeys.fromAccount,
      toAccount: get('BOXEXCHANGER_FIELD_TO_ACCOUNT') || account.fieldKeys.toAccount,
      email: get('BOXEXCHANGER_FIELD_EMAIL') || account.fieldKeys.email,
    },
    toAccount: get('BOXEXCHANGER_TO_ACCOUNT') || (real ? '' : 'sandbox-merchant-wallet'),
    partner: get('BOXEXCHANGER_PARTNER'),
    ipnHashField: hashField,
    ipnMaxAgeSeconds: intVar(env, 'BOXEXCHANGER_IPN_MAX_AGE_SECONDS', 600, 10, 86_400),
    payoutQueuedIsPaid: flag(env, 'BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID', false),
  };
}

function loadAgeTrading(env: Env, frameDeny: Partial<Record<ProviderId, boolean>>): AgeTradingConfig {
  const get = (name: string) => (env[name] ?? '').trim();
  const real = Boolean(get('AGETRADING_AUTH_VALUE')) || requireSwitch(env, 'agetrading', 'AGETRADING_API_KEY');
  const account = SANDBOX_ACCOUNTS.agetrading;
  const methods: Partial<Record<MethodId, number>> = { ...account.methods };
  for (const method of METHOD_IDS) {
    const value = get(`AGETRADING_METHOD_${method.toUpperCase()}`);
    if (value) {
      const id = Number(value);
      if (!Number.isSafeInteger(id) || id < 0) throw new ConfigError(`AGETRADING_METHOD_${method.toUpperCase()} must be an integer.`);
      methods[method] = id;
    }
  }
  const authValue = real
    ? get('AGETRADING_AUTH_VALUE') || `Token ${get('AGETRADING_API_KEY')}`
    : `${account.authScheme} ${account.apiKey}`;
  return {
    ...loadCommon(env, 'agetrading', 'AGETRADING', real, frameDeny, { baseUrl: 'https://age.trading', minAmount: 100, maxAmount: 0, sessionTtlSeconds: 600 }),
    authHeader: get('AGETRADING_AUTH_HEADER') || account.authHeader,
    authValue,
    createPath: get('AGETRADING_CREATE_PATH') || '/api/requests/create/',
    statusPath: get('AGETRADING_STATUS_PATH') || '/api/requests/{id}/',
    cancelPath: env.AGETRADING_CANCEL_PATH !== undefined ? get('AGETRADING_CANCEL_PATH') : '/api/requests/{id}/cancel/',
    statusMap: { ...DEFAULT_AGE_STATUS_MAP, ...parseStatusMap(get('AGETRADING_STATUS_MAP')) },
    amountField: get('AGETRADING_AMOUNT_FIELD') || 'amount',
    methods,
    callbackSecret: real ? get('AGETRADING_CALLBACK_SECRET') : account.callbackSecret,
    callbackSignatureHeader: get('AGETRADING_CALLBACK_SIGNATURE_HEADER') || account.callbackSignatureHeader,
  };
}

/** `SUCCESS=paid,FAILED=failed` or a JSON object. */
function parseStatusMap(text: string): Record<string, SessionStatus> {
  if (!text) return {};
  let entries: [string, unknown][];
  if (text.startsWith('{')) {
    try {
      entries = Object.entries(JSON.parse(text) as Record<string, unknown>);
    } catch {
      throw new ConfigError('AGETRADING_STATUS_MAP is not valid JSON.');
    }
  } else {
    entries = text.split(',').map((pair) => {
      const [key, value] = pair.split(/[=:]/).map((part) => part.trim());
      return [key ?? '', value];
    });
  }
  const map: Record<string, SessionStatus> = {};
  for (const [key, value] of entries) {
    if (!key || typeof value !== 'string' || !(SESSION_STATUSES as readonly string[]).includes(value)) {
      throw new ConfigError(`AGETRADING_STATUS_MAP: "${key}" must map to one of ${SESSION_STATUSES.join(', ')}.`);
    }
    map[key] = value as SessionStatus;
  }
  return map;
}

export function isProviderId(value: unknown): value is ProviderId {
  return typeof value === 'string' && (PROVIDER_IDS as readonly string[]).includes(value);
}

export function isMethodId(value: unknown): value is MethodId {
  return typeof value === 'string' && (METHOD_IDS as readonly string[]).includes(value);
}

export const DEFAULT_BASE_PATH = '/api/checkout';

/** The configured mount path, checked and normalised: one leading slash, no trailing slash, never the root. */
export function checkoutBasePath(config: { basePath?: string | undefined }): string {
  const path = (config.basePath ?? DEFAULT_BASE_PATH).trim().replace(/\/+$/, '');
  if (!/^(?:\/[A-Za-z0-9._~-]+)+$/.test(path) || /\/\.{1,2}(?:\/|$)/.test(path)) {
    throw new ConfigError(`basePath (CHECKOUT_BASE_PATH) must be a path such as /api/checkout, not "${config.basePath}".`);
  }
  return path;
}

/** The API base URL a provider is reached at (its real URL, or the embedded sandbox). */
export function providerBaseUrl(config: CheckoutConfig, provider: ProviderId): string {
  return config.providers[provider].baseUrl ?? `${config.sandboxBaseUrl}/sandbox/${provider}`;
}

/**
 * DATABASE_URL selects PostgreSQL. Several instances then share the database, so they must share SESSION_SECRET
 * too (a token made by one is checked by another): a secret generated per instance is refused at start-up.
 */
function loadDatabase(env: Env): { databaseUrl?: string; databasePoolSize?: number } {
  const url = (env.DATABASE_URL ?? '').trim();
  if (!url) return {};
  if (!/^postgres(?:ql)?:\/\/./i.test(url)) {
    throw new ConfigError('DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite file).');
  }
  if (!(env.SESSION_SECRET ?? '').trim()) {
    throw new ConfigError(
      'SESSION_SECRET must be set when DATABASE_URL is: every helper instance on the database must use the same one (generate it once, e.g. `openssl rand -base64 32`).',
    );
  }
  return { databaseUrl: url, databasePoolSize: intVar(env, 'DATABASE_POOL_SIZE', 10, 1, 1000) };
}

function loadOrCreateSecret(databasePath: string, persist: boolean): string {
  if (!persist || databasePath === ':memory:') return randomBytes(32).toString('base64url');
  const file = join(dirname(databasePath), 'session-secret');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 32) return stored;
  }
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return secret;
}

function normaliseBaseUrl(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a valid URL: "${value}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name} must be an http(s) URL.`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseOrigin(value: string, name: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: "${value}" is not an origin such as https://shop.example.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name}: "${value}" must be http(s).`);
  return url.origin;
}

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = (env[name] ?? '').trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}.`);
  }
  return value;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be 1 or 0.`);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
