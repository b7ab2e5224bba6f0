// A held payment outlives its session token (the helper's SESSION_TOKEN_TTL_SECONDS, a day by default): the tab keeps
// showing it as held, renews the token with the attempt's Idempotency-Key and polls on. And a malformed return hash
// (`#pay-checkout=%E0:success`) is ignored instead of breaking the resume of a held order.
import { expect, fixture, html } from '@open-wc/testing';
import {
  helper,
  helperError,
  http,
  HttpResponse,
  leaveForRedirect,
  names,
  part,
  pause,
  PayCheckout,
  sessionAnswer,
  settleInModal,
  useFakeHelper,
  useFastTiming,
  waitUntil,
  worker,
} from './support.js';

const SESSIONS = '/api/checkout/sessions';

/** Holds cs_1 in a modal, closes it and removes the element; the markup a reload of the tab renders again. */
async function heldThenGone(): Promise<string> {
  const checkout = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" mode="modal" locale="en"></pay-checkout>`);
  await settleInModal(checkout, 'held');
  checkout.close();
  const markup = checkout.outerHTML;
  checkout.remove();
  return markup;
}

/** The reloaded element, with every event the page would see recorded from before it connects. */
async function reload(markup: string): Promise<{ el: PayCheckout; events: CustomEvent[] }> {
  const holder = document.createElement('div');
  const events: CustomEvent[] = [];
  for (const name of ['pay-error', 'pay-cancel', 'pay-status', 'pay-success']) {
    holder.addEventListener(name, (e) => events.push(e as CustomEvent), true);
  }
  const el = await fixture<PayCheckout>(markup, { parentNode: holder });
  return { el, events };
}

/** The token cs_1 was created with has expired: only `fresh` opens it now. */
function expireToken(fresh: string): void {
  worker.use(
    http.get(`${SESSIONS}/:id`, ({ request, params }) => {
      helper.gets++;
      if (request.headers.get('authorization') !== `Bearer ${fresh}`) return helperError(401, 'unauthorized')();
      return HttpResponse.json(sessionAnswer(params.id as string));
    }),
  );
}

function storedAttempt(): string {
  return Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)!).join();
}

describe('a held payment after its session token expired', () => {
  useFakeHelper();
  useFastTiming();

  it('renews the token with the attempt\'s Idempotency-Key, stays held, and still reports the shop\'s decision', async () => {
    const markup = await heldThenGone();
    const key = helper.creates[0]!.key;
    expireToken('tok_renewed');
    // The helper's idempotency path: the same session, a fresh token.
    worker.use(
      http.post(SESSIONS, async ({ request }) => {
        helper.creates.push({ body: (await request.json()) as Record<string, unknown>, key: request.headers.get('idempotency-key') });
        return HttpResponse.json({ ...sessionAnswer('cs_1'), token: 'tok_renewed' });
      }),
    );
    const { el, events } = await reload(markup);
    expect(el.state).to.equal('held');
    await waitUntil(() => helper.creates.length === 2, 'the token is renewed');
    expect(helper.creates[1]!.key).to.equal(key);
    expect(helper.creates[1]!.body).to.include({ orderId: 'A-1001' });
    await pause(300);
    expect(el.state).to.equal('held');
    expect(names(events)).to.deep.equal([]);
    expect(storedAttempt()).to.contain('tok_renewed');
    // Polled on with the new token: the shop's decision reaches the page.
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'the held session is polled after the renewal');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(helper.creates.length).to.equal(2);
  });

  it('renews again when the renewed token expires in its turn (a tab open for days)', async () => {
    const markup = await heldThenGone();
    // Only the latest token opens the session.
    let token = 'tok_day2';
    worker.use(
      http.get(`${SESSIONS}/:id`, ({ request, params }) => {
        helper.gets++;
        if (request.headers.get('authorization') !== `Bearer ${token}`) return helperError(401, 'unauthorized')();
        return HttpResponse.json(sessionAnswer(params.id as string));
      }),
    );
    let renewals = 0;
    worker.use(
      http.post(SESSIONS, () => {
        renewals++;
        return HttpResponse.json({ ...sessionAnswer('cs_1'), token });
      }),
    );
    const { el, events } = await reload(markup);
    await waitUntil(() => renewals === 1, 'renewed once');
    const gets = helper.gets;
    await waitUntil(() => helper.gets > gets + 1, 'polled with the renewed token');
    // A day later that token expires too.
    token = 'tok_day3';
    await waitUntil(() => renewals === 2, 'renewed again');
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'still polled');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
  });

  it('when the helper does not hand the session back, it stays shown as held: no pay-error, polling stops', async () => {
    const markup = await heldThenGone();
    expireToken('tok_renewed');
    // The page's address changed since the attempt began: its key no longer matches the request.
    worker.use(http.post(SESSIONS, helperError(409, 'idempotency_key_reused')));
    const { el, events } = await reload(markup);
    await pause(500);
    expect(el.state).to.equal('held');
    expect(part(el, 'button')!.textContent).to.equal('Under review');
    expect(part(el, 'status')!.textContent).to.contain('no need to pay again');
    expect(names(events)).to.deep.equal([]);
    const gets = helper.gets;
    await pause(400);
    expect(helper.gets).to.equal(gets);
    // The button still starts no payment.
    part<HTMLButtonElement>(el, 'button')!.click();
    await pause(100);
    expect(el.state).to.equal('held');
  });

  it('order_paid in answer to the renewal: the shop settled it, shown as paid', async () => {
    const markup = await heldThenGone();
    expireToken('tok_renewed');
    worker.use(http.post(SESSIONS, helperError(409, 'order_paid')));
    const { el, events } = await reload(markup);
    await waitUntil(() => el.state === 'paid', 'shown as paid');
    expect(names(events)).to.deep.equal(['pay-error']);
    expect(events[0]!.detail.code).to.equal('order_paid');
  });
});

describe('a malformed return hash', () => {
  useFakeHelper();
  useFastTiming();

  it('is ignored: a held order reloaded through it is still polled, and nothing throws', async () => {
    const markup = await heldThenGone();
    helper.status = 'paid';
    const rejections: string[] = [];
    const onRejection = (e: PromiseRejectionEvent): void => {
      rejections.push(String(e.reason));
      e.preventDefault();
    };
    window.addEventListener('unhandledrejection', onRejection);
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=%E0:success`);
    try {
      const { el, events } = await reload(markup);
      await waitUntil(() => el.state === 'paid', 'the held session is polled');
      expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
      expect(rejections).to.deep.equal([]);
      // Like a hash for another order, it is no return of this element's: left as it is.
      expect(location.hash).to.equal('#pay-checkout=%E0:success');
    } finally {
      window.removeEventListener('unhandledrejection', onRejection);
      history.replaceState(null, '', `${location.pathname}${location.search}`);
    }
  });
});

describe('a return hash replayed after its payment was found held', () => {
  useFakeHelper();
  useFastTiming();

  it('is taken as a reload: held, with what happens next, polled, and no "Pay" button', async () => {
    await leaveForRedirect('A-9');
    helper.status = 'held';
    helper.heldReason = 'amount_mismatch';
    const hash = `${location.pathname}${location.search}#pay-checkout=cs_1:success`;
    history.replaceState(null, '', hash);
    const returned = await fixture<PayCheckout>(html`<pay-checkout order-id="A-9" mode="redirect"></pay-checkout>`);
    await waitUntil(() => returned.state === 'held', 'the return is confirmed held');
    returned.remove();
    // Back to the helper's return page through the history: it sends the payer here with the same hash again.
    history.replaceState(null, '', hash);
    const { el, events } = await reload('<pay-checkout order-id="A-9" mode="redirect"></pay-checkout>');
    await pause(300);
    await el.updateComplete;
    expect(el.state).to.equal('held');
    expect(part(el, 'button')!.textContent).to.equal('На проверке');
    expect(part(el, 'status')!.textContent).to.contain('Оплачена другая сумма');
    expect(location.hash).to.equal('');
    expect(names(events)).to.deep.equal([]);
    helper.status = 'paid';
    await waitUntil(() => el.state === 'paid', 'the held session is polled');
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
  });
});

describe('a return after the payment was cancelled', () => {
  useFakeHelper();
  useFastTiming();

  it('is confirmed again: the payer may have paid that payment since, and it is reported paid', async () => {
    await leaveForRedirect('A-9');
    helper.status = 'cancelled';
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:cancel`);
    const cancelled = await fixture<PayCheckout>(html`<pay-checkout order-id="A-9" mode="redirect"></pay-checkout>`);
    await waitUntil(() => cancelled.state === 'cancelled', 'the return is confirmed cancelled');
    cancelled.remove();
    // The same cancel return again (the history back to the helper's return page): known already, nothing is asked.
    const returns: string[] = [];
    const onReturn = (event: Event) => returns.push((event as CustomEvent).detail.outcome);
    document.addEventListener('pay-return', onReturn, true);
    const gets = helper.gets;
    try {
      history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:cancel`);
      const replayed = await fixture<PayCheckout>(html`<pay-checkout order-id="A-9" mode="redirect"></pay-checkout>`);
      await pause(300);
      expect(replayed.state, 'a cancelled payment may be paid anew').to.equal('idle');
      expect(returns).to.deep.equal([]);
      expect(helper.gets).to.equal(gets);
      expect(location.hash).to.equal('');
      replayed.remove();
    } finally {
      document.removeEventListener('pay-return', onReturn, true);
    }
    // Back on the provider's page, still open there, the payer pays after all; the helper revives the session.
    helper.status = 'paid';
    history.replaceState(null, '', `${location.pathname}${location.search}#pay-checkout=cs_1:success`);
    const { el, events } = await reload('<pay-checkout order-id="A-9" mode="redirect"></pay-checkout>');
    await waitUntil(() => el.state === 'paid', 'the return is confirmed paid');
    expect(names(events)).to.include('pay-success');
    expect(location.hash).to.equal('');
  });
});
