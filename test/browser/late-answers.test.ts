// Status answers that come back late: a poll overtaken by a faster check (after a return, at the countdown's end, a
// closed window), or an answer for a session the element has already left. Only the newest read counts, nothing
// moves backwards, and an old session's answer never touches the new one.
import { expect, fixture, html } from '@open-wc/testing';
import { attemptKey, loadAttempt } from '../../src/attempts.js';
import {
  helper,
  names,
  openModal,
  pause,
  PayCheckout,
  postReturn,
  record,
  returnMessage,
  slowGet,
  useFakeHelper,
  useFastTiming,
  waitUntil,
} from './support.js';


describe('late status answers', () => {
  useFakeHelper();
  useFastTiming();

  it('drops a poll answer older than the check after a return: paid stays paid, pay-success once', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const slow = slowGet(400);
    const frame = await openModal(el);
    const events = record(el, ['pay-status', 'pay-success', 'pay-error']);
    await waitUntil(() => slow.started, 'the first poll is under way');
    helper.status = 'paid';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => slow.answered, 'the late poll answered', { timeout: 3000 });
    await pause(100);
    expect(names(events)).to.deep.equal(['pay-status', 'pay-success']);
    expect(events[0]!.detail.status).to.equal('paid');
    expect(el.state).to.equal('paid');
    expect(el.session?.status).to.equal('paid');
    el.close();
  });

  it('drops a paid answer read before the check that found the payment held', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal"></pay-checkout>`);
    const slow = slowGet(400);
    const frame = await openModal(el);
    helper.status = 'paid';
    const events = record(el, ['pay-status', 'pay-success']);
    await waitUntil(() => slow.started, 'the first poll is under way while the payment is paid');
    helper.status = 'held';
    helper.heldReason = 'duplicate_payment';
    postReturn(frame.contentWindow, returnMessage('cs_1'));
    await waitUntil(() => slow.answered, 'the late poll answered', { timeout: 3000 });
    await pause(100);
    expect(names(events)).to.not.include('pay-success');
    expect(el.state).to.equal('held');
    expect(el.session?.status).to.equal('held');
    expect(loadAttempt(attemptKey(el.sessionUrl, 'A-1001'))?.settled).to.equal('held');
    el.close();
  });

  it('ignores the check after a dismissal once a new payment started, and keeps the new session', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1001" amount="1500" mode="modal" method="sbp"></pay-checkout>`);
    await openModal(el);
    helper.status = 'pending';
    await waitUntil(() => el.session?.status === 'pending', 'polled to pending');
    const slow = slowGet(400);
    el.close();
    await waitUntil(() => slow.started, 'the check after the dismissal is under way');
    el.method = 'card';
    helper.status = 'created';
    const events = record(el, ['pay-cancel', 'pay-error', 'pay-status']);
    await openModal(el);
    expect(el.session?.id).to.equal('cs_2');
    await waitUntil(() => slow.answered, 'the late check answered', { timeout: 3000 });
    await pause(200);
    expect(names(events)).to.deep.equal([]);
    expect(el.session?.id).to.equal('cs_2');
    expect(el.state).to.not.equal('error');
    expect(loadAttempt(attemptKey(el.sessionUrl, 'A-1001'))?.session?.id).to.equal('cs_2');
    el.close();
  });
});
