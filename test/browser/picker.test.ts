import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { MethodPicker } from '../../src/method-picker.js';
import { dialogOf, helper, part, PayCheckout, useFakeHelper, waitUntil } from './support.js';

async function openPicker(el: PayCheckout): Promise<HTMLElement> {
  part<HTMLButtonElement>(el, 'button')!.click();
  await waitUntil(() => part(el, 'picker')?.matches(':popover-open'), 'the picker opens');
  return part<HTMLElement>(el, 'picker')!;
}

/** Waits until the list sits just below the button, left edges aligned (6 px apart, as designed). */
async function placedBelow(el: PayCheckout, picker: HTMLElement): Promise<void> {
  await waitUntil(() => {
    const b = part(el, 'button')!.getBoundingClientRect();
    const p = picker.getBoundingClientRect();
    return Math.round(p.top - b.bottom) === 6 && Math.round(p.left) === Math.round(b.left);
  }, 'the picker is placed below the button');
}

function options(picker: HTMLElement): HTMLElement[] {
  return [...picker.querySelectorAll<HTMLElement>('[role="option"]')];
}

describe('method picker', () => {
  useFakeHelper();

  it('lists the methods with labels from /config as a listbox anchored below the button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card" mode="modal"></pay-checkout>`);
    const button = part<HTMLButtonElement>(el, 'button')!;
    expect(button.getAttribute('aria-haspopup')).to.equal('listbox');
    const picker = await openPicker(el);
    await el.updateComplete;
    expect(button.getAttribute('aria-expanded')).to.equal('true');
    expect(picker.getAttribute('role')).to.equal('listbox');
    expect(picker.getAttribute('aria-label')).to.equal('Способ оплаты');
    expect(options(picker).map((o) => o.textContent)).to.deep.equal(['СБП', 'Банковская карта']);
    await placedBelow(el, picker);
    expect(el.shadowRoot!.activeElement).to.equal(options(picker)[0]);
    expect(helper.creates).to.have.length(0);
  });

  it('moves with the arrow keys and chooses with Enter, sending the method', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card" mode="modal" locale="en"></pay-checkout>`);
    const picker = await openPicker(el);
    await sendKeys({ press: 'ArrowDown' });
    await el.updateComplete;
    expect(el.shadowRoot!.activeElement).to.equal(options(picker)[1]);
    expect(options(picker)[1]!.getAttribute('aria-selected')).to.equal('true');
    await sendKeys({ press: 'ArrowDown' });
    expect(el.shadowRoot!.activeElement?.textContent).to.equal('Faster Payments (SBP)');
    await sendKeys({ press: 'ArrowUp' });
    // Listening before the key: the session may be answered, and pay-open sent, before sendKeys() returns.
    const opened = oneEvent(el, 'pay-open');
    await sendKeys({ press: 'Enter' });
    expect(dialogOf(el).open).to.equal(true);
    const { detail } = await opened;
    expect(detail.session.method).to.equal('card');
    expect(helper.creates[0]!.body.method).to.equal('card');
    expect(part(el, 'picker')).to.equal(null);
    el.close();
  });

  it('closes on Esc and gives focus back to the button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
    await openPicker(el);
    await sendKeys({ press: 'Escape' });
    await el.updateComplete;
    expect(part(el, 'picker')).to.equal(null);
    expect(el.shadowRoot!.activeElement).to.equal(part(el, 'button'));
    expect(part(el, 'button')!.getAttribute('aria-expanded')).to.equal('false');
    expect(helper.creates).to.have.length(0);
  });

  it('closes on a click outside', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
    await openPicker(el);
    document.body.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, composed: true }));
    await el.updateComplete;
    expect(part(el, 'picker')).to.equal(null);
  });

  it('chooses with a click', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card" mode="modal"></pay-checkout>`);
    const picker = await openPicker(el);
    options(picker)[0]!.click();
    const { detail } = await oneEvent(el, 'pay-open');
    expect(detail.session.method).to.equal('sbp');
    el.close();
  });

  it('a preselected method skips the picker', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card" method="card" mode="modal"></pay-checkout>`);
    expect(part(el, 'button')!.hasAttribute('aria-haspopup')).to.equal(false);
    part<HTMLButtonElement>(el, 'button')!.click();
    const { detail } = await oneEvent(el, 'pay-open');
    expect(detail.session.method).to.equal('card');
    el.close();
  });

  it('is placed by CSS anchor positioning where the browser has it, without writing a position', async () => {
    expect(MethodPicker.cssAnchors).to.equal(CSS.supports('anchor-name: --x'));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
    const picker = await openPicker(el);
    await placedBelow(el, picker);
    expect(getComputedStyle(picker).getPropertyValue('position-anchor')).to.equal('--pay-checkout-button');
    expect(picker.style.top).to.equal('');
    expect(picker.style.left).to.equal('');
  });

  for (const anchors of [true, false]) {
    it(`follows the button when the page scrolls (${anchors ? 'CSS anchor positioning' : '@floating-ui fallback'})`, async () => {
      const saved = MethodPicker.cssAnchors;
      MethodPicker.cssAnchors = anchors;
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
      const spacer = document.createElement('div');
      spacer.style.height = '3000px';
      document.body.append(spacer);
      try {
        const picker = await openPicker(el);
        await placedBelow(el, picker);
        // The fallback writes the position itself; CSS anchoring never does.
        expect(picker.style.top !== '').to.equal(!anchors);
        const before = picker.getBoundingClientRect().top;
        window.scrollBy(0, 40);
        await waitUntil(() => picker.getBoundingClientRect().top !== before, 'moved with the page');
        await placedBelow(el, picker);
        window.scrollTo(0, 0);
      } finally {
        MethodPicker.cssAnchors = saved;
        spacer.remove();
        el.close();
      }
    });
  }
});
