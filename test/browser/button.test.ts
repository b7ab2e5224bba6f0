// The button as the first render draws it: the properties' defaults, its text and state attributes (written after
// the template's render, in the same update) and a paid or held order read from sessionStorage, all before anything
// else renders; its texts in later updates; and its hover transition, which comes with the payer's first intent.
import { expect, fixture, html, nextFrame, oneEvent } from '@open-wc/testing';
import { resetMouse, sendMouse } from '@web/test-runner-commands';
import { attemptKey } from '../../src/attempts.js';
import { formatMoney, t } from '../../src/i18n.js';
import { dialogOf, focusIntent, part, PayCheckout, settleInModal, useFakeHelper, waitUntil } from './support.js';

interface FirstRender {
  text: string;
  attributes: Record<string, string | null>;
}

/** A page of the shop with one pay button (fixtures/shop-page.html): `?order=`, `?lang=`. */
const SHOP_PAGE = new URL('./fixtures/shop-page.html', import.meta.url).pathname;

interface ShopFirstFrame {
  text: string;
  disabled: string | null;
  /** The tab's storage reads before the first frame was drawn. */
  reads: number;
}
type ShopWindow = Window & { firstFrame?: ShopFirstFrame; runIdle(): void };

const ATTRIBUTES = ['disabled', 'aria-disabled', 'aria-busy', 'aria-haspopup', 'aria-expanded'];

/** Notes the button as the first update leaves it, before any later update could change it. */
class FirstRenderProbe extends PayCheckout {
  first?: FirstRender;

  protected override firstUpdated(): void {
    const button = part<HTMLButtonElement>(this, 'button')!;
    this.first = {
      text: button.textContent!,
      attributes: Object.fromEntries(ATTRIBUTES.map((name) => [name, button.getAttribute(name)])),
    };
  }
}
customElements.define('pay-checkout-first-render', FirstRenderProbe);

async function firstRender(attributes: Record<string, string>): Promise<FirstRender> {
  const el = document.createElement('pay-checkout-first-render') as FirstRenderProbe;
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, value);
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    document.body.append(el);
    await el.updateComplete;
  } finally {
    console.warn = warn;
    el.remove();
  }
  return el.first!;
}

describe('the button', () => {
  useFakeHelper();
  afterEach(() => sessionStorage.clear());

  it('reads the documented defaults before any attribute is set', async () => {
    const el = document.createElement('pay-checkout');
    expect([el.orderId, el.amount, el.provider, el.methods, el.method, el.locale, el.label, el.returnUrl]).to.deep.equal(
      [null, null, null, null, null, null, null, null],
    );
    expect([el.sessionUrl, el.currency, el.mode, el.disabled]).to.deep.equal(['/api/checkout/sessions', 'RUB', 'auto', false]);
  });

  it('keeps each element\'s own values apart from the defaults, and a removed attribute leaves null as before', async () => {
    const a = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal" currency="EUR"></pay-checkout>`);
    const b = await fixture<PayCheckout>(html`<pay-checkout order-id="B-1"></pay-checkout>`);
    expect([a.mode, a.currency, b.mode, b.currency]).to.deep.equal(['modal', 'EUR', 'auto', 'RUB']);
    a.removeAttribute('mode');
    expect(a.mode).to.equal(null);
    expect(b.mode).to.equal('auto');
  });

  it('a property set before the element is defined is kept', async () => {
    const el = document.createElement('pay-checkout-early') as PayCheckout;
    el.setAttribute('order-id', 'A-1');
    el.mode = 'popup';
    customElements.define('pay-checkout-early', class extends PayCheckout {});
    document.body.append(el);
    await el.updateComplete;
    el.remove();
    expect(el.mode).to.equal('popup');
    expect(el.currency).to.equal('RUB');
  });

  it('draws its label and state attributes in the first render', async () => {
    expect(await firstRender({ 'order-id': 'A-1', amount: '650' })).to.deep.equal({
      text: `Оплатить ${formatMoney('ru', '650', 'RUB')}`,
      attributes: { disabled: null, 'aria-disabled': null, 'aria-busy': 'false', 'aria-haspopup': null, 'aria-expanded': null },
    });
  });

  it('offers the method picker in the first render', async () => {
    const { attributes } = await firstRender({ 'order-id': 'A-1', methods: 'sbp,card' });
    expect([attributes['aria-haspopup'], attributes['aria-expanded']]).to.deep.equal(['listbox', 'false']);
  });

  it('is disabled in the first render when disabled or misconfigured', async () => {
    expect((await firstRender({ 'order-id': 'A-1', disabled: '' })).attributes.disabled).to.equal('');
    expect((await firstRender({ 'order-id': 'A-1', mode: 'fullscreen' })).attributes.disabled).to.equal('');
  });

  it('an update that changes nothing writes no attribute of the button, as bindings would not', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" methods="sbp,card"></pay-checkout>`);
    const records: MutationRecord[] = [];
    const observer = new MutationObserver((list) => records.push(...list));
    observer.observe(el.shadowRoot!, { attributes: true, subtree: true });
    el.requestUpdate();
    await el.updateComplete;
    observer.disconnect();
    expect(records.map((r) => r.attributeName)).to.deep.equal([]);
  });

  it('writes its text again when the amount, the label or the state changes, on the same button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="650" mode="modal"></pay-checkout>`);
    const button = part<HTMLButtonElement>(el, 'button')!;
    el.amount = '700';
    await el.updateComplete;
    expect(button.textContent).to.equal(`Оплатить ${formatMoney('ru', '700', 'RUB')}`);
    el.setAttribute('label', 'Купить');
    await el.updateComplete;
    expect(button.textContent).to.equal('Купить');
    await settleInModal(el, 'paid');
    el.close();
    await el.updateComplete;
    expect(button.textContent, 'a paid order says so, whatever the label').to.equal('Оплачено');
    expect(part(el, 'button')).to.equal(button);
  });

  it('an update that changes nothing writes no text, as bindings would not', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="650"></pay-checkout>`);
    const records: MutationRecord[] = [];
    const observer = new MutationObserver((list) => records.push(...list));
    observer.observe(el.shadowRoot!, { childList: true, characterData: true, subtree: true });
    el.requestUpdate();
    await el.updateComplete;
    observer.disconnect();
    expect(records).to.deep.equal([]);
  });

  it('shows a configuration problem under the button, and nothing once it is fixed', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1"></pay-checkout>`);
    const note = part(el, 'status')!;
    expect([note.textContent, getComputedStyle(note).display]).to.deep.equal(['', 'none']);
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      el.setAttribute('mode', 'fullscreen');
      await el.updateComplete;
    } finally {
      console.warn = warn;
    }
    expect(note.textContent).to.equal(t('ru', 'configInvalid', { attr: 'mode' }));
    expect(getComputedStyle(note).display).to.not.equal('none');
    expect(part<HTMLButtonElement>(el, 'button')!.disabled).to.equal(true);
    el.setAttribute('mode', 'modal');
    await el.updateComplete;
    expect([note.textContent, getComputedStyle(note).display]).to.deep.equal(['', 'none']);
    expect(part<HTMLButtonElement>(el, 'button')!.disabled).to.equal(false);
  });

  it('keeps its button, and the focus on it, when the checkout loads on focus; the closed dialog comes after the status line', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const button = part<HTMLButtonElement>(el, 'button')!;
    button.focus();
    focusIntent(el);
    await waitUntil(() => el.shadowRoot!.querySelector('dialog'), 'the closed dialog rendered');
    await el.updateComplete;
    expect(part(el, 'button')).to.equal(button);
    expect(el.shadowRoot!.activeElement).to.equal(button);
    expect(part(el, 'status')!.compareDocumentPosition(dialogOf(el)) & Node.DOCUMENT_POSITION_FOLLOWING).to.not.equal(0);
    button.click();
    await oneEvent(el, 'pay-open');
    expect(dialogOf(el).open).to.equal(true);
    el.close();
  });

  it('the button put back after the inline panel opens the payment again', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="inline"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(part(el, 'button')).to.equal(null);
    el.close();
    await waitUntil(() => part(el, 'button'), 'the button is back');
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(part(el, 'frame')).to.not.equal(null);
    el.close();
  });

  describe('a paid or held order of this tab, on a page of the shop in a frame (the same sessionStorage)', () => {
    let frame: HTMLIFrameElement;
    beforeEach(() => {
      frame = document.createElement('iframe');
      document.body.append(frame);
    });
    afterEach(() => frame.remove());

    /** Navigates the frame (a link, a reload) and answers with its element's first frame. */
    async function firstFrame(navigate: (win: Window) => void): Promise<ShopFirstFrame> {
      const loaded = new Promise((resolve) => frame.addEventListener('load', resolve, { once: true }));
      navigate(frame.contentWindow!);
      // Past the load event the frame shows the new document, whose module may still be rendering.
      await loaded;
      await waitUntil(() => (frame.contentWindow as ShopWindow).firstFrame, 'the element rendered');
      return (frame.contentWindow as ShopWindow).firstFrame!;
    }

    function button(): HTMLButtonElement {
      const el = frame.contentDocument!.querySelector('pay-checkout')!;
      return el.shadowRoot!.querySelector<HTMLButtonElement>('[part~="button"]')!;
    }

    const paid = (order: string): void =>
      sessionStorage.setItem(attemptKey('/api/checkout/sessions', order), JSON.stringify({ key: 'k1', settled: 'paid' }));

    it('a reload shows "Paid" from the first render, never "Pay"', async () => {
      paid('A-2001');
      await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2001`));
      const first = await firstFrame((win) => win.location.reload());
      expect(first).to.deep.equal({ text: 'Оплачено', disabled: 'true', reads: 1 });
    });

    it('a reload shows "Under review" for a held order from the first render', async () => {
      sessionStorage.setItem(attemptKey('/api/checkout/sessions', 'A-2002'), JSON.stringify({ key: 'k2', settled: 'held' }));
      await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2002&lang=en`));
      expect((await firstFrame((win) => win.location.reload())).text).to.equal('Under review');
    });

    it('the return from a redirect payment reads the order\'s attempt for the first render', async () => {
      paid('A-2003');
      const first = await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2003#pay-checkout=cs_9:success`));
      expect([first.text, first.reads]).to.deep.equal(['Оплачено', 1]);
    });

    it('a page reached through a link draws its first frame without touching the storage, and shows "Paid" once idle', async () => {
      paid('A-2004');
      const first = await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2004`));
      expect(first).to.deep.equal({ text: `Оплатить ${formatMoney('ru', '650', 'RUB')}`, disabled: null, reads: 0 });
      (frame.contentWindow as ShopWindow).runIdle();
      await waitUntil(() => button().textContent === 'Оплачено', 'the attempt read at the first idle moment');
      expect(button().getAttribute('aria-disabled')).to.equal('true');
    });

    it('a press before the idle moment reads the attempt first: the paid order asks for no payment and keeps its record', async () => {
      paid('A-2005');
      await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2005`));
      const win = frame.contentWindow as ShopWindow & typeof globalThis;
      button().dispatchEvent(new win.PointerEvent('pointerdown', { bubbles: true, composed: true, button: 0 }));
      // Read inside the press, before the checkout could ask the helper for a session ahead of the click.
      expect(button().textContent).to.equal('Оплачено');
      button().click();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const el = frame.contentDocument!.querySelector('pay-checkout') as PayCheckout;
      expect(el.state).to.equal('paid');
      expect(win.performance.getEntriesByType('resource').filter((entry) => entry.name.includes('/sessions'))).to.deep.equal([]);
      expect(JSON.parse(sessionStorage.getItem(attemptKey('/api/checkout/sessions', 'A-2005'))!)).to.deep.equal({ key: 'k1', settled: 'paid' });
    });

    it('open() before the idle moment reads the attempt first', async () => {
      paid('A-2006');
      await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2006`));
      const el = frame.contentDocument!.querySelector('pay-checkout') as PayCheckout;
      el.open();
      expect(el.state).to.equal('paid');
      expect(button().textContent).to.equal('Оплачено');
    });

    it('an element taken off the page before the idle moment and put back after it reads the attempt', async () => {
      paid('A-2007');
      await firstFrame((win) => (win.location.href = `${SHOP_PAGE}?order=A-2007`));
      const el = frame.contentDocument!.querySelector('pay-checkout') as PayCheckout;
      el.remove();
      (frame.contentWindow as ShopWindow).runIdle();
      frame.contentDocument!.body.append(el);
      await el.updateComplete;
      expect(button().textContent).to.equal('Оплачено');
    });
  });

  it('writes the amount exactly as Intl.NumberFormat does, in the first render', async () => {
    for (const [locale, amount, currency] of [
      ['ru', '1500', 'RUB'],
      ['en', '1500.5', 'RUB'],
      ['en', '19.99', 'EUR'],
      ['de', '1234.56', 'RUB'],
    ]) {
      const whole = Number.isInteger(Number(amount));
      const intl = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: whole ? 0 : 2 }).format(Number(amount));
      const { text } = await firstRender({ 'order-id': 'A-1', amount, currency, locale });
      expect(text.endsWith(intl), `${locale} ${amount} ${currency}: ${text}`).to.equal(true);
    }
  });

  it('animates the first hover too: the transition arrives with the payer\'s first move on the page', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="650"></pay-checkout>`);
    const button = part<HTMLButtonElement>(el, 'button')!;
    expect(getComputedStyle(button).transitionDuration, 'no transition before any activity').to.equal('0s');
    const started: string[] = [];
    button.addEventListener('transitionrun', (event) => started.push(event.propertyName));
    try {
      await sendMouse({ type: 'move', position: [innerWidth - 2, innerHeight - 2] });
      const box = button.getBoundingClientRect();
      await sendMouse({ type: 'move', position: [Math.round(box.x + box.width / 2), Math.round(box.y + box.height / 2)] });
      await nextFrame();
      expect(button.matches(':hover')).to.equal(true);
      expect(getComputedStyle(button).transitionDuration).to.equal('0.15s');
      expect(started, 'the hover\'s filter change is animated').to.deep.equal(['filter']);
      const later = await fixture<PayCheckout>(html`<pay-checkout order-id="A-2"></pay-checkout>`);
      expect(getComputedStyle(part(later, 'button')!).transitionDuration, 'an element added later has it at once').to.equal('0.15s');
    } finally {
      await resetMouse();
    }
  });
});
