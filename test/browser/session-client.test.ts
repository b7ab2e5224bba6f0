import { expect, fixture, html } from '@open-wc/testing';
import { HTTPError } from 'ky';
import { PayCheckoutError } from '../../src/errors.js';
import { toCheckoutError } from '../../src/session-client.js';
import { CONFIG, helper, hover, http, HttpResponse, openModal, part, PAY_PAGE, PayCheckout, useFakeHelper, worker, waitUntil } from './support.js';

/** An HTTPError as ky 1 throws it: the response body still unread. */
function kyError(body: unknown, status = 409): HTTPError {
  const request = new Request('https://helper.example/api/checkout/sessions', { method: 'POST' });
  return new HTTPError(new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } }), request, {} as never);
}

describe('session client errors', () => {
  const refusal = { error: { code: 'order_paid', message: 'paid already', retryable: false } };

  it('reads the helper error body from the response, as ky 1 leaves it', async () => {
    const error = (await toCheckoutError(kyError(refusal))) as PayCheckoutError;
    expect(error).to.be.instanceOf(PayCheckoutError);
    expect([error.code, error.retryable, error.status]).to.deep.equal(['order_paid', false, 409]);
  });

  it('reads the helper error body from error.data when ky 2 already consumed the response', async () => {
    const http = kyError(refusal);
    await http.response.text();
    Object.assign(http, { data: refusal });
    const error = (await toCheckoutError(http)) as PayCheckoutError;
    expect([error.code, error.retryable, error.message]).to.deep.equal(['order_paid', false, 'paid already']);
  });

  it('falls back to bad_response when a consumed body was not JSON', async () => {
    const http = kyError('oops', 502);
    await http.response.text();
    Object.assign(http, { data: 'oops' });
    const error = (await toCheckoutError(http)) as PayCheckoutError;
    expect([error.code, error.retryable]).to.deep.equal(['bad_response', true]);
  });
});

describe('a session-url change', () => {
  useFakeHelper();

  it('forgets the previous helper’s /config, so its sandbox rules are not applied to the new helper’s pages', async () => {
    // The second helper's providers are real ones: their payment URLs must be used as they are.
    worker.use(
      http.get('/other/checkout/config', () =>
        HttpResponse.json({ ...CONFIG, providers: CONFIG.providers.map((p) => ({ ...p, sandbox: false })), sandbox: false }),
      ),
      http.post('/other/checkout/sessions', async ({ request }) => {
        const body = (await request.json()) as { orderId: string };
        return HttpResponse.json(
          { id: 'cs_other', token: 'tok_other', status: 'created', provider: 'repay', method: null, paymentUrl: `${PAY_PAGE}?session=cs_other`, frameable: true, amount: '1500', currency: 'RUB', orderId: body.orderId },
          { status: 201 },
        );
      }),
      http.get('/other/checkout/sessions/:id', () =>
        HttpResponse.json({ id: 'cs_other', status: 'created', provider: 'repay', method: null, paymentUrl: `${PAY_PAGE}?session=cs_other`, frameable: true, amount: '1500', currency: 'RUB', orderId: 'A-1' }),
      ),
    );
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    hover(el);
    await waitUntil(() => helper.configs >= 1, 'the first helper’s /config is read');
    await new Promise((r) => setTimeout(r, 20));
    el.sessionUrl = '/other/checkout/sessions';
    await el.updateComplete;
    const frame = await openModal(el);
    expect(frame.src).to.equal(`${PAY_PAGE}?session=cs_other`);
    expect(part<HTMLIFrameElement>(el, 'frame')!.src).not.to.contain('lang=');
    el.close();
  });
});
