/**
 * The helper's environment as one valibot schema: every variable .env.example documents, parsed and checked, grouped
 * into the values `loadConfig()` (config.ts) builds a `CheckoutConfig` from. Each provider's credentials are a
 * discriminated union — `real` when its switch variable is set, else `sandbox` — and the rules that join several
 * variables (live mode, DATABASE_URL and SESSION_SECRET, …) are checks on the whole. Every message names its
 * variable; loadConfig() reports all of them at once.
 *
 * A variable belongs here exactly when it is documented in .env.example (test/server/env-schema.test.ts checks both
 * ways). A provider variable (REPAY_*, BOXEXCHANGER_*, AGETRADING_*) that is not read here is a typo and stops start-up.
 */
import * as v from 'valibot';
import { trustedProxyProblem } from './client-address.js';
import { validateWebhookSecret, WebhookSecretError } from './merchant-webhooks/signing.js';
import { credentialsRefusal, redactUrlCredentials } from './merchant-webhooks/url-credentials.js';
import { DEFAULT_ORDER_RESOLVE_TIMEOUT_MS } from './order-resolver.js';
import { ageStatus } from './providers/agetrading.js';
import { SANDBOX_ACCOUNTS } from './sandbox/accounts.js';
import { parseFrameDeny } from './sandbox/common.js';
import { METHOD_IDS, PROVIDER_IDS, SESSION_STATUSES } from './types.js';
import type { MethodId, ProviderId, SessionStatus } from './types.js';

// --- Variable kinds: each is a function of the variable's name (for the messages) returning its schema ------------

type Variable<T> = (name: string) => v.GenericSchema<string | undefined, T>;

/** The raw value, trimmed; unset and empty are the same (''). */
const TEXT = v.pipe(v.optional(v.string(), ''), v.trim());

const text =
  (fallback = ''): Variable<string> =>
  () =>
    v.pipe(TEXT, v.transform((value) => value || fallback));

/** A whole number within bounds, or undefined when unset. */
const count =
  (min: number, max: number): Variable<number | undefined> =>
  (name) =>
    v.pipe(
      TEXT,
      v.transform((value) => (value === '' ? undefined : Number(value))),
      v.check(
        (value) => value === undefined || (Number.isSafeInteger(value) && value >= min && value <= max),
        `${name} must be an integer between ${min} and ${max}.`,
      ),
    );

const int =
  (fallback: number, min: number, max: number): Variable<number> =>
  (name) =>
    v.pipe(count(min, max)(name), v.transform((value) => value ?? fallback));

/**
 * A path appended to a provider's base URL. It must start with one `/`: without it the path would run on into the
 * base URL's host (`api/x` after `https://age.trading` is the host `age.tradingapi`), and `//host` would name another
 * host — either way the API credentials would go there.
 */
const isApiPath = (value: string) => /^\/(?!\/)[^\s\\]*$/.test(value);

const apiPath =
  (fallback: string): Variable<string> =>
  (name) =>
    v.pipe(
      text(fallback)(name),
      v.check(isApiPath, `${name} must be a path starting with one "/" (no scheme or host, no spaces), e.g. ${fallback}.`),
    );

/**
 * A path to one payment: without `{id}` every session would read (or cancel) the same payment, and one paid request
 * would make every order look paid. `allowEmpty` keeps '' apart from unset (the feature switched off).
 */
const paymentPath =
  (fallback: string, allowEmpty = false): Variable<string> =>
  (name) =>
    v.pipe(
      allowEmpty ? v.optional(v.string(), fallback) : TEXT,
      v.trim(),
      v.transform((value) => (allowEmpty ? value : value || fallback)),
      v.check((value) => value === '' || value.includes('{id}'), `${name} must contain {id}, where the payment's id goes.`),
      v.check(
        (value) => value === '' || isApiPath(value),
        `${name} must be a path starting with one "/" (no scheme or host, no spaces), e.g. ${fallback}.`,
      ),
    );

/** An HTTP header name (RFC 9110 token): anything else makes every request fail before it is sent. */
const headerName =
  (fallback: string): Variable<string> =>
  (name) =>
    v.pipe(
      text(fallback)(name),
      v.check((value) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value), `${name} must be an HTTP header name (letters, digits and - only, no colon), e.g. ${fallback}.`),
    );

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];
const flag =
  (fallback: boolean): Variable<boolean> =>
  (name) =>
    v.pipe(
      TEXT,
      v.toLowerCase(),
      v.picklist(['', ...TRUE, ...FALSE], `${name} must be 1 or 0.`),
      v.transform((value) => (value === '' ? fallback : TRUE.includes(value))),
    );

/** An http(s) base URL without a trailing slash (origin + path), or undefined when unset. */
const baseUrl =
  (fallback?: string): Variable<string | undefined> =>
  (name) =>
    v.pipe(
      TEXT,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const value = dataset.value || fallback;
        if (!value) return undefined;
        const problem = httpUrlProblem(value);
        if (problem === 'invalid') addIssue({ message: `${name} is not a valid URL: "${value}".` });
        else if (problem === 'protocol') addIssue({ message: `${name} must be an http(s) URL.` });
        else return normaliseBaseUrl(value);
        return NEVER;
      }),
    );

/** A comma list, each item checked and converted by `item` (an error message, or the value). */
const listOf =
  <T>(item: (value: string, name: string) => { value: T } | { problem: string }): Variable<T[] | undefined> =>
  (name) =>
    v.pipe(
      TEXT,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        if (!dataset.value) return undefined;
        const values: T[] = [];
        for (const part of splitList(dataset.value)) {
          const result = item(part, name);
          if ('problem' in result) addIssue({ message: result.problem });
          else values.push(result.value);
        }
        return dataset.issues ? NEVER : values;
      }),
    );

const origins = listOf<string>((value, name) => {
  const problem = httpUrlProblem(value);
  if (problem === 'invalid') return { problem: `${name}: "${value}" is not an origin such as https://shop.example.` };
  if (problem === 'protocol') return { problem: `${name}: "${value}" must be http(s).` };
  return { value: new URL(value).origin };
});

const proxies = listOf<string>((value, name) => {
  const problem = trustedProxyProblem(value);
  return problem ? { problem: `${name}: ${problem}` } : { value };
});

const httpUrls = listOf<string>((value, name) => {
  if (httpUrlProblem(value)) return { problem: `${name}: "${redactUrlCredentials(value)}" is not an http(s) URL.` };
  const credentials = credentialsRefusal(`${name}:`, value, 'webhook');
  return credentials ? { problem: credentials } : { value: new URL(value).toString() };
});

/** `whsec_…` secrets, comma-separated during a rotation. */
const webhookSecrets = listOf<string>((value, name) => {
  try {
    return { value: validateWebhookSecret(value, name) };
  } catch (error) {
    if (error instanceof WebhookSecretError) return { problem: error.message };
    throw error;
  }
});

const providers = listOf<ProviderId>((value, name) =>
  isProviderId(value) ? { value } : { problem: `${name}: unknown provider "${value}".` },
);

/** A key of at least `length` characters, or undefined when unset. */
const key =
  (length: number, message: string): Variable<string | undefined> =>
  () =>
    v.pipe(
      TEXT,
      v.check((value) => value === '' || value.length >= length, message),
      v.transform((value) => value || undefined),
    );

/** The variables of a section, each schema made with its own name. */
function variables<T extends Record<string, Variable<unknown>>>(spec: T): { [K in keyof T]: ReturnType<T[K]> } {
  return Object.fromEntries(Object.entries(spec).map(([name, make]) => [name, make(name)])) as { [K in keyof T]: ReturnType<T[K]> };
}

// --- Sections --------------------------------------------------------------------------------------------------

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export const DEFAULT_BASE_PATH = '/api/checkout';

const SERVER = variables({
  CHECKOUT_MODE: (name) =>
    v.pipe(
      TEXT,
      v.toLowerCase(),
      v.check((value) => ['', 'test', 'live'].includes(value), (issue) => `${name} must be "test" or "live", not "${String(issue.input)}".`),
      v.transform((value) => (value === '' ? undefined : (value as 'test' | 'live'))),
    ),
  HOST: text(),
  PORT: count(0, 65535),
  PUBLIC_URL: baseUrl(),
  CHECKOUT_BASE_PATH: () =>
    v.pipe(
      TEXT,
      v.transform((value) => value || DEFAULT_BASE_PATH),
      v.check((value) => basePathProblem(value) === undefined, (issue) => basePathProblem(String(issue.input))!),
      v.transform(normaliseBasePath),
    ),
  ALLOWED_ORIGINS: origins,
  TRUSTED_PROXIES: proxies,
  SESSION_SECRET: key(32, 'SESSION_SECRET must be at least 32 characters long.'),
  DATABASE_PATH: text(),
  DATABASE_URL: (name) =>
    v.pipe(
      TEXT,
      v.check(
        (value) => value === '' || /^postgres(?:ql)?:\/\/./i.test(value),
        `${name} must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite file).`,
      ),
      v.transform((value) => value || undefined),
    ),
  DATABASE_POOL_SIZE: int(10, 1, 1000),
  CHECKOUT_PROVIDERS: (name) =>
    v.pipe(
      providers(name),
      v.check((list) => list === undefined || list.length > 0, `${name} enables no provider.`),
      v.transform((list) => list ?? [...PROVIDER_IDS]),
    ),
  DEFAULT_PROVIDER: text(),
  SESSION_TOKEN_TTL_SECONDS: int(86_400, 60, 30 * 86_400),
  LOG_LEVEL: (name) =>
    v.pipe(
      TEXT,
      v.transform((value) => value || 'info'),
      v.picklist(LOG_LEVELS, `${name} must be debug, info, warn, error or silent.`),
    ),
});

const ServerSchema = v.pipe(
  v.object(SERVER),
  // Several instances on one database check each other's tokens: a secret generated per instance would not do.
  v.forward(
    v.partialCheck(
      [['DATABASE_URL'], ['SESSION_SECRET']],
      (input) => !input.DATABASE_URL || Boolean(input.SESSION_SECRET),
      'SESSION_SECRET must be set when DATABASE_URL is: every helper instance on the database must use the same one ' +
        '(generate it once, e.g. `openssl rand -base64 32`).',
    ),
    ['SESSION_SECRET'],
  ),
  v.forward(
    v.partialCheck(
      [['DEFAULT_PROVIDER'], ['CHECKOUT_PROVIDERS']],
      (input) => !input.DEFAULT_PROVIDER || (input.CHECKOUT_PROVIDERS as string[]).includes(input.DEFAULT_PROVIDER),
      (issue) => `DEFAULT_PROVIDER "${(issue.input as { DEFAULT_PROVIDER: string }).DEFAULT_PROVIDER}" is not an enabled provider.`,
    ),
    ['DEFAULT_PROVIDER'],
  ),
);

const MERCHANT = variables({
  MERCHANT_WEBHOOK_URL: httpUrls,
  MERCHANT_WEBHOOK_SECRET: (name) =>
    v.pipe(
      webhookSecrets(name),
      v.check((list) => list === undefined || list.length > 0, `${name} names no secret (whsec_…, comma-separated during a rotation).`),
    ),
  MERCHANT_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 60_000),
  MERCHANT_WEBHOOK_INTERVAL_MS: int(1_000, 10, 60_000),
  // Sent as `Authorization: Bearer <key>`: a space or a character outside visible ASCII could never be sent back.
  MERCHANT_API_KEY: () =>
    v.pipe(
      key(24, 'MERCHANT_API_KEY must be at least 24 characters (a random key).')('MERCHANT_API_KEY'),
      v.check((value) => value === undefined || /^[\x21-\x7e]+$/.test(value), 'MERCHANT_API_KEY must be visible ASCII without spaces (it is sent as a Bearer token).'),
    ),
  // Kept as written (a trailing slash or a query may matter to the merchant's router).
  ORDER_RESOLVE_URL: (name) =>
    v.pipe(
      TEXT,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        if (!dataset.value) return undefined;
        const problem = httpUrlProblem(dataset.value);
        const credentials = problem ? undefined : credentialsRefusal(`${name}:`, dataset.value, 'lookup');
        if (problem === 'invalid') addIssue({ message: `${name} is not a valid URL: "${redactUrlCredentials(dataset.value)}".` });
        else if (problem === 'protocol') addIssue({ message: `${name} must be an http(s) URL.` });
        else if (credentials) addIssue({ message: credentials });
        else return new URL(dataset.value).toString();
        return NEVER;
      }),
    ),
  ORDER_RESOLVE_TIMEOUT_MS: int(DEFAULT_ORDER_RESOLVE_TIMEOUT_MS, 100, 60_000),
  ORDER_RESOLVE_FORWARD_COOKIES: flag(false),
});

const MerchantSchema = v.pipe(
  v.object(MERCHANT),
  v.forward(
    v.partialCheck(
      [['MERCHANT_WEBHOOK_URL'], ['MERCHANT_WEBHOOK_SECRET']],
      (input) => !input.MERCHANT_WEBHOOK_URL?.length || Boolean(input.MERCHANT_WEBHOOK_SECRET),
      'MERCHANT_WEBHOOK_URL needs MERCHANT_WEBHOOK_SECRET (whsec_…): every webhook is signed.',
    ),
    ['MERCHANT_WEBHOOK_SECRET'],
  ),
  v.forward(
    v.partialCheck(
      [['ORDER_RESOLVE_URL'], ['MERCHANT_WEBHOOK_SECRET']],
      (input) => !input.ORDER_RESOLVE_URL || Boolean(input.MERCHANT_WEBHOOK_SECRET),
      'ORDER_RESOLVE_URL needs MERCHANT_WEBHOOK_SECRET (whsec_…): the order lookups are signed with it.',
    ),
    ['MERCHANT_WEBHOOK_SECRET'],
  ),
);

const RECONCILE = variables({
  RECONCILE_INTERVAL_MS: int(5_000, 50, 3_600_000),
  RECONCILE_MIN_BACKOFF_MS: int(5_000, 10, 3_600_000),
  RECONCILE_MAX_BACKOFF_MS: int(300_000, 10, 86_400_000),
  RECONCILE_CRASH_GRACE_MS: int(120_000, 0, 86_400_000),
  RECONCILE_EXPIRY_GRACE_MS: int(60_000, 0, 86_400_000),
  RECONCILE_LATE_PAYMENT_WATCH_MS: int(3_600_000, 0, 30 * 86_400_000),
  RECONCILE_PROVIDER_REVIEW_WATCH_MS: int(14 * 86_400_000, 0, 90 * 86_400_000),
});

const SANDBOX = variables({
  SANDBOX_FRAME_DENY: (name) =>
    v.pipe(
      TEXT,
      v.rawTransform(({ dataset, addIssue }) =>
        parseFrameDeny(dataset.value, (item) =>
          addIssue({ message: `${name}: unknown provider "${item}" (use repay, boxexchanger, agetrading or all).` }),
        ),
      ),
    ),
  SANDBOX_BASE_URL: baseUrl(),
  // Minutes, fractions allowed (0.5 = a 30-second window, for trying expiry by hand).
  SANDBOX_WINDOW_MINUTES: (name) =>
    v.pipe(
      TEXT,
      v.transform((value) => (value === '' ? undefined : Number(value))),
      v.check(
        (value) => value === undefined || (Number.isFinite(value) && value > 0 && value <= 1440),
        `${name} must be a number of minutes above 0 and at most 1440.`,
      ),
    ),
});

// --- Providers: settings, and credentials as a union of real and sandbox ------------------------------------------

/** The variables whose presence means "this provider is real"; any one of them set asks for the rest. */
const CREDENTIAL_VARIABLES: Readonly<Record<ProviderId, readonly string[]>> = {
  repay: ['REPAY_CASSA_ID', 'REPAY_SECRET_WORD_1', 'REPAY_SECRET_WORD_2', 'REPAY_API_KEY'],
  boxexchanger: ['BOXEXCHANGER_BASE_URL', 'BOXEXCHANGER_API_KEY', 'BOXEXCHANGER_API_SECRET'],
  agetrading: ['AGETRADING_API_KEY', 'AGETRADING_AUTH_VALUE', 'AGETRADING_CALLBACK_SECRET'],
};

const PROVIDER_NAMES: Readonly<Record<ProviderId, string>> = { repay: 'Repay', boxexchanger: 'BoxExchanger', agetrading: 'age.trading' };

/** A sandbox provider refuses a credential variable: its switch is what is missing. */
const unsetInSandbox = (provider: ProviderId, switchName: string) => (name: string) =>
  v.literal('', `${switchName} is required when ${name} is set (${PROVIDER_NAMES[provider]} would otherwise run against the sandbox).`);
const requiredWhenReal = (switchName: string) => (name: string) => v.pipe(v.string(), v.nonEmpty(`${name} is required when ${switchName} is set.`));

/** `schema`'s output for `input`, or undefined with its problems added to the enclosing transform's. */
function parseWithin<T extends v.GenericSchema>(
  schema: T,
  addIssue: (info: { message: string }) => void,
  input: unknown,
): v.InferOutput<T> | undefined {
  const result = v.safeParse(schema, input);
  if (result.success) return result.output;
  for (const issue of result.issues) addIssue({ message: issue.message });
  return undefined;
}

const methodIds = (values: Partial<Record<MethodId, string>>) =>
  Object.fromEntries(METHOD_IDS.flatMap((method) => (values[method] ? [[method, values[method]]] : []))) as Partial<Record<MethodId, string>>;

const REPAY = variables({
  REPAY_CASSA_ID: text(),
  REPAY_SECRET_WORD_1: text(),
  REPAY_SECRET_WORD_2: text(),
  REPAY_API_KEY: text(),
  REPAY_BASE_URL: baseUrl('https://repay.cx'),
  REPAY_METHOD_SBP: text(),
  REPAY_METHOD_CARD: text(),
  REPAY_TRUSTED: flag(false),
  REPAY_MIN_AMOUNT: int(100, 1, 1e9),
  REPAY_MAX_AMOUNT: int(0, 0, 1e9),
  REPAY_SESSION_TTL_SECONDS: int(900, 60, 7 * 86_400),
  REPAY_TIMEOUT_MS: int(15_000, 100, 120_000),
  REPAY_FRAMEABLE: flag(true),
});

const repaySandbox = unsetInSandbox('repay', 'REPAY_CASSA_ID');
const repayReal = requiredWhenReal('REPAY_CASSA_ID');
const RepayCredentials = v.pipe(
  v.variant('credentials', [
    v.object({
      credentials: v.literal('real'),
      REPAY_CASSA_ID: v.string(),
      REPAY_SECRET_WORD_1: repayReal('REPAY_SECRET_WORD_1'),
      REPAY_SECRET_WORD_2: repayReal('REPAY_SECRET_WORD_2'),
      REPAY_API_KEY: repayReal('REPAY_API_KEY'),
      methods: v.pipe(
        v.record(v.string(), v.string()),
        v.check(
          (methods) => Object.keys(methods).length > 0,
          'Repay needs at least one payment method id: REPAY_METHOD_SBP and/or REPAY_METHOD_CARD.',
        ),
      ),
    }),
    v.object({
      credentials: v.literal('sandbox'),
      REPAY_SECRET_WORD_1: repaySandbox('REPAY_SECRET_WORD_1'),
      REPAY_SECRET_WORD_2: repaySandbox('REPAY_SECRET_WORD_2'),
      REPAY_API_KEY: repaySandbox('REPAY_API_KEY'),
      methods: v.record(v.string(), v.string()),
    }),
  ]),
  v.transform((input) => {
    const account = SANDBOX_ACCOUNTS.repay;
    return input.credentials === 'real'
      ? {
          sandbox: false,
          cassaId: input.REPAY_CASSA_ID,
          secretWord1: input.REPAY_SECRET_WORD_1,
          secretWord2: input.REPAY_SECRET_WORD_2,
          apiKey: input.REPAY_API_KEY,
          methods: input.methods,
        }
      : { sandbox: true, ...account, methods: { ...account.methods, ...input.methods } };
  }),
);

const RepaySchema = v.pipe(
  v.object(REPAY),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const env = dataset.value;
    const credentials = parseWithin(RepayCredentials, addIssue, {
      ...env,
      credentials: env.REPAY_CASSA_ID ? 'real' : 'sandbox',
      methods: methodIds({ sbp: env.REPAY_METHOD_SBP, card: env.REPAY_METHOD_CARD }),
    });
    if (!credentials) return NEVER;
    const real = !credentials.sandbox;
    return {
      ...credentials,
      baseUrl: real ? env.REPAY_BASE_URL! : null,
      frameable: env.REPAY_FRAMEABLE,
      minAmount: env.REPAY_MIN_AMOUNT,
      maxAmount: env.REPAY_MAX_AMOUNT,
      sessionTtlSeconds: env.REPAY_SESSION_TTL_SECONDS,
      timeoutMs: env.REPAY_TIMEOUT_MS,
      trusted: env.REPAY_TRUSTED,
    };
  }),
);

const BOXEXCHANGER = variables({
  BOXEXCHANGER_BASE_URL: baseUrl(),
  BOXEXCHANGER_API_KEY: text(),
  BOXEXCHANGER_API_SECRET: text(),
  BOXEXCHANGER_PAGE_URL: baseUrl(),
  BOXEXCHANGER_ROUTE_SBP: text(),
  BOXEXCHANGER_ROUTE_CARD: text(),
  BOXEXCHANGER_FIELD_FROM_ACCOUNT: text(SANDBOX_ACCOUNTS.boxexchanger.fieldKeys.fromAccount),
  BOXEXCHANGER_FIELD_TO_ACCOUNT: text(SANDBOX_ACCOUNTS.boxexchanger.fieldKeys.toAccount),
  BOXEXCHANGER_FIELD_EMAIL: text(SANDBOX_ACCOUNTS.boxexchanger.fieldKeys.email),
  BOXEXCHANGER_TO_ACCOUNT: text(),
  BOXEXCHANGER_PARTNER: text(),
  BOXEXCHANGER_IPN_HASH_FIELD: (name) =>
    v.pipe(
      TEXT,
      v.transform((value) => value || SANDBOX_ACCOUNTS.boxexchanger.ipnHashField),
      v.regex(/^[A-Za-z0-9_\-[\]]{1,64}$/, `${name} is not a valid field name.`),
    ),
  BOXEXCHANGER_IPN_MAX_AGE_SECONDS: int(600, 10, 86_400),
  BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID: flag(false),
  BOXEXCHANGER_MIN_AMOUNT: count(1, 1e9),
  BOXEXCHANGER_MAX_AMOUNT: count(0, 1e9),
  BOXEXCHANGER_SESSION_TTL_SECONDS: int(1200, 60, 7 * 86_400),
  BOXEXCHANGER_TIMEOUT_MS: int(15_000, 100, 120_000),
  BOXEXCHANGER_FRAMEABLE: flag(true),
});

const boxSandbox = unsetInSandbox('boxexchanger', 'BOXEXCHANGER_BASE_URL');
const BoxExchangerCredentials = v.pipe(
  v.variant('credentials', [
    v.pipe(
      v.object({
        credentials: v.literal('real'),
        BOXEXCHANGER_BASE_URL: v.string(),
        BOXEXCHANGER_API_KEY: v.string(),
        BOXEXCHANGER_API_SECRET: v.string(),
        routes: v.pipe(
          v.record(v.string(), v.string()),
          v.check(
            (routes) => Object.keys(routes).length > 0,
            'BoxExchanger needs at least one route id: BOXEXCHANGER_ROUTE_SBP and/or BOXEXCHANGER_ROUTE_CARD.',
          ),
        ),
      }),
      v.check(
        (input) => Boolean(input.BOXEXCHANGER_API_KEY) === Boolean(input.BOXEXCHANGER_API_SECRET),
        'Set both BOXEXCHANGER_API_KEY and BOXEXCHANGER_API_SECRET, or neither.',
      ),
    ),
    v.object({
      credentials: v.literal('sandbox'),
      BOXEXCHANGER_API_KEY: boxSandbox('BOXEXCHANGER_API_KEY'),
      BOXEXCHANGER_API_SECRET: boxSandbox('BOXEXCHANGER_API_SECRET'),
      routes: v.record(v.string(), v.string()),
    }),
  ]),
  v.transform((input) => {
    const account = SANDBOX_ACCOUNTS.boxexchanger;
    return input.credentials === 'real'
      ? {
          sandbox: false,
          baseUrl: input.BOXEXCHANGER_BASE_URL,
          apiKey: input.BOXEXCHANGER_API_KEY,
          apiSecret: input.BOXEXCHANGER_API_SECRET,
          routes: input.routes,
        }
      : { sandbox: true, baseUrl: null, apiKey: account.apiKey, apiSecret: account.apiSecret, routes: { ...account.routes, ...input.routes } };
  }),
);

const BoxExchangerSchema = v.pipe(
  v.object(BOXEXCHANGER),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const env = dataset.value;
    const credentials = parseWithin(BoxExchangerCredentials, addIssue, {
      ...env,
      credentials: env.BOXEXCHANGER_BASE_URL ? 'real' : 'sandbox',
      routes: methodIds({ sbp: env.BOXEXCHANGER_ROUTE_SBP, card: env.BOXEXCHANGER_ROUTE_CARD }),
    });
    if (!credentials) return NEVER;
    const account = SANDBOX_ACCOUNTS.boxexchanger;
    const real = !credentials.sandbox;
    return {
      ...credentials,
      frameable: env.BOXEXCHANGER_FRAMEABLE,
      minAmount: env.BOXEXCHANGER_MIN_AMOUNT ?? (real ? 1 : account.minAmount),
      maxAmount: env.BOXEXCHANGER_MAX_AMOUNT ?? (real ? 0 : account.maxAmount),
      sessionTtlSeconds: env.BOXEXCHANGER_SESSION_TTL_SECONDS,
      timeoutMs: env.BOXEXCHANGER_TIMEOUT_MS,
      pageBaseUrl: env.BOXEXCHANGER_PAGE_URL ?? null,
      fieldKeys: {
        fromAccount: env.BOXEXCHANGER_FIELD_FROM_ACCOUNT,
        toAccount: env.BOXEXCHANGER_FIELD_TO_ACCOUNT,
        email: env.BOXEXCHANGER_FIELD_EMAIL,
      },
      toAccount: env.BOXEXCHANGER_TO_ACCOUNT || (real ? '' : 'sandbox-merchant-wallet'),
      partner: env.BOXEXCHANGER_PARTNER,
      ipnHashField: env.BOXEXCHANGER_IPN_HASH_FIELD,
      ipnMaxAgeSeconds: env.BOXEXCHANGER_IPN_MAX_AGE_SECONDS,
      payoutQueuedIsPaid: env.BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID,
    };
  }),
);

const DEFAULT_AGE_STATUS_MAP: Readonly<Record<string, SessionStatus>> = {
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

const methodNumber = (name: string) =>
  v.pipe(
    TEXT,
    v.transform((value) => (value === '' ? undefined : Number(value))),
    v.check((value) => value === undefined || (Number.isSafeInteger(value) && value >= 0), `${name} must be an integer.`),
  );

const AGETRADING = variables({
  AGETRADING_BASE_URL: baseUrl('https://age.trading'),
  AGETRADING_API_KEY: text(),
  AGETRADING_AUTH_HEADER: headerName(SANDBOX_ACCOUNTS.agetrading.authHeader),
  AGETRADING_AUTH_VALUE: text(),
  AGETRADING_CREATE_PATH: apiPath('/api/requests/create/'),
  AGETRADING_STATUS_PATH: paymentPath('/api/requests/{id}/'),
  // Set but empty disables cancelling at age.trading; unset is the default path.
  AGETRADING_CANCEL_PATH: paymentPath('/api/requests/{id}/cancel/', true),
  AGETRADING_STATUS_MAP: (name) =>
    v.pipe(
      TEXT,
      v.rawTransform(({ dataset, addIssue, NEVER }) => {
        const parsed = parseStatusMap(dataset.value, name);
        if (typeof parsed === 'string') {
          addIssue({ message: parsed });
          return NEVER;
        }
        return { ...DEFAULT_AGE_STATUS_MAP, ...parsed };
      }),
    ),
  // Status names of a payment the payer has made and age.trading is processing (`NAME,…`, any case): no cancel or
  // expiry ends such a session. Each must be a `pending` status of the map.
  AGETRADING_UNDERWAY_STATUSES: () =>
    v.pipe(
      TEXT,
      v.transform((value) => (value || 'PROCESSING').split(',').map((name) => name.trim().toUpperCase()).filter(Boolean)),
    ),
  AGETRADING_AMOUNT_FIELD: text('amount'),
  AGETRADING_METHOD_SBP: methodNumber,
  AGETRADING_METHOD_CARD: methodNumber,
  AGETRADING_CALLBACK_SECRET: text(),
  AGETRADING_CALLBACK_SIGNATURE_HEADER: headerName(SANDBOX_ACCOUNTS.agetrading.callbackSignatureHeader),
  AGETRADING_MIN_AMOUNT: int(100, 1, 1e9),
  AGETRADING_MAX_AMOUNT: int(0, 0, 1e9),
  AGETRADING_SESSION_TTL_SECONDS: int(600, 60, 7 * 86_400),
  AGETRADING_TIMEOUT_MS: int(15_000, 100, 120_000),
  AGETRADING_FRAMEABLE: flag(true),
});

const AgeTradingCredentials = v.pipe(
  v.variant('credentials', [
    v.object({
      credentials: v.literal('real'),
      AGETRADING_API_KEY: v.string(),
      AGETRADING_AUTH_VALUE: v.string(),
      AGETRADING_CALLBACK_SECRET: v.string(),
    }),
    v.object({
      credentials: v.literal('sandbox'),
      AGETRADING_CALLBACK_SECRET: v.literal(
        '',
        'AGETRADING_API_KEY (or AGETRADING_AUTH_VALUE) is required when AGETRADING_CALLBACK_SECRET is set ' +
          '(age.trading would otherwise run against the sandbox).',
      ),
    }),
  ]),
  v.transform((input) => {
    const account = SANDBOX_ACCOUNTS.agetrading;
    return input.credentials === 'real'
      ? {
          sandbox: false,
          authValue: input.AGETRADING_AUTH_VALUE || `Token ${input.AGETRADING_API_KEY}`,
          callbackSecret: input.AGETRADING_CALLBACK_SECRET,
        }
      : { sandbox: true, authValue: `${account.authScheme} ${account.apiKey}`, callbackSecret: account.callbackSecret };
  }),
);

const AgeTradingSchema = v.pipe(
  v.object(AGETRADING),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const env = dataset.value;
    const credentials = parseWithin(AgeTradingCredentials, addIssue, {
      ...env,
      credentials: env.AGETRADING_API_KEY || env.AGETRADING_AUTH_VALUE ? 'real' : 'sandbox',
    });
    if (!credentials) return NEVER;
    const real = !credentials.sandbox;
    const notPending = env.AGETRADING_UNDERWAY_STATUSES.filter((name) => ageStatus(env.AGETRADING_STATUS_MAP, name) !== 'pending');
    if (notPending.length) {
      addIssue({ message: `AGETRADING_UNDERWAY_STATUSES: ${notPending.join(', ')} must be pending in AGETRADING_STATUS_MAP.` });
      return NEVER;
    }
    // Live, only the one payment_method id age.trading's documents show (1, SBP) is assumed: a card button sending a
    // guessed id could start another kind of payment. Any other is offered once its id is configured.
    const methods: Partial<Record<MethodId, number>> = real ? { sbp: 1 } : { ...SANDBOX_ACCOUNTS.agetrading.methods };
    if (env.AGETRADING_METHOD_SBP !== undefined) methods.sbp = env.AGETRADING_METHOD_SBP;
    if (env.AGETRADING_METHOD_CARD !== undefined) methods.card = env.AGETRADING_METHOD_CARD;
    return {
      ...credentials,
      baseUrl: real ? env.AGETRADING_BASE_URL! : null,
      frameable: env.AGETRADING_FRAMEABLE,
      minAmount: env.AGETRADING_MIN_AMOUNT,
      maxAmount: env.AGETRADING_MAX_AMOUNT,
      sessionTtlSeconds: env.AGETRADING_SESSION_TTL_SECONDS,
      timeoutMs: env.AGETRADING_TIMEOUT_MS,
      authHeader: env.AGETRADING_AUTH_HEADER,
      createPath: env.AGETRADING_CREATE_PATH,
      statusPath: env.AGETRADING_STATUS_PATH,
      cancelPath: env.AGETRADING_CANCEL_PATH,
      statusMap: env.AGETRADING_STATUS_MAP,
      underwayStatuses: env.AGETRADING_UNDERWAY_STATUSES,
      amountField: env.AGETRADING_AMOUNT_FIELD,
      methods,
      callbackSignatureHeader: env.AGETRADING_CALLBACK_SIGNATURE_HEADER,
    };
  }),
);

// --- The whole environment ------------------------------------------------------------------------------------

const PROVIDER_PREFIX = /^(REPAY|BOXEXCHANGER|AGETRADING)_/;

/** SANDBOX_FRAME_DENY names the provider. */
const deny = (env: { sandbox: { SANDBOX_FRAME_DENY: Partial<Record<ProviderId, boolean>> } }, id: ProviderId) =>
  env.sandbox.SANDBOX_FRAME_DENY[id] === true;

const SECTIONS = { SERVER, MERCHANT, RECONCILE, SANDBOX, REPAY, BOXEXCHANGER, AGETRADING };

/** Every variable the schema reads, in .env.example's order of sections. */
export const ENV_VARIABLES: readonly string[] = Object.values(SECTIONS).flatMap((section) => Object.keys(section));

const PROVIDER_VARIABLES: ReadonlySet<string> = new Set(ENV_VARIABLES.filter((name) => PROVIDER_PREFIX.test(name)));

export const EnvSchema = v.pipe(
  v.record(v.string(), v.optional(v.string())),
  // A provider variable the helper does not read (REPAY_CASA_ID) would leave a provider silently unconfigured.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    for (const [name, value] of Object.entries(dataset.value)) {
      if (!PROVIDER_PREFIX.test(name) || PROVIDER_VARIABLES.has(name) || !(value ?? '').trim()) continue;
      const suggestion = closestName(name, PROVIDER_VARIABLES);
      addIssue({ message: `Unknown variable ${name}${suggestion ? ` (did you mean ${suggestion}?)` : ''}; see .env.example.` });
    }
  }),
  // Every section reads its own variables from the whole environment.
  v.transform((env) => ({ server: env, merchant: env, reconcile: env, sandbox: env, repay: env, boxexchanger: env, agetrading: env })),
  v.object({
    server: ServerSchema,
    merchant: MerchantSchema,
    reconcile: v.object(RECONCILE),
    sandbox: v.object(SANDBOX),
    repay: RepaySchema,
    boxexchanger: BoxExchangerSchema,
    agetrading: AgeTradingSchema,
  }),
  // `live` by default as soon as one provider is real; live never falls back to the sandbox. A sandbox provider's
  // page is frameable unless SANDBOX_FRAME_DENY names it.
  v.transform((env) => ({
    ...env,
    mode: env.server.CHECKOUT_MODE ?? (PROVIDER_IDS.some((id) => !env[id].sandbox) ? ('live' as const) : ('test' as const)),
    repay: { ...env.repay, frameable: env.repay.sandbox ? !deny(env, 'repay') : env.repay.frameable },
    boxexchanger: { ...env.boxexchanger, frameable: env.boxexchanger.sandbox ? !deny(env, 'boxexchanger') : env.boxexchanger.frameable },
    agetrading: { ...env.agetrading, frameable: env.agetrading.sandbox ? !deny(env, 'agetrading') : env.agetrading.frameable },
  })),
  v.check(
    (env) => env.mode !== 'live' || env.server.PUBLIC_URL !== undefined,
    'CHECKOUT_MODE=live needs PUBLIC_URL: the https address of the site that serves the helper.',
  ),
  // A row without its provider payment is taken for a crash's leftover after the grace: a creation still waiting for
  // its provider (a call, a retry, age.trading's status read after it) must never look like one.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const env = dataset.value;
    const slowest = Math.max(...env.server.CHECKOUT_PROVIDERS.map((id) => env[id].timeoutMs));
    if (env.reconcile.RECONCILE_CRASH_GRACE_MS < 3 * slowest) {
      addIssue({
        message: `RECONCILE_CRASH_GRACE_MS (${env.reconcile.RECONCILE_CRASH_GRACE_MS}) must be at least 3 × the longest provider timeout (${slowest} ms): a creation still waiting for its provider would be taken for a crash.`,
      });
    }
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed || dataset.value.mode !== 'live') return;
    for (const id of dataset.value.server.CHECKOUT_PROVIDERS) {
      if (!dataset.value[id].sandbox) continue;
      addIssue({
        message:
          `CHECKOUT_MODE=live: ${PROVIDER_NAMES[id]} has no credentials (${CREDENTIAL_VARIABLES[id].join(', ')}); ` +
          'configure it, or leave it out of CHECKOUT_PROVIDERS. Live mode never falls back to the sandbox.',
      });
    }
  }),
);

export type Environment = v.InferOutput<typeof EnvSchema>;

// --- Parsing helpers ------------------------------------------------------------------------------------------

export function isProviderId(value: unknown): value is ProviderId {
  return typeof value === 'string' && (PROVIDER_IDS as readonly string[]).includes(value);
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function httpUrlProblem(value: string): 'invalid' | 'protocol' | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'invalid';
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'protocol';
}

/** Origin + path without a trailing slash (no query, no fragment). */
export function normaliseBaseUrl(value: string): string {
  const url = new URL(value);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function normaliseBasePath(value: string): string {
  return value.trim().replace(/\/+$/, '');
}

/** Why a mount path is refused (one leading slash, no trailing slash, no `.` / `..`, never the root), or undefined. */
export function basePathProblem(value: string): string | undefined {
  const path = normaliseBasePath(value);
  if (/^(?:\/[A-Za-z0-9._~-]+)+$/.test(path) && !/\/\.{1,2}(?:\/|$)/.test(path)) return undefined;
  return `basePath (CHECKOUT_BASE_PATH) must be a path such as /api/checkout, not "${value}".`;
}

/** `SUCCESS=paid,FAILED=failed` or a JSON object → the map, or an error message. */
function parseStatusMap(text: string, name: string): Record<string, SessionStatus> | string {
  if (!text) return {};
  let entries: [string, unknown][];
  if (text.startsWith('{')) {
    try {
      entries = Object.entries(JSON.parse(text) as Record<string, unknown>);
    } catch {
      return `${name} is not valid JSON.`;
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
      return `${name}: "${key}" must map to one of ${SESSION_STATUSES.join(', ')}.`;
    }
    map[key] = value as SessionStatus;
  }
  return map;
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
