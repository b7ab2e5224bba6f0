import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  dialogOf,
  helper,
  part,
  PayCheckout,
  resetHelper,
  trackListeners,
  worker,
  hover,
  useFakeHelper,
  delay,
  http,
  HttpResponse,
  waitUntil,
  names,
  openModal,
  pause,
  record,
  fastTiming,
} from './support.js';

describe('lifecycle', () => {
  useFakeHelper();

  it('20 open/close cycles leave one dialog and no listeners behind', async () => {
    const tracker = trackListeners();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      for (let i = 0; i < 20; i++) {
        el.open();
        await oneEvent(el, 'pay-open');
        el.close();
        await oneEvent(el, 'pay-cancel');
      }
      await el.updateComplete;
      expect(el.shadowRoot!.querySelectorAll('dialog')).to.have.length(1);
      expect(el.shadowRoot!.querySelectorAll('iframe')).to.have.length(0);
      expect(dialogOf(el).open).to.equal(false);
      expect(tracker.active((type) => type === 'message')).to.deep.equal([]);
      expect(document.documentElement.style.overflow).to.equal('');
      // One session for the order, however many times it was opened.
      expect(new Set(helper.creates.map((c) => c.key)).size).to.equal(1);
      el.remove();
      expect(tracker.active()).to.deep.equal([]);
    } finally {
      tracker.restore();
    }
  });

  it('removal mid-flow aborts the request, releases the page and ignores the late answer', async () => {
    worker.use(
      http.post('/api/checkout/sessions', async () => {
        await delay(300);
        return HttpResponse.json({});
      }),
    );
    const requests: Request[] = [];
    const realFetch = window.fetch;
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      if (input instanceof Request) requests.push(input);
      return realFetch(input, init);
    };
    const tracker = trackListeners();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
      const events: Event[] = [];
      for (const name of ['pay-open', 'pay-error', 'pay-close']) el.addEventListener(name, (e) => events.push(e));
      el.open();
      await waitUntil(() => el.state === 'creating');
      await new Promise((r) => setTimeout(r, 50));
      el.remove();
      const post = requests.find((r) => r.method === 'POST')!;
      await waitUntil(() => post.signal.aborted, 'the request is aborted');
      await new Promise((r) => setTimeout(r, 400));
      expect(events).to.have.length(0);
      expect(tracker.active()).to.deep.equal([]);
      expect(document.documentElement.style.overflow).to.equal('');
      // Re-insertion works.
      worker.resetHandlers();
      document.body.append(el);
      await el.updateComplete;
      expect(el.state).to.equal('idle');
      el.open();
      await oneEvent(el, 'pay-open');
      await waitUntil(() => dialogOf(el).open);
      el.remove();
    } finally {
      tracker.restore();
      window.fetch = realFetch;
    }
  });

  /** A popup window as the element sees it: a same-origin frame's window whose closing is observed through `closed`. */
  async function popupIn(run: (state: { closed: boolean }) => Promise<void>): Promise<void> {
    const frame = document.createElement('iframe');
    frame.hidden = true;
    document.body.append(frame);
    const state = { closed: false };
    const popup = new Proxy(frame.contentWindow!, {
      get: (target, key) =>
        key === 'closed' ? state.closed : key === 'close' ? () => void (state.closed = true) : key === 'location' ? { set href(_url: string) {} } : Reflect.get(target, key),
    });
    const original = window.open;
    window.open = (() => popup) as typeof window.open;
    const restore = fastTiming();
    try {
      await run(state);
    } finally {
      restore();
      window.open = original;
      frame.remove();
    }
  }

  /** A popup payment under way, and the events the element reports from then on. */
  async function payInPopup(): Promise<{ el: PayCheckout; events: CustomEvent[] }> {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    return { el, events: record(el, ['pay-close', 'pay-cancel', 'pay-success']) };
  }

  it('moved in the page while a popup shows the payment: the popup and its checks go on', async () => {
    await popupIn(async (win) => {
      const { el, events } = await payInPopup();
      const elsewhere = document.createElement('div');
      document.body.append(elsewhere);
      elsewhere.append(el);
      await pause(50);
      await el.updateComplete;
      expect(win.closed).to.equal(false);
      expect(el.state).to.equal('waiting');
      helper.status = 'paid';
      await waitUntil(() => el.state === 'paid', 'the session is still polled');
      // The popup of the paid session is closed, and its watch reports it gone.
      await waitUntil(() => names(events).includes('pay-close'), 'the popup is watched still');
      expect(win.closed).to.equal(true);
      expect(names(events)).to.deep.equal(['pay-success', 'pay-close']);
      elsewhere.remove();
    });
  });

  it('removed while a popup shows the payment: the popup is closed and reported gone, nothing is checked any more', async () => {
    await popupIn(async (win) => {
      const { el, events } = await payInPopup();
      el.remove();
      await waitUntil(() => win.closed, 'the popup is closed');
      expect(names(events)).to.deep.equal(['pay-close']);
      expect(events[0]!.detail.session.id).to.equal('cs_1');
      const gets = helper.gets;
      helper.status = 'paid';
      await pause(300);
      expect(helper.gets).to.equal(gets);
      expect(names(events)).to.deep.equal(['pay-close']);
    });
  });

  it('moved in the page while the dialog is open: it stays open and modal', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    await openModal(el);
    const events = record(el, ['pay-close', 'pay-cancel']);
    const elsewhere = document.createElement('div');
    document.body.append(elsewhere);
    elsewhere.append(el);
    await pause(50);
    await el.updateComplete;
    expect(dialogOf(el).matches(':modal')).to.equal(true);
    expect(el.state).to.not.equal('idle');
    expect(names(events)).to.deep.equal([]);
    el.close();
    await el.updateComplete;
    expect(dialogOf(el).open).to.equal(false);
    expect(document.documentElement.style.overflow).to.equal('');
    elsewhere.remove();
  });

  it('many elements on one page each keep their own session', async () => {
    const wrapper = await fixture(html`<div>
      <pay-checkout order-id="A-1" mode="modal"></pay-checkout>
      <pay-checkout order-id="A-2" mode="modal"></pay-checkout>
    </div>`);
    const [a, b] = [...wrapper.querySelectorAll('pay-checkout')] as PayCheckout[];
    a!.open();
    await oneEvent(a!, 'pay-open');
    a!.close();
    b!.open();
    await oneEvent(b!, 'pay-open');
    expect(a!.session!.orderId).to.equal('A-1');
    expect(b!.session!.orderId).to.equal('A-2');
    expect(helper.creates[0]!.key).to.not.equal(helper.creates[1]!.key);
    expect(dialogOf(a!).open).to.equal(false);
    expect(dialogOf(b!).open).to.equal(true);
    b!.close();
  });

  it('elements on one page share one /config request, fetched on first intent and never a session', async () => {
    const wrapper = await fixture(html`<div>
      <pay-checkout order-id="A-1"></pay-checkout>
      <pay-checkout order-id="A-2"></pay-checkout>
      <pay-checkout order-id="A-3"></pay-checkout>
    </div>`);
    // The previous test's focus return (an intent) may still have a /config request in flight: start from zero.
    await new Promise((r) => setTimeout(r, 100));
    resetHelper();
    for (const el of wrapper.querySelectorAll('pay-checkout')) hover(el);
    await waitUntil(() => helper.configs === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(helper.configs).to.equal(1);
    expect(helper.creates).to.have.length(0);
  });

  it('the define module can run twice without throwing', async () => {
    const first = customElements.get('pay-checkout');
    const again = await import(`../../src/define.ts?again=${Date.now()}`);
    expect(customElements.get('pay-checkout')).to.equal(first);
    expect(again.PayCheckout).to.not.equal(undefined);
  });

  it('events bubble out of the shadow root and are composed', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal"></pay-checkout>`);
    const seen = oneEvent(document, 'pay-open');
    el.open();
    const event = await seen;
    expect(event.bubbles).to.equal(true);
    expect(event.composed).to.equal(true);
    expect(event.target).to.equal(el);
    el.close();
  });

  it('the button is a native button with the part name', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1"></pay-checkout>`);
    const button = part<HTMLButtonElement>(el, 'button')!;
    expect(button.localName).to.equal('button');
    expect(button.type).to.equal('button');
  });
});
