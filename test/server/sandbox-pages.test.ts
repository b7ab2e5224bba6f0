// What the three sandboxes share: the credentials cabinet, the hosted pages (buttons, amount, requisites, countdown,
// language, CSP), the frame-deny switch, pages surviving a restart, bounded memory and the expiry sweep.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SANDBOX_ACCOUNTS } from '../../server-example/sandbox/accounts.js';
import { createSandboxApp, parseFrameDeny, type SandboxProviderName } from '../../server-example/sandbox/index.js';
import { pageForm, pressButton, startSandbox, startWebhookReceiver, type RunningSandbox, type WebhookReceiver } from '../../server-example/sandbox/testing.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const ACTIONS = ['pay', 'fail', 'cancel', 'pay-other-amount'];

let hooks: WebhookReceiver;
before(async () => {
  hooks = await startWebhookReceiver();
});
after(async () => {
  await hooks.close();
});

/** Creates a 1500 RUB payment at the provider through its API; returns the hosted page URL and its id. */
async function createPayment(sandbox: RunningSandbox, provider: SandboxProviderName): Promise<{ pageUrl: string; id: string }> {
  if (provider === 'repay') {
    const a = SANDBOX_ACCOUNTS.repay;
    const response = await fetch(`${sandbox.url}/sandbox/repay/api/v1/private/deals/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        cassa_id: a.cassaId,
        amount: '1500',
        currency: 'RUB',
        payment_method_id: a.methods.card,
        order_id: 'A-1',
        success_url: 'https://shop.example/ok',
        error_url: 'https://shop.example/error',
        cancel_url: 'https://shop.example/cancel',
        webhook_url: `${hooks.url}/repay`,
        payload: { user_id: randomUUID(), trusted: false },
        signature: md5(`${a.cassaId}:1500:${a.secretWord1}`),
      }),
    });
    const json = (await response.json()) as any;
    return { pageUrl: json.payload.payment_url, id: json.payload.id };
  }
  if (provider === 'boxexchanger') {
    const response = await fetch(`${sandbox.url}/sandbox/boxexchanger/service/api/v1/public/exchanger/order/create`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        routeId: SANDBOX_ACCOUNTS.boxexchanger.routes.sbp,
        amount: 1500,
        clientCallbackUrl: 'https://shop.example/back',
        ipnUrl: `${hooks.url}/box`,
        ipnSecret: 'ipn-secret',
      }),
    });
    const json = (await response.json()) as any;
    return { pageUrl: `${sandbox.url}/sandbox/boxexchanger/rus/payment/${json.data.uid}/${json.data.secret}`, id: json.data._id };
  }
  const response = await fetch(`${sandbox.url}/sandbox/agetrading/api/requests/create/`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Token ${SANDBOX_ACCOUNTS.agetrading.apiKey}` },
    body: JSON.stringify({
      client: randomUUID(),
      merchant_request_id: randomUUID(),
      initial_amount: 1500,
      success_redirect_url: 'https://shop.example/ok',
      failure_redirect_url: 'https://shop.example/failure',
      webhook_url: `${hooks.url}/age`,
      payment_method: 2,
    }),
  });
  const json = (await response.json()) as any;
  return { pageUrl: json.redirect_url, id: String(json.id) };
}

describe('sandbox: credentials and index', () => {
  let sandbox: RunningSandbox;
  before(async () => {
    sandbox = await startSandbox();
  });
  after(() => sandbox.close());

  it('GET /sandbox/credentials lists the sandbox merchant accounts', async () => {
    const response = await fetch(`${sandbox.url}/sandbox/credentials`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), JSON.parse(JSON.stringify(SANDBOX_ACCOUNTS)));
  });

  it('GET /sandbox/ describes the providers\' base URLs', async () => {
    const json = (await (await fetch(`${sandbox.url}/sandbox/`)).json()) as any;
    assert.equal(json.providers.repay.baseUrl, `${sandbox.url}/sandbox/repay`);
    assert.equal(json.providers.boxexchanger.baseUrl, `${sandbox.url}/sandbox/boxexchanger`);
    assert.equal(json.providers.agetrading.baseUrl, `${sandbox.url}/sandbox/agetrading`);
  });

  it('unknown sandbox paths answer 404', async () => {
    assert.equal((await fetch(`${sandbox.url}/sandbox/nothing/here`)).status, 404);
  });
});

describe('sandbox: hosted pages', () => {
  let sandbox: RunningSandbox;
  before(async () => {
    sandbox = await startSandbox();
  });
  after(() => sandbox.close());

  for (const provider of ['repay', 'boxexchanger', 'agetrading'] as const) {
    it(`${provider}: shows provider, amount, requisites, countdown and the four buttons; frameable by default`, async () => {
      const { pageUrl } = await createPayment(sandbox, provider);
      const response = await fetch(pageUrl);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-frame-options'), null);
      const csp = response.headers.get('content-security-policy') ?? '';
      assert.ok(!csp.includes('frame-ancestors'));
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      const html = await response.text();
      for (const action of ACTIONS) assert.ok(html.includes(`data-sandbox-action="${action}"`), `${action} button`);
      assert.match(html, /<html lang="ru">/);
      assert.ok(html.includes({ repay: 'Repay', boxexchanger: 'BoxExchanger', agetrading: 'age.trading' }[provider]));
      assert.match(html, /data-sandbox-amount="1500"/);
      assert.match(html, /1\s500\s₽/);
      assert.match(html, /data-sandbox-requisites>(\+7 9\d\d \d{3}-\d\d-\d\d|2200 \d{4} \d{4} \d{4})</);
      assert.match(html, /data-countdown/);
      // The only script is the countdown, allowed by the CSP nonce.
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      assert.ok(nonce);
      assert.ok(html.includes(`<script nonce="${nonce}">`));
      assert.equal((html.match(/<script/g) ?? []).length, 1);
    });

    it(`${provider}: speaks English to an English browser`, async () => {
      const { pageUrl } = await createPayment(sandbox, provider);
      const url = provider === 'boxexchanger' ? pageUrl.replace('/rus/', '/eng/') : pageUrl;
      const html = await (await fetch(url, { headers: { 'Accept-Language': 'en-US,en;q=0.9' } })).text();
      assert.match(html, /<html lang="en">/);
      assert.ok(html.includes('I have paid'));
      assert.match(html, /RUB\s1,500|₽1,500|1,500/);
      // The buttons post back to the English page, so a page served after the action stays English.
      const { action } = pageForm(html);
      if (provider === 'boxexchanger') assert.equal(action, url);
      else assert.equal(new URL(action).searchParams.get('lang'), 'en');
    });
  }
});

describe('sandbox: frame-deny switch', () => {
  it('makes only the chosen provider\'s pages refuse framing', async () => {
    const sandbox = await startSandbox({ frameDeny: { repay: true } });
    try {
      const repay = await fetch((await createPayment(sandbox, 'repay')).pageUrl);
      assert.equal(repay.headers.get('x-frame-options'), 'DENY');
      assert.match(repay.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      const box = await fetch((await createPayment(sandbox, 'boxexchanger')).pageUrl);
      assert.equal(box.headers.get('x-frame-options'), null);
      const age = await fetch((await createPayment(sandbox, 'agetrading')).pageUrl);
      assert.equal(age.headers.get('x-frame-options'), null);
    } finally {
      await sandbox.close();
    }
  });

  it('parses SANDBOX_FRAME_DENY and falls back to it when no option is given', async () => {
    assert.deepEqual(parseFrameDeny('repay, agetrading'), { repay: true, agetrading: true });
    assert.deepEqual(parseFrameDeny('all'), { repay: true, boxexchanger: true, agetrading: true });
    assert.deepEqual(parseFrameDeny(''), {});
    assert.deepEqual(parseFrameDeny('unknown'), {});

    const previous = process.env.SANDBOX_FRAME_DENY;
    process.env.SANDBOX_FRAME_DENY = 'agetrading';
    try {
      const app = createSandboxApp({ publicUrl: 'http://127.0.0.1', sweepIntervalMs: 0 });
      const json = (await (await app.request('/sandbox/')).json()) as any;
      assert.deepEqual(json.frameDeny, { repay: false, boxexchanger: false, agetrading: true });
    } finally {
      if (previous === undefined) delete process.env.SANDBOX_FRAME_DENY;
      else process.env.SANDBOX_FRAME_DENY = previous;
    }
  });
});

describe('sandbox: robustness', () => {
  for (const provider of ['repay', 'boxexchanger', 'agetrading'] as const) {
    it(`${provider}: a page loaded before a restart still completes the payment, webhook included`, async () => {
      const sandbox = await startSandbox({ callbackOrigins: [hooks.url] });
      try {
        const { pageUrl } = await createPayment(sandbox, provider);
        const html = await (await fetch(pageUrl)).text();
        sandbox.restart();
        const form = pageForm(html);
        const before = hooks.received.length;
        const response = await fetch(form.action, { method: 'POST', body: new URLSearchParams({ ...form.fields, action: 'pay' }), redirect: 'manual' });
        assert.equal(response.status, 303);
        assert.match(response.headers.get('location') ?? '', /^https:\/\/shop\.example\/(ok|back\?status=success)$/);
        assert.ok(hooks.received.length > before, 'the webhook was sent');
      } finally {
        await sandbox.close();
      }
    });
  }

  it('a tampered page state is refused after a restart', async () => {
    const sandbox = await startSandbox({ callbackOrigins: [hooks.url] });
    try {
      const { pageUrl } = await createPayment(sandbox, 'agetrading');
      const html = await (await fetch(pageUrl)).text();
      sandbox.restart();
      const form = pageForm(html);
      const tampered = `${form.fields.s!.slice(0, -4)}AAAA`;
      const response = await fetch(form.action, { method: 'POST', body: new URLSearchParams({ s: tampered, action: 'pay' }), redirect: 'manual' });
      assert.equal(response.status, 404);
    } finally {
      await sandbox.close();
    }
  });

  it('keeps at most maxEntries payments per provider, evicting the oldest', async () => {
    const sandbox = await startSandbox({ maxEntries: 3 });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push((await createPayment(sandbox, 'repay')).id);
      const statusOf = (id: string) =>
        fetch(`${sandbox.url}/sandbox/repay/api/v1/external/deals/${id}`, { headers: { 'api-key': SANDBOX_ACCOUNTS.repay.apiKey } });
      assert.equal((await statusOf(ids[0]!)).status, 404);
      assert.equal((await statusOf(ids[3]!)).status, 200);
    } finally {
      await sandbox.close();
    }
  });

  it('the sweep expires open payments by itself and sends what expiry sends', async () => {
    const sandbox = await startSandbox({ sweepIntervalMs: 20, callbackOrigins: [hooks.url] });
    try {
      const { id } = await createPayment(sandbox, 'boxexchanger');
      sandbox.clock.advance(20 * 60_000 + 1);
      const deadline = Date.now() + 2000;
      const deleted = () => hooks.received.some((r) => {
        const form = new URLSearchParams(r.rawBody);
        return form.get('orderId') === id && form.get('newStatus') === 'deleted';
      });
      while (!deleted() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(deleted(), 'deleted IPN sent without anyone asking');
    } finally {
      await sandbox.close();
    }
  });

  it('an unknown button is refused and an expired page offers no buttons', async () => {
    const sandbox = await startSandbox({ callbackOrigins: [hooks.url] });
    try {
      for (const provider of ['repay', 'boxexchanger', 'agetrading'] as const) {
        const created = await createPayment(sandbox, provider);
        await assert.rejects(pressButton(created.pageUrl, 'refund'), /no refund button/);
        // A hand-made form with an action the page does not offer is refused and changes nothing.
        const form = pageForm(await (await fetch(created.pageUrl)).text());
        const forged = await fetch(form.action, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ ...form.fields, action: 'refund' }),
          redirect: 'manual',
        });
        assert.equal(forged.status, 400, provider);
        assert.equal(await forged.text(), 'Unknown action');
        assert.match(await (await fetch(created.pageUrl)).text(), /data-sandbox-action="pay"/, `${provider} still open`);
      }
      const { pageUrl } = await createPayment(sandbox, 'repay');
      sandbox.clock.advance(16 * 60_000);
      const html = await (await fetch(pageUrl)).text();
      assert.ok(!html.includes('data-sandbox-action'));
      assert.match(html, /data-sandbox-state="expired"/);
      assert.ok(html.includes('https://shop.example/error'), 'links back through the error URL');
    } finally {
      await sandbox.close();
    }
  });
});
