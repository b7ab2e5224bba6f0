// `npm start`: the demo storefront at http://localhost:5173/ with the helper and the provider sandbox behind it.
// One command, one Ctrl-C: the helper runs as a child process and dies with this one.
import { buildScriptTagBundle, startHelper, startStorefront } from './launch.js';

const STOREFRONT_PORT = Number(process.env.STOREFRONT_PORT ?? 5173);
const HELPER_PORT = Number(process.env.PORT ?? 8787);
const storefrontUrl = `http://localhost:${STOREFRONT_PORT}`;

const bundle = await buildScriptTagBundle(true);
const helper = await startHelper({
  port: HELPER_PORT,
  publicUrl: process.env.PUBLIC_URL ?? storefrontUrl,
});
const storefront = await startStorefront({ port: STOREFRONT_PORT, helperUrl: helper.url });

console.log(`
  pay-checkout demo storefront:  ${storefrontUrl}/
  orders and webhooks:           ${storefrontUrl}/orders.html
  helper + provider sandbox:     ${helper.url}/api/checkout/config

  Press Ctrl-C to stop.
`);

let stopping = false;
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    await Promise.allSettled([helper.stop(), storefront.close(), bundle.close()]);
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
