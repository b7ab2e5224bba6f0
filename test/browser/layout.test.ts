import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { TemplateResult } from 'lit';
import { setViewport } from '@web/test-runner-commands';
import { API, CONFIG, delay, dialogOf, helper, hover, http, HttpResponse, part, PayCheckout, useFakeHelper, worker, waitUntil } from './support.js';

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
    const expiresAt = Date.now() + 10 * 60_000 - 500;
    helper.expiresAt = new Date(expiresAt).toISOString();
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    el.open();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    const timer = () => dialogOf(el).querySelector('[role="timer"]')?.textContent ?? '';
    /** The seconds the line shows, from its `mm:ss`. */
    const shown = () => {
      const match = /^Осталось (\d\d):(\d\d)$/.exec(timer());
      return match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
    };
    // What is left of the provider's window, however long the machine took to get here.
    const first = shown();
    expect(first).to.be.within(Math.floor((expiresAt - Date.now()) / 1000) - 1, 600);
    await waitUntil(() => shown() < first, 'the countdown ticks', { timeout: 3000 });
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
    expect(part(el, 'header')!.querySelector('h2')!.textContent).to.equal('Order A-1');
    el.close();
  });
});

/** The header's title: its text, and whether it stays on one line (cut with an ellipsis when too long). */
function headerTitle(el: PayCheckout) {
  const h2 = part(el, 'header')!.querySelector('h2')!;
  const style = getComputedStyle(h2);
  return {
    text: h2.textContent,
    lines: Math.round(h2.getBoundingClientRect().height / parseFloat(style.lineHeight === 'normal' ? String(parseFloat(style.fontSize) * 1.2) : style.lineHeight)),
    cut: h2.scrollWidth > h2.clientWidth && style.textOverflow === 'ellipsis',
  };
}

/** The element's dialog, open on a phone-sized screen. */
async function narrowModal(template: TemplateResult): Promise<PayCheckout> {
  await setViewport({ width: 360, height: 700 });
  const el = await fixture<PayCheckout>(template);
  el.open();
  await oneEvent(el, 'pay-open');
  await el.updateComplete;
  return el;
}

describe('dialog header title', () => {
  useFakeHelper();
  afterEach(() => setViewport({ width: 800, height: 600 }));

  it("shows the merchant's description on one line, cut with an ellipsis on a narrow screen", async () => {
    helper.description = 'Иван-чай ферментированный, листовой, 250 г, урожай 2026 года, с доставкой курьером';
    const el = await narrowModal(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const title = headerTitle(el);
    expect(title.text).to.equal(helper.description);
    expect(title.lines).to.equal(1);
    expect(title.cut).to.equal(true);
    // The whole text stays available: as the dialog's accessible name and as a tooltip.
    expect(part(el, 'header')!.querySelector('h2')!.title).to.equal(helper.description);
    el.close();
  });

  it('gives the title the header\'s first line on a narrow screen, the new-window link a line of its own', async () => {
    helper.description = 'Павлопосадский платок «Весенний сад», шерсть';
    const el = await narrowModal(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const header = part(el, 'header')!;
    const h2 = header.querySelector('h2')!.getBoundingClientRect();
    const link = header.querySelector<HTMLAnchorElement>('a.new-window')!;
    expect(h2.width).to.be.above(header.getBoundingClientRect().width / 2);
    const box = link.getBoundingClientRect();
    expect(box.top).to.be.at.least(h2.bottom);
    expect(link.scrollWidth).to.be.at.most(link.clientWidth + 1);
    // Only the link's own text is a tap target, not the rest of its line; one line of header more, no empty one.
    expect(box.width).to.be.below(header.getBoundingClientRect().width / 2);
    expect(box.top - part(el, 'close-button')!.getBoundingClientRect().bottom).to.be.below(4);
    expect(headerTitle(el).lines).to.equal(1);
    el.close();
  });

  it('keeps an inline panel inside its container on a narrow screen, whatever the title', async () => {
    await setViewport({ width: 320, height: 700 });
    helper.description = 'Павлопосадский платок «Весенний сад», шерсть, 146 × 146 см';
    const el = await fixture<PayCheckout>(html`<div style="width: 300px"><pay-checkout order-id="A-1001" mode="inline"></pay-checkout></div>`).then((div) => div.querySelector('pay-checkout')!);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    const container = el.parentElement!.getBoundingClientRect();
    expect(el.getBoundingClientRect().width).to.equal(container.width);
    const close = part(el, 'close-button')!.getBoundingClientRect();
    expect(close.right).to.be.at.most(container.right);
    expect(headerTitle(el)).to.include({ lines: 1, cut: true });
    expect(document.documentElement.scrollWidth).to.be.at.most(320);
    el.close();
  });

  it('gives an inline panel its container\'s width with mode set as a property, and leaves the idle button inline', async () => {
    await setViewport({ width: 1200, height: 800 });
    helper.description = 'Павлопосадский платок «Весенний сад», шерсть, 146 × 146 см';
    const box = await fixture<HTMLDivElement>(html`<div style="width: 700px">Итого <pay-checkout order-id="A-1001"></pay-checkout> к оплате</div>`);
    const el = box.querySelector('pay-checkout')!;
    el.mode = 'inline';
    await el.updateComplete;
    expect(el.getBoundingClientRect().width).to.be.below(700);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(el.getBoundingClientRect().width).to.equal(700);
    expect(part(el, 'header')!.querySelector('h2')!.getBoundingClientRect().width).to.be.above(300);
    // The page's own ElementInternals are untouched, and `hidden` still hides it.
    expect(() => el.attachInternals()).to.not.throw();
    el.hidden = true;
    expect(getComputedStyle(el).display).to.equal('none');
    el.hidden = false;
    el.close();
    await el.updateComplete;
    await el.updateComplete;
    expect(el.hasAttribute('panel')).to.equal(false);
    expect(el.getBoundingClientRect().width).to.be.below(700);
  });

  it('without a description shows a short order label, and a long order id never wraps', async () => {
    const id = 'ORD-7f3c2a1e-9b8d-4c6f-a5e4-3d2c1b0a9f8e-2026-12-01';
    const el = await narrowModal(html`<pay-checkout order-id=${id} mode="modal"></pay-checkout>`);
    const title = headerTitle(el);
    expect(title.text).to.equal(`Заказ ${id}`);
    expect(title.lines).to.equal(1);
    expect(title.cut).to.equal(true);
    el.close();
  });

  it('shows the order label while the session is being created, in the element\'s language', async () => {
    helper.description = 'Green tea';
    // A slow helper, so the "creating" state can be looked at; then the default handler answers.
    worker.use(http.post(`${API}/sessions`, () => delay(150).then(() => undefined)));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal" locale="en"></pay-checkout>`);
    el.open();
    await waitUntil(() => el.state === 'creating' && part(el, 'header'), 'the dialog shows "creating"');
    expect(headerTitle(el).text).to.equal('Order A-1001');
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    expect(headerTitle(el).text).to.equal('Green tea');
    el.close();
  });
});

describe('sandbox pages follow the element locale', () => {
  useFakeHelper();

  async function framedUrl(el: PayCheckout): Promise<URL> {
    // /config first (the first intent): it says which providers are the sandbox.
    hover(el);
    await waitUntil(() => helper.configs === 1);
    await new Promise((r) => setTimeout(r, 20));
    el.open();
    await oneEvent(el, 'pay-open');
    await el.updateComplete;
    return new URL(part<HTMLIFrameElement>(el, 'frame')!.src);
  }

  it('asks the sandbox page for Russian by default', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" provider="repay" mode="modal"></pay-checkout>`);
    const url = await framedUrl(el);
    expect(url.searchParams.get('lang')).to.equal('ru');
    expect(url.searchParams.get('session')).to.equal('cs_1');
    el.close();
  });

  it('asks the sandbox page for English when the element is in English', async () => {
    const wrapper = await fixture(html`<div lang="en-GB"><pay-checkout order-id="A-1" provider="repay" mode="modal"></pay-checkout></div>`);
    const el = wrapper.querySelector('pay-checkout')!;
    expect((await framedUrl(el)).searchParams.get('lang')).to.equal('en');
    el.close();
  });

  it("never changes a real provider's page URL", async () => {
    worker.use(http.get(`${API}/config`, () => {
      helper.configs++;
      return HttpResponse.json({ ...CONFIG, sandbox: false, providers: CONFIG.providers.map((p) => ({ ...p, sandbox: false })) });
    }));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" provider="repay" mode="modal" locale="en"></pay-checkout>`);
    const url = await framedUrl(el);
    expect(url.searchParams.has('lang')).to.equal(false);
    el.close();
  });
});
