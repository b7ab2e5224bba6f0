import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { dialogOf, helperError, http, openModal, part, PayCheckout, useFakeHelper, worker } from './support.js';

// Which modules a page downloads, and when: what the payer does not need is not fetched. One page per test file,
// so the module loader starts empty here; the tests run in order.

// The test runner's own modules fill the default buffer of 250 entries before the tests start.
performance.setResourceTimingBufferSize(10_000);

/** Source modules of ours the page has fetched so far, by name (`errors-ru`). */
function fetched(name: string): number {
  return performance
    .getEntriesByType('resource')
    .filter((entry) => new RegExp(`/src/${name}\\.(js|ts)$`).test(new URL(entry.name).pathname)).length;
}

describe('lazy loading', () => {
  useFakeHelper();

  it('shows the payment page without the sentences for the helper\'s refusals', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    await openModal(el);
    expect(fetched('strings-ru')).to.equal(1);
    expect(fetched('errors-ru')).to.equal(0);
    expect(fetched('strings')).to.equal(0);
    el.close();
  });

  it('loads those sentences (and the codes that share one) with the first refusal', async () => {
    worker.use(http.post('/api/checkout/sessions', helperError(422, 'unknown_method')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-2" mode="modal"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    const { detail } = await oneEvent(el, 'pay-error');
    // unknown_method has no sentence of its own: it shares unsupported_method's.
    expect(detail.message).to.equal('Этот способ оплаты не поддерживается.');
    await el.updateComplete;
    expect(dialogOf(el).querySelector('[role="status"]')!.textContent).to.equal('Этот способ оплаты не поддерживается.');
    expect(fetched('errors-ru')).to.equal(1);
    expect(fetched('strings')).to.equal(1);
    expect(fetched('errors-en')).to.equal(0);
    el.close();
  });
});
