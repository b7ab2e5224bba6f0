// The HTTP surface: bad input answers with a stable code and a human message (never a stack trace), CORS for
// the allowed origins only, the return page, and secrets kept out of the logs.
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setupServer } from 'msw/node';
import { createLogger } from '../../server-example/logger.js';
import { BoxMock, MERCHANT, RepayMock, SECRETS, SHOP, events, makeTestApp, session } from './checkout-fixtures.js';
import type { TestApp } from './checkout-fixtures.js';

const msw = setupServer();
before(() => msw.listen({ onUnhandledRequest: 'error' }));
after(() => msw.close());

let t: TestApp;
let repay: RepayMock;
let logLines: string[];

beforeEach(() => {
  repay = new RepayMock();
  msw.use(...repay.handlers());
  logLines = [];
  t = makeTestApp({ config: { logger: createLogger('debug', (line) => logLines.push(line)) } });
});
afterEach(async () => {
  msw.resetHandlers();
  await t.dispose();
});

async function post(body: string | Uint8Array | ReadableStream, headers: Record<string, string> = {}) {
  const response = await t.app.request('/api/checkout/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: SHOP, ...headers },
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as any };
}

function assertError(result: { status: number; text: string; json: any }, status: number, code: string) {
  assert.equal(result.status, status, result.text);
  assert.equal(result.json.error.code, code);
  assert.equal(typeof result.json.error.message, 'string');
  assert.equal(typeof result.json.error.retryable, 'boolean');
  assert.ok(!/\bat .+:\d+:\d+/.test(result.text), 'no stack trace');
  assert.equal(repay.creates, 0);
}

describe('bad input', () => {
  it('answers 400 invalid_json to malformed JSON', async () => {
    assertError(await post('{"orderId": "A-1001"'), 400, 'invalid_json');
  });

  it('answers 400 invalid_request to JSON that is not an object', async () => {
    assertError(await post('["A-1001"]'), 400, 'invalid_request');
    assertError(await post('null'), 400, 'invalid_request');
  });

  it('answers 415 to a wrong content type', async () => {
    assertError(await post('orderId=A-1001', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
    assertError(await post('{"orderId":"A-1001"}', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('answers 413 to a body over 64 KB (declared)', async () => {
    const big = JSON.stringify({ orderId: 'A-1001', pad: 'x'.repeat(70_000) });
    assertError(await post(big), 413, 'payload_too_large');
  });

  it('answers 413 to a streamed body over 64 KB without a Content-Length', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 6) controller.enqueue(chunk);
        else controller.close();
      },
    });
    assertError(await post(stream), 413, 'payload_too_large');
  });

  it('answers 400 missing_field without an orderId', async () => {
    const result = await post('{}');
    assertError(result, 400, 'missing_field');
    assert.match(result.json.error.message, /orderId/);
  });

  it('answers 400 invalid_field to fields of the wrong type or shape', async () => {
    assertError(await post('{"orderId": 1001}'), 400, 'invalid_field');
    assertError(await post('{"orderId": "A 1001 <script>"}'), 400, 'invalid_field');
    assertError(await post('{"orderId": "A-1001", "locale": 5}'), 400, 'invalid_field');
    assertError(await post('{"orderId": "A-1001", "customerId": {"id": 1}}'), 400, 'invalid_field');
  });

  it('answers 400 unknown_provider and unknown_method', async () => {
    assertError(await post('{"orderId": "A-1001", "provider": "paypal"}'), 400, 'unknown_provider');
    assertError(await post('{"orderId": "A-1001", "provider": "repay", "method": "crypto"}'), 400, 'unknown_method');
  });

  it('answers 400 unknown_provider for a provider switched off by CHECKOUT_PROVIDERS', async () => {
    await t.dispose();
    t = makeTestApp({ env: { CHECKOUT_PROVIDERS: 'repay' } });
    assertError(await post('{"orderId": "A-1001", "provider": "boxexchanger"}'), 400, 'unknown_provider');
  });

  it('answers 403 origin_not_allowed to a storefront origin outside ALLOWED_ORIGINS', async () => {
    assertError(await post('{"orderId": "A-1001"}', { origin: 'https://evil.test' }), 403, 'origin_not_allowed');
  });

  it('answers 400 return_url_not_allowed to a return URL on another origin', async () => {
    assertError(await post(JSON.stringify({ orderId: 'A-1001', returnUrl: 'https://evil.test/back' })), 400, 'return_url_not_allowed');
    assertError(await post(JSON.stringify({ orderId: 'A-1001', returnUrl: 'javascript:alert(1)' })), 400, 'return_url_not_allowed');
  });

  it('answers 400 invalid_idempotency_key to a key with control characters or over 255 characters', async () => {
    assertError(await post('{"orderId": "A-1001"}', { 'idempotency-key': 'x'.repeat(256) }), 400, 'invalid_idempotency_key');
  });

  it('answers JSON 404 and 405 for unknown routes and methods', async () => {
    const missing = await t.app.request('/api/checkout/nothing-here');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error.code, 'not_found');
    const wrongMethod = await t.app.request('/api/checkout/sessions');
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as any).error.code, 'method_not_allowed');
  });

  it('turns a throwing resolveOrder() into a generic 500 without internals', async () => {
    await t.dispose();
    t = makeTestApp({
      config: {
        resolveOrder: () => {
          throw new Error('SELECT * FROM orders: connection refused at db.internal:5432');
        },
        logger: createLogger('debug', (line) => logLines.push(line)),
      },
    });
    const result = await post('{"orderId": "A-1001"}');
    assertError(result, 500, 'internal_error');
    assert.ok(!result.text.includes('db.internal'));
  });

  it('answers 500 invalid_order when resolveOrder() returns a float amount with too many decimals', async () => {
    t.orders['A-1001'] = { amount: 1500.123, currency: 'RUB' };
    assertError(await post('{"orderId": "A-1001"}'), 500, 'invalid_order');
  });
});

describe('CORS', () => {
  it('answers preflights for allowed origins only', async () => {
    const ok = await t.app.request('/api/checkout/sessions', { method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': 'POST' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), SHOP);
    assert.match(ok.headers.get('access-control-allow-headers')!, /Idempotency-Key/);
    assert.match(ok.headers.get('access-control-allow-headers')!, /Authorization/);
    assert.match(ok.headers.get('access-control-allow-methods')!, /POST/);
    assert.equal(ok.headers.get('access-control-max-age'), '600');
    assert.match(ok.headers.get('vary')!, /Origin/);
    const evil = await t.app.request('/api/checkout/sessions', { method: 'OPTIONS', headers: { origin: 'https://evil.test' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });

  it('labels responses for allowed origins and never uses a wildcard', async () => {
    const response = await t.app.request('/api/checkout/config', { headers: { origin: SHOP } });
    assert.equal(response.headers.get('access-control-allow-origin'), SHOP);
    assert.match(response.headers.get('vary')!, /Origin/);
    const other = await t.app.request('/api/checkout/config', { headers: { origin: 'https://evil.test' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('labels the session routes the element calls, and not provider callbacks or return pages', async () => {
    const status = await t.app.request('/api/checkout/sessions/cs_0000000000000000000000', { headers: { origin: SHOP } });
    assert.equal(status.headers.get('access-control-allow-origin'), SHOP);
    const callback = await t.app.request('/api/checkout/webhooks/repay', {
      method: 'POST',
      headers: { origin: SHOP, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(callback.headers.get('access-control-allow-origin'), null);
    assert.equal(callback.headers.get('vary'), null);
    assert.equal(callback.headers.get('cache-control'), 'no-store');
    const page = await t.app.request('/api/checkout/return/success?session=cs_0000000000000000000000', { headers: { origin: SHOP } });
    assert.equal(page.headers.get('access-control-allow-origin'), null);
    const preflight = await t.app.request('/api/checkout/webhooks/repay', { method: 'OPTIONS', headers: { origin: SHOP, 'access-control-request-method': 'POST' } });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  });
});

describe('return page', () => {
  async function open(returnUrl?: string) {
    const { json } = await t.createSession({ orderId: 'A-1001', ...(returnUrl ? { returnUrl } : {}) });
    return json;
  }

  it('posts the namespaced message to the recorded storefront origin under a nonce CSP', async () => {
    const json = await open();
    const response = await t.app.request(`/api/checkout/return/success?session=${json.id}`);
    assert.equal(response.status, 200);
    const html = await response.text();
    const csp = response.headers.get('content-security-policy')!;
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, new RegExp(`frame-ancestors 'self' ${SHOP} ${MERCHANT}`));
    assert.ok(html.includes(`<script nonce="${nonce}">`));
    assert.equal((html.match(/<script/g) ?? []).length, 1);
    assert.ok(html.includes(`"type":"pay-checkout:return","v":1,"sessionId":"${json.id}","outcome":"success"`));
    assert.ok(html.includes(`"origin":"${SHOP}"`));
    assert.ok(!html.includes("'*'") && !html.includes('"*"'));
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  it('runs its script: posts to the parent frame or the opener with the exact origin, closes a popup only on the element\'s answer, else navigates top-level', async () => {
    const json = await open();
    const html = await (await t.app.request(`/api/checkout/return/error?session=${json.id}`)).text();
    const script = /<script nonce="[^"]+">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const message = { type: 'pay-checkout:return', v: 1, sessionId: json.id, outcome: 'error' };
    const ack = { type: 'pay-checkout:return-ack', v: 1, sessionId: json.id };
    /**
     * The script in a stand-in window: 'frame' (the dialog's iframe), 'popup' (an opener that answers as the element
     * does, with `answer`), 'silent-popup' (the element's own window, named by it, whose page does not answer),
     * 'opened-tab' (a storefront tab another window opened: its opener does not answer), 'top'.
     */
    const run = (
      shape: 'frame' | 'popup' | 'silent-popup' | 'opened-tab' | 'top',
      answer: { data: unknown; origin: string; fromOpener?: boolean } = { data: ack, origin: SHOP },
    ) => {
      const posted: Array<[unknown, string]> = [];
      const listeners: Array<(event: { data: unknown; origin: string; source: unknown }) => void> = [];
      const timers: Array<() => void> = [];
      const status = { textContent: '' };
      const back = { hidden: true };
      let replaced: string | undefined;
      let closed = false;
      const target = {
        postMessage: (data: unknown, origin: string) => {
          posted.push([data, origin]);
          if (shape !== 'popup') return;
          const source = answer.fromOpener === false ? {} : target;
          for (const listener of listeners) listener({ data: answer.data, origin: answer.origin, source });
        },
      };
      const window: Record<string, unknown> = {
        opener: shape === 'frame' || shape === 'top' ? null : target,
        name: shape === 'silent-popup' ? `pay-checkout-${Date.now()}` : shape === 'opened-tab' ? 'checkout' : '',
        close: () => {
          closed = true;
        },
        location: { replace: (url: string) => (replaced = url) },
        addEventListener: (type: string, listener: (typeof listeners)[number]) => type === 'message' && listeners.push(listener),
      };
      window.parent = shape === 'frame' ? target : window;
      const document = { getElementById: (id: string) => (id === 'back' ? back : status) };
      runInNewContext(script, { window, document, setTimeout: (fn: () => void) => void timers.push(fn) });
      for (const timer of timers.splice(0)) timer();
      return { posted, status: status.textContent, replaced, closed, linksBack: !back.hidden, name: window.name };
    };
    const topUrl = `${MERCHANT}/api/checkout/return/error?session=${json.id}&top=1`;
    const framed = run('frame');
    assert.deepEqual(JSON.parse(JSON.stringify(framed.posted)), [[message, SHOP]]);
    assert.match(framed.status, /закрыть/);
    assert.equal(framed.replaced, undefined);
    // The element answered its own window: it closes.
    const popup = run('popup');
    assert.deepEqual(JSON.parse(JSON.stringify(popup.posted)), [[message, SHOP]]);
    assert.equal(popup.closed, true);
    assert.equal(popup.replaced, undefined);
    assert.match(popup.status, /закрыть/);
    const top = run('top');
    assert.equal(top.posted.length, 0);
    assert.equal(top.replaced, topUrl);
    // Nobody answers a storefront tab another window opened: it goes back to the return URL instead of closing.
    const openedTab = run('opened-tab');
    assert.equal(openedTab.closed, false);
    assert.equal(openedTab.replaced, topUrl);
    assert.equal(openedTab.linksBack, false);
    // The element's own window whose page does not answer (busy, frozen, gone) stays and offers the way back.
    const silent = run('silent-popup');
    assert.deepEqual(JSON.parse(JSON.stringify(silent.posted)), [[message, SHOP]]);
    assert.equal(silent.closed, false);
    assert.equal(silent.replaced, undefined);
    assert.equal(silent.linksBack, true);
    assert.equal(silent.name, '', 'the shop the link loads there is not taken for the element\'s window again');
    assert.match(silent.status, /закрыть/);
    // An answer counts only from the opener, on the storefront origin, for this session.
    for (const answer of [
      { data: ack, origin: 'https://attacker.example' },
      { data: ack, origin: SHOP, fromOpener: false },
      { data: { ...ack, sessionId: 'cs_other' }, origin: SHOP },
      { data: { ...ack, v: 2 }, origin: SHOP },
      { data: message, origin: SHOP },
    ]) {
      const refused = run('popup', answer);
      assert.equal(refused.closed, false, JSON.stringify(answer));
      assert.equal(refused.replaced, topUrl, JSON.stringify(answer));
    }
  });

  it('sends a top-level visit back to the return URL with the hash (303)', async () => {
    const json = await open(`${SHOP}/checkout?step=2#old`);
    const response = await t.app.request(`/api/checkout/return/cancel?session=${json.id}&top=1`);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), `${SHOP}/checkout?step=2#pay-checkout=${json.id}:cancel`);
  });

  it('returns the payer to the page that asked last: an open session handed out again takes its origin and return URL', async () => {
    const first = await open(`${SHOP}/cart`);
    const again = await t.createSession({ orderId: 'A-1001', returnUrl: `${MERCHANT}/checkout` }, { origin: MERCHANT });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.id, first.id, 'the same payment, handed out again');
    const top = await t.app.request(`/api/checkout/return/success?session=${first.id}&top=1`);
    assert.equal(top.headers.get('location'), `${MERCHANT}/checkout#pay-checkout=${first.id}:success`);
    const framed = await (await t.app.request(`/api/checkout/return/success?session=${first.id}`)).text();
    assert.ok(framed.includes(JSON.stringify(MERCHANT)), 'the return page posts to the origin that asked last');
    assert.ok(!framed.includes(JSON.stringify(SHOP)));
    assert.equal(repay.creates, 1);
  });

  it('keeps the payer\'s page when a request that names none (server to server) gets the open session', async () => {
    const first = await open(`${SHOP}/cart`);
    const serverToServer = await t.app.request('/api/checkout/sessions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'A-1001' }),
    });
    assert.equal(serverToServer.status, 200);
    assert.equal(((await serverToServer.json()) as { id: string }).id, first.id);
    const top = await t.app.request(`/api/checkout/return/success?session=${first.id}&top=1`);
    assert.equal(top.headers.get('location'), `${SHOP}/cart#pay-checkout=${first.id}:success`);
  });

  it('sends a top-level visit to the storefront origin when the return URL\'s origin is no longer allowed', async () => {
    const json = await open(`${MERCHANT}/thanks`);
    const dir = t.dir;
    await t.close();
    t = makeTestApp({ dir, env: { ALLOWED_ORIGINS: SHOP } });
    const response = await t.app.request(`/api/checkout/return/success?session=${json.id}&top=1`);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), `${SHOP}/#pay-checkout=${json.id}:success`);
  });

  it('takes BoxExchanger\'s ?status=error over the path outcome, even glued to the session parameter', async () => {
    msw.use(...new BoxMock().handlers());
    const { json } = await t.createSession({ orderId: 'A-1001', provider: 'boxexchanger', returnUrl: `${SHOP}/shop` });
    const glued = await t.app.request(`/api/checkout/return/success?session=${json.id}?status=error&top=1`);
    assert.equal(glued.headers.get('location'), `${SHOP}/shop#pay-checkout=${json.id}:error`);
    const separate = await t.app.request(`/api/checkout/return/success?session=${json.id}&status=error`);
    assert.ok((await separate.text()).includes('"outcome":"error"'));
  });

  it('keeps the path outcome for a provider that appends no status (Repay)', async () => {
    const json = await open(`${SHOP}/shop`);
    const glued = await t.app.request(`/api/checkout/return/success?session=${json.id}?status=error&top=1`);
    assert.equal(glued.headers.get('location'), `${SHOP}/shop#pay-checkout=${json.id}:success`);
    const separate = await t.app.request(`/api/checkout/return/success?session=${json.id}&status=error`);
    assert.ok((await separate.text()).includes('"outcome":"success"'));
  });

  it('answers 404 to an unknown session or outcome', async () => {
    const json = await open();
    assert.equal((await t.app.request('/api/checkout/return/success?session=cs_0000000000000000000000')).status, 404);
    assert.equal((await t.app.request(`/api/checkout/return/paid?session=${json.id}`)).status, 404);
    assert.equal((await t.app.request('/api/checkout/return/success')).status, 404);
  });

  it('refuses to post to a storefront origin that is no longer allowed', async () => {
    const json = await open();
    const dir = t.dir;
    await t.close();
    t = makeTestApp({ dir, env: { ALLOWED_ORIGINS: MERCHANT } });
    const response = await t.app.request(`/api/checkout/return/success?session=${json.id}`);
    assert.equal(response.status, 404);
    assert.ok(!(await response.text()).includes(SHOP));
  });

  it('never sets paid by itself: it records the return and re-checks the provider', async () => {
    const json = await open();
    repay.deals.get('deal-1')!.state = 'waiting_payment';
    await t.app.request(`/api/checkout/return/success?session=${json.id}`);
    await t.close(); // waits for the background status check
    t = await t.reopen();
    const row = await session(t.app, json.id);
    assert.equal(row.status, 'pending');
    const log = await events(t.app, json.id);
    assert.ok(log.some((event) => event.kind === 'return' && event.source === 'return'));
    assert.ok(log.some((event) => event.kind === 'poll' && (event.data as any).trigger === 'return'));
    assert.ok(!log.some((event) => event.source === 'return' && event.toStatus === 'paid'));
  });
});

describe('secrets', () => {
  it('never writes secrets or tokens to the log during a full payment', async () => {
    const { json } = await t.createSession({ orderId: 'A-1001' });
    repay.deals.get('deal-1')!.state = 'completed';
    await t.post('/api/checkout/webhooks/repay', JSON.stringify({ ...JSON.parse(repay.callback('deal-1', '1500')), signature: '0'.repeat(32) }), 'application/json');
    await t.post('/api/checkout/webhooks/repay', repay.callback('deal-1', '1500'), 'application/json');
    assert.equal((await session(t.app, json.id)).status, 'paid');
    const output = logLines.join('\n');
    assert.ok(logLines.length >= 3);
    for (const secret of [SECRETS.repaySecret1, SECRETS.repaySecret2, SECRETS.repayApiKey, SECRETS.sessionSecret, json.token]) {
      assert.ok(!output.includes(secret), `leaked ${secret}`);
    }
    assert.ok(logLines.every((line) => line.startsWith('[pay-checkout] ')));
  });
});
