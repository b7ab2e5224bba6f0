// A status check the helper refuses (401: the token is not accepted): reported once, and polling ends with it.
// What the console gets is the error's code, status and message, never the request with its bearer token.
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import {
  helper,
  helperError,
  http,
  openModal,
  pause,
  PayCheckout,
  record,
  useFakeHelper,
  useFastTiming,
  worker,
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
});
