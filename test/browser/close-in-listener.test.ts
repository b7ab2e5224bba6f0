// A merchant's listener runs inside the element's own event dispatch: close() called from pay-return or pay-open
// replaces what the element was doing there, and nothing of that (confirming, polling, showing the dialog) goes on
// after it. What follows is a dismissal's: idle, a check, a few more in the background, then nothing.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  countUpdates,
  dialogOf,
  helper,
  hover,
  names,
  openModal,
  part,
  pause,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  slowGet,
  useFakeHelper,
  useFastTiming,
  waitUntil,
} from './support.js';

/**
 * Waits out the checks after a dismissal (four, 50 to 100 ms apart in these tests) and expects no more after them.
 * The fake helper counts a request when the service worker hands it over, a moment after the page sent it: a poll the
 * open dialog had sent just before the dismissal may be counted after `since`, hence one more than the five.
 */
async function expectChecksToStop(since: number): Promise<void> {
  await pause(800);
  const after = helper.gets;
  await pause(400);
  expect(helper.gets, 'no polling after the checks').to.equal(after);
  expect(after - since, 'the check and the four after it (and a poll already on its way)').to.be.at.most(6);
}

describe('close() in a listener of the element’s own events', () => {
  useFakeHelper();
  useFastTiming();

  it('in pay-return: idle at once, and a payment the helper says is paid is reported paid, not cancelled', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-return', 'pay-close', 'pay-cancel', 'pay-status', 'pay-success']);
    el.addEventListener('pay-return', () => el.close());
    helper.status = 'paid';
    const gets = helper.gets;
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    expect(el.state).to.equal('idle');
    expect(dialogOf(el).open).to.equal(false);
    await waitUntil(() => el.state === 'paid', 'the check after the dismissal finds it paid');
    await pause(300);
    expect(names(events)).to.deep.equal(['pay-return', 'pay-close', 'pay-status', 'pay-success']);
    expect(helper.gets - gets, 'no polling once paid').to.be.at.most(2);
  });

  it('in pay-return with the payment still open: one pay-cancel after the check, a few checks more, then nothing', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-return', 'pay-close', 'pay-cancel', 'pay-status']);
    el.addEventListener('pay-return', () => el.close());
    const gets = helper.gets;
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    expect(el.state).to.equal('idle');
    await expectChecksToStop(gets);
    expect(el.state).to.equal('idle');
    expect(events.map((e) => [e.type, e.detail.outcome ?? e.detail.reason ?? e.detail.status])).to.deep.equal([
      ['pay-return', 'success'],
      ['pay-close', 'created'],
      ['pay-cancel', 'dismissed'],
    ]);
  });

  it('in pay-status: a paid payment is still reported pay-success and shown paid', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-status', 'pay-close', 'pay-success', 'pay-cancel']);
    el.addEventListener('pay-status', () => el.close());
    helper.status = 'paid';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await oneEvent(el, 'pay-close');
    await pause(300);
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success', 'pay-close']);
    expect(el.state).to.equal('paid');
    expect(dialogOf(el).open).to.equal(false);
  });

  it('while the return is being confirmed: the confirmation is dropped, and the dismissal’s checks end', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const confirming = slowGet(300);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    expect(el.state).to.equal('confirming');
    await waitUntil(() => confirming.started, 'the confirmation is asked');
    const gets = helper.gets;
    el.close();
    await expectChecksToStop(gets);
    expect(el.state).to.equal('idle');
  });

  it('in pay-open: the dialog stays closed, the element idle, with no countdown and no polling past the dismissal’s checks', async () => {
    helper.expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const events = record(el, ['pay-open', 'pay-close', 'pay-cancel']);
    el.addEventListener('pay-open', () => el.close());
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-close');
    expect(el.state).to.equal('idle');
    const updates = countUpdates(el);
    await expectChecksToStop(0);
    // The countdown ticks once a second: nothing counts down for an idle element.
    expect(updates(), 'countdown ticks').to.equal(0);
    expect(names(events)).to.deep.equal(['pay-open', 'pay-close', 'pay-cancel']);
    expect(dialogOf(el).open).to.equal(false);
  });

  it('in pay-open for a session asked for at the press: no dialog is shown after it', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    hover(el);
    await waitUntil(() => el.shadowRoot!.querySelector('dialog'), 'the dialog is rendered');
    const button = part<HTMLButtonElement>(el, 'button')!;
    button.dispatchEvent(new PointerEvent('pointerdown', { button: 0, bubbles: true, composed: true }));
    await waitUntil(() => helper.creates.length === 1, 'the request starts on the press');
    await pause(20);
    el.addEventListener('pay-open', () => el.close());
    const closed = oneEvent(el, 'pay-close');
    button.click();
    await closed;
    await el.updateComplete;
    expect(dialogOf(el).open).to.equal(false);
    expect(el.state).to.equal('idle');
  });
});
