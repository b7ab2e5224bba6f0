// Type-checked (strict, no skipLibCheck) against the installed package's .d.ts files: the helper's API and the
// element's, as a TypeScript merchant uses them.
import { createServer } from 'node:http';
import { createCheckoutApp, keepRawBody, loadConfig, nodeHandler, startServer } from 'pay-checkout/server';
import type { CheckoutConfig, ResolveOrder, RunningServer } from 'pay-checkout/server';
import { PayCheckout } from 'pay-checkout';
import 'pay-checkout/define';

const resolveOrder: ResolveOrder = async (orderId) => (orderId === 'A-1' ? { amount: '1500.00', currency: 'RUB', description: 'Tea' } : null);
const config: CheckoutConfig = { ...loadConfig(process.env), basePath: '/payments', resolveOrder };
const app = createCheckoutApp(config);
createServer(nodeHandler(app)).listen(0, '127.0.0.1');
void keepRawBody;
const running: Promise<RunningServer> = startServer({ port: 0 });
void running;

const element: PayCheckout = document.createElement('pay-checkout');
element.addEventListener('pay-success', (event) => console.log(event.detail.session.id));
