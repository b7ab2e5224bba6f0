import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  delay,
  dialogOf,
  fastTiming,
  helper,
  helperError,
  http,
  HttpResponse,
  part,
  PayCheckout,
  postReturn,
  resetHelper,
  returnMessage,
  worker,
  useFakeHelper,
  openModal,
  waitUntil,
} from './support.js';

const SESSIONS = '/api/checkout/sessions';

async function clickAndWaitError(el: PayCheckout) {
  part<HTMLButtonElement>(el, 'button')!.click();
  const event = await oneEvent(el, 'pay-error');
  await el.updateComplete;
  return event.detail;
}

function dialogStatus(el: PayCheckout): string {
  return dialogOf(el).querySelector('[role="status"]')!.textContent!;
}

describe('helper errors', () => {
  useFakeHelper();

  it('maps a 404 unknown_order to its code and a translated message', async () => {
    worker.use(http.post(SESSIONS, helperError(404, 'unknown_order')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const detail = await clickAndWaitError(el);
    expect(detail).to.deep.equal({ code: 'unknown_order', message: 'Заказ не найден.', retryable: false });
    expect(el.state).to.equal('error');
    expect(dialogStatus(el)).to.equal('Заказ не найден.');
    // Not retryable: only "Close" is offered.
    const buttons = [...dialogOf(el).querySelectorAll('.actions button')].map((b) => b.textContent);
    expect(buttons).to.deep.equal(['Закрыть']);
    el.close();
  });

  it('maps a 409 order_paid in English', async () => {
    worker.use(http.post(SESSIONS, helperError(409, 'order_paid')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal" locale="en"></pay-checkout>`);
    const detail = await clickAndWaitError(el);
    expect(detail).to.deep.equal({ code: 'order_paid', message: 'This order has already been paid.', retryable: false });
    el.close();
  });

  it('has a translated sentence for every helper and client code, and a generic fallback', async () => {
    const { loadStrings, t } = await import('../../src/i18n.js');
    await Promise.all([loadStrings('ru'), loadStrings('en')]);
    const codes = ['unknown_order', 'order_paid', 'invalid_request', 'unsupported_provider', 'unsupported_method',
      'amount_too_small', 'amount_too_large', 'provider_unavailable', 'provider_error', 'customer_blocked',
      'merchant_disabled', 'previous_request_open', 'rate_limited', 'origin_not_allowed', 'unauthorized', 'not_found',
      'invalid_config', 'network_error', 'timeout', 'bad_response', 'popup_blocked', 'failed', 'expired', 'generic'];
    for (const locale of ['ru', 'en']) {
      const seen = new Set<string>();
      for (const code of codes) {
        const text = t(locale, `error.${code}`);
        expect(text, `${locale} ${code}`).to.not.equal('');
        seen.add(text);
      }
      expect(seen.size).to.equal(codes.length);
    }
    worker.use(http.post(SESSIONS, helperError(422, 'brand_new_code')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const detail = await clickAndWaitError(el);
    expect(detail.code).to.equal('brand_new_code');
    expect(detail.message).to.equal(t('ru', 'error.generic'));
    el.close();
  });

  it('translates the helper\'s other codes through their closest sentence', async () => {
    worker.use(http.post(SESSIONS, helperError(400, 'unknown_provider')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal" locale="en"></pay-checkout>`);
    const detail = await clickAndWaitError(el);
    expect(detail).to.deep.equal({ code: 'unknown_provider', message: 'This payment provider is not available right now.', retryable: false });
    el.close();
  });

  it('starts a fresh attempt when the helper says the Idempotency-Key was used for a different request', async () => {
    worker.use(http.post(SESSIONS, helperError(422, 'idempotency_key_reused'), { once: true }));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const keys: (string | null)[] = [];
    worker.events.on('request:start', ({ request }) => {
      if (request.method === 'POST') keys.push(request.headers.get('idempotency-key'));
    });
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    worker.events.removeAllListeners();
    expect(keys).to.have.length(2);
    expect(keys[1]).to.not.equal(keys[0]);
    el.close();
  });

  it('a 5xx provider_unavailable is retryable, and "Try again" reuses the Idempotency-Key', async () => {
    worker.use(http.post(SESSIONS, helperError(503, 'provider_unavailable', true), { once: true }));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const detail = await clickAndWaitError(el);
    expect(detail).to.deep.include({ code: 'provider_unavailable', retryable: true });
    const retry = [...dialogOf(el).querySelectorAll<HTMLButtonElement>('.actions button')].find((b) => b.textContent === 'Попробовать снова')!;
    retry.click();
    expect(el.state).to.equal('creating');
    await oneEvent(el, 'pay-open');
    expect(helper.creates).to.have.length(1);
    expect(el.session?.id).to.equal('cs_1');
    el.close();
  });

  it('a 5xx without a JSON body becomes a retryable bad_response', async () => {
    worker.use(http.post(SESSIONS, () => new HttpResponse('<h1>Bad gateway</h1>', { status: 502 })));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    expect(await clickAndWaitError(el)).to.deep.include({ code: 'bad_response', retryable: true });
    el.close();
  });

  it('malformed JSON in a success response becomes bad_response', async () => {
    worker.use(http.post(SESSIONS, () => new HttpResponse('{"id": "cs_1", ', { status: 201, headers: { 'content-type': 'application/json' } })));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    expect(await clickAndWaitError(el)).to.deep.include({ code: 'bad_response', retryable: true });
    el.close();
  });

  it('a session with a non-http payment URL is refused as bad_response', async () => {
    worker.use(
      http.post(SESSIONS, () =>
        HttpResponse.json({ id: 'cs_1', token: 't', status: 'created', provider: 'repay', method: null, paymentUrl: 'javascript:alert(1)', frameable: true, amount: '1', currency: 'RUB', orderId: 'A-1' }, { status: 201 }),
      ),
    );
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    expect(await clickAndWaitError(el)).to.deep.include({ code: 'bad_response' });
    expect(part(el, 'frame')).to.equal(null);
    el.close();
  });

  it('a request that outlives the timeout becomes timeout', async () => {
    const restore = fastTiming({ timeout: 200 });
    try {
      worker.use(http.post(SESSIONS, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }));
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      expect(await clickAndWaitError(el)).to.deep.include({ code: 'timeout', retryable: true, message: 'Сервер не ответил вовремя. Попробуйте ещё раз.' });
      el.close();
    } finally {
      restore();
    }
  });

  it('a network failure becomes network_error', async () => {
    worker.use(http.post(SESSIONS, () => HttpResponse.error()));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    expect(await clickAndWaitError(el)).to.deep.include({ code: 'network_error', retryable: true });
    el.close();
  });

  it('status checks are retried with backoff on 5xx (idempotent), creation is not', async () => {
    let gets = 0;
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    await openModal(el);
    worker.use(
      http.get(`${SESSIONS}/:id`, () => {
        gets++;
        return gets < 3 ? helperError(503, 'provider_unavailable', true)() : HttpResponse.json({ ...el.session, status: 'paid', paymentUrl: 'https://pay.example/', frameable: true });
      }),
    );
    postReturn(part<HTMLIFrameElement>(el, 'frame')!.contentWindow, returnMessage('cs_1'));
    await oneEvent(el, 'pay-success');
    expect(gets).to.equal(3);
    el.close();

    resetHelper();
    let posts = 0;
    worker.use(http.post(SESSIONS, () => {
      posts++;
      return helperError(503, 'provider_unavailable', true)();
    }));
    sessionStorage.clear();
    const other = await fixture<PayCheckout>(html`<pay-checkout order-id="A-2" mode="modal"></pay-checkout>`);
    await clickAndWaitError(other);
    expect(posts).to.equal(1);
    other.close();
  });

  it('a failed or expired session is reported as pay-error with the session', async () => {
    const restore = fastTiming();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      helper.status = 'expired';
      const { detail } = await oneEvent(el, 'pay-error');
      expect(detail.code).to.equal('expired');
      expect(detail.retryable).to.equal(true);
      expect(detail.message).to.equal('Время на оплату истекло. Начните оплату заново.');
      expect(detail.session.status).to.equal('expired');
      expect(el.state).to.equal('expired');
      await el.updateComplete;
      expect(part(el, 'frame')).to.equal(null);
      // The next attempt gets a new Idempotency-Key: the expired payment is over.
      helper.status = 'created';
      const retry = [...dialogOf(el).querySelectorAll<HTMLButtonElement>('.actions button')].find((b) => b.textContent === 'Попробовать снова')!;
      retry.click();
      await oneEvent(el, 'pay-open');
      expect(helper.creates[1]!.key).to.not.equal(helper.creates[0]!.key);
      el.close();
    } finally {
      restore();
    }
  });

  it('failed shows a failure and fires pay-error failed', async () => {
    const restore = fastTiming();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      helper.status = 'failed';
      const { detail } = await oneEvent(el, 'pay-error');
      expect(detail.code).to.equal('failed');
      await el.updateComplete;
      expect(dialogStatus(el)).to.contain('Платёж не прошёл');
      el.close();
    } finally {
      restore();
    }
  });

  it('a provider cancellation fires pay-cancel with reason provider', async () => {
    const restore = fastTiming();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      helper.status = 'cancelled';
      const { detail } = await oneEvent(el, 'pay-cancel');
      expect(detail.reason).to.equal('provider');
      expect(detail.session.status).to.equal('cancelled');
      expect(el.state).to.equal('cancelled');
      el.close();
    } finally {
      restore();
    }
  });

  it('polls the status while the page is open and reports paid without any return message', async () => {
    const restore = fastTiming();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      await waitUntil(() => helper.gets >= 2, 'polls repeatedly');
      helper.status = 'paid';
      helper.paidAmount = '1500';
      const { detail } = await oneEvent(el, 'pay-success');
      expect(detail.session.paidAmount).to.equal('1500');
      const gets = helper.gets;
      await new Promise((r) => setTimeout(r, 250));
      expect(helper.gets).to.equal(gets);
      el.close();
    } finally {
      restore();
    }
  });
});
