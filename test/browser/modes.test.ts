import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sharedConfig } from '../../src/checkout/helper-config.js';
import { navigation } from '../../src/presenters/redirect.js';
import {
  API,
  CONFIG,
  dialogOf,
  focusIntent,
  helper,
  http,
  HttpResponse,
  names,
  part,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  worker,
  hover,
  useFakeHelper,
  openModal,
  fastTiming,
  waitUntil,
} from './support.js';

/** A real window we control, standing in for a popup: a hidden same-origin iframe. */
async function fakePopupWindow(): Promise<{ win: Window; frame: HTMLIFrameElement }> {
  const frame = document.createElement('iframe');
  frame.hidden = true;
  document.body.append(frame);
  return { win: frame.contentWindow!, frame };
}

function stubOpen(result: () => Window | null) {
  const original = window.open;
  const calls: unknown[][] = [];
  window.open = ((...args: unknown[]) => {
    calls.push(args);
    return result();
  }) as typeof window.open;
  return { calls, restore: () => (window.open = original) };
}

/** `run` on a popup-mode element whose payment is open in a stand-in popup (`fakePopupWindow`). */
async function inPopup(run: (el: PayCheckout, win: Window, frame: HTMLIFrameElement) => Promise<void>): Promise<void> {
  const { win, frame } = await fakePopupWindow();
  const open = stubOpen(() => win);
  try {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    await run(el, win, frame);
    el.close();
  } finally {
    open.restore();
    frame.remove();
  }
}

function stubNavigation() {
  const original = navigation.assign;
  const urls: string[] = [];
  navigation.assign = (url: string) => void urls.push(url);
  return { urls, restore: () => (navigation.assign = original) };
}

describe('popup mode', () => {
  useFakeHelper();

  it('opens the window synchronously inside the click, then navigates it to the payment page', async () => {
    const { win, frame } = await fakePopupWindow();
    const open = stubOpen(() => win);
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      // Before any await: the window exists while the click is still being handled.
      expect(open.calls).to.have.length(1);
      expect(open.calls[0]![0]).to.equal('about:blank');
      const { detail } = await oneEvent(el, 'pay-open');
      expect(detail.mode).to.equal('popup');
      await waitUntil(() => frame.contentWindow!.location.href.includes('session=cs_1'), 'the window is navigated');
      expect(el.state).to.equal('waiting');
      await el.updateComplete;
      expect(part(el, 'status')!.textContent).to.contain('открывшемся окне');
      // The return page in the popup posts back; the message's source is that window.
      helper.status = 'paid';
      const events = record(el, ['pay-return', 'pay-success']);
      postReturn(win, returnMessage('cs_1'));
      await oneEvent(el, 'pay-success');
      expect(names(events)).to.deep.equal(['pay-return', 'pay-success']);
    } finally {
      open.restore();
      frame.remove();
    }
  });

  it('turns to a new order-id once the payment open in the popup for the old one is settled, and files it under the old one', async () => {
    sessionStorage.clear();
    const { win, frame } = await fakePopupWindow();
    let closed = false;
    // The popup as the element sees it: closing it is observed through `closed`, as with a real window.
    const popup = new Proxy(win, {
      get: (target, key) =>
        key === 'closed' ? closed : key === 'close' ? () => void (closed = true) : key === 'location' ? { set href(_url: string) {} } : Reflect.get(target, key),
    });
    const open = stubOpen(() => popup);
    const restore = fastTiming();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500" mode="popup"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      // The shop's page behind the popup moves on to another order while A is being paid.
      el.setAttribute('order-id', 'B-2');
      await el.updateComplete;
      helper.status = 'paid';
      await oneEvent(el, 'pay-success');
      await waitUntil(() => closed, 'the popup is closed');
      await waitUntil(() => el.state === 'idle', 'the element offers to pay B');
      expect(part(el, 'button')!.textContent).to.contain('Оплатить');
      const settled = Object.entries(sessionStorage)
        .filter(([, value]) => JSON.parse(value).settled === 'paid')
        .map(([key]) => key.split(':').pop());
      expect(settled).to.deep.equal(['A-1']);
    } finally {
      restore();
      open.restore();
      frame.remove();
    }
  });

  it('ignores a return message from the page itself instead of the popup', () =>
    inPopup(async (el, win) => {
      const events = record(el, ['pay-return']);
      postReturn(window, returnMessage('cs_1'));
      postReturn(win, returnMessage('cs_1'), 'https://attacker.example');
      await new Promise((r) => setTimeout(r, 50));
      expect(events).to.have.length(0);
      // The same message from the popup on the helper's origin does count: the two above were refused for their source.
      postReturn(win, returnMessage('cs_1'));
      expect(names(events)).to.deep.equal(['pay-return']);
    }));

  it('answers its own window\'s return message about its session before the merchant\'s listeners run, so that the return page closes it; no other gets an answer', () =>
    inPopup(async (el, win, frame) => {
      await waitUntil(() => frame.contentWindow!.location.href.includes('session=cs_1'), 'the window is navigated');
      // What the element posts to the window (the payment page's document: the return page would be there).
      const answers: unknown[][] = [];
      frame.contentWindow!.postMessage = ((...args: unknown[]) => void answers.push(args)) as typeof window.postMessage;
      let answeredBeforeListeners: number | undefined;
      el.addEventListener('pay-return', () => (answeredBeforeListeners ??= answers.length));
      postReturn(win, returnMessage('cs_1'), 'https://attacker.example');
      postReturn(win, { ...returnMessage('cs_1'), v: 2 });
      postReturn(win, returnMessage('cs_other'));
      postReturn(window, returnMessage('cs_1'));
      expect(answers).to.deep.equal([]);
      postReturn(win, returnMessage('cs_1'));
      expect(answers).to.deep.equal([[{ type: 'pay-checkout:return-ack', v: 1, sessionId: 'cs_1' }, location.origin]]);
      expect(answeredBeforeListeners).to.equal(1);
    }));

  it('closes the window and reports the error when the session is refused', async () => {
    let closed = false;
    const { win, frame } = await fakePopupWindow();
    const open = stubOpen(() => {
      win.close = () => void (closed = true);
      return win;
    });
    try {
      worker.use(http.post('/api/checkout/sessions', () => HttpResponse.json({ error: { code: 'customer_blocked', message: 'x', retryable: false } }, { status: 403 })));
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
      const events = record(el, ['pay-error', 'pay-close']);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-error');
      expect(closed).to.equal(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(events.map((e) => e.type)).to.deep.equal(['pay-error', 'pay-close']);
      expect(events[0]!.detail.code).to.equal('customer_blocked');
      expect(events[1]!.detail).to.deep.equal({ session: undefined, status: null });
      await el.updateComplete;
      expect(part(el, 'status')!.textContent).to.equal('Оплата временно недоступна. Обратитесь в поддержку магазина.');
      expect(el.state).to.equal('error');
    } finally {
      open.restore();
      frame.remove();
    }
  });

  it('falls back to a redirect with pay-error popup_blocked when the browser refuses the window', async () => {
    const open = stubOpen(() => null);
    const nav = stubNavigation();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
      const events = record(el, ['pay-error', 'pay-open']);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      expect(names(events)).to.deep.equal(['pay-error', 'pay-open']);
      expect(events[0]!.detail).to.deep.include({ code: 'popup_blocked', retryable: false });
      expect(events[1]!.detail.mode).to.equal('redirect');
      expect(nav.urls).to.have.length(1);
      expect(nav.urls[0]).to.contain('session=cs_1');
    } finally {
      open.restore();
      nav.restore();
    }
  });

  // A storefront that answers every error by trying again: its open() waits until the redirect attempt has started.
  for (const [start, methods] of [['the button', ''], ['the method picker', 'sbp,card']] as const) {
    it(`waits with an open() in the popup_blocked listener until the attempt started from ${start} is under way: one attempt`, async () => {
      const open = stubOpen(() => null);
      const nav = stubNavigation();
      try {
        const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup" methods=${methods}></pay-checkout>`);
        const events = record(el, ['pay-error', 'pay-open']);
        el.addEventListener('pay-error', () => el.open());
        part<HTMLButtonElement>(el, 'button')!.click();
        if (methods) {
          await waitUntil(() => part(el, 'picker')?.matches(':popover-open'), 'the picker opens');
          part(el, 'picker')!.querySelector<HTMLElement>('[role="option"]')!.click();
        }
        await oneEvent(el, 'pay-open');
        await waitUntil(() => nav.urls.length > 0, 'the payer is sent to the payment page');
        await new Promise((r) => setTimeout(r, 50));
        await el.updateComplete;
        expect(names(events)).to.deep.equal(['pay-error', 'pay-open']);
        expect(helper.creates).to.have.length(1);
        expect(nav.urls).to.have.length(1);
        // Not offered again while the page leaves for the payment.
        expect(part(el, 'picker')?.matches(':popover-open') ?? false).to.equal(false);
      } finally {
        open.restore();
        nav.restore();
      }
    });
  }

  it('treats the payer closing the window as a dismissal after one status check', async () => {
    const fake = { closed: false, location: { href: '' }, close() { this.closed = true; }, focus() {} };
    const open = stubOpen(() => fake as unknown as Window);
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="popup"></pay-checkout>`);
      const events = record(el, ['pay-close', 'pay-cancel']);
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      expect(fake.location.href).to.contain('session=cs_1');
      fake.closed = true;
      await oneEvent(el, 'pay-cancel');
      expect(names(events)).to.deep.equal(['pay-close', 'pay-cancel']);
      expect(events[0]!.detail.status).to.equal('created');
      expect(events[1]!.detail.reason).to.equal('dismissed');
      expect(helper.gets).to.equal(1);
      expect(el.state).to.equal('idle');
    } finally {
      open.restore();
    }
  });
});

describe('redirect mode', () => {
  useFakeHelper();

  it('keeps the session in sessionStorage and navigates to the payment page', async () => {
    const nav = stubNavigation();
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-7" mode="redirect" return-url="/shop/thanks?x=1"></pay-checkout>`);
      part<HTMLButtonElement>(el, 'button')!.click();
      const { detail } = await oneEvent(el, 'pay-open');
      expect(detail.mode).to.equal('redirect');
      expect(nav.urls).to.deep.equal([`${location.origin}/test/browser/fixtures/pay-page.html?session=cs_1`]);
      expect(helper.creates[0]!.body.returnUrl).to.equal(`${location.origin}/shop/thanks?x=1`);
      expect(el.state).to.equal('redirecting');
      const stored = Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)!).join();
      expect(stored).to.contain('"id":"cs_1"');
      expect(stored).to.contain('tok_cs_1');
    } finally {
      nav.restore();
    }
  });

  it('resumes from the #pay-checkout= hash on return, confirms, and clears the hash', async () => {
    const nav = stubNavigation();
    const first = await fixture<PayCheckout>(html`<pay-checkout order-id="A-7" mode="redirect"></pay-checkout>`);
    part<HTMLButtonElement>(first, 'button')!.click();
    await oneEvent(first, 'pay-open');
    nav.restore();
    first.remove();

    // Back from the provider: a fresh page (a new element) with the hash the helper appended.
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:success`);
    helper.status = 'paid';
    const el = document.createElement('pay-checkout');
    el.setAttribute('order-id', 'A-7');
    el.setAttribute('mode', 'redirect');
    const events = record(el, ['pay-return', 'pay-status', 'pay-success']);
    document.body.append(el);
    await oneEvent(el, 'pay-success');
    expect(names(events)).to.deep.equal(['pay-return', 'pay-status', 'pay-success']);
    expect(events[0]!.detail.outcome).to.equal('success');
    expect(events[0]!.detail.session.id).to.equal('cs_1');
    expect(location.hash).to.equal('');
    await el.updateComplete;
    expect(part(el, 'status')!.textContent).to.equal('Заказ оплачен. Спасибо!');
    expect(part(el, 'button')!.getAttribute('aria-disabled')).to.equal('true');
    expect(part(el, 'button')!.textContent).to.equal('Оплачено');
    el.remove();
  });

  it('leaves a return hash for another order alone', async () => {
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_9:success`);
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="B-1" mode="redirect"></pay-checkout>`);
      const events = record(el, ['pay-return']);
      await new Promise((r) => setTimeout(r, 100));
      expect(events).to.have.length(0);
      expect(location.hash).to.equal('#pay-checkout=cs_9:success');
      expect(helper.gets).to.equal(0);
    } finally {
      history.replaceState(null, '', `${location.pathname}${location.search}`);
    }
  });

  it('a cancel return asks the helper to cancel and fires pay-cancel with reason payer', async () => {
    const nav = stubNavigation();
    const first = await fixture<PayCheckout>(html`<pay-checkout order-id="A-8" mode="redirect"></pay-checkout>`);
    part<HTMLButtonElement>(first, 'button')!.click();
    await oneEvent(first, 'pay-open');
    nav.restore();
    first.remove();
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:cancel`);
    const el = document.createElement('pay-checkout');
    el.setAttribute('order-id', 'A-8');
    el.setAttribute('mode', 'redirect');
    const cancelled = oneEvent(el, 'pay-cancel');
    document.body.append(el);
    const { detail } = await cancelled;
    expect(detail.reason).to.equal('payer');
    expect(helper.cancels).to.equal(1);
    expect(el.state).to.equal('cancelled');
    el.remove();
  });
});

describe('inline mode', () => {
  useFakeHelper();

  it('shows the payment frame in place of the button and puts the button back on close', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="inline"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    const { detail } = await oneEvent(el, 'pay-open');
    expect(detail.mode).to.equal('inline');
    await el.updateComplete;
    expect(part(el, 'button')).to.equal(null);
    const frame = part<HTMLIFrameElement>(el, 'frame')!;
    expect(frame.closest('dialog')).to.equal(null);
    expect(frame.getAttribute('allow')).to.contain('payment');
    helper.status = 'paid';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await oneEvent(el, 'pay-success');
    await el.updateComplete;
    const done = [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('.actions button')].find((b) => b.textContent === 'Готово')!;
    done.click();
    await el.updateComplete;
    await el.updateComplete;
    expect(part(el, 'button')).to.not.equal(null);
    expect(el.shadowRoot!.activeElement).to.equal(part(el, 'button'));
  });
});

describe('auto mode', () => {
  useFakeHelper();

  it('uses a modal for a frameable provider, after fetching /config on the first intent only', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" provider="repay"></pay-checkout>`);
    focusIntent(el);
    hover(el);
    await waitUntil(() => helper.configs >= 1);
    expect(helper.creates).to.have.length(0);
    await new Promise((r) => setTimeout(r, 20));
    const configs = helper.configs;
    part<HTMLButtonElement>(el, 'button')!.click();
    expect(dialogOf(el).open).to.equal(true);
    expect((await oneEvent(el, 'pay-open')).detail.mode).to.equal('modal');
    expect(helper.configs).to.equal(configs);
    el.close();
  });

  it('uses a popup when /config says the provider page refuses framing', async () => {
    const { win, frame } = await fakePopupWindow();
    const open = stubOpen(() => win);
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" provider="boxexchanger"></pay-checkout>`);
      hover(el);
      await waitUntil(() => helper.configs >= 1);
      // The element has /config's answer (it awaits the same shared request, and was first to): the click knows the mode.
      await sharedConfig(API + '/sessions');
      part<HTMLButtonElement>(el, 'button')!.click();
      expect(open.calls).to.have.length(1);
      expect((await oneEvent(el, 'pay-open')).detail.mode).to.equal('popup');
      el.close();
    } finally {
      open.restore();
      frame.remove();
    }
  });

  it('offers a new window from the modal when the session says the page cannot be framed', async () => {
    helper.frameable = false;
    worker.use(http.get('/api/checkout/config', () => HttpResponse.json({ ...CONFIG, providers: [{ ...CONFIG.providers[0], frameable: true }] })));
    const { win, frame } = await fakePopupWindow();
    const open = stubOpen(() => win);
    try {
      const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1"></pay-checkout>`);
      await openModal(el);
      expect(part(el, 'frame')).to.equal(null);
      const dialog = dialogOf(el);
      expect(dialog.querySelector('[role="status"]')!.textContent).to.equal('Страница оплаты открывается в отдельном окне.');
      const go = [...dialog.querySelectorAll<HTMLButtonElement>('.actions button')].find((b) => b.textContent === 'Перейти к оплате')!;
      go.click();
      expect(open.calls).to.have.length(1);
      await el.updateComplete;
      expect(dialog.querySelector('[role="status"]')!.textContent).to.contain('открывшемся окне');
      await waitUntil(() => win.location.href.includes('session=cs_1'));
      // The message now comes from the new window, which is accepted.
      helper.status = 'paid';
      postReturn(win, returnMessage('cs_1'));
      await oneEvent(el, 'pay-success');
      el.close();
    } finally {
      open.restore();
      frame.remove();
    }
  });
});
