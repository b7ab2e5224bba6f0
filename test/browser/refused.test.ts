// A status check the helper refuses (401: the token is not accepted): reported once, and polling ends with it.
// What the console gets is the error's code, status and message, never the request with its bearer token.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  helper,
  helperError,
  http,
  HttpResponse,
  names,
  openModal,
  part,
  pause,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  settleInModal,
  useFakeHelper,
  useFastTiming,
  worker,
  waitUntil,
} from './support.js';

const SESSION = '/api/checkout/sessions/:id';

describe('a refused status check', () => {
  useFakeHelper();
  useFastTiming();

  it('is reported once and stops polling', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    worker.use(
      http.get(SESSION, () => {
        helper.gets++;
        return helperError(401, 'unauthorized')();
      }),
    );
    const errors = record(el, ['pay-error']);
    await openModal(el);
    await waitUntil(() => errors.length > 0, 'the refusal is reported');
    const gets = helper.gets;
    // Several poll periods (50–100 ms in these tests) go by.
    await pause(500);
    expect(errors.length).to.equal(1);
    expect(errors[0]!.detail.code).to.equal('unauthorized');
    expect(helper.gets).to.equal(gets);
    el.close();
  });

  it('takes the payment page out of the dialog: nothing paid there could be confirmed', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    worker.use(http.get(SESSION, helperError(401, 'unauthorized')));
    await openModal(el);
    await oneEvent(el, 'pay-error');
    await el.updateComplete;
    expect(part(el, 'frame')).to.equal(null);
    expect(el.state).to.equal('error');
    el.close();
  });

  it('is not an answer a proxy gives (a 403 page): polling stops, and a later check still confirms the payment', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    worker.use(http.get(SESSION, () => new HttpResponse('Forbidden by policy', { status: 403 }), { once: true }));
    const frame = await openModal(el);
    await oneEvent(el, 'pay-error');
    // The proxy lets requests through again; the payer pays and the provider's page returns.
    helper.status = 'paid';
    const success = oneEvent(el, 'pay-success');
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    expect((await success).detail.session.status).to.equal('paid');
  });

  it('logs the code, status and message, not the request with its token', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    worker.use(http.get(SESSION, helperError(401, 'unauthorized')));
    const warn = console.warn;
    const logged: unknown[][] = [];
    console.warn = (...args: unknown[]) => logged.push(args);
    try {
      await openModal(el);
      await oneEvent(el, 'pay-error');
    } finally {
      console.warn = warn;
    }
    expect(logged).to.deep.equal([['[pay-checkout]', { code: 'unauthorized', status: 401, message: 'helper says unauthorized' }]]);
    el.close();
  });

  /** From now on the helper refuses every status check (401), counting them. */
  function refuseChecks(): void {
    worker.use(
      http.get(SESSION, () => {
        helper.gets++;
        return helperError(401, 'unauthorized')();
      }),
    );
  }

  it('after a dismissal: pay-error once, no pay-cancel, and no check follows', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    refuseChecks();
    const events = record(el, ['pay-error', 'pay-cancel']);
    const before = helper.gets;
    el.close();
    await waitUntil(() => events.length > 0, 'the check after the dismissal is refused');
    await pause(500);
    expect(names(events)).to.deep.equal(['pay-error']);
    expect(helper.gets).to.equal(before + 1);
    expect(el.state).to.equal('error');
  });

  it('after a return: pay-error once, and the confirmation does not poll again', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    refuseChecks();
    const errors = record(el, ['pay-error']);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => errors.length > 0, 'the confirmation is refused');
    const gets = helper.gets;
    await pause(500);
    expect(errors.length).to.equal(1);
    expect(helper.gets).to.equal(gets);
    el.close();
  });

  it('is not asked again when the tab becomes visible', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    refuseChecks();
    const errors = record(el, ['pay-error']);
    await openModal(el);
    await waitUntil(() => errors.length > 0, 'the refusal is reported');
    const gets = helper.gets;
    document.dispatchEvent(new Event('visibilitychange'));
    document.dispatchEvent(new Event('visibilitychange'));
    await pause(200);
    expect(errors.length).to.equal(1);
    expect(helper.gets).to.equal(gets);
    el.close();
  });

  it('of a held payment: closing does not poll the refused token again', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    refuseChecks();
    const errors = record(el, ['pay-error']);
    await waitUntil(() => errors.length > 0, 'a poll of the held payment is refused');
    el.close();
    const gets = helper.gets;
    await pause(500);
    expect(errors.length).to.equal(1);
    expect(helper.gets).to.equal(gets);
  });
});
