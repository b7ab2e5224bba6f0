// The BoxExchanger sandbox over real HTTP: the apikey + hash auth and its time nonce, every documented errorCode,
// order/get, update-status, route/get/one, the payment page, the IPN (form-urlencoded, hashed, once per status
// change) and the payer's return to clientCallbackUrl?status=….
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { boxApiHash, boxIpnHash } from '../../server-example/sandbox/index.js';
import { pressButton, useSandbox, type RunningSandbox, type WebhookReceiver } from '../../server-example/sandbox/testing.js';

const account = SANDBOX_ACCOUNTS.boxexchanger;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const API = '/sandbox/boxexchanger/service/api/v1/public/exchanger';
const IPN_SECRET = 'per-order-ipn-secret';

let sandbox: RunningSandbox;
let hooks: WebhookReceiver;
let time = 1_700_000_000_000;

useSandbox((started) => ({ sandbox, hooks } = started));

function orderParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    routeId: account.routes.sbp,
    amount: 1500,
    fromValues: [{ key: account.fieldKeys.fromAccount, value: '+79001234567' }],
    routeValues: [{ key: account.fieldKeys.email, value: 'payer@example.com' }],
    lang: 'rus',
    agreement: true,
    hideOutData: true,
    clientCallbackUrl: 'https://shop.example/return?session=s1',
    ipnUrl: `${hooks.url}/webhooks/boxexchanger/s1`,
    ipnSecret: IPN_SECRET,
    ...overrides,
  };
}

async function api(method: string, path: string, options: { body?: Record<string, unknown>; query?: Record<string, string>; auth?: boolean; form?: string; headers?: Record<string, string> } = {}) {
  const url = new URL(`${sandbox.url}${API}/${path}`);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.form !== undefined) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = options.form;
  } else if (options.body) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (options.auth) {
    const params = { ...(options.query ?? {}), ...(options.body ?? {}) };
    headers.apikey = account.apiKey;
    headers.hash = boxApiHash(params, account.apiSecret);
  }
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const raw = await response.text();
  return { status: response.status, raw, json: JSON.parse(raw) as any };
}

async function createOrder(overrides: Record<string, unknown> = {}) {
  const result = await api('POST', 'order/create', { body: orderParams(overrides) });
  assert.equal(result.status, 200, result.raw);
  return result.json.data as { _id: string; uid: number; secret: string; inAmount: string; outAmount: string; status: string };
}

const pageUrl = (order: { uid: number; secret: string }, lang = 'rus') => `${sandbox.url}/sandbox/boxexchanger/${lang}/payment/${order.uid}/${order.secret}`;

function ipnsFor(order: { _id: string }) {
  return hooks.received
    .map((r) => ({ request: r, form: new URLSearchParams(r.rawBody) }))
    .filter(({ form }) => form.get('orderId') === order._id);
}

function assertIpnSigned(form: URLSearchParams) {
  const expected = sha256(
    [form.get('orderId'), form.get('newStatus'), form.get('inAmount'), form.get('outAmount'), form.get('xml_from'), form.get('xml_to'), form.get('timestamp'), IPN_SECRET].join(':'),
  );
  assert.equal(form.get('hash'), expected);
}

describe('BoxExchanger sandbox: signatures', () => {
  it('computes the API hash of the documentation\'s test vector', () => {
    assert.equal(
      boxApiHash({ time: 123456789, param1: 'val1' }, '97aab8410868ba7c1824f490999607c0ce46a3de'),
      'ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7',
    );
  });

  it('computes the IPN hash of the documentation\'s test vector', () => {
    assert.equal(
      boxIpnHash({ orderId: '5d8e6002b80b7b4cd75a6424', newStatus: 'inProgress', inAmount: '2', outAmount: '317.42', xml_from: 'ETH', xml_to: 'WMZ', timestamp: 1571328406072 }, 'SECRET123'),
      'af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48',
    );
  });
});

describe('BoxExchanger sandbox: order/create', () => {
  it('creates an order without auth and answers the documented envelope', async () => {
    const { status, json } = await api('POST', 'order/create', { body: orderParams() });
    assert.equal(status, 200);
    assert.equal(json.success, true);
    assert.equal(typeof json.requestId, 'string');
    assert.equal(typeof json.latency_ms, 'number');
    assert.match(json.data._id, /^[0-9a-f]{24}$/);
    assert.equal(typeof json.data.uid, 'number');
    assert.match(json.data.secret, /^[A-Za-z0-9]{24}$/);
    assert.equal(json.data.status, 'new');
    assert.equal(json.data.inAmount, '1500');
    assert.equal(json.data.outAmount, '15.71');
    assert.equal(json.data.xml_from, 'SBPRUB');
    assert.ok(!JSON.stringify(json).includes(IPN_SECRET), 'the ipnSecret is never echoed');
  });

  it('accepts apikey + hash auth with an increasing time, and refuses a repeated or older time (40301)', async () => {
    const first = await api('POST', 'order/create', { body: orderParams({ time: ++time }), auth: true });
    assert.equal(first.status, 200, first.raw);
    const repeated = await api('POST', 'order/create', { body: orderParams({ time }), auth: true });
    assert.equal(repeated.status, 403);
    assert.match(repeated.raw, /"errorCode":40301\b/);
    const older = await api('POST', 'order/create', { body: orderParams({ time: time - 10 }), auth: true });
    assert.match(older.raw, /"errorCode":40301\b/);
    const next = await api('POST', 'order/create', { body: orderParams({ time: ++time }), auth: true });
    assert.equal(next.status, 200);
  });

  it('refuses a wrong hash, an unknown apikey, an apikey without hash and a missing time (40301)', async () => {
    const params = orderParams({ time: ++time });
    const wrongHash = await api('POST', 'order/create', { body: params, headers: { apikey: account.apiKey, hash: 'ab'.repeat(32) } });
    assert.match(wrongHash.raw, /"errorCode":40301\b/);
    const wrongKey = await api('POST', 'order/create', { body: params, headers: { apikey: 'nope', hash: boxApiHash(params, account.apiSecret) } });
    assert.match(wrongKey.raw, /"errorCode":40301\b/);
    const noHash = await api('POST', 'order/create', { body: params, headers: { apikey: account.apiKey } });
    assert.match(noHash.raw, /"errorCode":40301\b/);
    const noTime = await api('POST', 'order/create', { body: orderParams(), auth: true });
    assert.match(noTime.raw, /"errorCode":40301\b/);
  });

  it('accepts a form-urlencoded body with bracket keys, hashed over the parsed params', async () => {
    const t = ++time;
    const form = new URLSearchParams({
      routeId: account.routes.card,
      amount: '2000',
      'fromValues[0][key]': account.fieldKeys.fromAccount,
      'fromValues[0][value]': '2200000000000004',
      lang: 'eng',
      agreement: 'true',
      time: String(t),
    });
    const parsed = {
      routeId: account.routes.card,
      amount: '2000',
      fromValues: [{ key: account.fieldKeys.fromAccount, value: '2200000000000004' }],
      lang: 'eng',
      agreement: 'true',
      time: String(t),
    };
    const result = await api('POST', 'order/create', {
      form: form.toString(),
      headers: { apikey: account.apiKey, hash: boxApiHash(parsed, account.apiSecret) },
    });
    assert.equal(result.status, 200, result.raw);
    assert.equal(result.json.data.xml_from, 'CARDRUB');
    assert.equal(result.json.data.fromValues[0].value, '2200000000000004');
  });

  const errorCases: Array<[string, Record<string, unknown>, string]> = [
    ['an unknown route', { routeId: '000000000000000000000000' }, '6801545277215051'],
    ['a non-numeric amount', { amount: 'abc' }, '5071545873252155'],
    ['an amount below the minimum', { amount: 499 }, '7701545348962387'],
    ['an amount above the maximum', { amount: 300001 }, '3631545348962766'],
    ['an amount beyond the reserve', { amount: 250000 }, '9951545348963165'],
    ['an invalid e-mail field', { routeValues: [{ key: account.fieldKeys.email, value: 'not-an-email' }] }, '6231546409213868'],
    ['an unknown field key', { fromValues: [{ key: 'ffffffffffffffffffffffff', value: 'x' }] }, '6231546409213868'],
    ['an ipnUrl without ipnSecret', { ipnSecret: undefined }, '6231546409213868'],
    ['a lang other than eng / rus', { lang: 'de' }, '6231546409213868'],
  ];
  for (const [name, overrides, code] of errorCases) {
    it(`refuses ${name} with errorCode ${code}`, async () => {
      const result = await api('POST', 'order/create', { body: orderParams(overrides) });
      assert.equal(result.status, 400);
      assert.equal(result.json.success, false);
      // Written with its exact digits, even beyond 2^53.
      assert.ok(result.raw.includes(`"errorCode":${code}`), result.raw);
      assert.equal(typeof result.json.error.message, 'string');
      if (code === '6231546409213868') assert.equal(typeof result.json.error.object.nameField, 'string');
    });
  }

  it('answers 5555555555555555 in maintenance and 5030000 under anti-flood (admin switches)', async () => {
    const setAdmin = (body: unknown) =>
      fetch(`${sandbox.url}/sandbox/boxexchanger/_admin`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    await setAdmin({ maintenance: true });
    try {
      const result = await api('POST', 'order/create', { body: orderParams() });
      assert.equal(result.status, 503);
      assert.ok(result.raw.includes('"errorCode":5555555555555555'));
    } finally {
      await setAdmin({ maintenance: false });
    }
    await setAdmin({ antiFloodPerSecond: 1 });
    try {
      const results = await Promise.all([1, 2, 3].map(() => api('POST', 'order/create', { body: orderParams() })));
      const flooded = results.filter((r) => r.raw.includes('"errorCode":5030000'));
      assert.ok(flooded.length >= 1);
      assert.equal(flooded[0]?.status, 429);
    } finally {
      await setAdmin({ antiFloodPerSecond: 0 });
    }
  });
});

describe('BoxExchanger sandbox: order/get, update-status, route/get/one', () => {
  it('order/get needs the right secret and reflects the status', async () => {
    const order = await createOrder();
    const wrong = await api('GET', 'order/get', { query: { orderUID: String(order.uid), orderSecret: 'x'.repeat(24), type: 'order' } });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.json.success, false);
    // "Not authorised", as a refused signature: the helper only reads signed from then on when a signed read succeeds.
    assert.equal(String(wrong.json.error.errorCode), '40301');
    const right = await api('GET', 'order/get', { query: { orderUID: String(order.uid), orderSecret: order.secret, type: 'order' } });
    assert.equal(right.json.data.order.status, 'new');
    assert.equal(right.json.data.order._id, order._id);
    assert.ok(right.json.data.order.expiresAt);
  });

  it('order/get accepts apikey + hash over the query params', async () => {
    const order = await createOrder();
    const query = { orderUID: String(order.uid), orderSecret: order.secret, type: 'order', time: String(++time) };
    const result = await api('GET', 'order/get', {
      query,
      headers: { apikey: account.apiKey, hash: boxApiHash({ ...query, orderUID: order.uid, time }, account.apiSecret) },
    });
    assert.equal(result.status, 200, result.raw);
  });

  it('update-status inProgress and deleted only from new / waitPayment, one IPN per change', async () => {
    const order = await createOrder();
    const paid = await api('PUT', 'order/update-status', { body: { orderUID: order.uid, orderSecret: order.secret, status: 'inProgress' } });
    assert.equal(paid.json.data.order.status, 'inProgress');
    const ipns = ipnsFor(order);
    assert.equal(ipns.length, 1);
    assert.equal(ipns[0]?.form.get('newStatus'), 'inProgress');
    const late = await api('PUT', 'order/update-status', { body: { orderUID: order.uid, orderSecret: order.secret, status: 'deleted' } });
    assert.ok(late.raw.includes('"errorCode":6231546409213868'));
    const bogus = await api('PUT', 'order/update-status', { body: { orderUID: order.uid, orderSecret: order.secret, status: 'done' } });
    assert.equal(bogus.status, 400);

    const other = await createOrder();
    const cancelled = await api('PUT', 'order/update-status', { body: { orderUID: other.uid, orderSecret: other.secret, status: 'deleted' } });
    assert.equal(cancelled.json.data.order.status, 'deleted');
    assert.equal(ipnsFor(other)[0]?.form.get('newStatus'), 'deleted');
  });

  it('route/get/one describes the route and its field keys; an unknown route is unavailable', async () => {
    const route = await api('GET', 'route/get/one', { query: { id: account.routes.sbp } });
    assert.equal(route.json.data.min, account.minAmount);
    assert.equal(route.json.data.max, account.maxAmount);
    const keys = [...route.json.data.fromValues, ...route.json.data.toValues, ...route.json.data.routeValues].map((f: any) => f._id);
    assert.deepEqual(keys.sort(), Object.values(account.fieldKeys).sort());
    const unknown = await api('GET', 'route/get/one', { query: { id: 'nope' } });
    assert.ok(unknown.raw.includes('"errorCode":6801545277215051'));
  });
});

describe('BoxExchanger sandbox: payment page, IPN and return', () => {
  it('opening the page moves the order to waitPayment with an IPN; the page speaks the URL\'s language', async () => {
    const order = await createOrder();
    const ru = await (await fetch(pageUrl(order, 'rus'))).text();
    assert.match(ru, /<html lang="ru">/);
    assert.match(ru, /1\s500\s₽/);
    const en = await (await fetch(pageUrl(order, 'eng'))).text();
    assert.match(en, /<html lang="en">/);
    assert.ok(en.includes('I have paid'));
    const ipns = ipnsFor(order);
    assert.equal(ipns.length, 1, 'one IPN for one status change');
    assert.equal(ipns[0]?.form.get('newStatus'), 'waitPayment');
    assertIpnSigned(ipns[0]!.form);
  });

  it('the /order/ form of the page URL works too, and its buttons post back to it', async () => {
    const order = await createOrder();
    const url = `${sandbox.url}/sandbox/boxexchanger/eng/order/${order.uid}/${order.secret}`;
    const html = await (await fetch(url)).text();
    assert.ok(html.includes(`action="${url}"`), 'the action form stays on /order/');
    const response = await pressButton(url, 'pay');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://shop.example/return?session=s1&status=success');
  });

  it('a wrong secret or language gives 404', async () => {
    const order = await createOrder();
    assert.equal((await fetch(`${sandbox.url}/sandbox/boxexchanger/rus/payment/${order.uid}/${'x'.repeat(24)}`)).status, 404);
    assert.equal((await fetch(`${sandbox.url}/sandbox/boxexchanger/de/payment/${order.uid}/${order.secret}`)).status, 404);
  });

  it('pay: IPNs inProgress then done, form-encoded and hashed, then clientCallbackUrl?status=success', async () => {
    const order = await createOrder();
    const response = await pressButton(pageUrl(order), 'pay');
    assert.equal(response.status, 303);
    assert.equal(response.headers.get('location'), 'https://shop.example/return?session=s1&status=success');
    const ipns = ipnsFor(order);
    assert.deepEqual(ipns.map((i) => i.form.get('newStatus')), ['waitPayment', 'inProgress', 'done']);
    for (const { request, form } of ipns) {
      assert.equal(request.method, 'POST');
      assert.equal(request.path, '/webhooks/boxexchanger/s1');
      assert.match(String(request.headers['content-type']), /application\/x-www-form-urlencoded/);
      assert.equal(form.get('orderUID'), String(order.uid));
      assert.equal(form.get('inAmount'), '1500');
      assert.equal(form.get('outAmount'), '15.71');
      assert.equal(form.get('xml_from'), 'SBPRUB');
      assert.equal(form.get('xml_to'), 'USDTTRC20');
      assert.match(form.get('timestamp') ?? '', /^\d{13}$/);
      assertIpnSigned(form);
    }
    const status = await api('GET', 'order/get', { query: { orderUID: String(order.uid), orderSecret: order.secret, type: 'order' } });
    assert.equal(status.json.data.order.status, 'done');
  });

  it('fail: errorPayment IPN and ?status=error', async () => {
    const order = await createOrder();
    const response = await pressButton(pageUrl(order), 'fail');
    assert.equal(response.headers.get('location'), 'https://shop.example/return?session=s1&status=error');
    assert.equal(ipnsFor(order).at(-1)?.form.get('newStatus'), 'errorPayment');
  });

  it('cancel: deleted IPN and ?status=error', async () => {
    const order = await createOrder();
    const response = await pressButton(pageUrl(order), 'cancel');
    assert.equal(response.headers.get('location'), 'https://shop.example/return?session=s1&status=error');
    assert.equal(ipnsFor(order).at(-1)?.form.get('newStatus'), 'deleted');
  });

  it('pay-other-amount: the order completes with the amount paid, and the IPN says so', async () => {
    const order = await createOrder();
    const response = await pressButton(pageUrl(order), 'pay-other-amount', { other_amount: '1400' });
    assert.equal(response.headers.get('location'), 'https://shop.example/return?session=s1&status=success');
    const done = ipnsFor(order).at(-1)!.form;
    assert.equal(done.get('newStatus'), 'done');
    assert.equal(done.get('inAmount'), '1400');
    assertIpnSigned(done);
    const status = await api('GET', 'order/get', { query: { orderUID: String(order.uid), orderSecret: order.secret, type: 'order' } });
    assert.equal(status.json.data.order.inAmount, '1400');
  });

  it('an order past its window is deleted, with an IPN', async () => {
    const order = await createOrder();
    sandbox.clock.advance(20 * 60_000 + 1);
    const status = await api('GET', 'order/get', { query: { orderUID: String(order.uid), orderSecret: order.secret, type: 'order' } });
    assert.equal(status.json.data.order.status, 'deleted');
    await hooks.waitFor(hooks.received.length, 100);
    const deadline = Date.now() + 2000;
    while (ipnsFor(order).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(ipnsFor(order)[0]?.form.get('newStatus'), 'deleted');
  });

  it('sends each IPN once, never retrying an unanswered one', async () => {
    hooks.respond = () => ({ status: 500, body: 'down' });
    try {
      const order = await createOrder();
      await fetch(pageUrl(order));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(ipnsFor(order).length, 1);
    } finally {
      hooks.respond = () => ({ status: 200, body: 'OK' });
    }
  });
});
