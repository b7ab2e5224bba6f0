import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { defineStrings, formatMoney } from '../../src/index.js';
import { delay, dialogOf, http, part, PayCheckout, startWorker, worker, useFakeHelper, openModal, waitUntil } from './support.js';

describe('accessibility', () => {
  useFakeHelper();

  it('is accessible closed', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500"></pay-checkout>`);
    await expect(el).to.be.accessible();
  });

  it('is accessible with a configuration error shown', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout amount="1500"></pay-checkout>`);
    await expect(el).to.be.accessible();
  });

  it('is accessible open, with a labelled dialog and a status region', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    const dialog = dialogOf(el);
    const title = el.shadowRoot!.getElementById(dialog.getAttribute('aria-labelledby')!)!;
    expect(title.textContent).to.equal('Заказ A-1');
    expect(part(el, 'close-button')!.getAttribute('aria-label')).to.equal('Закрыть');
    // Let the entrance animation finish: axe measures contrast on what is painted.
    await Promise.all(dialog.getAnimations({ subtree: true }).filter((a) => a.effect?.getTiming().iterations !== Infinity).map((a) => a.finished));
    await expect(el).to.be.accessible();
    el.close();
  });

  it('is accessible with the picker open', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await waitUntil(() => part(el, 'picker')?.matches(':popover-open'));
    await expect(el).to.be.accessible();
    el.close();
  });

  it('announces each state through a status region', async () => {
    // Slow the helper down so the "creating" state is observable; then fall through to the default handler.
    worker.use(http.post('/api/checkout/sessions', () => delay(150).then(() => undefined)));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await waitUntil(() => dialogOf(el)?.querySelector('[role="status"]')?.textContent === 'Создаём платёж…', 'creating is announced');
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(dialogOf(el).querySelector('[role="status"]')!.textContent).to.equal('Загружаем платёжную страницу…');
    el.close();
  });
});

describe('locale', () => {
  before(startWorker);
  afterEach(() => document.documentElement.removeAttribute('lang'));

  it('defaults to Russian with rubles formatted by Intl', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500"></pay-checkout>`);
    expect(part(el, 'button')!.textContent).to.equal(`Оплатить ${formatMoney('ru', 1500, 'RUB')}`);
    expect(part(el, 'button')!.textContent).to.match(/^Оплатить 1\s500\s₽$/);
  });

  it('follows the nearest lang and switches when the locale attribute changes', async () => {
    const wrapper = await fixture(html`<div lang="en"><pay-checkout order-id="A-1" amount="1500.5"></pay-checkout></div>`);
    const el = wrapper.querySelector('pay-checkout')!;
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.match(/^Pay RUB\s1,500\.50$/);
    el.setAttribute('locale', 'ru');
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.match(/^Оплатить 1\s500,50\s₽$/);
    el.setAttribute('locale', 'en-GB');
    el.setAttribute('currency', 'EUR');
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.equal('Pay €1,500.50');
  });

  it('re-renders when an ancestor lang changes', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1"></pay-checkout>`);
    expect(part(el, 'button')!.textContent).to.equal('Оплатить');
    document.documentElement.setAttribute('lang', 'en');
    await waitUntil(() => part(el, 'button')!.textContent === 'Pay');
  });

  it('lets merchants override strings, also for new languages', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="10" locale="de"></pay-checkout>`);
    defineStrings('de', { payAmount: '{amount} bezahlen' });
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.equal(`${formatMoney('de', 10, 'RUB')} bezahlen`);
    defineStrings('ru', { pay: 'Купить' });
    el.setAttribute('locale', 'ru');
    el.removeAttribute('amount');
    await el.updateComplete;
    expect(part(el, 'button')!.textContent).to.equal('Купить');
    defineStrings('ru', { pay: 'Оплатить' });
  });

  it('the label attribute wins over the built-in text', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="10" label="Оформить"></pay-checkout>`);
    expect(part(el, 'button')!.textContent).to.equal('Оформить');
  });
});
