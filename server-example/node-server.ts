/**
 * `startServer(options)`: the helper and the provider sandbox in one Node HTTP server, with the reconciler
 * running. Used by server.ts (`npm run server`), by the `npm start` launcher, and by end-to-end tests and
 * benchmarks (port 0 = any free port).
 */
import { createAdaptorServer } from '@hono/node-server';
import type { HttpBindings } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCheckoutApp } from './app.js';
import type { CheckoutApp } from './app.js';
import { checkoutBasePath, loadConfig } from './config.js';
import type { CheckoutConfig } from './config.js';
import { CheckoutError } from './errors.js';
import { createSandboxApp } from './sandbox/index.js';
import { PostgresStore } from './store-postgres.js';
import type { ResolveOrder } from './types.js';

/** How long close() waits for requests in flight before cutting connections. */
const CLOSE_GRACE_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

export interface StartServerOptions {
  /** Default: HOST, else 127.0.0.1. */
  host?: string;
  /** Default: PORT, else 8787; 0 = a free port. */
  port?: number;
  /** Environment to configure from (default process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides applied on top of the environment's configuration. */
  config?: Partial<CheckoutConfig>;
  /** The merchant's order lookup; wins over ORDER_RESOLVE_URL; without either, the demo catalogue. */
  resolveOrder?: ResolveOrder;
  /** Run the background work: the reconciler and the merchant notification sender (default true). */
  reconcile?: boolean;
  /**
   * How long one request may take to arrive, headers and body (default 15 s). Node's default is 300 s, which
   * lets a slow sender hold a connection for five minutes.
   */
  requestTimeoutMs?: number;
}

export interface RunningServer {
  /** Base URL the server listens on, e.g. http://127.0.0.1:8787 (no trailing slash). */
  url: string;
  port: number;
  host: string;
  /** The helper's app (its `checkout` runtime exposes the store, sessions and reconciler). */
  app: CheckoutApp;
  config: CheckoutConfig;
  /** Stops accepting requests, stops the reconciler and closes the database. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const env = options.env ?? process.env;
  const host = options.host ?? ((env.HOST ?? '').trim() || '127.0.0.1');
  const requestedPort = options.port ?? Number((env.PORT ?? '').trim() || 8787);
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new Error('PORT must be an integer between 0 and 65535.');

  // The app is built once the port is known (port 0): PUBLIC_URL and the sandbox address default to it.
  let handler: (request: Request, env: HttpBindings) => Response | Promise<Response> = () =>
    errorResponse(new CheckoutError('provider_unavailable', 'Starting up.'));
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const server = createAdaptorServer({
    fetch: (request: Request, env) => handler(request, env as HttpBindings),
    serverOptions: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      // Node checks for timed-out requests only this often (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs),
    },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(requestedPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let app: CheckoutApp;
  let config: CheckoutConfig;
  try {
    // A public URL given as an override is the environment's PUBLIC_URL: what follows from it (the default allowed
    // origin) follows it too.
    const publicUrl = options.config?.publicUrl;
    config = { ...loadConfig(publicUrl ? { ...env, PUBLIC_URL: publicUrl } : env, { host, port }), ...options.config };
    if (options.resolveOrder) config.resolveOrder = options.resolveOrder;
    app = createCheckoutApp(config);
    // A shared database is reached and migrated before the server says it is up (a wrong URL fails here).
    if (app.checkout.store instanceof PostgresStore) await app.checkout.store.ready().catch(async (error: unknown) => {
      await app.checkout.close();
      throw error;
    });
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const basePath = checkoutBasePath(config);
  const listenHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const url = `http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`;
  // The sandbox exists in test mode only, and calls back nobody but this helper (its public and its own address).
  const sandbox =
    config.mode === 'test'
      ? createSandboxApp({
          publicUrl: config.publicUrl,
          frameDeny: config.frameDeny,
          ...(config.sandboxWindowMinutes !== undefined ? { windowMinutes: config.sandboxWindowMinutes } : {}),
          callbackOrigins: [new URL(config.publicUrl).origin, new URL(url).origin],
        })
      : undefined;
  handler = (request, env) => {
    const pathname = pathOf(request.url);
    if (pathname === basePath || pathname.startsWith(`${basePath}/`)) return app.fetch(request, env);
    if (sandbox && (pathname === '/sandbox' || pathname.startsWith('/sandbox/'))) return sandbox.fetch(request);
    if (pathname === '/' && request.method === 'GET') {
      return Response.json({ name: 'pay-checkout helper', api: `${basePath}/config`, ...(sandbox ? { sandbox: '/sandbox/credentials' } : {}) });
    }
    return errorResponse(new CheckoutError('not_found', 'No such endpoint.'));
  };
  if (options.reconcile ?? true) app.checkout.start();

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    app,
    config,
    close() {
      closing ??= (async () => {
        // Stop accepting, let requests in flight (a provider call can take seconds) finish, then force.
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
          force.unref();
          server.close(() => {
            clearTimeout(force);
            resolve();
          });
          server.closeIdleConnections();
        });
        await app.checkout.close();
      })();
      return closing;
    },
  };
}

/**
 * The path of an absolute URL as `new URL(url).pathname` gives it, for the URLs the Node adapter makes (already
 * parsed and serialised by `URL`, so the path is normalised and encoded): a second `URL` per request is not needed.
 */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start === -1) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code === 63 /* ? */ || code === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}

/** The helper's JSON error body, for answers given outside the Hono app. */
function errorResponse(error: CheckoutError): Response {
  return Response.json(error.toBody(), { status: error.status });
}
