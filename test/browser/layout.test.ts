import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import { dialogOf, helper, part, PayCheckout, useFakeHelper } from './support.js';

describe('dialog layout and countdown', () => {
  useFakeHelper();
  after(() => setViewport({ width: 800, height: 600 }));

  it('is a full-screen sheet on a narrow screen', async () => {
    await setViewport({ width: 400, height: 700 });
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    el.open();
    await oneEvent(el, 'pay-open');
    await Promise.all(dialogOf(el).getAnimations().map((a) => a.finished));
    const rect = dialogOf(el).getBoundingClientRect();
    expect(Math.round(rect.width)).to.equal(400);
    expect(Math.round(rect.height)).to.equal(700);
    expect(Math.round(rect.top)).to.equal(0);
    el.close();
  });

  it('is a centred dialog on a wide screen', async () => {
    await setViewport({ width: 1200, height: 900 });
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    el.open();
    await oneEvent(el, 'pay-open');
    const rect = dialogOf(el).getBoundingClientRect();
    expect(Math.round(rect.width)).to.equal(480);
    expect(Math.round(rect.left)).to.equal(360);
    el.close();
  });

  it('shows the provider expiry as a countdown while waiting', async () => {
    helper.expiresAt = new Date(Date.now() + 10 * 60_000 - 500).toISOString();
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    el.open();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    const timer = () => dialogOf(el).querySelector('[role="timer"]')?.textContent ?? '';
    expect(timer()).to.match(/^Осталось (10:00|09:59)$/);
    await waitUntil(() => /^Осталось 09:5[0-8]$/.test(timer()), 'the countdown ticks', { timeout: 3000 });
    // The ticking line is not a live region: only state changes are announced.
    expect(dialogOf(el).querySelector('[role="timer"]')!.getAttribute('aria-live')).to.equal('off');
    el.close();
  });

  it('shows the amount from the session in the header, formatted for the locale', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal" locale="en"></pay-checkout>`);
    el.open();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(part(el, 'header')!.querySelector('.amount')!.textContent).to.match(/^RUB\s1,500$/);
    expect(part(el, 'header')!.querySelector('h2')!.textContent).to.equal('Payment for order A-1');
    el.close();
  });
});
