import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import {
  dialogOf,
  helper,
  names,
  part,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  worker,
  hover,
  useFakeHelper,
  http,
  HttpResponse,
  openModal,
  waitUntil,
} from './support.js';

describe('modal mode', () => {
  useFakeHelper();

  it('opens a native modal dialog with a labelled payment frame and reports pay-open', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    // First intent loads the rest of the widget…
    hover(el);
    await waitUntil(() => el.shadowRoot!.querySelector('dialog'), 'the dialog is rendered after the first intent');
    const dialog = dialogOf(el);
    // …so the click shows the dialog synchronously, in the "creating" state, before the session arrives.
    part<HTMLButtonElement>(el, 'button')!.click();
    expect(dialog.open).to.equal(true);
    expect(el.state).to.equal('creating');
    expect(dialog.matches(':modal')).to.equal(true);
    const { detail } = await oneEvent(el, 'pay-open');
    expect(detail.mode).to.equal('modal');
    expect(detail.session).to.deep.equal({
      id: 'cs_1',
      orderId: 'A-1001',
      provider: 'repay',
      method: null,
      status: 'created',
      amount: '1500',
      currency: 'RUB',
    });
    expect(detail.session).not.to.have.property('token');
    await el.updateComplete;
    const frame = part<HTMLIFrameElement>(el, 'frame')!;
    expect(frame.getAttribute('title')).to.equal('Платёжная страница Repay');
    expect(frame.getAttribute('allow')).to.contain('payment');
    expect(frame.src).to.contain('session=cs_1');
    expect(el.state).to.equal('loading');
    expect(el.session?.id).to.equal('cs_1');
    await waitUntil(() => el.state === 'waiting', 'frame load ends the loading state');
    expect(document.documentElement.style.overflow).to.equal('hidden');
    el.close();
  });

  it('sends the order, locale, return URL and an Idempotency-Key, and never a price', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    expect(helper.creates).to.have.length(1);
    const { body, key } = helper.creates[0]!;
    expect(key).to.match(/^[\w-]{16,}$/);
    expect(body).to.deep.equal({ orderId: 'A-1001', locale: 'ru', returnUrl: location.href.replace(/#.*$/, '') });
    el.close();
  });

  it('takes an empty provider or method as absent: the helper’s default provider, the first method', async () => {
    const el = await fixture<PayCheckout>(
      html`<pay-checkout order-id="A-1001" provider="" method="" methods="card" mode="modal"></pay-checkout>`,
    );
    expect(el.state).to.equal('idle');
    await openModal(el);
    expect(helper.creates[0]!.body).to.deep.equal({
      orderId: 'A-1001',
      method: 'card',
      locale: 'ru',
      returnUrl: location.href.replace(/#.*$/, ''),
    });
    el.close();
    // The session asked for at the press says the same.
    const pressed = await fixture<PayCheckout>(
      html`<pay-checkout order-id="A-1002" provider="" method="" methods="card" mode="modal"></pay-checkout>`,
    );
    hover(pressed);
    await waitUntil(() => pressed.shadowRoot!.querySelector('dialog'), 'the flow is ready');
    part(pressed, 'button')!.dispatchEvent(new PointerEvent('pointerdown', { button: 0, bubbles: true, composed: true }));
    await waitUntil(() => helper.creates.length === 2, 'the press asks for the session');
    expect(helper.creates[1]!.body).to.deep.include({ orderId: 'A-1002', method: 'card' });
    expect(helper.creates[1]!.body).to.not.have.property('provider');
  });

  it('shows the "open in a new window" link in the header', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await openModal(el);
    const link = part(el, 'header')!.querySelector('a')!;
    expect(link.textContent).to.equal('Открыть в новом окне');
    expect(link.getAttribute('href')).to.contain('session=cs_1');
    el.close();
  });

  it('confirms a return message with the helper and fires pay-success only for paid', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-return', 'pay-status', 'pay-success', 'pay-error']);
    helper.status = 'paid';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await oneEvent(el, 'pay-success');
    expect(names(events)).to.deep.equal(['pay-return', 'pay-status', 'pay-success']);
    expect(events[0]!.detail).to.deep.include({ outcome: 'success' });
    expect(events[1]!.detail).to.deep.include({ status: 'paid', previous: 'created' });
    expect(events[2]!.detail.session.status).to.equal('paid');
    expect(el.state).to.equal('paid');
    await el.updateComplete;
    expect(dialogOf(el).querySelector('[part~="status"]')!.textContent).to.equal('Заказ оплачен. Спасибо!');
  });

  it('does not report success when the return says success but the helper still says pending', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-status', 'pay-success']);
    helper.status = 'pending';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => el.state === 'waiting' && helper.gets > 0);
    expect(names(events)).to.deep.equal(['pay-status']);
    el.close();
  });

  it('shows held as under review, never as success', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-success', 'pay-status']);
    helper.status = 'held';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => el.state === 'held');
    await el.updateComplete;
    expect(names(events)).to.deep.equal(['pay-status']);
    expect(dialogOf(el).querySelector('[role="status"]')!.textContent).to.contain('на проверке');
    el.close();
  });

  it('ignores return messages from a wrong origin, a wrong window, or with a wrong shape', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const events = record(el, ['pay-return']);
    helper.status = 'paid';
    postReturn(frame.contentWindow, returnMessage('cs_1'), 'https://evil.example');
    postReturn(window, returnMessage('cs_1'));
    postReturn(frame.contentWindow, { ...returnMessage('cs_1'), v: 2 });
    postReturn(frame.contentWindow, { ...returnMessage('cs_1'), type: 'other' });
    postReturn(frame.contentWindow, returnMessage('cs_other'));
    await new Promise((r) => setTimeout(r, 100));
    expect(events).to.have.length(0);
    expect(helper.gets).to.equal(0);
    expect(el.state).to.not.equal('paid');
    el.close();
  });

  it('goes through a cancelable pay-request-close on the close button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await openModal(el);
    const events = record(el, ['pay-request-close', 'pay-close', 'pay-cancel']);
    el.addEventListener('pay-request-close', (e) => e.preventDefault(), { once: true });
    part<HTMLButtonElement>(el, 'close-button')!.click();
    expect(dialogOf(el).open).to.equal(true);
    expect(events[0]!.detail).to.deep.equal({ source: 'close-button' });
    expect(events[0]!.cancelable).to.equal(true);
    part<HTMLButtonElement>(el, 'close-button')!.click();
    expect(dialogOf(el).open).to.equal(false);
    expect(names(events)).to.deep.equal(['pay-request-close', 'pay-request-close', 'pay-close']);
    expect(events[2]!.detail).to.deep.equal({ session: events[2]!.detail.session, status: 'created' });
    expect(events[2]!.detail.session.id).to.equal('cs_1');
    const cancel = await oneEvent(el, 'pay-cancel');
    expect(cancel.detail.reason).to.equal('dismissed');
    expect(el.state).to.equal('idle');
  });

  it('closes on Esc through pay-request-close and returns focus to the button', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.focus();
    // Listening before the key: pay-open may come before sendKeys() returns.
    const opened = oneEvent(el, 'pay-open');
    await sendKeys({ press: 'Enter' });
    await opened;
    expect(dialogOf(el).open).to.equal(true);
    const prevented = oneEvent(el, 'pay-request-close');
    el.addEventListener('pay-request-close', (e) => e.preventDefault(), { once: true });
    await sendKeys({ press: 'Escape' });
    expect((await prevented).detail.source).to.equal('escape');
    expect(dialogOf(el).open).to.equal(true);
    const closed = oneEvent(el, 'pay-close');
    await sendKeys({ press: 'Escape' });
    await closed;
    expect(dialogOf(el).open).to.equal(false);
    expect(el.shadowRoot!.activeElement).to.equal(part(el, 'button'));
    expect(document.documentElement.style.overflow).to.equal('');
  });

  it('closes on a backdrop click', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await openModal(el);
    const request = oneEvent(el, 'pay-request-close');
    dialogOf(el).dispatchEvent(new MouseEvent('click', { bubbles: true, composed: true }));
    expect((await request).detail.source).to.equal('backdrop');
    expect(dialogOf(el).open).to.equal(false);
  });

  it('locks closing while the payment is being confirmed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    worker.use(
      http.get('/api/checkout/sessions/:id', async () => {
        await gate;
        return HttpResponse.json({ ...el.session, status: 'paid', paymentUrl: frame.src, frameable: true });
      }),
    );
    const events = record(el, ['pay-request-close']);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => el.state === 'confirming');
    await el.updateComplete;
    expect(part<HTMLButtonElement>(el, 'close-button')!.disabled).to.equal(true);
    dialogOf(el).dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    dialogOf(el).dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(events).to.have.length(0);
    expect(dialogOf(el).open).to.equal(true);
    release();
    await oneEvent(el, 'pay-success');
  });

  it('starts the session request on pointer down and uses it for the click', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    hover(el);
    await waitUntil(() => el.shadowRoot!.querySelector('dialog'));
    expect(helper.creates).to.have.length(0);
    const button = part<HTMLButtonElement>(el, 'button')!;
    button.dispatchEvent(new PointerEvent('pointerdown', { button: 0, bubbles: true, composed: true }));
    await waitUntil(() => helper.creates.length === 1, 'the request starts on the press');
    await new Promise((r) => setTimeout(r, 20));
    const opened = oneEvent(el, 'pay-open');
    button.click();
    // The session is already here: the dialog opens with the payment frame in the click's own task.
    expect(dialogOf(el).open).to.equal(true);
    expect(part<HTMLIFrameElement>(el, 'frame')!.src).to.contain('session=cs_1');
    expect(el.state).to.equal('loading');
    await opened;
    expect(helper.creates).to.have.length(1);
    el.close();
  });

  it('open() and close() are idempotent', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    const events = record(el, ['pay-open', 'pay-close']);
    el.open();
    el.open();
    await oneEvent(el, 'pay-open');
    el.open();
    expect(helper.creates).to.have.length(1);
    el.close();
    el.close();
    expect(names(events)).to.deep.equal(['pay-open', 'pay-close']);
    expect(dialogOf(el).open).to.equal(false);
  });

  it('reuses the Idempotency-Key for a second attempt at the same order', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await openModal(el);
    el.close();
    await oneEvent(el, 'pay-cancel');
    await openModal(el);
    expect(helper.creates).to.have.length(2);
    expect(helper.creates[1]!.key).to.equal(helper.creates[0]!.key);
    expect(el.session?.id).to.equal('cs_1');
    el.close();
  });
});
