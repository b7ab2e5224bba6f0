// A merchant's plain node:http server, run by plain Node from a project that installed the packed tarball:
// the helper under /api/checkout and the provider sandbox under /sandbox, both through nodeHandler().
import { createServer } from 'node:http';
import { createCheckoutApp, createSandboxApp, loadConfig, nodeHandler } from 'pay-checkout/server';

let handle = (_req, res) => res.writeHead(503).end();
const server = createServer((req, res) => handle(req, res));
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' }, { host: '127.0.0.1', port });
const checkout = createCheckoutApp(config);
const sandbox = createSandboxApp({ publicUrl: config.publicUrl });
const api = nodeHandler(checkout);
const providers = nodeHandler(sandbox);
handle = (req, res) => {
  if (req.url.startsWith('/sandbox/')) return providers(req, res);
  return api(req, res);
};

process.stdout.write(`${JSON.stringify({ ready: { url: `http://127.0.0.1:${port}` } })}\n`);
process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await checkout.checkout.close();
  process.exit(0);
});
