import { expect, fixture, html } from '@open-wc/testing';
import { helper, part, PayCheckout, useFakeHelper, waitUntil } from './support.js';

/** Long enough for an IntersectionObserver, an idle callback or a fetch to have happened had one been started. */
const settle = () => new Promise((r) => setTimeout(r, 300));

// The checkout module itself is already in this page (support.ts imports it); what the element asks for on its
// own is seen through the helper's /config and the flow it renders (its closed <dialog>).
describe('loading on intent', () => {
  useFakeHelper();

  it('a visible button on a page nobody touches asks for nothing more', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500"></pay-checkout>`);
    await settle();
    expect(helper.configs).to.equal(0);
    expect(el.shadowRoot!.querySelector('dialog')).to.equal(null);
  });

  for (const [intent, fire] of [
    ['hover', (b: HTMLElement) => b.dispatchEvent(new PointerEvent('pointerover', { bubbles: true, composed: true }))],
    ['focus', (b: HTMLElement) => b.focus()],
    ['touch', (b: HTMLElement) => b.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, composed: true, pointerType: 'touch' }))],
    ['press', (b: HTMLElement) => b.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, composed: true, button: 0 }))],
  ] as const) {
    it(`${intent} on the button loads the checkout and /config, and prepares the dialog`, async () => {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      fire(part(el, 'button')!);
      await waitUntil(() => helper.configs === 1 && el.shadowRoot!.querySelector('dialog'), 'the flow is ready');
      expect(el.shadowRoot!.querySelector('dialog')!.open).to.equal(false);
      // A press before the checkout was loaded starts no session early: the click that follows does.
      expect(helper.creates.length).to.equal(0);
    });
  }

  it("the payer's first activity on the page preloads at idle, once for all elements of a helper", async () => {
    const wrapper = await fixture(html`<div>
      <pay-checkout order-id="A-1"></pay-checkout>
      <pay-checkout order-id="A-2"></pay-checkout>
    </div>`);
    await settle();
    expect(helper.configs).to.equal(0);
    window.dispatchEvent(new PointerEvent('pointermove'));
    await waitUntil(() => helper.configs === 1, '/config is preloaded');
    window.dispatchEvent(new PointerEvent('pointermove'));
    await settle();
    expect(helper.configs).to.equal(1);
    // Preloading is not an intent: no element renders its flow, none asks for a session.
    for (const el of wrapper.querySelectorAll('pay-checkout')) expect(el.shadowRoot!.querySelector('dialog')).to.equal(null);
    expect(helper.creates).to.have.length(0);
  });
});
