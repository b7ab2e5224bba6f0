// A paid or held order, as the payer sees it: what happens next with a held payment, and no second "Pay" after a
// reload of the tab (the same sessionStorage, a new element) or when the helper says the order is paid or held.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { defineStrings } from '../../src/i18n.js';
import {
  dialogOf,
  helper,
  helperError,
  http,
  names,
  openModal,
  part,
  pause,
  PayCheckout,
  record,
  settleInModal,
  useFakeHelper,
  useFastTiming,
  worker,
  waitUntil,
} from './support.js';

const SESSIONS = '/api/checkout/sessions';

function button(el: PayCheckout): HTMLButtonElement {
  return part<HTMLButtonElement>(el, 'button')!;
}

function dialogStatus(el: PayCheckout): string {
  return dialogOf(el).querySelector('[role="status"]')!.textContent!.trim();
}

/** The element a reload of the tab would render: same order, same sessionStorage, nothing in memory. */
async function reload(el: PayCheckout): Promise<PayCheckout> {
  const markup = el.outerHTML;
  el.remove();
  const again = await fixture<PayCheckout>(markup);
  return again;
}

/** `run` with window.open() answering a stand-in window that records its closing (a popup, or one from the header). */
async function withWindow(run: (win: { closed: boolean; location: { href: string } }) => Promise<void>): Promise<void> {
  const win = { closed: false, location: { href: '' }, close() { this.closed = true; }, focus() {} };
  const original = window.open;
  window.open = (() => win) as unknown as typeof window.open;
  try {
    await run(win);
  } finally {
    window.open = original;
  }
}

describe('a paid or held order', () => {
  useFakeHelper();
  useFastTiming();

  it('says what happens next for the reason the payment is held, and the button no longer offers to pay', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    helper.heldReason = 'duplicate_payment';
    await settleInModal(el, 'held');
    expect(el.session?.heldReason).to.equal('duplicate_payment');
    expect(dialogStatus(el)).to.contain('вернёт вам этот второй платёж');
    el.close();
    await el.updateComplete;
    expect(button(el).textContent).to.equal('На проверке');
    expect(part(el, 'status')!.textContent).to.contain('вернёт вам этот второй платёж');
  });

  it('says held when the attempt\'s session comes back held, instead of opening its payment page again', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    // Closed before the hold reached the page: the button offers to pay, and the next click reuses the attempt's key.
    await openModal(el);
    const dismissed = oneEvent(el, 'pay-cancel');
    el.close();
    // The check after the dismissal still found the payment open.
    expect((await dismissed).detail.reason).to.equal('dismissed');
    expect(el.state).to.equal('idle');
    helper.status = 'held';
    helper.heldReason = 'amount_mismatch';
    const events = record(el, ['pay-open', 'pay-status']);
    button(el).click();
    await waitUntil(() => el.state === 'held', 'shown as held');
    await el.updateComplete;
    expect(helper.creates.map((call) => call.key)).to.deep.equal([helper.creates[0]!.key, helper.creates[0]!.key]);
    expect(part(el, 'frame')).to.equal(null);
    expect(names(events)).to.deep.equal([]);
    expect(dialogStatus(el)).to.contain('Оплачена другая сумма');
    el.close();
    await el.updateComplete;
    expect(button(el).textContent).to.equal('На проверке');
  });

  it('held while the provider page is shown: the page goes, and "Pay" is not offered again', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    expect(!!part(el, 'frame')).to.equal(true);
    helper.heldReason = 'amount_mismatch';
    helper.status = 'held';
    await waitUntil(() => el.state === 'held', 'the poll reads held');
    await el.updateComplete;
    // Booleans: a failing comparison with an element would have the report serialize it, frame window and all.
    expect(!!part(el, 'frame'), 'the payment frame').to.equal(false);
    expect(!!dialogOf(el).querySelector('a.new-window'), 'the link to the payment page').to.equal(false);
    expect(dialogStatus(el)).to.contain('Оплачена другая сумма');
    el.close();
    await el.updateComplete;
    expect(el.state).to.equal('held');
    expect(button(el).textContent).to.equal('На проверке');
    const creates = helper.creates.length;
    button(el).click();
    await pause(100);
    expect(helper.creates.length).to.equal(creates);
    expect(dialogOf(el).open).to.equal(false);
  });

  it('held while a popup shows the provider page: the popup is closed and reported, and polling goes on', () =>
    withWindow(async (popup) => {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="popup"></pay-checkout>`);
      button(el).click();
      await oneEvent(el, 'pay-open');
      const events = record(el, ['pay-close', 'pay-cancel', 'pay-status', 'pay-success']);
      helper.status = 'held';
      await waitUntil(() => el.state === 'held', 'the poll reads held');
      await waitUntil(() => popup.closed, 'the popup is closed');
      await waitUntil(() => names(events).includes('pay-close'), 'its closing is reported');
      await el.updateComplete;
      expect(button(el).textContent).to.equal('На проверке');
      helper.status = 'paid';
      await waitUntil(() => el.state === 'paid', 'the held payment is still polled');
      expect(names(events)).to.deep.equal(['pay-status', 'pay-close', 'pay-status', 'pay-success']);
    }));

  it('held while a window opened from the dialog\'s header shows the provider page: that window is closed too', () =>
    withWindow(async (popup) => {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
      await openModal(el);
      dialogOf(el).querySelector<HTMLAnchorElement>('a.new-window')!.click();
      expect(popup.location.href).to.contain('session=cs_1');
      helper.status = 'held';
      await waitUntil(() => el.state === 'held', 'the poll reads held');
      await waitUntil(() => popup.closed, 'the window is closed');
      await el.updateComplete;
      expect(!!dialogOf(el).querySelector('a.new-window'), 'the link to the payment page').to.equal(false);
    }));

  it('shows the merchant\'s own words for a held payment', async () => {
    defineStrings('en-GB', { 'held.amount_mismatch': 'We will call you within a day about the difference.' });
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal" locale="en-GB"></pay-checkout>`);
    helper.heldReason = 'amount_mismatch';
    await settleInModal(el, 'held');
    expect(dialogStatus(el)).to.equal('We will call you within a day about the difference.');
    el.close();
  });

  it('paid: a reload shows "Paid" from the first render, and a click creates nothing', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'paid');
    el.close();
    const creates = helper.creates.length;
    const again = await reload(el);
    expect(again.state).to.equal('paid');
    expect(button(again).textContent).to.equal('Оплачено');
    await waitUntil(() => again.session?.status === 'paid', 'the kept session is the element\'s again');
    button(again).click();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(helper.creates.length).to.equal(creates);
    expect(dialogOf(again)?.open ?? false).to.equal(false);
  });

  it('paid: another button for the same order on the page shows "Paid" at once, and its click creates nothing', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`<div>
      <pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>
      <pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>
      <pay-checkout order-id="A-1002" amount="1500" mode="modal"></pay-checkout>
    </div>`);
    const [el, same, other] = wrapper.querySelectorAll('pay-checkout');
    const told = record(same!, ['pay-success', 'pay-error', 'pay-status']);
    await settleInModal(el!, 'paid');
    await same!.updateComplete;
    expect(same!.state).to.equal('paid');
    expect(button(same!).textContent).to.equal('Оплачено');
    // Another order is not this one.
    expect(other!.state).to.equal('idle');
    expect(button(other!).textContent).to.equal('Оплатить 1\u00a0500\u00a0₽');
    el!.close();
    const creates = helper.creates.length;
    await waitUntil(() => same!.session?.status === 'paid', 'the kept session is the other button\'s too');
    button(same!).click();
    await pause(100);
    expect(helper.creates.length).to.equal(creates);
    expect(dialogOf(same!)?.open ?? false).to.equal(false);
    // The payment was the first button's: only it reports it.
    expect(names(told)).to.deep.equal([]);
  });

  it('held: a reload shows it at once and keeps checking, so the shop\'s decision still reaches the page', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    el.close();
    helper.status = 'paid';
    const markup = el.outerHTML;
    el.remove();
    const again = document.createElement('div');
    const events: CustomEvent[] = [];
    again.addEventListener('pay-success', (e) => events.push(e as CustomEvent), true);
    again.addEventListener('pay-status', (e) => events.push(e as CustomEvent), true);
    const reloaded = await fixture<PayCheckout>(markup, { parentNode: again });
    expect(reloaded.state).to.equal('held');
    expect(button(reloaded).textContent).to.equal('На проверке');
    await waitUntil(() => reloaded.state === 'paid', 'the held session is polled after the reload');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(events[0]!.detail).to.deep.include({ status: 'paid', previous: 'held' });
    expect(helper.creates.length).to.equal(1);
  });

  it('order_paid from the helper: shown as paid (no pay-success), and a reload does not offer to pay', async () => {
    worker.use(http.post(SESSIONS, helperError(409, 'order_paid')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-7" mode="modal" locale="en"></pay-checkout>`);
    const events = record(el, ['pay-error', 'pay-success']);
    button(el).click();
    await waitUntil(() => el.state === 'paid');
    await el.updateComplete;
    expect(names(events)).to.deep.equal(['pay-error']);
    expect(events[0]!.detail).to.deep.equal({ code: 'order_paid', message: 'This order has already been paid.', retryable: false });
    expect(dialogStatus(el)).to.equal('This order has already been paid.');
    expect([...dialogOf(el).querySelectorAll('.actions button')].map((b) => b.textContent)).to.deep.equal(['Done']);
    el.close();
    const again = await reload(el);
    expect(again.state).to.equal('paid');
    expect(button(again).textContent).to.equal('Paid');
  });

  it('order_held from the helper: shown as held; after a reload a click asks again and pays once the shop has settled it', async () => {
    let refusals = 0;
    worker.use(http.post(SESSIONS, () => (refusals < 2 ? (refusals++, helperError(409, 'order_held')()) : undefined)));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-8" mode="modal"></pay-checkout>`);
    button(el).click();
    const { detail } = await oneEvent(el, 'pay-error');
    expect(detail.code).to.equal('order_held');
    await waitUntil(() => el.state === 'held');
    el.close();
    await el.updateComplete;
    expect(button(el).textContent).to.equal('На проверке');

    const again = await reload(el);
    expect(again.state).to.equal('held');
    expect(part(again, 'status')!.textContent).to.equal('Платёж по этому заказу на проверке. Повторно платить не нужно.');
    // Still held: asked again, still nothing to pay.
    button(again).click();
    await waitUntil(() => refusals === 2);
    await waitUntil(() => again.state === 'held');
    again.close();
    // The shop settled the held payment as failed: the order can be paid now.
    button(again).click();
    const { detail: opened } = await oneEvent(again, 'pay-open');
    expect(opened.session.orderId).to.equal('A-8');
    expect(helper.creates).to.have.length(1);
    again.close();
  });

  it('another order id on the same element offers to pay again; the held one is shown again when it comes back', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    el.close();
    el.setAttribute('order-id', 'A-2002');
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(button(el).textContent).to.equal('Оплатить 1\u00a0500\u00a0₽');
    expect(part(el, 'status')!.textContent).to.equal('');
    el.setAttribute('order-id', 'A-1001');
    await el.updateComplete;
    expect(el.state).to.equal('held');
    expect(button(el).textContent).to.equal('На проверке');
  });

  it('turns a button for the order that had an attribute problem at the payment to "Paid" once it is mended', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`<div>
      <pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>
      <pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>
    </div>`);
    const [a, b] = wrapper.querySelectorAll('pay-checkout');
    // B has read the tab's attempts (nothing then), and is given a wrong value while A is paid.
    await waitUntil(() => b!.hasUpdated, 'B rendered');
    await pause(600);
    b!.mode = 'bogus' as PayCheckout['mode'];
    await b!.updateComplete;
    await settleInModal(a!, 'paid');
    a!.close();
    // A framework binding the right value late.
    b!.mode = 'modal';
    await b!.updateComplete;
    await waitUntil(() => button(b!).textContent!.trim() === 'Оплачено', 'the mended button shows the order paid');
    const creates = helper.creates.length;
    button(b!).click();
    await pause(200);
    expect(helper.creates.length - creates).to.equal(0);
    expect(b!.state).to.equal('paid');
  });
});
