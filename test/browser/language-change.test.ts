// What the element said before the page's language changed is said again in the new language: a refusal's sentence
// (whose chunk for the new language had never been loaded) and the note under the button.
// The first test needs a page where English refusal sentences were never loaded: keep it first, and no other test
// here may be refused by the helper in English.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { helperError, http, HttpResponse, part, PayCheckout, useFakeHelper, waitUntil, worker } from './support.js';

const SESSIONS = '/api/checkout/sessions';

describe('a change of language', () => {
  useFakeHelper();

  it('says a refusal shown in the dialog again in the new language, with that language’s sentences', async () => {
    worker.use(http.post(SESSIONS, helperError(404, 'unknown_order')));
    const wrapper = await fixture<HTMLDivElement>(
      html`<div lang="ru"><pay-checkout order-id="A-404" amount="1500" mode="modal"></pay-checkout></div>`,
    );
    const el = wrapper.querySelector('pay-checkout')!;
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-error');
    await el.updateComplete;
    const status = () => el.shadowRoot!.querySelector('dialog [part="status"]')!.textContent;
    expect(status()).to.equal('Заказ не найден.');
    wrapper.lang = 'en';
    await waitUntil(() => status() === 'The order was not found.', 'the English sentence', { timeout: 2000 }).catch(() => undefined);
    expect(status()).to.equal('The order was not found.');
    el.close();
  });

  it('says the note under the button again in the new language', async () => {
    worker.use(http.post(SESSIONS, () => HttpResponse.error()));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500" mode="redirect"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-error');
    await el.updateComplete;
    const note = () => el.shadowRoot!.getElementById('note')!.textContent;
    expect(note()).to.equal('Нет связи с сервером. Проверьте подключение к интернету.');
    el.locale = 'en';
    await waitUntil(() => part(el, 'button')!.textContent === 'Pay RUB\u00a01,500', 'the English button');
    await waitUntil(() => note() !== '' && note()!.startsWith('Cannot'), 'the English note', { timeout: 2000 }).catch(() => undefined);
    expect(note()).to.equal('Cannot reach the server. Check your internet connection.');
  });
});
