// The element pointed at another order (a single-page app reusing it) while a held payment of the previous order is
// polled under the button: that payment's outcome belongs to the old order, never to the new one.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { navigation } from '../../src/presenters/redirect.js';
import {
  API,
  helper,
  http,
  HttpResponse,
  leaveForRedirect,
  names,
  openModal,
  part,
  pause,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  settleInModal,
  slowGet,
  useFakeHelper,
  useFastTiming,
  waitUntil,
  worker,
} from './support.js';


/**
 * Order A paid in redirect mode, and the payer back on the page with the helper's return hash: the element for A,
 * confirming the session to `status`.
 */
async function returnedFromRedirect(order: string, status: 'paid' | 'held'): Promise<PayCheckout> {
  await leaveForRedirect(order);
  history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:success`);
  helper.status = status;
  const el = await fixture<PayCheckout>(html`<pay-checkout order-id=${order} mode="redirect"></pay-checkout>`);
  await waitUntil(() => el.state === status, `the return is confirmed ${status}`);
  return el;
}

/** The old order's held session is paid meanwhile: none of it reaches the element, which shows the new order unpaid. */
async function expectOldSessionDropped(el: PayCheckout, events: CustomEvent[]): Promise<void> {
  const gets = helper.gets;
  helper.status = 'paid';
  await pause(400);
  await el.updateComplete;
  expect(names(events)).to.deep.equal([]);
  expect(helper.gets).to.equal(gets);
  expect(el.state).to.equal('idle');
  expect(el.session).to.equal(null);
}

async function heldAndClosed(el: PayCheckout): Promise<void> {
  await settleInModal(el, 'held');
  el.close();
  await el.updateComplete;
}

describe('another order on the same element', () => {
  useFakeHelper();
  useFastTiming();

  it('stops polling the restored held session of the old order after a reload', async () => {
    const first = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await heldAndClosed(first);
    const markup = first.outerHTML;
    first.remove();
    const el = await fixture<PayCheckout>(markup);
    await waitUntil(() => el.session?.status === 'held', 'the held session is restored and polled');
    const events = record(el, ['pay-status', 'pay-success']);
    el.orderId = 'B-2002';
    await el.updateComplete;
    helper.status = 'paid';
    await pause(400);
    await el.updateComplete;
    expect(names(events)).to.deep.equal([]);
    expect(el.state).to.equal('idle');
    expect(el.session).to.equal(null);
    expect(part(el, 'button')!.textContent).to.not.equal('Оплачено');
  });

  it('stops polling a held session kept after closing, and picks it up again when the order comes back', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await heldAndClosed(el);
    const events = record(el, ['pay-status', 'pay-success']);
    el.orderId = 'B-2002';
    await el.updateComplete;
    helper.status = 'paid';
    await pause(400);
    expect(names(events)).to.deep.equal([]);
    expect(el.state).to.equal('idle');
    el.orderId = 'A-1001';
    await waitUntil(() => el.state === 'paid', 'the old order\'s held session is polled again');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(events[1]!.detail.session.orderId).to.equal('A-1001');
  });

  it('changed while a held payment is shown: closing drops that session, nothing is polled', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    el.orderId = 'B-2002';
    await el.updateComplete;
    const events = record(el, ['pay-status', 'pay-success']);
    el.close();
    await el.updateComplete;
    await expectOldSessionDropped(el, events);
    expect(part(el, 'button')!.textContent).to.not.equal('Оплачено');
  });

  it('changed while a payment is shown: closing checks nothing of the old session and reports no cancellation', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await openModal(el);
    el.orderId = 'B-2002';
    await el.updateComplete;
    const events = record(el, ['pay-close', 'pay-cancel', 'pay-status', 'pay-success']);
    el.close();
    const gets = helper.gets;
    helper.status = 'paid';
    await pause(400);
    await el.updateComplete;
    expect(names(events)).to.deep.equal(['pay-close']);
    expect(events[0]!.detail.session.orderId).to.equal('A-1001');
    expect(helper.gets).to.equal(gets);
    expect(el.state).to.equal('idle');
    expect(el.session).to.equal(null);
  });

  it('changed and back while a held payment is shown: closing keeps polling it', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await settleInModal(el, 'held');
    el.orderId = 'B-2002';
    await el.updateComplete;
    el.orderId = 'A-1001';
    await el.updateComplete;
    el.close();
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'the held payment is still polled');
    expect(el.session?.orderId).to.equal('A-1001');
  });

  it('changed while a reload re-reads the kept held session: no error, and that session is dropped', async () => {
    const first = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    await heldAndClosed(first);
    const markup = first.outerHTML;
    first.remove();
    const slow = slowGet(300);
    const rejections: unknown[] = [];
    const onRejection = (event: PromiseRejectionEvent): void => {
      rejections.push(event.reason);
      event.preventDefault();
    };
    window.addEventListener('unhandledrejection', onRejection);
    try {
      const el = await fixture<PayCheckout>(markup);
      await waitUntil(() => slow.started, 'the restored held session is re-read');
      el.orderId = 'B-2002';
      await el.updateComplete;
      await waitUntil(() => slow.answered, 'the re-read answered', { timeout: 3000 });
      const gets = helper.gets;
      await pause(300);
      expect(rejections).to.deep.equal([]);
      expect(helper.gets).to.equal(gets);
      expect(el.session).to.equal(null);
      expect(el.state).to.equal('idle');
    } finally {
      window.removeEventListener('unhandledrejection', onRejection);
    }
  });

  it('after a redirect return confirmed paid: the next order offers to pay and a click asks for its session', async () => {
    const el = await returnedFromRedirect('A-7', 'paid');
    el.orderId = 'B-9';
    await el.updateComplete;
    expect(el.state).to.equal('idle');
    expect(el.session).to.equal(null);
    expect(part(el, 'button')!.textContent).to.equal('Оплатить');
    helper.status = 'created';
    const original = navigation.assign;
    const urls: string[] = [];
    navigation.assign = (url: string) => void urls.push(url);
    try {
      part<HTMLButtonElement>(el, 'button')!.click();
      await oneEvent(el, 'pay-open');
      expect(helper.creates.map((call) => call.body.orderId)).to.deep.equal(['A-7', 'B-9']);
      expect(urls).to.have.length(1);
    } finally {
      navigation.assign = original;
    }
  });

  it('after a redirect return confirmed held: the held session is not polled under the next order', async () => {
    const el = await returnedFromRedirect('A-8', 'held');
    el.orderId = 'B-9';
    await el.updateComplete;
    const events = record(el, ['pay-status', 'pay-success']);
    await expectOldSessionDropped(el, events);
  });
});

describe('another helper (session-url) while a payment is shown', () => {
  useFakeHelper();
  useFastTiming();

  it('the session in hand is still checked with the helper that created it, never sending its token elsewhere', async () => {
    const elsewhere: string[] = [];
    worker.use(
      http.all('/other-helper/*', ({ request }) => {
        elsewhere.push(`${request.method} ${new URL(request.url).pathname} ${request.headers.get('authorization')}`);
        return HttpResponse.json({ error: { code: 'unknown_session', message: 'x', retryable: false } }, { status: 404 });
      }),
    );
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    await openModal(el);
    el.sessionUrl = '/other-helper/sessions';
    await el.updateComplete;
    const gets = helper.gets;
    await waitUntil(() => helper.gets > gets, 'the session is polled');
    helper.status = 'paid';
    await oneEvent(el, 'pay-success');
    expect(elsewhere).to.deep.equal([]);
    expect(el.session?.orderId).to.equal('A-1001');
    el.close();
  });

  it('takes the return page of the helper that created the session, after session-url moved to another origin meanwhile', async () => {
    const other = 'https://other-helper.example';
    const elsewhere: string[] = [];
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    worker.use(
      http.all(`${other}/*`, ({ request }) => {
        elsewhere.push(`${request.method} ${request.url}`);
        return HttpResponse.json({ error: { code: 'unknown_session', message: 'x', retryable: false } }, { status: 404 });
      }),
      // The session is created while the page points the element at another helper; then the default handler answers.
      http.post(`${API}/sessions`, () => answered, { once: true }),
    );
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    await waitUntil(() => el.state === 'creating', 'the session is being created');
    el.sessionUrl = `${other}/api/checkout/sessions`;
    await el.updateComplete;
    const opened = oneEvent(el, 'pay-open');
    answer();
    await opened;
    await el.updateComplete;
    const frame = part<HTMLIFrameElement>(el, 'frame')!;
    const events = record(el, ['pay-return']);
    postReturn(frame.contentWindow, returnMessage('cs_1'), other);
    expect(events, 'the new session-url’s origin did not create the session').to.have.length(0);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    expect(names(events)).to.deep.equal(['pay-return']);
    expect(elsewhere).to.deep.equal([]);
    el.close();
  });
});
