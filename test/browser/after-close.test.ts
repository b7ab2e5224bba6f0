// After the payment page is closed: a held payment is still polled under the button, and a dismissal is followed by
// a few more checks, so a payment completed just before closing (which the helper may not have read yet) still
// ends in pay-success.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  countUpdates,
  helper,
  names,
  openModal,
  part,
  pause,
  PayCheckout,
  record,
  resetHelper,
  settleInModal,
  useFakeHelper,
  useFastTiming,
  waitUntil,
} from './support.js';


describe('after the payment page is closed', () => {
  useFakeHelper();
  useFastTiming();

  it('keeps polling a held payment, so the shop\'s later paid arrives as pay-success', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    el.close();
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.equal('На проверке');
    const events = record(el, ['pay-status', 'pay-success', 'pay-cancel']);
    helper.status = 'paid';
    await waitUntil(() => events.some((e) => e.type === 'pay-success'), 'the later paid is reported');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(el.state).to.equal('paid');
  });

  it('reports a paid read after the dismissal as pay-success, after pay-cancel', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    const events = record(el, ['pay-cancel', 'pay-success']);
    const dismissed = oneEvent(el, 'pay-cancel');
    el.close();
    // The helper had not read the provider yet: the first check still says created.
    expect((await dismissed).detail.reason).to.equal('dismissed');
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'the later paid is shown');
    await el.updateComplete;
    expect(names(events)).to.deep.equal(['pay-cancel', 'pay-success']);
    expect(part(el, 'button')!.textContent).to.equal('Оплачено');
  });

  it('reports the provider ending the dismissed payment (cancelled, failed, expired) as pay-status only: one pay-cancel per attempt, no pay-error', async () => {
    for (const end of ['cancelled', 'failed', 'expired'] as const) {
      resetHelper();
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
      await openModal(el);
      const events = record(el, ['pay-cancel', 'pay-status', 'pay-error']);
      const dismissed = oneEvent(el, 'pay-cancel');
      el.close();
      await dismissed;
      helper.status = end;
      await waitUntil(() => el.state === end, `the later ${end} is shown`);
      await pause(300);
      expect(events.map((e) => [e.type, e.detail.reason ?? e.detail.status]), end).to.deep.equal([
        ['pay-cancel', 'dismissed'],
        ['pay-status', end],
      ]);
      el.remove();
      sessionStorage.clear();
    }
  });

  it('stops checking after a few reads when the payment stays open', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    const dismissed = oneEvent(el, 'pay-cancel');
    el.close();
    await dismissed;
    const atClose = helper.gets;
    // Four checks 50, 75, 100 and 100 ms apart in these tests; then nothing.
    await pause(800);
    const after = helper.gets;
    await pause(400);
    expect(helper.gets).to.equal(after);
    expect(after - atClose).to.be.at.most(4);
    expect(el.state).to.equal('idle');
  });
});

describe('a payment held while its page is open', () => {
  useFakeHelper();
  useFastTiming();

  it('stops the countdown (no more updates each second) and keeps polling', async () => {
    helper.expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    await el.updateComplete;
    const updates = countUpdates(el);
    // More than two of the countdown's one-second ticks.
    await pause(2200);
    expect(updates()).to.equal(0);
    const gets = helper.gets;
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'still polled');
    expect(helper.gets).to.be.above(gets);
    el.close();
  });
});
