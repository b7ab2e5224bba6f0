// Type-checked (strict, no skipLibCheck) against the installed package's .d.ts files: the helper's API and the
// element's, as a TypeScript merchant uses them, and the contract types both share.
import { createServer } from 'node:http';
import { createCheckoutApp, keepRawBody, loadConfig, nodeHandler, startServer } from 'pay-checkout/server';
import type { CheckoutConfig, ErrorBody, ErrorCode, ResolveOrder, RunningServer, SessionView, SessionStatus as HelperSessionStatus } from 'pay-checkout/server';
import { PayCheckout } from 'pay-checkout';
import type { HelperErrorCode, PaySession, SessionStatus } from 'pay-checkout';
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

// The contract the element and the helper share (dist/contract/index.d.ts) resolves from both entries, as the same
// types, and as the contract's unions rather than `any`.
const status: SessionStatus = 'held';
const sameStatus: HelperSessionStatus = status;
// @ts-expect-error not a session status
const notAStatus: SessionStatus = 'shipped';
const code: HelperErrorCode = 'session_creating';
const sameCode: ErrorCode = code;
const body: ErrorBody = { error: { code, message: 'A payment for this order is being created.', retryable: true } };
// @ts-expect-error not a code the helper sends
const notACode: HelperErrorCode = 'unsupported_provider';
declare const view: SessionView;
const session: Pick<PaySession, 'provider' | 'status' | 'heldReason'> = view;
// @ts-expect-error the helper may answer without a payment URL while the payment is being created
const url: string = view.paymentUrl;
void [sameStatus, notAStatus, sameCode, body, notACode, session, url];
