// Where the keyboard focus goes when what held it leaves the page: the payment frame taken out of the dialog (a return,
// a settled status), the button replaced by the inline panel. It stays in the checkout, never on the page's body.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import {
  helper,
  openModal,
  part,
  PayCheckout,
  postReturn,
  returnMessage,
  useFakeHelper,
  useFastTiming,
  waitUntil,
} from './support.js';

/**
 * What has the focus inside the element's shadow root (its id, part or text), or 'body' when the focus fell to the page.
 * A string, not the element: a failed comparison then reports text rather than a node out of the shadow root.
 */
function focused(el: PayCheckout): string {
  const active = document.activeElement === el ? el.shadowRoot!.activeElement : null;
  return active ? active.id || active.getAttribute('part') || active.textContent! : document.activeElement!.localName;
}

/** A modal payment whose frame has the focus when the poll finds `status`; resolves once the dialog shows it. */
async function frameFocusedUntil(status: 'paid' | 'expired'): Promise<PayCheckout> {
  const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
  const frame = await openModal(el);
  frame.focus();
  helper.status = status;
  await waitUntil(() => el.state === status, `the poll finds it ${status}`);
  await el.updateComplete;
  await el.updateComplete;
  return el;
}

describe('focus', () => {
  useFakeHelper();
  useFastTiming();

  it('moves from the payment frame to the dialog’s heading when the return takes the frame away', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    frame.focus();
    expect(focused(el)).to.equal('frame');
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await el.updateComplete;
    await el.updateComplete;
    expect(part(el, 'frame')).to.equal(null);
    expect(focused(el)).to.equal('title');
    el.close();
  });

  it('moves from the payment frame to the dialog’s heading when the payment is found paid', async () => {
    const el = await frameFocusedUntil('paid');
    expect(part(el, 'frame')).to.equal(null);
    expect(focused(el)).to.equal('title');
    el.close();
  });

  it('lets keys the payer was still typing in the frame press nothing when it goes', async () => {
    const el = await frameFocusedUntil('expired');
    const creates = helper.creates.length;
    // A space on "try again" would open another payment the payer never asked for.
    await sendKeys({ type: 'IVAN PETROV' });
    await el.updateComplete;
    expect(focused(el)).to.equal('title');
    expect(helper.creates.length - creates).to.equal(0);
    expect(el.state).to.equal('expired');
    el.close();
  });

  it('leaves the focus where the payer put it outside the frame', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    const close = part<HTMLButtonElement>(el, 'close-button')!;
    close.focus();
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'the poll finds it paid');
    await el.updateComplete;
    await el.updateComplete;
    expect(focused(el)).to.equal('close-button');
    el.close();
  });

  it('moves from the pay button to the inline panel’s title when the panel replaces the button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="inline"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.focus();
    const opened = oneEvent(el, 'pay-open');
    await sendKeys({ press: 'Enter' });
    await opened;
    await el.updateComplete;
    expect(part(el, 'button')).to.equal(null);
    expect(focused(el)).to.equal('title');
    // The next Tab goes on inside the panel.
    await sendKeys({ press: 'Tab' });
    expect(focused(el)).to.not.equal('body');
    el.close();
  });
});
