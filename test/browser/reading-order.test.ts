// Reading order: the helper answers a status read from its store at once (older data, fast) or after reading the
// provider (newer data, slow), and a cancellation after the provider's answer. The element orders answers by the
// data's change stamp (`updatedAt`), not by when their requests started: the slow, newer answer counts.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import {
  delay,
  fastTiming,
  helper,
  http,
  HttpResponse,
  names,
  openModal,
  pause,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  sessionAnswer,
  slowGet,
  useFakeHelper,
  worker,
  waitUntil,
} from './support.js';

const SESSION = '/api/checkout/sessions/:id';

/** The tab becoming visible again: an immediate status read while the payment is shown or confirmed. */
const backToTab = (): boolean => document.dispatchEvent(new Event('visibilitychange'));

describe('reading order', () => {
  useFakeHelper();
  let restoreTiming: () => void;
  // Polling far away: the only reads are the ones each test makes.
  beforeEach(() => (restoreTiming = fastTiming({ poll: 60_000, pollMax: 60_000 })));
  afterEach(() => restoreTiming());

  /** GETs answer the helper's stored data as it was before the test's change: status `created`, its first stamp. */
  function storeAnswers(): { fast: number } {
    const seen = { fast: 0 };
    const stored = { status: helper.status, updatedAt: helper.updatedAt };
    worker.use(
      http.get(SESSION, ({ params }) => {
        helper.gets++;
        seen.fast++;
        return HttpResponse.json(sessionAnswer(params.id as string, stored));
      }),
    );
    return seen;
  }

  it('applies a cancellation answered after a faster read of older data: pay-status, pay-cancel', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const store = storeAnswers();
    let cancelStarted = false;
    worker.use(
      http.post(`${SESSION}/cancel`, async ({ params }) => {
        helper.cancels++;
        cancelStarted = true;
        // The provider is slow to cancel: a read started later is answered from the store first.
        while (store.fast === 0) await delay(10);
        await delay(50);
        helper.status = 'cancelled';
        return HttpResponse.json(sessionAnswer(params.id as string));
      }),
    );
    const events = record(el, ['pay-status', 'pay-cancel', 'pay-error']);
    postReturn(frame.contentWindow, returnMessage('cs_1', 'cancel'));
    await waitUntil(() => cancelStarted, 'the cancel request is under way');
    backToTab();
    await oneEvent(el, 'pay-cancel');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-cancel']);
    expect(events[1]!.detail.reason).to.equal('payer');
    expect(el.state).to.equal('cancelled');
    expect(el.session?.status).to.equal('cancelled');
    el.close();
  });

  it('applies the confirmation read answered after a faster read of older data: paid, pay-success', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const store = storeAnswers();
    let providerRead = false;
    worker.use(
      http.get(
        SESSION,
        async ({ params }) => {
          helper.gets++;
          providerRead = true;
          // Due for a provider read: slow, and it finds the payment.
          while (store.fast === 0) await delay(10);
          await delay(50);
          helper.status = 'paid';
          return HttpResponse.json(sessionAnswer(params.id as string));
        },
        { once: true },
      ),
    );
    const events = record(el, ['pay-status', 'pay-success', 'pay-error']);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => providerRead, 'the confirmation read is under way');
    backToTab();
    await oneEvent(el, 'pay-success');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(el.state).to.equal('paid');
    expect(el.session?.status).to.equal('paid');
    el.close();
  });

  it('without change stamps (an older helper), still drops an answer that moves backwards', async () => {
    helper.stamps = false;
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const frame = await openModal(el);
    const slow = slowGet(300);
    backToTab();
    await waitUntil(() => slow.started, 'a read of created is under way');
    helper.status = 'paid';
    const events = record(el, ['pay-status', 'pay-success']);
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => slow.answered && el.state === 'paid', 'both answered', { timeout: 3000 });
    await pause(100);
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(el.session?.status).to.equal('paid');
    el.close();
  });
});
