// Starts the servers `npm start` runs — helper + sandbox (child process) and the Vite storefront — on free ports,
// once per worker, with a fresh SQLite file. Tests get the storefront as their baseURL and can restart the helper.
import { test as base } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ViteDevServer } from 'vite';
import { buildScriptTagBundle, freePort, type HelperProcess, startHelper, startStorefront } from '../../scripts/launch.js';

export interface Servers {
  storefrontUrl: string;
  helperUrl: string;
  /** Kills the helper (SIGKILL: no clean shutdown) and starts it again on the same port and database. */
  restartHelper(): Promise<void>;
  /** Restarts the helper with extra environment (e.g. SANDBOX_FRAME_DENY). */
  reconfigureHelper(env: Record<string, string>): Promise<void>;
}

export const test = base.extend<object, { servers: Servers }>({
  servers: [
    async ({}, use) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'pay-checkout-e2e-'));
      const [helperPort, storefrontPort] = [await freePort(), await freePort()];
      const storefrontUrl = `http://localhost:${storefrontPort}`;
      const helperOptions = {
        port: helperPort,
        publicUrl: storefrontUrl,
        allowedOrigins: [storefrontUrl],
        databasePath: join(dataDir, 'checkout.sqlite'),
        quiet: true,
        env: { SESSION_SECRET: 'e2e-session-secret-0123456789abcdef' } as Record<string, string>,
      };
      await buildScriptTagBundle(false);
      let helper: HelperProcess = await startHelper(helperOptions);
      const storefront: ViteDevServer = await startStorefront({ port: storefrontPort, helperUrl: helper.url });
      await use({
        storefrontUrl,
        helperUrl: helper.url,
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
      rmSync(dataDir, { recursive: true, force: true });
    },
    { scope: 'worker', timeout: 120_000 },
  ],
  baseURL: async ({ servers }, use) => use(servers.storefrontUrl),
});

export { expect } from '@playwright/test';
