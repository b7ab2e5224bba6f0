// Starts the pieces `npm start` runs — the demo shop's backend (it receives the helper's webhooks), the helper (with
// the provider sandbox) as a child process, the Vite dev server for the storefront, and the script-tag bundle
// build — so that the launcher and the end-to-end tests run the very same servers.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import { build, createServer, type ViteDevServer } from 'vite';
import { loadOrCreateShopSecrets, type ShopBackend, startShopBackend } from '../demo/merchant-backend.js';
import { ROOT, scriptTagBundleConfig } from './bundle.js';

export interface HelperProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Stops the helper; `signal` SIGKILL simulates a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface HelperOptions {
  port: number;
  /** Where browsers and providers reach the helper: the storefront origin, whose dev server proxies to it. */
  publicUrl: string;
  allowedOrigins?: string[];
  databasePath?: string;
  env?: Record<string, string>;
  /** Pass the helper's output through (the launcher) or keep it quiet (tests). */
  quiet?: boolean;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

// Generous: a cold start compiles TypeScript on a machine that may be busy with other work (a CI run's browsers).
async function waitForHelper(url: string, child: ChildProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`[pay-checkout] the helper exited with code ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/api/checkout/config`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`[pay-checkout] the helper did not answer at ${url} within ${timeoutMs} ms`);
}

export async function startHelper(options: HelperOptions): Promise<HelperProcess> {
  const url = `http://127.0.0.1:${options.port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(options.port),
    PUBLIC_URL: options.publicUrl,
    ...(options.allowedOrigins ? { ALLOWED_ORIGINS: options.allowedOrigins.join(',') } : {}),
    ...(options.databasePath ? { DATABASE_PATH: options.databasePath } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'server-example/server.ts')], {
    cwd: ROOT,
    env,
    stdio: options.quiet ? ['ignore', 'ignore', 'pipe'] : 'inherit',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitForHelper(url, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    url,
    port: options.port,
    child,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill(signal);
      }),
  };
}

export interface ShopProcess {
  backend: ShopBackend;
  /** The helper's environment that points its merchant webhooks and API at this shop. */
  helperEnv: Record<string, string>;
}

/**
 * Starts the demo shop's backend (in this process) for a helper that will listen on `helperPort`, and returns the
 * helper environment that connects the two: MERCHANT_WEBHOOK_URL (this backend's `/shop/webhooks`),
 * MERCHANT_WEBHOOK_SECRET and MERCHANT_API_KEY (from `secretsFile`, made on first run).
 */
export async function startShop(options: {
  port: number;
  helperPort: number;
  dataDir: string;
  allowedOrigins: string[];
  quiet?: boolean;
}): Promise<ShopProcess> {
  const secrets = loadOrCreateShopSecrets(resolve(options.dataDir, 'shop-secrets.json'));
  const backend = await startShopBackend({
    port: options.port,
    dataFile: resolve(options.dataDir, 'shop-orders.json'),
    webhookSecret: secrets.webhookSecret,
    merchantApiUrl: `http://127.0.0.1:${options.helperPort}/api/checkout/merchant`,
    merchantApiKey: secrets.merchantApiKey,
    allowedOrigins: options.allowedOrigins,
    ...(options.quiet ? {} : { log: (message: string) => console.log(message) }),
  });
  return {
    backend,
    helperEnv: {
      MERCHANT_WEBHOOK_URL: `${backend.url}/shop/webhooks`,
      MERCHANT_WEBHOOK_SECRET: secrets.webhookSecret,
      MERCHANT_API_KEY: secrets.merchantApiKey,
    },
  };
}

/** Builds `dist/pay-checkout.js`; with `watch`, keeps rebuilding it on changes until `close()`. */
export async function buildScriptTagBundle(watch: boolean): Promise<{ close(): Promise<void> }> {
  const result = await build(scriptTagBundleConfig({ watch }));
  if (watch && 'close' in result && typeof result.close === 'function') {
    const watcher = result as { close(): Promise<void>; on(event: string, cb: (e: { code: string }) => void): void };
    await new Promise<void>((ready) => watcher.on('event', (event) => event.code === 'END' && ready()));
    return { close: () => watcher.close() };
  }
  return { close: async () => {} };
}

/**
 * The Vite dev server of the storefront: `/api` and `/sandbox` go to the helper, `/shop` to the demo shop's own
 * backend (demo/merchant-backend.ts).
 */
export async function startStorefront(options: { port: number; helperUrl: string; shopUrl: string }): Promise<ViteDevServer> {
  const proxy = { target: options.helperUrl };
  const server = await createServer({
    configFile: resolve(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    server: {
      port: options.port,
      strictPort: true,
      host: '127.0.0.1',
      proxy: { '/api': proxy, '/sandbox': proxy, '/shop': { target: options.shopUrl } },
    },
  });
  await server.listen();
  return server;
}
