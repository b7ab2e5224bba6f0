// The age.trading sandbox over real HTTP: token auth, the 202 creation answer, the duplicate merchant_request_id
// 400, the previous-unclosed-request reuse, the ban progression, the "Administrator has disabled you." switch,
// status and cancel, the signed callbacks and the redirects (failure URL for cancel too).
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { pressButton, useSandbox, type RunningSandbox, type WebhookReceiver } from '../../server-example/sandbox/testing.js';

const account = SANDBOX_ACCOUNTS.agetrading;
const MINUTE = 60_000;

let sandbox: RunningSandbox;
let hooks: WebhookReceiver;

useSandbox((started) => ({ sandbox, hooks } = started));

const base = () => `${sandbox.url}/sandbox/agetrading`;
const auth = (key: string = account.apiKey) => ({ Authorization: `Token ${key}` });

function requestBody(client: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client,
    merchant_request_id: randomUUID(),
    initial_amount: '1000.00',
    success_redirect_url: 'https://shop.example/return/success',
    failure_redirect_url: 'https://shop.example/return/failure',
    webhook_url: `${hooks.url}/webhooks/agetrading`,
    payment_method: 1,
    ...overrides,
  };
}

async function create(body: Record<string, unknown>, key?: string) {
  const response = await fetch(`${base()}/api/requests/create/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...auth(key) },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as any };
}

async function status(id: number | string) {
  const response = await fetch(`${base()}/api/requests/${id}/`, { headers: auth() });
  return { status: response.status, json: (await response.json()) as any };
}

async function cancel(id: number) {
  const response = await fetch(`${base()}/api/requests/${id}/cancel/`, { method: 'POST', headers: auth() });
  return { status: response.status, json: (await response.json()) as any };
}

const newClient = () => randomUUID().replace(/-/g, '');

function callbacksFor(id: number) {
  return hooks.received.filter((r) => JSON.parse(r.rawBody).id === id);
}

async function waitForCallbacks(id: number, count: number) {
  const deadline = Date.now() + 3000;
  while (callbacksFor(id).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return callbacksFor(id);
}

function assertSigned(raw: string, signature: unknown) {
  assert.equal(signature, createHmac('sha256', account.callbackSecret).update(raw).digest('hex'));
}

describe('age.trading sandbox: creating a request', () => {
  it('answers 202 with exactly the documented fields', async () => {
    const body = requestBody(newClient());
    const { status: code, json } = await create(body);
    assert.equal(code, 202);
    assert.deepEqual(Object.keys(json).sort(), ['created', 'id', 'initial_amount', 'merchant_request_id', 'payment_method', 'redirect_url', 'request_proprietary_id']);
    assert.equal(typeof json.id, 'number');
    assert.match(json.request_proprietary_id, /^[0-9a-f-]{36}$/);
    assert.equal(json.merchant_request_id, body.merchant_request_id);
    assert.equal(json.initial_amount, '1000.00');
    assert.match(json.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+03:00$/);
    assert.equal(json.redirect_url, `${base()}/payment?id=${json.request_proprietary_id}`);
    assert.equal(json.payment_method, 1);
  });

  it('requires the token: 401 without it or with a wrong one', async () => {
    const none = await fetch(`${base()}/api/requests/create/`, { method: 'POST', body: JSON.stringify(requestBody(newClient())) });
    assert.equal(none.status, 401);
    assert.deepEqual(await none.json(), { detail: 'Authentication credentials were not provided.' });
    const wrong = await create(requestBody(newClient()), 'wrong-token');
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { detail: 'Invalid token.' });
  });

  it('answers 400 with the field for missing or invalid fields', async () => {
    const missing = requestBody(newClient());
    delete missing.client;
    const a = await create(missing);
    assert.equal(a.status, 400);
    assert.deepEqual(a.json.client, ['This field is required.']);
    assert.equal(typeof a.json.detail, 'string');
    assert.equal((await create(requestBody('x'.repeat(37)))).status, 400);
    assert.equal((await create(requestBody(newClient(), { merchant_request_id: 'm'.repeat(51) }))).status, 400);
    assert.equal((await create(requestBody(newClient(), { initial_amount: 'ten' }))).status, 400);
    assert.equal((await create(requestBody(newClient(), { webhook_url: 'nope' }))).status, 400);
    assert.equal((await create(requestBody(newClient(), { payment_method: 99 }))).status, 400);
  });

  it('refuses the same merchant_request_id again with 400 {detail}', async () => {
    const body = requestBody(newClient());
    assert.equal((await create(body)).status, 202);
    const again = await create({ ...body, client: newClient() });
    assert.equal(again.status, 400);
    assert.deepEqual(Object.keys(again.json), ['detail']);
  });

  it('gives a client with an unclosed request that previous request back', async () => {
    const client = newClient();
    const first = await create(requestBody(client));
    const second = await create(requestBody(client, { initial_amount: 500 }));
    assert.equal(second.status, 202);
    assert.equal(second.json.id, first.json.id);
    assert.equal(second.json.merchant_request_id, first.json.merchant_request_id);
    assert.equal(second.json.initial_amount, '1000.00');
    // Once cancelled, the client can create a new one.
    assert.equal((await cancel(first.json.id)).status, 200);
    const third = await create(requestBody(client));
    assert.notEqual(third.json.id, first.json.id);
  });

  it('lets the client create a new request once the unclosed one timed out (10 min, EXPIRED)', async () => {
    const client = newClient();
    const first = await create(requestBody(client));
    sandbox.clock.advance(10 * MINUTE + 1);
    assert.equal((await status(first.json.id)).json.status, 'EXPIRED');
    const second = await create(requestBody(client));
    assert.notEqual(second.json.id, first.json.id);
    const [callback] = await waitForCallbacks(first.json.id, 1);
    assert.equal(JSON.parse(callback!.rawBody).status, 'EXPIRED');
  });

  it('answers 400 "Administrator has disabled you." for a disabled merchant and by the runtime switch', async () => {
    const disabled = await create(requestBody(newClient()), account.disabledApiKey);
    assert.equal(disabled.status, 400);
    assert.deepEqual(disabled.json, { detail: 'Administrator has disabled you.' });

    assert.equal((await fetch(`${base()}/_admin/disable`, { method: 'POST' })).status, 200);
    try {
      const switched = await create(requestBody(newClient()));
      assert.equal(switched.status, 400);
      assert.deepEqual(switched.json, { detail: 'Administrator has disabled you.' });
    } finally {
      await fetch(`${base()}/_admin/enable`, { method: 'POST' });
    }
    assert.equal((await create(requestBody(newClient()))).status, 202);
  });
});

describe('age.trading sandbox: bans', () => {
  async function cancelFour(client: string) {
    for (let i = 0; i < 4; i++) {
      const created = await create(requestBody(client));
      assert.equal((await status(created.json.id)).json.status, 'CREATED');
      await cancel(created.json.id);
    }
  }

  it('bans after 4 cancelled in a row for 30 × 4^(n−1) minutes, cancelling every request at once meanwhile', async () => {
    const client = newClient();
    await cancelFour(client);

    // The 5th request starts a 30-minute ban and is cancelled at once.
    const fifth = await create(requestBody(client));
    assert.equal(fifth.status, 202);
    assert.equal((await status(fifth.json.id)).json.status, 'CANCELLED');
    const page = await (await fetch(fifth.json.redirect_url, { headers: { 'Accept-Language': 'en' } })).text();
    assert.match(page, /too many cancelled payments/i);
    assert.ok(!page.includes('data-sandbox-action="pay"'));
    const [callback] = await waitForCallbacks(fifth.json.id, 1);
    assert.equal(JSON.parse(callback!.rawBody).status, 'CANCELLED');

    sandbox.clock.advance(29 * MINUTE);
    const during = await create(requestBody(client));
    assert.equal((await status(during.json.id)).json.status, 'CANCELLED');

    sandbox.clock.advance(1 * MINUTE + 1);
    const afterBan = await create(requestBody(client));
    assert.equal((await status(afterBan.json.id)).json.status, 'CREATED');
    await cancel(afterBan.json.id);
    for (let i = 0; i < 3; i++) {
      const created = await create(requestBody(client));
      await cancel(created.json.id);
    }

    // Second ban in a row: 30 × 4 = 120 minutes.
    const banned = await create(requestBody(client));
    assert.equal((await status(banned.json.id)).json.status, 'CANCELLED');
    sandbox.clock.advance(119 * MINUTE);
    assert.equal((await status((await create(requestBody(client))).json.id)).json.status, 'CANCELLED');
    sandbox.clock.advance(1 * MINUTE + 1);
    assert.equal((await status((await create(requestBody(client))).json.id)).json.status, 'CREATED');
  });

  it('does not ban when a request in the last four was not cancelled', async () => {
    const client = newClient();
    for (let i = 0; i < 3; i++) await cancel((await create(requestBody(client))).json.id);
    const paid = await create(requestBody(client));
    await pressButton(paid.json.redirect_url, 'pay');
    assert.equal((await status((await create(requestBody(client))).json.id)).json.status, 'CREATED');
  });
});

describe('age.trading sandbox: status, cancel and callbacks', () => {
  it('reports the status with the accounts.ts fields; PENDING once the requisites are found', async () => {
    const created = await create(requestBody(newClient()));
    const before = await status(created.json.id);
    assert.equal(before.status, 200);
    assert.deepEqual(Object.keys(before.json).sort(), ['amount', 'created', 'id', 'initial_amount', 'merchant_request_id', 'payment_method', 'redirect_url', 'request_proprietary_id', 'status']);
    assert.equal(before.json.status, 'CREATED');
    await fetch(created.json.redirect_url);
    assert.equal((await status(created.json.id)).json.status, 'PENDING');
    assert.equal((await status(created.json.request_proprietary_id)).json.id, created.json.id);
  });

  it('answers 404 {detail} for an unknown request', async () => {
    const { status: code, json } = await status(999999999);
    assert.equal(code, 404);
    assert.deepEqual(json, { detail: 'Not found.' });
  });

  it('cancel answers 200 CANCELLED and sends the signed callback; a paid request cannot be cancelled', async () => {
    const created = await create(requestBody(newClient()));
    const result = await cancel(created.json.id);
    assert.deepEqual(result.json, { id: created.json.id, status: 'CANCELLED' });
    const [callback] = await waitForCallbacks(created.json.id, 1);
    assert.equal(JSON.parse(callback!.rawBody).status, 'CANCELLED');
    assertSigned(callback!.rawBody, callback!.headers['x-signature']);

    const paid = await create(requestBody(newClient()));
    await pressButton(paid.json.redirect_url, 'pay');
    const refused = await cancel(paid.json.id);
    assert.equal(refused.status, 400);
    assert.equal(typeof refused.json.detail, 'string');
  });

  it('pay: the signed SUCCESS callback arrives before the redirect to success_redirect_url', async () => {
    const created = await create(requestBody(newClient()));
    const response = await pressButton(created.json.redirect_url, 'pay');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://shop.example/return/success');
    const [callback] = callbacksFor(created.json.id);
    assert.ok(callback, 'callback received before the redirect');
    assert.equal(callback.path, '/webhooks/agetrading');
    assert.match(String(callback.headers['content-type']), /application\/json/);
    assertSigned(callback.rawBody, callback.headers['x-signature']);
    assert.deepEqual(JSON.parse(callback.rawBody), {
      id: created.json.id,
      request_proprietary_id: created.json.request_proprietary_id,
      merchant_request_id: created.json.merchant_request_id,
      status: 'SUCCESS',
      initial_amount: '1000.00',
      amount: '1000.00',
    });
    assert.equal((await status(created.json.id)).json.status, 'SUCCESS');
  });

  it('fail and cancel both send the payer to failure_redirect_url', async () => {
    const failed = await create(requestBody(newClient()));
    const a = await pressButton(failed.json.redirect_url, 'fail');
    assert.equal(a.headers.get('location'), 'https://shop.example/return/failure');
    assert.equal(JSON.parse(callbacksFor(failed.json.id)[0]!.rawBody).status, 'FAILED');

    const cancelled = await create(requestBody(newClient()));
    const b = await pressButton(cancelled.json.redirect_url, 'cancel');
    assert.equal(b.headers.get('location'), 'https://shop.example/return/failure');
    assert.equal(JSON.parse(callbacksFor(cancelled.json.id)[0]!.rawBody).status, 'CANCELLED');
  });

  it('pay-other-amount: SUCCESS with an amount that differs from initial_amount', async () => {
    const created = await create(requestBody(newClient()));
    const response = await pressButton(created.json.redirect_url, 'pay-other-amount', { other_amount: '900' });
    assert.equal(response.headers.get('location'), 'https://shop.example/return/success');
    const body = JSON.parse(callbacksFor(created.json.id)[0]!.rawBody);
    assert.equal(body.status, 'SUCCESS');
    assert.equal(body.initial_amount, '1000.00');
    assert.equal(body.amount, '900.00');
    assert.equal((await status(created.json.id)).json.amount, '900.00');
  });
});
