/**
 * Configuration: `CheckoutConfig` is what `createCheckoutApp()` takes, and `loadConfig(env)` builds one from the
 * environment, parsed by the schema in env-schema.ts (every variable is documented in .env.example). A provider
 * without real credentials in the environment runs against the embedded sandbox with the sandbox merchant account.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as v from 'valibot';
import { basePathProblem, DEFAULT_BASE_PATH, EnvSchema, isProviderId, normaliseBaseUrl } from './env-schema.js';
import type { LogLevel, Logger } from './logger.js';
import type { Store } from './store.js';
import { METHOD_IDS } from './types.js';
import type { MerchantEvent, MethodId, ProviderId, ResolveOrder, SessionStatus } from './types.js';

export { DEFAULT_BASE_PATH, isProviderId };

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
  /** Upper-case names of the `pending` statuses of a payment made and being processed (not cancelled, not expired). */
  underwayStatuses: readonly string[];
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
  /**
   * How long a payment the provider itself reviews (held for `provider_review`), or one under way, is still polled
   * after its last change (default 14 days): the provider's decision may come days later, with no callback.
   */
  providerReviewWatchMs?: number;
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
  /**
   * Reverse proxies (IP addresses, CIDR ranges) whose `X-Forwarded-For` names a request's sender (TRUSTED_PROXIES):
   * rejected provider callbacks are counted per sender. Default none: the socket's peer is the sender.
   */
  trustedProxies?: string[];
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
  /** Payment window of every sandbox provider, minutes (SANDBOX_WINDOW_MINUTES); unset: each provider's own. */
  sandboxWindowMinutes?: number;
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
   * (at least once, in order within each order; retried with the same backoff when it throws).
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

/** Refused configuration: every problem found, each naming its variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...new Set(problems)];
    super(list.length === 1 ? list[0]! : `${list.length} configuration problems:\n${list.map((problem) => `- ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = list;
  }
}

export interface LoadConfigOptions {
  /** Listening host and port, used for the PUBLIC_URL and sandbox defaults. */
  host?: string;
  port?: number;
  /** Persist a generated SESSION_SECRET next to the database (default true). */
  persistSecret?: boolean;
}

export function loadConfig(env: Record<string, string | undefined> = process.env, options: LoadConfigOptions = {}): CheckoutConfig {
  const parsed = v.safeParse(EnvSchema, env);
  if (!parsed.success) throw new ConfigError(parsed.issues.map((issue) => issue.message));
  const { mode, server, merchant, reconcile, sandbox } = parsed.output;

  // What depends on where the helper listens: its own URL is the default public and sandbox address.
  const host = options.host ?? (server.HOST || '127.0.0.1');
  const port = options.port ?? server.PORT ?? 8787;
  const listenHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const ownUrl = normaliseBaseUrl(`http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`);
  const publicUrl = server.PUBLIC_URL ?? ownUrl;
  const publicOrigin = new URL(publicUrl).origin;
  const databasePath = server.DATABASE_PATH || resolve('data/checkout.sqlite');

  return {
    mode,
    publicUrl,
    basePath: server.CHECKOUT_BASE_PATH,
    allowedOrigins:
      server.ALLOWED_ORIGINS ?? (mode === 'live' ? [publicOrigin] : [...new Set([publicOrigin, 'http://localhost:5173', 'http://127.0.0.1:5173'])]),
    ...(server.TRUSTED_PROXIES ? { trustedProxies: server.TRUSTED_PROXIES } : {}),
    sessionSecret: server.SESSION_SECRET ?? loadOrCreateSecret(databasePath, options.persistSecret ?? true),
    databasePath,
    ...(server.DATABASE_URL ? { databaseUrl: server.DATABASE_URL, databasePoolSize: server.DATABASE_POOL_SIZE } : {}),
    sandboxBaseUrl: sandbox.SANDBOX_BASE_URL ?? ownUrl,
    enabledProviders: server.CHECKOUT_PROVIDERS,
    defaultProvider: (server.DEFAULT_PROVIDER || server.CHECKOUT_PROVIDERS[0]!) as ProviderId,
    ...(merchant.ORDER_RESOLVE_URL
      ? {
          orderResolve: {
            url: merchant.ORDER_RESOLVE_URL,
            // A comma list during a rotation, as for the webhooks: every lookup carries one signature per secret.
            secret: merchant.MERCHANT_WEBHOOK_SECRET!.length === 1 ? merchant.MERCHANT_WEBHOOK_SECRET![0]! : merchant.MERCHANT_WEBHOOK_SECRET!,
            timeoutMs: merchant.ORDER_RESOLVE_TIMEOUT_MS,
            forwardCookies: merchant.ORDER_RESOLVE_FORWARD_COOKIES,
          },
        }
      : {}),
    ...(merchant.MERCHANT_WEBHOOK_URL?.length
      ? { merchantWebhooks: { urls: merchant.MERCHANT_WEBHOOK_URL, secrets: merchant.MERCHANT_WEBHOOK_SECRET! } }
      : {}),
    delivery: {
      timeoutMs: merchant.MERCHANT_WEBHOOK_TIMEOUT_MS,
      retryDelaysMs: [...DEFAULT_RETRY_DELAYS_MS],
      intervalMs: merchant.MERCHANT_WEBHOOK_INTERVAL_MS,
    },
    ...(merchant.MERCHANT_API_KEY ? { merchantApiKey: merchant.MERCHANT_API_KEY } : {}),
    frameDeny: sandbox.SANDBOX_FRAME_DENY,
    ...(sandbox.SANDBOX_WINDOW_MINUTES !== undefined ? { sandboxWindowMinutes: sandbox.SANDBOX_WINDOW_MINUTES } : {}),
    tokenTtlSeconds: server.SESSION_TOKEN_TTL_SECONDS,
    reconcile: {
      intervalMs: reconcile.RECONCILE_INTERVAL_MS,
      minBackoffMs: reconcile.RECONCILE_MIN_BACKOFF_MS,
      maxBackoffMs: reconcile.RECONCILE_MAX_BACKOFF_MS,
      crashGraceMs: reconcile.RECONCILE_CRASH_GRACE_MS,
      expiryGraceMs: reconcile.RECONCILE_EXPIRY_GRACE_MS,
      latePaymentWatchMs: reconcile.RECONCILE_LATE_PAYMENT_WATCH_MS,
      providerReviewWatchMs: reconcile.RECONCILE_PROVIDER_REVIEW_WATCH_MS,
    },
    logLevel: server.LOG_LEVEL,
    providers: { repay: parsed.output.repay, boxexchanger: parsed.output.boxexchanger, agetrading: parsed.output.agetrading },
  };
}

export function isMethodId(value: unknown): value is MethodId {
  return typeof value === 'string' && (METHOD_IDS as readonly string[]).includes(value);
}

/** The configured mount path, checked and normalised: one leading slash, no trailing slash, never the root. */
export function checkoutBasePath(config: { basePath?: string | undefined }): string {
  const path = config.basePath ?? DEFAULT_BASE_PATH;
  const problem = basePathProblem(path);
  if (problem) throw new ConfigError(problem);
  return path.trim().replace(/\/+$/, '');
}

/** The API base URL a provider is reached at (its real URL, or the embedded sandbox). */
export function providerBaseUrl(config: CheckoutConfig, provider: ProviderId): string {
  return config.providers[provider].baseUrl ?? `${config.sandboxBaseUrl}/sandbox/${provider}`;
}

/** A generated SESSION_SECRET, kept next to the database (mode 0600) so tokens survive a restart. */
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
