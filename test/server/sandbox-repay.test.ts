// The Repay sandbox over real HTTP: deals API validation and error codes, the md5 signatures, magic amounts, the
// status API, the hosted page's buttons and redirects, and the success-only webhook.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { pressButton, useSandbox, type RunningSandbox, type WebhookReceiver } from '../../server-example/sandbox/testing.js';

const account = SANDBOX_ACCOUNTS.repay;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

let sandbox: RunningSandbox;
let hooks: WebhookReceiver;

useSandbox((started) => ({ sandbox, hooks } = started));

function dealBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const amount = (overrides.amount as string | undefined) ?? '300';
  return {
    cassa_id: account.cassaId,
    amount,
    currency: 'RUB',
    payment_method_id: account.methods.sbp,
    order_id: 'A-1001',
    success_url: 'https://shop.example/return/success',
    error_url: 'https://shop.example/return/error',
    cancel_url: 'https://shop.example/return/cancel',
    webhook_url: `${hooks.url}/webhooks/repay`,
    payload: { user_id: 'customer-1', trusted: false },
    signature: md5(`${account.cassaId}:${amount}:${account.secretWord1}`),
    ...overrides,
  };
}

async function post(body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${sandbox.url}/sandbox/repay/api/v1/private/deals/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

async function createDeal(overrides: Record<string, unknown> = {}) {
  const { status, json } = await post(dealBody(overrides));
  assert.equal(status, 200, JSON.stringify(json));
  return json.payload as { id: string; payment_url: string; state: string };
}

async function dealStatus(id: string, apiKey: string = account.apiKey) {
  const response = await fetch(`${sandbox.url}/sandbox/repay/api/v1/external/deals/${id}`, { headers: { 'api-key': apiKey } });
  return { status: response.status, json: (await response.json()) as any };
}

function hooksFor(dealId: string) {
  return hooks.received.filter((r) => JSON.parse(r.rawBody).deal_id === dealId);
}

describe('Repay sandbox: creating a deal', () => {
  it('answers the documented success shape with a payment_url under the public URL', async () => {
    const { status, json } = await post(dealBody());
    assert.equal(status, 200);
    assert.equal(json.status_code, 200);
    assert.deepEqual(json.error, {});
    assert.match(json.payload.id, /^[0-9a-f-]{36}$/);
    assert.equal(json.payload.state, 'created');
    assert.equal(json.payload.success_url, 'https://shop.example/return/success');
    assert.equal(json.payload.error_url, 'https://shop.example/return/error');
    assert.equal(json.payload.cancel_url, 'https://shop.example/return/cancel');
    assert.equal(json.payload.webhook_url, `${hooks.url}/webhooks/repay`);
    assert.ok(json.payload.payment_url.startsWith(`${sandbox.url}/sandbox/repay/`));
    // Like the real service, the payment page has its own id, not the deal id.
    assert.ok(!json.payload.payment_url.includes(json.payload.id));
  });

  it('refuses amounts below 100 with code 610', async () => {
    const { status, json } = await post(dealBody({ amount: '99' }));
    assert.equal(status, 400);
    assert.deepEqual(json, { code: 610, error: 'Too small money amount', description: 'You can not create deal with amount less then 100' });
  });

  it('refuses a wrong signature with code 611', async () => {
    const { json } = await post(dealBody({ signature: md5('something else') }));
    assert.equal(json.code, 611);
    assert.equal(json.error, 'Bad signature');
  });

  it('checks the signature against the amount string exactly as sent ("300.0" is not "300")', async () => {
    const signedFor300 = md5(`${account.cassaId}:300:${account.secretWord1}`);
    const { json } = await post(dealBody({ amount: '300.0', signature: signedFor300 }));
    assert.equal(json.code, 611);
  });

  it('refuses a signature made with the wrong secret word', async () => {
    const { json } = await post(dealBody({ signature: md5(`${account.cassaId}:300:${account.secretWord2}`) }));
    assert.equal(json.code, 611);
  });

  it('refuses an unknown payment method with code 612', async () => {
    const { json } = await post(dealBody({ payment_method_id: '00000000-0000-4000-8000-000000000000' }));
    assert.equal(json.code, 612);
    assert.equal(json.error, 'Unsupported payment method');
  });

  it('refuses a currency other than RUB with code 613', async () => {
    const { json } = await post(dealBody({ currency: 'USD' }));
    assert.equal(json.code, 613);
    assert.equal(json.error, 'Unsupported currency');
  });

  it('answers 404 for an unknown cashier', async () => {
    const other = '11111111-2222-4333-8444-555555555555';
    const { status, json } = await post(dealBody({ cassa_id: other, signature: md5(`${other}:300:${account.secretWord1}`) }));
    assert.equal(status, 404);
    assert.equal(json.code, 404);
  });

  it('answers 400 for malformed JSON, missing fields and amounts with cents', async () => {
    assert.equal((await post('{not json')).json.code, 400);
    const missing = dealBody();
    delete missing.signature;
    assert.equal((await post(missing)).status, 400);
    const cents = await post(dealBody({ amount: '300.50' }));
    assert.equal(cents.status, 400);
    assert.equal(cents.json.code, 400);
    assert.equal((await post(dealBody({ payload: 'x' }))).json.code, 400);
    assert.equal((await post(dealBody({ success_url: 'not a url' }))).json.code, 400);
  });

  it('cancels the same user\'s previous open deal (rejected_by_new_deal)', async () => {
    const first = await createDeal({ payload: { user_id: 'repeat-user', trusted: true } });
    const second = await createDeal({ payload: { user_id: 'repeat-user', trusted: true } });
    assert.equal((await dealStatus(first.id)).json.payload.state, 'rejected_by_new_deal');
    assert.equal((await dealStatus(second.id)).json.payload.state, 'created');
  });
});

describe('Repay sandbox: status API', () => {
  it('requires the api-key header', async () => {
    const deal = await createDeal();
    const missing = await fetch(`${sandbox.url}/sandbox/repay/api/v1/external/deals/${deal.id}`);
    assert.equal(missing.status, 401);
    assert.equal((await dealStatus(deal.id, 'wrong')).status, 401);
  });

  it('answers 404 for an unknown deal', async () => {
    const { status, json } = await dealStatus('00000000-0000-4000-8000-000000000000');
    assert.equal(status, 404);
    assert.equal(json.code, 404);
  });

  it('reports waiting_payment with the receiver once the payer opened the page', async () => {
    const deal = await createDeal({ amount: '1500', signature: md5(`${account.cassaId}:1500:${account.secretWord1}`) });
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'created');
    await fetch(deal.payment_url);
    const { json } = await dealStatus(deal.id);
    assert.equal(json.status_code, 200);
    assert.equal(json.payload.state, 'waiting_payment');
    assert.equal(json.payload.amount, 1500);
    assert.equal(typeof json.payload.amount_usdt, 'number');
    assert.equal(json.payload.currency, 'RUB');
    assert.ok(json.payload.receiver_info.bank_name);
  });

  it('reports rejected_timeout after the payment window', async () => {
    const deal = await createDeal();
    await fetch(deal.payment_url);
    sandbox.clock.advance(15 * 60_000 + 1);
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'rejected_timeout');
    const page = await (await fetch(deal.payment_url)).text();
    assert.ok(!page.includes('data-sandbox-action="pay"'));
  });
});

describe('Repay sandbox: hosted page and webhook', () => {
  it('pay: sends the signed webhook before redirecting to success_url', async () => {
    const deal = await createDeal();
    const response = await pressButton(deal.payment_url, 'pay');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://shop.example/return/success');
    // Awaited before the redirect: the merchant has heard when the payer comes back.
    const [hook] = hooksFor(deal.id);
    assert.ok(hook, 'webhook received before the redirect');
    assert.equal(hook.method, 'POST');
    assert.equal(hook.path, '/webhooks/repay');
    assert.match(String(hook.headers['content-type']), /application\/json/);
    const body = JSON.parse(hook.rawBody);
    assert.deepEqual(Object.keys(body).sort(), ['amount', 'amount_usdt_income', 'currency', 'deal_id', 'order_id', 'signature', 'state']);
    assert.equal(body.state, 'completed');
    assert.equal(body.amount, '300');
    assert.equal(body.currency, 'RUB');
    assert.equal(body.order_id, 'A-1001');
    assert.equal(body.signature, md5(`${deal.id}:300:${account.secretWord2}`));
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'completed');
  });

  it('fail: no webhook (Repay reports only success), redirect to error_url', async () => {
    const deal = await createDeal();
    const response = await pressButton(deal.payment_url, 'fail');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://shop.example/return/error');
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'rejected_by_system');
    assert.equal(hooksFor(deal.id).length, 0);
  });

  it('cancel: redirect to cancel_url, state reject_manual_by_client', async () => {
    const deal = await createDeal();
    const response = await pressButton(deal.payment_url, 'cancel');
    assert.equal(response.headers.get('location'), 'https://shop.example/return/cancel');
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'reject_manual_by_client');
    assert.equal(hooksFor(deal.id).length, 0);
  });

  it('pay-other-amount: the webhook carries the amount paid, signed over it', async () => {
    const deal = await createDeal();
    const response = await pressButton(deal.payment_url, 'pay-other-amount', { other_amount: '250' });
    assert.equal(response.headers.get('location'), 'https://shop.example/return/success');
    const body = JSON.parse(hooksFor(deal.id)[0]?.rawBody ?? '{}');
    assert.equal(body.amount, '250');
    assert.equal(body.signature, md5(`${deal.id}:250:${account.secretWord2}`));
    const status = (await dealStatus(deal.id)).json.payload;
    assert.equal(status.state, 'completed');
    assert.equal(status.amount, 250);
  });

  it('a second press after the outcome changes nothing and sends the payer to the same place', async () => {
    const deal = await createDeal();
    const page = await fetch(deal.payment_url);
    const html = await page.text();
    const form = (await import('../../server-example/sandbox/testing.js')).pageForm(html);
    const press = (action: string) =>
      fetch(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, action }), redirect: 'manual' });
    await press('pay');
    const again = await press('cancel');
    assert.equal(again.headers.get('location'), 'https://shop.example/return/success');
    assert.equal(hooksFor(deal.id).length, 1);
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'completed');
  });

  it('a dispute completes the deal with the new amount and sends the webhook again', async () => {
    const deal = await createDeal();
    await pressButton(deal.payment_url, 'pay');
    const form = new FormData();
    form.append('new_amount', '280');
    form.append('files', new Blob(['receipt'], { type: 'image/png' }), 'receipt.png');
    const response = await fetch(`${sandbox.url}/sandbox/repay/api/v1/external/deals/${deal.id}/disputes`, {
      method: 'POST',
      headers: { 'api-key': account.apiKey },
      body: form,
    });
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as any).payload.state, 'proceedings');
    await hooks.waitFor(hooks.received.length + 1).catch(() => undefined);
    const bodies = hooksFor(deal.id).map((h) => JSON.parse(h.rawBody));
    assert.equal(bodies.length, 2);
    assert.equal(bodies[1].amount, '280');
    assert.equal(bodies[1].signature, md5(`${deal.id}:280:${account.secretWord2}`));
    assert.equal((await dealStatus(deal.id)).json.payload.amount, 280);
  });
});

describe('Repay sandbox: magic amounts of the stage contour', () => {
  it('101 completes by itself and sends the webhook', async () => {
    const deal = await createDeal({ amount: '101', signature: md5(`${account.cassaId}:101:${account.secretWord1}`) });
    const deadline = Date.now() + 3000;
    while (hooksFor(deal.id).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const body = JSON.parse(hooksFor(deal.id)[0]?.rawBody ?? '{}');
    assert.equal(body.state, 'completed');
    assert.equal(body.amount, '101');
    assert.equal(body.signature, md5(`${deal.id}:101:${account.secretWord2}`));
    assert.equal((await dealStatus(deal.id)).json.payload.state, 'completed');
  });

  it('102 is rejected by itself, with no webhook', async () => {
    const deal = await createDeal({ amount: '102', signature: md5(`${account.cassaId}:102:${account.secretWord1}`) });
    const deadline = Date.now() + 3000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await dealStatus(deal.id)).json.payload.state;
      if (state !== 'created') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(state, 'rejected_by_system');
    assert.equal(hooksFor(deal.id).length, 0);
  });
});

describe('Repay sandbox: webhook delivery', () => {
  it('counts only HTTP 200 with body OK as delivered, as Repay does', async () => {
    hooks.respond = () => ({ status: 200, body: 'received' });
    try {
      const deal = await createDeal();
      await pressButton(deal.payment_url, 'pay');
      const log = (await (await fetch(`${sandbox.url}/sandbox/_log?provider=repay&reference=${deal.id}`)).json()) as any[];
      assert.equal(log.length, 1);
      assert.equal(log[0].status, 200);
      assert.equal(log[0].delivered, false);
    } finally {
      hooks.respond = () => ({ status: 200, body: 'OK' });
    }
  });
});
