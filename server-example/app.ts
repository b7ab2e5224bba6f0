/**
 * `createCheckoutApp(config)`: the helper's HTTP API (docs/server.md, "HTTP API") as a Hono app with Web-standard
 * handlers, mounted at `/api/checkout`. Usable inside any server that speaks `Request → Response` (`app.fetch`), and
 * run on its own by server.ts. Request bodies are checked by the schemas of request-bodies.ts; one error handler turns
 * every CheckoutError into `{ error: { code, message, retryable } }`; anything unexpected becomes a logged 500 without
 * internals.
 */
import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { Readable } from 'node:stream';
import type { CheckoutConfig } from './config.js';
import { checkoutBasePath, ConfigError } from './config.js';
import { readBoundedNodeStream, readBoundedStream } from './bounded-body.js';
import { clientAddressResolver } from './client-address.js';
import { demoResolveOrder } from './demo-orders.js';
import { CheckoutError, isCheckoutError } from './errors.js';
import { createLogger } from './logger.js';
import type { Logger } from './logger.js';
import { formatAmount } from './money.js';
import { createHttpOrderResolver } from './order-resolver.js';
import { isRecord } from './providers/http.js';
import { buildProviders, readReturnQuery, returnStatusOf, takesCallbacks, webhookPath } from './providers/index.js';
import type { CallbackInput, PaymentProvider } from './providers/types.js';
import { WindowLimiter } from './rate-limit.js';
import { eventView } from './event-view.js';
import { registerMerchantApi } from './merchant-api.js';
import { HOOK_TARGET, MerchantNotifier } from './merchant-webhooks/events.js';
import { DeliverySender } from './merchant-webhooks/sender.js';
import { Reconciler } from './reconciler.js';
import { parseBody, RETURN_URL, sessionRequestSchema } from './request-bodies.js';
import { isReturnOutcome, renderReturnPage, renderUnknownSessionPage, returnRedirectUrl } from './return-page.js';
import { SESSION_ID_PATTERN, SessionService } from './sessions.js';
import { decisionTag } from './sessions/sync.js';
import { TRIGGERED_READ_INTERVAL_MS } from './sessions/callbacks.js';
import { storefrontCors } from './storefront-cors.js';
import { SqliteStore } from './store.js';
import { PostgresStore } from './store-postgres.js';
import type { SessionRecord, Store } from './store.js';
import { createSessionToken, verifySessionToken } from './tokens.js';
import { heldReason, isOpen } from './transitions.js';
import type { ConfigView, CreatedSessionView, MethodId, ProviderId, ReturnOutcome, SessionView } from './types.js';

/** Request bodies above this are refused with 413 (docs/server.md, "HTTP API"). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A status request re-reads the provider at most this often per session (as an unsigned callback does). */
const STATUS_REFRESH_INTERVAL_MS = TRIGGERED_READ_INTERVAL_MS;
/** …and waits at most this long for the provider before answering with the stored status. */
const STATUS_REFRESH_WAIT_MS = 2_500;

export const METHOD_LABELS: Readonly<Record<MethodId, { ru: string; en: string }>> = {
  sbp: { ru: 'СБП', en: 'SBP (Faster Payments)' },
  card: { ru: 'Банковская карта', en: 'Bank card' },
};

export interface CheckoutRuntime {
  readonly config: CheckoutConfig;
  readonly store: Store;
  readonly sessions: SessionService;
  readonly reconciler: Reconciler;
  /** Sends the merchant notifications from the outbox (webhooks, `onEvent`). */
  readonly deliveries: DeliverySender;
  readonly providers: ReadonlyMap<ProviderId, PaymentProvider>;
  readonly log: Logger;
  /**
   * Starts the background work: the reconciler (provider polling) and the notification sender. `startServer()` calls
   * it; call it yourself when you mount the app in your own server, on every instance.
   */
  start(): void;
  /** Stops the background work, waits for background status checks, closes the store it opened. */
  close(): Promise<void>;
}

export type CheckoutApp = Hono & { readonly checkout: CheckoutRuntime };

export { buildProviders } from './providers/index.js';

/** The store the configuration names: PostgreSQL with DATABASE_URL, else the embedded SQLite file. */
export function openStore(config: Pick<CheckoutConfig, 'databaseUrl' | 'databasePoolSize' | 'databasePath'>): Store {
  return config.databaseUrl
    ? new PostgresStore(config.databaseUrl, { poolSize: config.databasePoolSize ?? 10 })
    : new SqliteStore(config.databasePath);
}

/** Not https, and not this machine: readable and changeable by anyone on the network path. */
function plainHttpElsewhere(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  return protocol === 'http:' && !['localhost', '[::1]', '0.0.0.0'].includes(hostname) && !/^127\./.test(hostname) && !hostname.endsWith('.localhost');
}

/**
 * Plain http to another machine in live mode: the order lookup's answer (the price) is not signed, only carried, and
 * the webhooks say who paid what. Allowed (a private network may be trusted), but said at start-up.
 */
function warnPlainHttp(log: Logger, config: CheckoutConfig): void {
  if (plainHttpElsewhere(config.publicUrl)) {
    log.warn('PUBLIC_URL is plain http to another machine: the providers send payers back, and their callbacks, over it in the clear. Use the https address.');
  }
  const plainOrigins = config.allowedOrigins.filter(plainHttpElsewhere);
  if (plainOrigins.length > 0) {
    log.warn('ALLOWED_ORIGINS has plain http storefronts: the checkout on such a page can be changed on the network path. Serve the shop over https.', { origins: plainOrigins });
  }
  if (!config.resolveOrder && config.orderResolve && plainHttpElsewhere(config.orderResolve.url)) {
    log.warn('ORDER_RESOLVE_URL is plain http to another machine: whoever is on the network path can change the prices it answers. Use https unless that network is yours alone.');
  }
  for (const url of config.merchantWebhooks?.urls ?? []) {
    if (plainHttpElsewhere(url)) {
      // The origin only: a webhook URL may carry a token of the merchant's in its path or query.
      log.warn('a MERCHANT_WEBHOOK_URL is plain http to another machine: the notifications can be read on the network path. Use https unless that network is yours alone.', { target: new URL(url).origin });
    }
  }
}

/**
 * age.trading without AGETRADING_CALLBACK_SECRET in live mode: its callbacks are unsigned triggers that anyone who knows
 * a session's id can send. Allowed (the status read decides, and they are throttled per session), but said at start-up.
 */
function warnUnsignedCallbacks(log: Logger, config: CheckoutConfig): void {
  const age = config.providers.agetrading;
  if (config.enabledProviders.includes('agetrading') && !age.sandbox && !age.callbackSecret) {
    log.warn(
      `age.trading is configured without AGETRADING_CALLBACK_SECRET: its callbacks are unsigned, so anyone can send them. Each is only a trigger for a status read, stored and followed at most once per ${TRIGGERED_READ_INTERVAL_MS / 1000} s per session; set the secret once age.trading signs its callbacks.`,
    );
  }
}

export function createCheckoutApp(config: CheckoutConfig): CheckoutApp {
  const log = config.logger ?? createLogger(config.logLevel);
  // Order lookup precedence: the merchant's JS hook, else ORDER_RESOLVE_URL, else the demo catalogue.
  const demoCatalogue = !config.resolveOrder && !config.orderResolve;
  if (demoCatalogue && config.mode === 'live') {
    throw new ConfigError(
      'CHECKOUT_MODE=live needs the shop\'s own order lookup: pass resolveOrder() or set ORDER_RESOLVE_URL (the demo catalogue is for test mode only).',
    );
  }
  const resolveOrder =
    config.resolveOrder ??
    (config.orderResolve ? createHttpOrderResolver({ ...config.orderResolve, log }) : demoResolveOrder);
  if (config.mode === 'live') {
    warnPlainHttp(log, config);
    warnUnsignedCallbacks(log, config);
  }
  // Test mode with a provider's real credentials and the demo catalogue: payments there are real, at the demo's prices,
  // and the demo's session log lists them to anyone. Allowed (a developer trying a provider's own test account), but
  // said at start-up: a development .env carried over to a server with real keys must not go unnoticed.
  const realProviders = config.enabledProviders.filter((id) => !config.providers[id].sandbox);
  if (config.mode === 'test' && demoCatalogue && realProviders.length > 0) {
    log.warn(
      `CHECKOUT_MODE=test with real credentials for ${realProviders.join(', ')} and the demo catalogue: payments there are real, at the demo's prices, and /demo/sessions lists them to anyone. In production set CHECKOUT_MODE=live with resolveOrder() or ORDER_RESOLVE_URL.`,
    );
  }
  const ownsStore = !config.store;
  const store = config.store ?? openStore(config);
  const providers = buildProviders(config, store);
  const deliveries = new DeliverySender({ store, delivery: config.delivery, webhooks: config.merchantWebhooks, onEvent: config.onEvent, log });
  const notifier = new MerchantNotifier([...(config.merchantWebhooks?.urls ?? []), ...(config.onEvent ? [HOOK_TARGET] : [])]);
  const sessions = new SessionService({ config, store, providers, resolveOrder, log, notifier, onNotified: () => deliveries.wake() });
  const reconciler = new Reconciler({ config, store, sessions, log });
  const background = new Set<Promise<unknown>>();
  // The demo storefront's session log exists only in test mode with the demo catalogue: it lists every session.
  const demoLogEnabled = config.mode === 'test' && demoCatalogue;
  // Callbacks that fail verification, per sending address (see docs/server.md, Security model). Accepted unsigned
  // callbacks are not counted here (a forger's could not be told from the provider's): they are throttled per session.
  const rejectedCallbacks = new WindowLimiter(REJECTED_CALLBACKS_PER_MINUTE, 60_000);
  const clientAddress = clientAddressResolver(config.trustedProxies ?? []);
  let peerlessWarned = false;
  /** The sender of a provider callback, for the rejected-callback limit. */
  const callbackSource = (c: Context): string => {
    const peer = peerAddress(c);
    if (peer === undefined && !peerlessWarned) {
      // Without the connection's address every sender is "unknown" and shares one limit: a flood of forged
      // callbacks then gets the provider's real ones refused too. Said once: the mount, not the request, is at fault.
      peerlessWarned = true;
      log.warn(
        'a provider callback arrived without the address of its connection: rejected callbacks from every sender now share one limit, so forged ones can get the provider\'s refused. Pass it as app.fetch(request, { peer: address }) (docs/server.md, "Mounting").',
      );
    }
    return clientAddress(peer, header(c, 'x-forwarded-for'));
  };
  const publicOrigin = new URL(config.publicUrl).origin;

  const track = (task: Promise<unknown>) => {
    const guarded = task.catch((error: unknown) => log.warn('background task failed', { error }));
    background.add(guarded);
    void guarded.finally(() => background.delete(guarded));
  };

  /** An open session's provider status is re-read on a request at most every STATUS_REFRESH_INTERVAL_MS. */
  const refreshDue = (session: SessionRecord) =>
    isOpen(session.status) &&
    session.providerPaymentId !== null &&
    (session.lastPolledAt === null || Date.now() - session.lastPolledAt > STATUS_REFRESH_INTERVAL_MS);

  /**
   * The sandbox stands in for providers whose APIs carry no language (Repay, age.trading), so its hosted pages take
   * the payer's language from the page URL (`lang`): the session's locale, whenever the page is asked for. A real
   * provider's URL is never changed.
   */
  const paymentUrlOf = (session: SessionRecord): string | null => {
    if (!session.paymentUrl || !session.locale || !providers.get(session.provider)?.sandbox) return session.paymentUrl;
    const page = new URL(session.paymentUrl);
    page.searchParams.set('lang', session.locale);
    return page.href;
  };

  const view = (session: SessionRecord): SessionView => ({
    id: session.id,
    status: session.status,
    provider: session.provider,
    method: session.method,
    paymentUrl: paymentUrlOf(session),
    frameable: providers.get(session.provider)?.frameable ?? false,
    amount: formatAmount(session.amountMinor),
    currency: session.currency,
    orderId: session.orderId,
    description: session.description,
    expiresAt: new Date(session.expiresAt).toISOString(),
    // The change stamp the element orders answers by: a read that changes nothing leaves it (sessions/sync.ts).
    updatedAt: new Date(session.updatedAt).toISOString(),
    ...(session.paidAmountMinor !== null ? { paidAmount: formatAmount(session.paidAmountMinor) } : {}),
    ...(session.status === 'held' ? { heldReason: heldReason(session) } : {}),
  });

  const basePath = checkoutBasePath(config);
  const app = new Hono().basePath(basePath);

  /** An API answer: never cached; its CORS headers come from the middleware below. */
  const answer = (_c: Context, body: string | null, status: number, contentType: string): Response =>
    new Response(body, { status, headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
  const json = (c: Context, body: unknown, status = 200) => answer(c, JSON.stringify(body), status, 'application/json');
  const sessionRequest = sessionRequestSchema(config.enabledProviders);

  app.onError((error, c) => {
    if (isCheckoutError(error)) {
      if (error.status >= 500) log.warn('request failed', { path: c.req.path, code: error.code, message: error.message, detail: error.detail });
      return json(c, error.toBody(), error.status);
    }
    log.error('unexpected error', { path: c.req.path, method: c.req.method, error });
    return json(c, new CheckoutError('internal_error', 'Something went wrong on the shop\'s side. Please try again.').toBody(), 500);
  });

  // CORS on the routes the element's scripts call from the storefront's pages, and the demo's session log
  // (./storefront-cors.ts). Provider callbacks, the return pages (navigations) and the merchant API (server to
  // server) carry no CORS headers, so they skip the middleware altogether.
  const cors = storefrontCors(config.allowedOrigins);
  for (const path of CORS_ROUTES) app.use(path, cors);
  // The merchant API's c.json() answers are never cached either, unless they say; every other answer sets it itself.
  app.use('/merchant/*', async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });

  app.get('/config', (c) => {
    const enabled = config.enabledProviders.map((id) => providers.get(id)!);
    const view: ConfigView = {
      providers: enabled.map((provider) => ({
        id: provider.id,
        name: provider.name,
        methods: provider.methods.map((method) => ({ id: method, label: METHOD_LABELS[method] })),
        minAmount: provider.minAmountMinor / 100,
        frameable: provider.frameable,
        sandbox: provider.sandbox,
      })),
      defaultProvider: config.defaultProvider,
      currency: 'RUB',
      sandbox: enabled.some((provider) => provider.sandbox),
    };
    return json(c, view);
  });

  app.post('/sessions', async (c) => {
    requireJson(c);
    const body = parseJsonObject(await readBody(c));
    const { orderId, provider, method, locale: localeText, customerId: claimedCustomerId } = parseBody(sessionRequest, body);
    const locale = localeText == null ? undefined : localeText.toLowerCase().startsWith('en') ? 'en' : 'ru';
    const origin = header(c, 'origin');
    if (origin !== undefined && !config.allowedOrigins.includes(origin)) {
      throw new CheckoutError('origin_not_allowed', 'This storefront origin is not allowed to create payments (ALLOWED_ORIGINS).');
    }
    const returnUrlText = parseBody(RETURN_URL, body).returnUrl;
    let returnUrl: string | undefined;
    if (returnUrlText != null) {
      let parsed: URL;
      try {
        parsed = new URL(returnUrlText, origin ?? publicOrigin);
      } catch {
        throw new CheckoutError('invalid_field', 'returnUrl is not a valid URL.');
      }
      if ((parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || !config.allowedOrigins.includes(parsed.origin)) {
        throw new CheckoutError('return_url_not_allowed', 'returnUrl must be on an allowed storefront origin.');
      }
      returnUrl = parsed.toString();
    }
    const idempotencyKey = header(c, 'idempotency-key');
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw new CheckoutError('invalid_idempotency_key', 'Idempotency-Key must be 1–255 visible ASCII characters.');
    }
    const storefrontOrigin =
      origin ?? (returnUrl ? new URL(returnUrl).origin : config.allowedOrigins.includes(publicOrigin) ? publicOrigin : config.allowedOrigins[0] ?? publicOrigin);

    const result = await sessions.create({
      orderId,
      storefrontOrigin,
      request: c.req.raw,
      ...(provider ? { provider } : {}),
      ...(method ? { method } : {}),
      ...(locale ? { locale } : {}),
      ...(claimedCustomerId ? { claimedCustomerId } : {}),
      ...(returnUrl ? { returnUrl } : {}),
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const created: CreatedSessionView = { ...view(result.session), token: createSessionToken(config.sessionSecret, result.session.id, config.tokenTtlSeconds) };
    return json(c, created, result.created ? 201 : 200);
  });
  app.all('/sessions', () => {
    throw new CheckoutError('method_not_allowed', 'Use POST to create a payment session.');
  });

  const authorise = (c: Context, id: string) => {
    const match = /^Bearer\s+([A-Za-z0-9_-]+)\s*$/i.exec(header(c, 'authorization') ?? '');
    if (!match || !SESSION_ID_PATTERN.test(id) || !verifySessionToken(config.sessionSecret, match[1]!, id)) {
      throw new CheckoutError('unauthorized', 'A valid session token is required (Authorization: Bearer <token>).');
    }
  };

  app.get('/sessions/:id', async (c) => {
    const id = c.req.param('id');
    authorise(c, id);
    let session = await store.getSession(id);
    if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
    if (refreshDue(session)) {
      const refresh = sessions.refresh(id, 'status');
      track(refresh);
      await Promise.race([refresh.catch(() => undefined), delay(STATUS_REFRESH_WAIT_MS)]);
      session = (await store.getSession(id)) ?? session;
    }
    return json(c, view(session));
  });

  app.post('/sessions/:id/cancel', async (c) => {
    const id = c.req.param('id');
    authorise(c, id);
    await readBody(c);
    const { session, cancelledAtProvider } = await sessions.cancel(id);
    // False when the provider has no cancel call: its page stays payable until it expires (the helper keeps watching).
    return json(c, { ...view(session), cancelledAtProvider });
  });

  const webhook = async (c: Context, providerId: ProviderId, sessionIdFromUrl?: string) => {
    // Behind a trusted proxy, the sender it names: counting the proxy would let forged callbacks get the provider's refused.
    const source = callbackSource(c);
    if (!rejectedCallbacks.allows(source)) {
      throw new CheckoutError('rate_limited', 'Too many rejected callbacks from this address; try again later.');
    }
    try {
      const rawBody = await readBody(c);
      const input: CallbackInput = {
        rawBody,
        contentType: header(c, 'content-type') ?? '',
        // Built only for a provider that reads them (age.trading's HMAC header): a `Headers` object per callback costs.
        get headers() {
          return c.req.raw.headers;
        },
        ...(sessionIdFromUrl ? { sessionIdFromUrl } : {}),
      };
      const reply = await sessions.handleCallback(providerId, input, source);
      return answer(c, reply.body, reply.status, reply.contentType);
    } catch (error) {
      if (isCheckoutError(error) && error.status < 500) rejectedCallbacks.hit(source);
      throw error;
    }
  };
  // Each provider's callbacks arrive where its descriptor says (providers/index.ts): one path, or one per session.
  // A provider whose callbacks are not taken has no route: its path is as unknown as any other.
  for (const provider of providers.values()) {
    if (!takesCallbacks(config, provider.id)) continue;
    const perSession = provider.capabilities.webhookPath === 'per-session';
    app.post(webhookPath(provider, ':id'), (c) => {
      if (!perSession) return webhook(c, provider.id);
      const id = c.req.param('id') ?? '';
      if (!SESSION_ID_PATTERN.test(id)) throw new CheckoutError('unknown_session', 'The IPN URL names no session.');
      return webhook(c, provider.id, id);
    });
  }

  app.get('/return/:outcome', async (c) => {
    const outcomeParam = c.req.param('outcome');
    // The session named, and the status its provider may have appended to the URL (providers/index.ts).
    const returned = readReturnQuery((name) => c.req.query(name));
    const session = returned.sessionId ? await store.getSession(returned.sessionId) : undefined;
    const appended = session ? returnStatusOf(providers.get(session.provider), returned.appendedStatus) : undefined;
    const outcome: ReturnOutcome | undefined = isReturnOutcome(outcomeParam) ? (appended ?? outcomeParam) : undefined;
    // The recorded storefront must still be allowed: a page never posts to, or sends the payer to, a removed origin.
    if (!outcome || !session || !config.allowedOrigins.includes(session.storefrontOrigin)) {
      const page = renderUnknownSessionPage(session?.locale === 'en' ? 'en' : 'ru');
      return c.html(page.html, 404, page.headers);
    }
    if (c.req.query('top') === '1') {
      // The return URL may be on another origin than the one that asked (the element sends its own page's URL,
      // a merchant may name another allowed one): it must still be allowed too.
      const returnAllowed = session.returnUrl !== null && config.allowedOrigins.includes(new URL(session.returnUrl).origin);
      const target = returnAllowed ? session.returnUrl! : `${session.storefrontOrigin}/`;
      return new Response(null, {
        status: 303,
        headers: { location: returnRedirectUrl(target, session.id, outcome), 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' },
      });
    }
    // A redirect is a hint, never proof: record it (once per outcome: the page is public) and re-check with the
    // provider, at most as often as the status route does.
    await store.appendEvent({ sessionId: session.id, kind: 'return', source: 'return', data: { outcome }, dedupeKey: `return:${session.id}:${outcome}` });
    if (refreshDue(session)) track(sessions.refresh(session.id, 'return'));
    const page = renderReturnPage({
      sessionId: session.id,
      outcome,
      storefrontOrigin: session.storefrontOrigin,
      topLevelUrl: `${config.publicUrl}${basePath}/return/${outcome}?session=${session.id}&top=1`,
      locale: session.locale === 'en' ? 'en' : 'ru',
      frameAncestors: config.allowedOrigins,
    });
    return c.html(page.html, 200, page.headers);
  });

  app.get('/demo/sessions', async (c) => {
    if (!demoLogEnabled) throw new CheckoutError('not_found', 'Not found.');
    const limitText = c.req.query('limit');
    const limit = limitText && /^\d{1,3}$/.test(limitText) ? Math.min(Math.max(Number(limitText), 1), 500) : 100;
    const list = await store.listSessions(limit);
    return json(c, {
      // No payment URL (BoxExchanger's carries the order's secret) and no provider data.
      sessions: list.map((session) => ({
        ...view({ ...session, paymentUrl: null }),
        providerStatus: session.providerStatus,
        errorCode: session.errorCode,
        createdAt: new Date(session.createdAt).toISOString(),
        updatedAt: new Date(session.updatedAt).toISOString(),
        // What the staff page's decision was made on: sent back as the resolution's If-Match.
        version: decisionTag(session),
      })),
    });
  });

  app.get('/demo/sessions/:id/events', async (c) => {
    if (!demoLogEnabled) throw new CheckoutError('not_found', 'Not found.');
    const id = c.req.param('id');
    const session = SESSION_ID_PATTERN.test(id) ? await store.getSession(id) : undefined;
    if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
    const events = await store.listEvents(id);
    return json(c, {
      sessionId: id,
      events: events.map(eventView),
    });
  });

  registerMerchantApi(app, {
    apiKey: config.merchantApiKey,
    store,
    sessions,
    readJson: async (c) => {
      requireJson(c);
      return parseJsonObject(await readBody(c));
    },
  });

  // Not a catch-all route: a request that matches one route only is dispatched without Hono's middleware chain.
  app.notFound((c) => {
    const error = new CheckoutError('not_found', 'No such endpoint.');
    return json(c, error.toBody(), error.status);
  });

  const runtime: CheckoutRuntime = {
    config,
    store,
    sessions,
    reconciler,
    deliveries,
    providers,
    log,
    start() {
      reconciler.start();
      deliveries.start();
    },
    async close() {
      await Promise.all([reconciler.stop(), deliveries.stop()]);
      while (background.size > 0) await Promise.all([...background]);
      if (ownsStore) await store.close();
    },
  };
  return Object.assign(app, { checkout: runtime });
}

/** The routes called by scripts on the storefront's pages (the element, the demo): the only ones with CORS. */
const CORS_ROUTES = ['/config', '/sessions/*', '/demo/*'] as const;

/** Rejected callbacks one address may send per minute before its callbacks are refused unread. */
const REJECTED_CALLBACKS_PER_MINUTE = 30;

/**
 * What the helper reads from `app.fetch(request, env)`'s second argument: the Node adapter's bindings, and `peer`,
 * the address of the connection a request came on, for servers that have no Node request to give (Bun, Deno, a
 * custom adapter) and for nodeHandler() once a body parser has spent the Node stream.
 */
type CheckoutBindings = Partial<HttpBindings> & { peer?: string };

/** The address of the connection a request came on: `env.peer`, else the Node adapter's socket; undefined if neither. */
function peerAddress(c: Context): string | undefined {
  const env = c.env as CheckoutBindings | undefined;
  return (typeof env?.peer === 'string' && env.peer) || env?.incoming?.socket?.remoteAddress || undefined;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * A request header as the Fetch `Headers` would give it (the values of a repeated header joined by ", "). Under the
 * Node adapter it is read from the socket's raw headers: `c.req.header()` would build a whole `Headers` object from
 * them for every request. `name` is lower-case.
 */
function header(c: Context, name: string): string | undefined {
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming?.rawHeaders) return c.req.header(name);
  const raw = incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

function requireJson(c: Context): void {
  const type = header(c, 'content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type.trim())) {
    throw new CheckoutError('unsupported_media_type', 'Send the request body as JSON (Content-Type: application/json).');
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the body as UTF-8 text, refusing more than MAX_BODY_BYTES whatever the Content-Length says. */
async function readBody(c: Context): Promise<string> {
  const declared = header(c, 'content-length');
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  // Under the Node adapter the body is read from the socket's stream itself: going through `Request.body` would
  // build a full Fetch Request and two Web streams around it for every call.
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  const chunks =
    incoming instanceof Readable
      ? await readBoundedNodeStream(incoming, MAX_BODY_BYTES, tooLarge)
      : await readBoundedStream(c.req.raw.body, MAX_BODY_BYTES, tooLarge);
  try {
    return UTF8.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  } catch {
    throw new CheckoutError('invalid_request', 'The request body is not valid UTF-8.');
  }
}

function tooLarge(): CheckoutError {
  return new CheckoutError('payload_too_large', `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.`);
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CheckoutError('invalid_json', 'The request body is not valid JSON.');
  }
  if (!isRecord(value)) throw new CheckoutError('invalid_request', 'The request body must be a JSON object.');
  return value;
}
