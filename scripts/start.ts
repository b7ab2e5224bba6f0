// `npm start`: the demo storefront at http://localhost:5173/ with the helper, the provider sandbox and the demo
// shop's own backend behind it. One command, one Ctrl-C: the helper runs as a child process and dies with this one;
// the shop backend runs in this process.
//
// The shop backend (demo/merchant-backend.ts) receives the helper's signed webhooks and keeps the shop's orders in
// data/shop-orders.json. The webhook secret and the merchant API key it shares with the helper are made on the
// first run and kept in data/shop-secrets.json, so notifications still pending in the helper's outbox verify after
// a restart, and `curl -H "Authorization: Bearer …"` works with the same key every time.
import { resolve } from 'node:path';
import { ROOT } from './bundle.js';
import { buildScriptTagBundle, startHelper, startShop, startStorefront } from './launch.js';

const STOREFRONT_PORT = Number(process.env.STOREFRONT_PORT ?? 5173);
const HELPER_PORT = Number(process.env.PORT ?? 8787);
const SHOP_PORT = Number(process.env.SHOP_PORT ?? 8788);
const storefrontUrl = `http://localhost:${STOREFRONT_PORT}`;
const publicUrl = process.env.PUBLIC_URL ?? storefrontUrl;

const bundle = await buildScriptTagBundle(true);
const shop = await startShop({
  port: SHOP_PORT,
  helperPort: HELPER_PORT,
  dataDir: resolve(ROOT, 'data'),
  allowedOrigins: [...new Set([storefrontUrl, `http://127.0.0.1:${STOREFRONT_PORT}`, new URL(publicUrl).origin])],
});
const helper = await startHelper({ port: HELPER_PORT, publicUrl, env: shop.helperEnv });
const storefront = await startStorefront({ port: STOREFRONT_PORT, helperUrl: helper.url, shopUrl: shop.backend.url });

console.log(`
  pay-checkout demo storefront:  ${storefrontUrl}/
  orders (shop + helper views):  ${storefrontUrl}/orders.html
  helper + provider sandbox:     ${helper.url}/api/checkout/config
  shop backend (webhooks in):    ${shop.helperEnv.MERCHANT_WEBHOOK_URL}
  shop's secret and API key:     data/shop-secrets.json

  Press Ctrl-C to stop.
`);

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.allSettled([helper.stop(), storefront.close(), bundle.close()]);
    await shop.backend.close();
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
helper.child.once('exit', (code, signal) => {
  if (stopping) return;
  console.error(`[pay-checkout] the helper stopped (${signal ?? `exit code ${code}`}); stopping the storefront too.`);
  void stop(1);
});
