/**
 * The provider sandbox: Repay, BoxExchanger and age.trading simulated at `/sandbox/<provider>/…`, with their real
 * request formats, signatures, error codes, hosted pages, redirects and webhooks, so that the helper's adapters
 * talk to it over real HTTP exactly as they talk to the real providers. See docs/sandbox.md.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { sha256Hex } from '../providers/crypto.js';
import { SANDBOX_ACCOUNTS } from './accounts.js';
import { createAgeTradingSandbox } from './agetrading.js';
import { createBoxExchangerSandbox } from './boxexchanger.js';
import {
  parseFrameDeny,
  SANDBOX_PROVIDERS,
  type Notification,
  type NotificationRecord,
  type ProviderSandbox,
  type SandboxContext,
  type SandboxProviderName,
} from './common.js';
import { createRepaySandbox } from './repay.js';

export { parseFrameDeny, type SandboxProviderName } from './common.js';
export { boxApiHash, boxIpnHash } from './boxexchanger.js';

/** Default payment windows: Repay 15 min, BoxExchanger 20 min, age.trading 10 min (its documented timeout). */
const SANDBOX_DEFAULT_WINDOWS_MS: Readonly<Record<SandboxProviderName, number>> = {
  repay: 15 * 60_000,
  boxexchanger: 20 * 60_000,
  agetrading: 10 * 60_000,
};

export interface SandboxOptions {
  /** Origin (+ path) where browsers reach the app the sandbox is mounted in, e.g. `http://localhost:5173`. */
  publicUrl: string;
  /**
   * Per provider: its hosted pages answer `X-Frame-Options: DENY` and `frame-ancestors 'none'`. When omitted, the
   * `SANDBOX_FRAME_DENY` environment variable (`repay,agetrading`, `all`) is read (see `parseFrameDeny`).
   */
  frameDeny?: Partial<Record<SandboxProviderName, boolean>>;
  /** Used for outgoing webhooks / IPNs / callbacks (default: global fetch). */
  fetch?: typeof fetch;
  /** Clock in milliseconds (tests move it to exercise expiry and bans). */
  now?: () => number;
  /** Payment windows in ms per provider (default: `windowMinutes`, else SANDBOX_DEFAULT_WINDOWS_MS). */
  windowsMs?: Partial<Record<SandboxProviderName, number>>;
  /** One payment window for every provider, minutes (the helper passes SANDBOX_WINDOW_MINUTES). */
  windowMinutes?: number;
  /** Delay before the sandbox acts on its own: Repay's 101/102, dispute outcomes, banned-request callbacks. Default 1000. */
  autoDelayMs?: number;
  /** Payments kept per provider; the oldest are evicted beyond it. Default 20 000. */
  maxEntries?: number;
  /**
   * The only origins the sandbox sends webhooks / IPNs / callbacks to (default: the origin of `publicUrl`): anyone
   * can create a sandbox payment, so its webhook URL must not make the sandbox call arbitrary addresses.
   */
  callbackOrigins?: readonly string[];
  /** Time limit of one webhook delivery. Default 5000 ms. */
  webhookTimeoutMs?: number;
  /** How often open payments are checked for expiry (sending what expiry sends); 0 turns it off. Default 5000 ms. */
  sweepIntervalMs?: number;
  log?: (message: string) => void;
}

const LOG_SIZE = 200;

export function createSandboxApp(options: SandboxOptions): Hono {
  const publicUrl = options.publicUrl.replace(/\/+$/, '');
  const frameDeny = options.frameDeny ?? parseFrameDeny(process.env.SANDBOX_FRAME_DENY);
  const window = options.windowMinutes === undefined ? undefined : options.windowMinutes * 60_000;
  const windows = Object.fromEntries(
    SANDBOX_PROVIDERS.map((p) => [p, options.windowsMs?.[p] ?? window ?? SANDBOX_DEFAULT_WINDOWS_MS[p]]),
  ) as Record<SandboxProviderName, number>;
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const log = options.log ?? ((message: string) => console.warn(`[pay-checkout sandbox] ${message}`));
  const records: NotificationRecord[] = [];
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 5000;
  const callbackOrigins = new Set((options.callbackOrigins ?? [publicUrl]).map(originOf));

  const later = (delayMs: number, task: () => unknown) => {
    const timer = setTimeout(() => {
      Promise.resolve()
        .then(task)
        .catch((error: unknown) => log(`background task failed: ${(error as Error)?.message ?? String(error)}`));
    }, Math.max(0, delayMs));
    timer.unref?.();
  };

  async function attempt(notification: Notification, attemptNo: number): Promise<NotificationRecord> {
    const headers = { 'Content-Type': notification.contentType, 'User-Agent': `${notification.provider}-sandbox/1`, ...notification.headers };
    const record: NotificationRecord = {
      provider: notification.provider,
      reference: notification.reference,
      url: notification.url,
      contentType: notification.contentType,
      body: notification.body,
      headers,
      at: new Date().toISOString(),
      attempt: attemptNo,
      status: 0,
      delivered: false,
    };
    try {
      if (!callbackOrigins.has(originOf(notification.url))) throw new Error('refused: the sandbox calls back only the helper it belongs to');
      const response = await doFetch(notification.url, {
        method: 'POST',
        headers,
        body: notification.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(webhookTimeoutMs),
      });
      record.status = response.status;
      // Judged, never kept: the notification log is public and must not echo what a server answered.
      const accept = notification.accept ?? ((status: number) => status >= 200 && status < 300);
      record.delivered = accept(record.status, await response.text());
    } catch (error) {
      record.error = (error as Error)?.message ?? String(error);
    }
    records.push(record);
    if (records.length > LOG_SIZE) records.splice(0, records.length - LOG_SIZE);
    if (!record.delivered) {
      const delay = notification.retryDelaysMs?.[attemptNo - 1];
      log(
        `${notification.provider} notification for ${notification.reference} to ${notification.url} not delivered ` +
          `(${record.error ?? `HTTP ${record.status}`})${delay !== undefined ? `; retrying in ${delay} ms` : ''}`,
      );
      if (delay !== undefined) later(delay, () => attempt(notification, attemptNo + 1));
    }
    return record;
  }

  const ctx: SandboxContext = {
    publicUrl,
    now: options.now ?? Date.now,
    frameDeny: (provider) => frameDeny[provider] === true,
    autoDelayMs: options.autoDelayMs ?? 1000,
    windows,
    maxEntries: options.maxEntries ?? 20_000,
    notify: (notification) => attempt(notification, 1),
    later,
    // Stable across restarts (pages served before a restart keep working), and only guards sandbox data.
    stateKey: sha256Hex(`pay-checkout-sandbox:${JSON.stringify(SANDBOX_ACCOUNTS)}`),
  };

  const providers: Record<SandboxProviderName, ProviderSandbox> = {
    repay: createRepaySandbox(ctx),
    boxexchanger: createBoxExchangerSandbox(ctx),
    agetrading: createAgeTradingSandbox(ctx),
  };

  const sweepIntervalMs = options.sweepIntervalMs ?? 5000;
  if (sweepIntervalMs > 0) {
    const timer = setInterval(() => {
      for (const provider of SANDBOX_PROVIDERS) {
        try {
          providers[provider].sweep();
        } catch (error) {
          log(`${provider} sweep failed: ${(error as Error).message}`);
        }
      }
    }, sweepIntervalMs);
    timer.unref?.();
  }

  const app = new Hono();
  app.onError((error, c) => {
    log(`unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return c.json({ detail: 'Internal server error' }, 500);
  });

  // Provider APIs take small JSON / form bodies; dispute receipts are the only uploads.
  app.use(
    '/sandbox/*',
    bodyLimit({
      maxSize: 2 * 1024 * 1024,
      onError: (c) => c.json({ detail: 'Request body too large.' }, 413),
    }),
  );

  // Like a provider's test cabinet: the sandbox merchant accounts (sandbox values, not secrets).
  app.get('/sandbox/credentials', (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(SANDBOX_ACCOUNTS);
  });

  app.get('/sandbox', (c) => c.redirect('/sandbox/', 301));
  app.get('/sandbox/', (c) =>
    c.json({
      providers: {
        repay: {
          baseUrl: `${publicUrl}/sandbox/repay`,
          create: 'POST /api/v1/private/deals/',
          status: 'GET /api/v1/external/deals/{id}',
          dispute: 'POST /api/v1/external/deals/{id}/disputes',
          magicAmounts: { complete: 101, reject: 102 },
        },
        boxexchanger: {
          baseUrl: `${publicUrl}/sandbox/boxexchanger`,
          api: '/service/api/v1/public/exchanger/{order/create, order/get, order/update-status, route/get/one}',
          paymentPage: '/{eng|rus}/payment/{uid}/{secret}',
        },
        agetrading: {
          baseUrl: `${publicUrl}/sandbox/agetrading`,
          create: 'POST /api/requests/create/',
          status: 'GET /api/requests/{id}/',
          cancel: 'POST /api/requests/{id}/cancel/',
        },
      },
      credentials: `${publicUrl}/sandbox/credentials`,
      notifications: `${publicUrl}/sandbox/_log`,
      frameDeny: Object.fromEntries(SANDBOX_PROVIDERS.map((p) => [p, ctx.frameDeny(p)])),
      windowsMs: windows,
    }),
  );

  // The outgoing webhooks / IPNs / callbacks and how they were answered (latest 200).
  app.get('/sandbox/_log', (c) => {
    const provider = c.req.query('provider');
    const reference = c.req.query('reference');
    return c.json(
      records.filter((r) => (!provider || r.provider === provider) && (!reference || r.reference === reference)),
    );
  });

  for (const provider of SANDBOX_PROVIDERS) app.route(`/sandbox/${provider}`, providers[provider].app);

  app.all('/sandbox/*', (c) => c.json({ detail: 'Not found.' }, 404));
  return app;
}

/** The origin of a URL ('' when it does not parse, which matches no allowed origin). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
