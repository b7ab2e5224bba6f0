// Starts the servers `npm start` runs — the demo shop's backend, helper + sandbox (child process) and the Vite
// storefront — on free ports, once per worker, with a fresh data directory (SQLite file, the shop's orders and
// secrets). Tests get the storefront as their baseURL and can restart the helper or the shop backend.
import { test as base } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViteDevServer } from 'vite';
import {
  buildScriptTagBundle,
  freePort,
  type HelperProcess,
  type ShopProcess,
  startHelper,
  startShop,
  startStorefront,
} from '../../scripts/launch.js';

export interface Servers {
  storefrontUrl: string;
  helperUrl: string;
  /** The demo shop's backend (demo/merchant-backend.ts), on 127.0.0.1. */
  shopUrl: string;
  /** MERCHANT_WEBHOOK_URL, MERCHANT_WEBHOOK_SECRET and MERCHANT_API_KEY as the helper got them. */
  shopEnv: Record<string, string>;
  /** Stops the shop backend and starts it again on the same port and data file. */
  restartShop(): Promise<void>;
  /** Kills the helper (SIGKILL: no clean shutdown) and starts it again on the same port and database. */
  restartHelper(): Promise<void>;
  /** Restarts the helper with extra environment (e.g. SANDBOX_FRAME_DENY). */
  reconfigureHelper(env: Record<string, string>): Promise<void>;
}

export const test = base.extend<object, { servers: Servers }>({
  servers: [
    async ({}, use) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pay-checkout-e2e-'));
      const [helperPort, storefrontPort, shopPort] = [await freePort(), await freePort(), await freePort()];
      const storefrontUrl = `http://localhost:${storefrontPort}`;
      const shopOptions = { port: shopPort, helperPort, dataDir, allowedOrigins: [storefrontUrl], quiet: true };
      let shop: ShopProcess = await startShop(shopOptions);
      const helperOptions = {
        port: helperPort,
        publicUrl: storefrontUrl,
        allowedOrigins: [storefrontUrl],
        databasePath: join(dataDir, 'checkout.sqlite'),
        quiet: true,
        env: { SESSION_SECRET: 'e2e-session-secret-0123456789abcdef', ...shop.helperEnv } as Record<string, string>,
      };
      await buildScriptTagBundle(false);
      let helper: HelperProcess = await startHelper(helperOptions);
      const storefront: ViteDevServer = await startStorefront({
        port: storefrontPort,
        helperUrl: helper.url,
        shopUrl: shop.backend.url,
      });
      await use({
        storefrontUrl,
        helperUrl: helper.url,
        shopUrl: shop.backend.url,
        shopEnv: shop.helperEnv,
        async restartShop() {
          await shop.backend.close();
          shop = await startShop(shopOptions);
        },
        async restartHelper() {
          await helper.stop('SIGKILL');
          helper = await startHelper(helperOptions);
        },
        async reconfigureHelper(env) {
          await helper.stop();
          helperOptions.env = { ...helperOptions.env, ...env };
          helper = await startHelper(helperOptions);
        },
      });
      await helper.stop();
      await storefront.close();
      await shop.backend.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ servers }, use) => use(servers.storefrontUrl),
});

export { expect } from '@playwright/test';
