// A merchant's Express app, run by plain Node from a project that installed the packed tarball: global body parsers
// (express.json() and express.urlencoded() consume every matching body before any route sees it), the helper under
// app.use('/api/checkout', …), the sandbox under app.use('/sandbox', …), and a route of the shop's own.
import express from 'express';
import { createCheckoutApp, createSandboxApp, loadConfig, nodeHandler } from 'pay-checkout/server';

const app = express();
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
app.post('/shop/echo', (req, res) => res.json({ youSent: req.body }));

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const { port } = server.address();

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' }, { host: '127.0.0.1', port });
const checkout = createCheckoutApp(config);
app.use('/api/checkout', nodeHandler(checkout));
app.use('/sandbox', nodeHandler(createSandboxApp({ publicUrl: config.publicUrl })));

process.stdout.write(`${JSON.stringify({ ready: { url: `http://127.0.0.1:${port}` } })}\n`);
process.on('SIGTERM', async () => {
  server.closeAllConnections();
  server.close();
  await checkout.checkout.close();
  process.exit(0);
});
