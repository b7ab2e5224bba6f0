// The merchant's side of the demo: the shop's own backend (demo/merchant-backend.ts) learns of payments only from
// the helper's signed webhooks — so an order becomes paid even when the payer closes the tab right after paying —
// refuses a webhook that does not verify, and settles a held payment through the helper's merchant API.
import { request as httpRequest } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { expect, test } from './fixtures.js';
import { buy, paymentPage, selectSwitches } from './storefront.js';

interface ShopOrder {
  orderId: string;
  status: string;
  createdBy: string;
  paidAt: string | null;
  webhooks: { webhookId: string; type: string; sessionId: string | null; reason: string | null; note?: string }[];
}

/** One request on a fresh connection (no keep-alive pool that could hold a socket of a restarted server). */
function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

async function shopOrder(shopUrl: string, orderId: string): Promise<ShopOrder | undefined> {
  const response = await call(`${shopUrl}/shop/orders/${encodeURIComponent(orderId)}`);
  if (response.status === 404) return undefined;
  expect(response.status).toBe(200);
  return JSON.parse(response.text) as ShopOrder;
}

async function shopOrders(shopUrl: string): Promise<unknown> {
  return JSON.parse((await call(`${shopUrl}/shop/orders`)).text) as unknown;
}

test('the payer closes the tab right after paying: the shop still marks its order paid from the webhook alone', async ({
  page,
  servers,
}) => {
  await selectSwitches(page, { provider: 'repay', mode: 'modal' });
  const product = await buy(page, 'tea');
  const orderId = await product.getAttribute('data-order-id');
  expect(orderId).toMatch(/^tea-/);

  // The storefront told the shop's backend that the purchase started: the order is in its books, unpaid.
  await expect.poll(async () => (await shopOrder(servers.shopUrl, orderId!))?.status).toBe('new');
  expect((await shopOrder(servers.shopUrl, orderId!))!.createdBy).toBe('storefront');

  // Pay on the provider's page; as soon as the provider has taken the payment, the payer closes the tab.
  const paid = page.waitForResponse((response) => response.request().method() === 'POST' && response.url().includes('/sandbox/'));
  await paymentPage(product).locator('[data-sandbox-action="pay"]').click();
  await paid;
  await page.close();

  // No browser is left to report anything: only the helper's webhook can make the shop's order paid.
  await expect.poll(async () => (await shopOrder(servers.shopUrl, orderId!))?.status, { timeout: 30_000 }).toBe('paid');
  const order = (await shopOrder(servers.shopUrl, orderId!))!;
  expect(order.paidAt).not.toBeNull();
  const paidHooks = order.webhooks.filter((hook) => hook.type === 'payment.paid');
  expect(paidHooks).toHaveLength(1);

  // The webhook the shop acted on is the helper's notification for that session, by its webhook-id.
  const deliveries = (await (
    await fetch(`${servers.helperUrl}/api/checkout/merchant/deliveries`, {
      headers: { authorization: `Bearer ${servers.shopEnv.MERCHANT_API_KEY}` },
    })
  ).json()) as { deliveries: { eventId: string; type: string; orderId: string; status: string }[] };
  const delivery = deliveries.deliveries.find((item) => item.orderId === orderId && item.type === 'payment.paid');
  expect(delivery?.status).toBe('delivered');
  expect(paidHooks[0]!.webhookId).toBe(delivery!.eventId);
});

test('the shop backend refuses a tampered webhook and changes nothing; a genuine one is applied once, also after a restart', async ({
  servers,
}) => {
  const orderId = `tea-tamper${Date.now().toString(36)}`;
  const event = {
    id: `msg_e2etamper${Date.now().toString(36)}`,
    type: 'payment.paid',
    createdAt: new Date().toISOString(),
    data: {
      session: {
        id: 'cs_e2etampered0000000000',
        orderId,
        status: 'paid',
        provider: 'repay',
        method: 'sbp',
        amount: '650.00',
        currency: 'RUB',
        paidAmount: '650.00',
        providerPaymentId: '1',
        description: null,
        errorCode: null,
        createdAt: new Date().toISOString(),
        updatedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 900_000).toISOString(),
      },
      previousStatus: 'pending',
      reason: 'provider_status',
    },
  };
  const body = JSON.stringify(event);
  // Signed with the independent Standard Webhooks library and the secret the helper was given.
  const signer = new Webhook(servers.shopEnv.MERCHANT_WEBHOOK_SECRET!);
  const timestamp = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': event.id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signer.sign(event.id, timestamp, body),
  };
  const post = (payload: string, extra: Record<string, string> = {}) =>
    call(`${servers.shopUrl}/shop/webhooks`, { method: 'POST', headers: { ...headers, ...extra }, body: payload });

  const before = await shopOrders(servers.shopUrl);
  // The same signature over a body whose amount was raised.
  const tampered = body.replace('"paidAmount":"650.00"', '"paidAmount":"65000.00"');
  expect(tampered).not.toBe(body);
  expect((await post(tampered)).status).toBe(401);
  // Signed with another secret; without a signature; with a timestamp an hour old.
  const other = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  expect((await post(body, { 'webhook-signature': other.sign(event.id, timestamp, body) })).status).toBe(401);
  expect((await post(body, { 'webhook-signature': '' })).status).toBe(401);
  const old = new Date(Date.now() - 3_600_000);
  expect(
    (await post(body, { 'webhook-timestamp': String(Math.floor(old.getTime() / 1000)), 'webhook-signature': signer.sign(event.id, old, body) }))
      .status,
  ).toBe(401);
  expect(await shopOrder(servers.shopUrl, orderId)).toBeUndefined();
  expect(await shopOrders(servers.shopUrl)).toEqual(before);

  // The genuine message is taken, once.
  expect((await post(body)).status).toBe(204);
  expect((await shopOrder(servers.shopUrl, orderId))?.status).toBe('paid');
  expect((await post(body)).status).toBe(200);

  // A restart keeps the orders and the webhook ids already seen.
  await servers.restartShop();
  expect((await post(body)).status).toBe(200);
  const order = (await shopOrder(servers.shopUrl, orderId))!;
  expect(order.status).toBe('paid');
  expect(order.createdBy).toBe('webhook');
  expect(order.webhooks.map((hook) => hook.webhookId)).toEqual([event.id]);
});

test('the shop backend ships only on news at the order\'s price: an old payment.paid sent again after the refund, or another amount, ships nothing', async ({
  servers,
}) => {
  const signer = new Webhook(servers.shopEnv.MERCHANT_WEBHOOK_SECRET!);
  let sent = 0;
  /** A signed event about one session of `orderId`, as the helper sends it. */
  const send = async (orderId: string, type: string, status: string, at: number, extra: { amount?: string; redelivered?: true } = {}) => {
    const id = `msg_e2enews${Date.now().toString(36)}${++sent}`;
    const session = { id: `cs_${orderId}`, orderId, status, provider: 'repay', method: 'sbp', amount: extra.amount ?? '650.00', currency: 'RUB', paidAmount: extra.amount ?? '650.00', updatedAt: new Date(at).toISOString() };
    const body = JSON.stringify({ id, type, createdAt: new Date(at).toISOString(), data: { session, previousStatus: null, reason: 'provider_status', ...(extra.redelivered ? { redelivered: true } : {}) } });
    const now = new Date();
    const headers = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signer.sign(id, now, body) };
    expect((await call(`${servers.shopUrl}/shop/webhooks`, { method: 'POST', headers, body })).status).toBe(204);
  };
  const t0 = Date.now();

  // The shop never got the payment.paid (it was down); the refund reached it; a person then forces the old event again.
  const refunded = `tea-refunded${t0.toString(36)}`;
  await send(refunded, 'payment.refunded', 'refunded', t0 + 2_000);
  await send(refunded, 'payment.paid', 'paid', t0 + 1_000, { redelivered: true });
  let order = (await shopOrder(servers.shopUrl, refunded))!;
  expect(order.status).toBe('refunded');
  expect(order.paidAt).toBeNull();
  expect(order.webhooks.map((hook) => hook.type)).toEqual(['payment.refunded', 'payment.paid']);

  // Out of order without the mark: the older copy of the session changes nothing either.
  await send(refunded, 'payment.paid', 'paid', t0 + 1_500);
  expect((await shopOrder(servers.shopUrl, refunded))!.status).toBe('refunded');

  // A payment of another amount than the tea's price is held for a person, not shipped.
  const cheap = `tea-cheap${t0.toString(36)}`;
  await send(cheap, 'payment.paid', 'paid', t0, { amount: '6.50' });
  order = (await shopOrder(servers.shopUrl, cheap))!;
  expect(order.status).toBe('held');
  expect(order.paidAt).toBeNull();
});

test('a held payment is settled from the orders page through the shop backend; the shop learns the outcome by webhook', async ({
  page,
  servers,
}) => {
  const key = servers.shopEnv.MERCHANT_API_KEY!;
  const shopBodies: string[] = [];
  const requests: string[] = [];
  page.on('request', (request) => requests.push(JSON.stringify(request.headers()) + request.url() + (request.postData() ?? '')));
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/shop/')) void response.text().then((text) => shopBodies.push(text), () => undefined);
  });

  await selectSwitches(page, { provider: 'boxexchanger', mode: 'modal' });
  const product = await buy(page, 'matryoshka');
  const orderId = (await product.getAttribute('data-order-id'))!;
  await paymentPage(product).locator('[data-sandbox-action="pay-other-amount"]').click();
  await expect.poll(async () => (await shopOrder(servers.shopUrl, orderId))?.status, { timeout: 30_000 }).toBe('held');

  await page.goto('/orders.html');
  const card = page.locator(`article.order-card[data-order-id="${orderId}"]`);
  await expect(card.locator('.shop-view')).toHaveAttribute('data-shop-status', 'held');
  await expect(card.locator('.shop-view li.shop-webhook[data-type="payment.held"]')).toHaveCount(1);
  const session = card.locator('.helper-session').filter({ has: page.locator('[data-status="held"]') });
  const sessionId = (await session.getAttribute('data-session-id'))!;
  // A decision made on a version of the payment that is not the current one is refused, and changes nothing.
  const stale = await page.request.post(`/shop/orders/${encodeURIComponent(orderId)}/resolve`, {
    data: { sessionId, status: 'paid', note: 'decided on an old page', version: '"an-older-version"' },
  });
  expect(stale.status()).toBe(412);
  expect(((await stale.json()) as { error: { code: string } }).error.code).toBe('session_changed');
  const form = session.locator('form.resolve-form');
  await form.locator('select[name="status"]').selectOption('paid');
  await form.locator('input[name="note"]').fill('Checked the bank statement: the full amount arrived');
  // The form sends the version the page listed, the one the person looked at.
  const sent = page.waitForRequest((request) => request.url().endsWith('/resolve') && request.method() === 'POST');
  await form.getByRole('button').click();
  expect(((await sent).postDataJSON() as { version?: string }).version).toMatch(/^"[\w-]+"$/);

  // The helper settles the session; the shop's order turns paid only when the helper's webhook says so.
  await expect(card.locator('.shop-view')).toHaveAttribute('data-shop-status', 'paid');
  await expect(card.locator('.helper-session [data-status="paid"]')).toHaveCount(1);
  const order = (await shopOrder(servers.shopUrl, orderId))!;
  const manual = order.webhooks.find((hook) => hook.type === 'payment.paid');
  expect(manual?.reason).toBe('manual');
  expect(manual?.note).toBe('Checked the bank statement: the full amount arrived');

  // Resolving it again is refused by the helper (it is no longer held), and the page says so.
  const resolveAgain = await page.request.post(`/shop/orders/${encodeURIComponent(orderId)}/resolve`, {
    data: { sessionId: manual!.sessionId, status: 'refunded', note: 'again' },
  });
  expect(resolveAgain.status()).toBe(409);
  expect(((await resolveAgain.json()) as { error: { code: string } }).error.code).toBe('session_not_held');

  // The browser never saw the merchant API key or the webhook secret.
  for (const text of requests) expect(text).not.toContain(key);
  expect(shopBodies.length).toBeGreaterThan(0);
  for (const text of shopBodies) {
    expect(text).not.toContain(key);
    expect(text).not.toContain(servers.shopEnv.MERCHANT_WEBHOOK_SECRET!);
  }
});
