// The request-body schemas (request-bodies.ts) and Hono's CORS middleware in the helper: the exact refusal for each
// kind of bad field, in field order, and the headers every answer carries.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SHOP, makeTestApp } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';

let t: TestApp;
beforeEach(() => {
  t = makeTestApp();
});
afterEach(async () => {
  await t.dispose();
});

async function post(body: unknown, origin = SHOP) {
  const response = await t.app.request('/api/checkout/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, json: (await response.json()) as { error: { code: string; message: string } } };
}

describe('POST /sessions body', () => {
  const cases: [unknown, number, string, string][] = [
    [{}, 400, 'missing_field', 'orderId is required.'],
    [{ orderId: '' }, 400, 'missing_field', 'orderId is required.'],
    [{ orderId: null, provider: 'paypal' }, 400, 'missing_field', 'orderId is required.'],
    [{ orderId: 5 }, 400, 'invalid_field', 'orderId must be letters, digits and . _ : - (at most 100).'],
    [{ orderId: 'A 1001' }, 400, 'invalid_field', 'orderId must be letters, digits and . _ : - (at most 100).'],
    [{ orderId: 'A-1001', provider: 'paypal', method: 'cash' }, 400, 'unknown_provider', 'Unknown or disabled provider "paypal".'],
    [{ orderId: 'A-1001', provider: {} }, 400, 'unknown_provider', 'Unknown or disabled provider "[object Object]".'],
    [{ orderId: 'A-1001', method: 'cash' }, 400, 'unknown_method', 'Unknown payment method "cash".'],
    [{ orderId: 'A-1001', locale: '' }, 400, 'invalid_field', 'locale must be a language tag such as "ru" or "en".'],
    [{ orderId: 'A-1001', customerId: 7 }, 400, 'invalid_field', 'customerId must be printable text of at most 200 characters.'],
    [{ orderId: 'A-1001', returnUrl: 'a b' }, 400, 'invalid_field', 'returnUrl must be an absolute URL.'],
    [{ orderId: 'A-1001', returnUrl: 'https://evil.test/' }, 400, 'return_url_not_allowed', 'returnUrl must be on an allowed storefront origin.'],
  ];
  for (const [body, status, code, message] of cases) {
    it(`answers ${code} to ${JSON.stringify(body)}`, async () => {
      const answer = await post(body);
      assert.equal(answer.status, status);
      assert.deepEqual({ code: answer.json.error.code, message: answer.json.error.message }, { code, message });
    });
  }

  it('checks the fields before the origin, and the origin before returnUrl', async () => {
    assert.equal((await post({ orderId: 'A-1001', customerId: 7 }, 'https://evil.test')).json.error.code, 'invalid_field');
    assert.equal((await post({ orderId: 'A-1001', returnUrl: 'a b' }, 'https://evil.test')).json.error.code, 'origin_not_allowed');
  });
});

describe('answer headers', () => {
  it('labels an error answer for an allowed origin once, and never caches it', async () => {
    const answer = await post({});
    assert.equal(answer.headers.get('access-control-allow-origin'), SHOP);
    assert.equal(answer.headers.get('vary'), 'Origin');
    assert.equal(answer.headers.get('cache-control'), 'no-store');
    assert.equal(answer.headers.get('content-type'), 'application/json');
  });

  it('answers a preflight from another origin without allowing it', async () => {
    const response = await t.app.request('/api/checkout/sessions', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    assert.match(response.headers.get('vary') ?? '', /Origin/);
  });

  it('keeps answers that are not JSON uncached too', async () => {
    const response = await t.app.request('/api/checkout/return/success?session=cs_0000000000000000000000');
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });
});
