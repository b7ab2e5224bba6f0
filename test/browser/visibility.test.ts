// The payer pays in a bank's app and comes back to the tab: the status is checked at once, not at the next poll.
import { expect, fixture, html } from '@open-wc/testing';
import { fastTiming, helper, names, openModal, PayCheckout, record, useFakeHelper, waitUntil } from './support.js';

describe('back to the tab', () => {
  useFakeHelper();
  let restoreTiming: () => void;
  // Polling far away: only the return to the tab can bring the status.
  beforeEach(() => (restoreTiming = fastTiming({ poll: 60_000, pollMax: 60_000 })));
  afterEach(() => restoreTiming());

  it('checks the status when the page becomes visible while the payment is open', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    const events = record(el, ['pay-status', 'pay-success']);
    helper.status = 'paid';
    expect(document.visibilityState).to.equal('visible');
    document.dispatchEvent(new Event('visibilitychange'));
    await waitUntil(() => el.state === 'paid', 'checked on return to the tab');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    el.close();
  });

  it('does not check once the payment page is closed', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    el.close();
    await waitUntil(() => helper.gets === 1, 'the check after the dismissal');
    document.dispatchEvent(new Event('visibilitychange'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(helper.gets).to.equal(1);
  });
});
