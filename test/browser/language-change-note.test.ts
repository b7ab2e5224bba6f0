// The note under the button when the page's language changes while it shows a refusal, on a page that has not loaded
// the new language's sentences yet (a file of its own: a page of tests would have loaded them). Its status region
// announces each change: it must go from the old sentence to the new one, with no empty or general one between.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { helperError, http, part, pause, useFakeHelper, waitUntil, worker } from './support.js';

describe('language change under a refusal', () => {
  useFakeHelper();

  it('says the refusal in the new language once its sentences are there, and nothing between', async () => {
    worker.use(http.post('/api/checkout/sessions', helperError(404, 'unknown_order')));
    const wrapper = await fixture<HTMLDivElement>(html`<div lang="en"><pay-checkout order-id="A-404" amount="1500" mode="redirect"></pay-checkout></div>`);
    const el = wrapper.querySelector('pay-checkout')!;
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-error');
    await el.updateComplete;
    const note = el.shadowRoot!.getElementById('note')!;
    const said: string[] = [note.textContent!];
    new MutationObserver(() => said.push(note.textContent!)).observe(note, { subtree: true, characterData: true, childList: true });
    wrapper.lang = 'ru';
    await waitUntil(() => said.at(-1) === 'Заказ не найден.', 'the Russian sentence');
    await pause(100);
    expect(said).to.deep.equal(['The order was not found.', 'Заказ не найден.']);
  });
});
