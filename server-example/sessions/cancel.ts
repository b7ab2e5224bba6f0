/**
 * Ending an open session: the payer's cancel (POST /sessions/:id/cancel), and the local end of a session whose window
 * passed or whose order changed, cancelling at the provider where it has a cancel call (`capabilities.cancel`).
 */
import { CheckoutError, isCheckoutError } from '../errors.js';
import type { SessionRecord } from '../store.js';
import { isOpen } from '../transitions.js';
import type { EventSource } from '../types.js';
import type { SessionCore } from './core.js';
import { changeStamp, nextPollAt, providerShowsOpen, readNow, readSince, refresh } from './sync.js';

/**
 * What ending a session does at the provider: `cancel` there where it has a cancel call; it is `cancelled` there
 * already; or it stays `open` there (a cancel that did not take), so its payment is watched.
 */
export type AtProvider = 'cancel' | 'cancelled' | 'open';

/** Ends an open session locally (cancelling at the provider where possible). */
export async function endOpenSession(
  core: SessionCore,
  session: SessionRecord,
  to: 'expired' | 'cancelled',
  reason: string,
  source: EventSource = 'poll',
  atProvider: AtProvider = 'cancel',
): Promise<SessionRecord | undefined> {
  const provider = core.provider(session.provider);
  let providerCancelled = atProvider === 'cancelled';
  if (atProvider === 'cancel' && provider.capabilities.cancel && session.providerPaymentId) {
    try {
      await provider.cancel(session);
      providerCancelled = true;
    } catch (error) {
      core.log.warn('provider cancel failed', { sessionId: session.id, provider: provider.id, code: isCheckoutError(error) ? error.code : 'error' });
      // Refused, perhaps because the payer paid since the read that decided to end it (BoxExchanger refuses a
      // cancel once a payment is under way): what the provider says now decides. A session the read finds paid, or
      // with its payment under way, is not ended; nor is one whose read fails or began before this moment (a read
      // already running is joined) — a refused cancel may be a payment; a later pass, or request, decides.
      const readFrom = Date.now();
      const after = await refresh(core, session.id, 'cancel');
      if (!after || !readSince(core, after, readFrom) || !isOpen(after.status) || provider.paymentUnderway(after)) return after;
    }
  }
  return core.change(session.id, (current) => {
    // Nor one whose payment a callback found under way meanwhile: it is not cancelled at the provider.
    if (!isOpen(current.status) || (!providerCancelled && provider.paymentUnderway(current))) return undefined;
    // The reason stays on the row: a payment that still arrives for a session ended because the order changed
    // is held, not paid (transitions.ts).
    const patch: Partial<SessionRecord> = {
      status: to,
      errorCode: reason,
      updatedAt: changeStamp(current),
      // Not cancelled at the provider (Repay has no cancel call): while its last answer shows the payment payable, it is
      // watched as long as a provider's review would be.
      nextPollAt: nextPollAt(core.config, { ...current, updatedAt: Date.now() }, current.pollAttempts, to, {
        providerOpen: !providerCancelled && providerShowsOpen(core, current),
      }),
    };
    return {
      patch,
      events: [{ sessionId: session.id, kind: 'transition', source, fromStatus: current.status, toStatus: to, data: { reason, providerCancelled } }],
      deliveries: core.notifications(current, patch, reason),
    };
  });
}

/**
 * Payer-initiated cancel. `cancelledAtProvider` is false when the provider has no cancel call (Repay): its page stays
 * payable until it expires, so the session is ended here but its payment is still polled, and a payment that arrives
 * anyway is applied (held when the order is paid by another session).
 */
export async function cancelSession(core: SessionCore, sessionId: string): Promise<{ session: SessionRecord; cancelledAtProvider: boolean }> {
  const session = await core.store.getSession(sessionId);
  if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
  return core.store.withLock(`order:${session.orderId}`, async () => {
    const current = (await core.store.getSession(sessionId))!;
    if (current.status === 'paid') throw new CheckoutError('order_paid', 'This payment is already completed and cannot be cancelled.');
    if (current.status === 'held' || current.status === 'refunded') {
      throw new CheckoutError('session_not_cancellable', 'This payment is being reviewed by the shop and cannot be cancelled.');
    }
    const provider = core.provider(current.provider);
    const canCancel = provider.capabilities.cancel;
    if (!isOpen(current.status)) return { session: current, cancelledAtProvider: canCancel };
    if (!current.paymentUrl) throw new CheckoutError('session_creating', 'The payment is still being created; try again in a moment.');
    if (canCancel) {
      let refusal: unknown;
      try {
        await provider.cancel(current);
      } catch (error) {
        refusal = error;
      }
      // What the provider says now decides, not its answer to the cancel: e.g. BoxExchanger refuses once the payer has
      // paid, and a configured cancel path that is not the provider's own may answer anything.
      const readFrom = Date.now();
      const after = await readNow(core, sessionId, 'payer_cancel');
      if (after && !isOpen(after.status)) return { session: after, cancelledAtProvider: refusal === undefined || after.status === 'cancelled' };
      const readAfterCancel = after !== undefined && readSince(core, after, readFrom);
      // The payer has paid, or said so, and the provider is checking it: that is why, not the provider's wording.
      if (after && provider.paymentUnderway(after)) {
        throw new CheckoutError('session_not_cancellable', 'The payment was made or reported made, and the provider is checking it: it cannot be cancelled now.');
      }
      // A refusal that may pass (an outage), or no fresh read to show the payment still payable: the payer tries again.
      if (refusal !== undefined && (!readAfterCancel || !isCheckoutError(refusal) || refusal.retryable)) throw refusal;
      // The cancel did not take — refused for good, or accepted while a read made since still finds the payment
      // payable. Ended here and watched, as a payment with no cancel call is.
      if (refusal !== undefined || (readAfterCancel && providerShowsOpen(core, after!))) {
        core.log.warn('provider cancel did not take: ended here, the payment still watched', {
          sessionId,
          provider: provider.id,
          ...(refusal !== undefined ? { code: (refusal as CheckoutError).code, error: (refusal as CheckoutError).message } : {}),
        });
        return { session: (await endOpenSession(core, current, 'cancelled', 'cancelled_locally', 'manual', 'open')) ?? current, cancelledAtProvider: false };
      }
    } else {
      // No cancel call (Repay): the payer may have paid a moment ago; what the provider says decides, not the click.
      // While it cannot be read, nothing is ended: the shop would be told the order is payable again.
      const readFrom = Date.now();
      const after = await readNow(core, sessionId, 'payer_cancel');
      if (after && !isOpen(after.status)) return { session: after, cancelledAtProvider: false };
      if (!after || !readSince(core, after, readFrom)) {
        throw new CheckoutError('provider_unavailable', 'The payment service could not confirm whether this payment was made; try again in a moment.');
      }
    }
    const reason = canCancel ? 'cancelled_by_payer' : 'cancelled_locally';
    const ended = (await endOpenSession(core, current, 'cancelled', reason, 'manual', canCancel ? 'cancelled' : 'open')) ?? current;
    return { session: ended, cancelledAtProvider: canCancel };
  });
}
