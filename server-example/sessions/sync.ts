/**
 * Keeping a session in step with its provider: status re-reads (one at a time per session), the atomic application of
 * an observed provider status through the state machine (transitions.ts), the reconciler's poll schedule, and a
 * person's decision on a held payment.
 */
import { createHash } from 'node:crypto';
import type { CheckoutConfig } from '../config.js';
import { CheckoutError, isCheckoutError } from '../errors.js';
import type { ErrorCode } from '../errors.js';
import { orderAmountMinor } from '../money.js';
import type { ProviderStatusResult } from '../providers/types.js';
import type { Mutation, MutationContext, NewEvent, SessionRecord } from '../store.js';
import { decide, HELD_REASONS, isOpen, type Decision } from '../transitions.js';
import type { EventSource, SessionStatus } from '../types.js';
import type { RefreshTrigger, SessionCore } from './core.js';

/** Ended sessions the reconciler keeps polling for a while: a late payment revives them, a held one may resolve. */
const WATCHED_AFTER_END: ReadonlySet<SessionStatus> = new Set<SessionStatus>(['held', 'failed', 'cancelled', 'expired']);

/**
 * Re-reads the provider's status and applies it (one request per session at a time). Errors are recorded
 * and swallowed: the session keeps its last verified status and is polled again later.
 */
export function refresh(core: SessionCore, sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
  const running = core.refreshes.get(sessionId);
  if (running) return running;
  return afterRunningRead(core, sessionId, () => reread(core, sessionId, trigger));
}

/** What the provider's last answer stored for the session means (its raw status mapped again); undefined before any. */
function lastProviderStatus(core: SessionCore, session: SessionRecord): SessionStatus | undefined {
  return session.providerStatus === null ? undefined : core.provider(session.provider).mapStatus(session.providerStatus, session);
}

/** Whether the provider's last answer stored for the session shows the payment still open (payable) there. */
export function providerShowsOpen(core: SessionCore, session: SessionRecord): boolean {
  const last = lastProviderStatus(core, session);
  return last !== undefined && isOpen(last);
}

/**
 * A status read that starts after this call: one already running may have asked the provider before the caller's
 * moment (its answer would not tell what the provider says now, see readSince()), so it is waited for and another made.
 */
export async function readNow(core: SessionCore, sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
  await core.refreshes.get(sessionId)?.then(ignore, ignore);
  return refresh(core, sessionId, trigger);
}

/**
 * Runs a status read of a session (its provider request and the application of the answer) after the read in
 * flight for that session, if any, has been applied (whether it succeeded or not), and registers it as the running
 * read so later `refresh()` calls wait for it. Reads of one session are thus applied in the order they were
 * started: a slow answer observed before the provider's state changed can never overwrite a newer one.
 * `read` must not itself wait for a read of the same session (it would wait for itself).
 */
export function afterRunningRead(
  core: SessionCore,
  sessionId: string,
  read: () => Promise<SessionRecord | undefined>,
): Promise<SessionRecord | undefined> {
  const running = core.refreshes.get(sessionId);
  const started = running ? running.then(ignore, ignore).then(read) : read();
  const task: Promise<SessionRecord | undefined> = started.finally(() => {
    // Only this read's own entry: a read queued behind it has already taken the slot.
    if (core.refreshes.get(sessionId) === task) core.refreshes.delete(sessionId);
  });
  core.refreshes.set(sessionId, task);
  return task;
}

function ignore(): void {}

async function reread(core: SessionCore, sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
  const session = await core.store.getSession(sessionId);
  if (!session || !session.providerPaymentId) return session;
  try {
    return await readAndApply(core, session, trigger);
  } catch (error) {
    const code: ErrorCode = isCheckoutError(error) ? error.code : 'provider_error';
    core.log.warn('status query failed', { sessionId, provider: session.provider, code });
    return core.store.mutate(sessionId, (current) => {
      const attempts = current.pollAttempts + 1;
      // Watched as the provider's last answer said (its own review, a payment still open there): a failed read is no
      // news, and must not shorten the watch that answer set. Nor may it end the reads of a paid payment whose provider
      // has since signed another amount (a dispute's callback, left for this read to check).
      const last = lastProviderStatus(core, current);
      const next = nextPollAt(core.config, current, attempts, current.status, {
        readFailed: true,
        underway: core.provider(current.provider).paymentUnderway(current),
        providerHold: last === 'held' || (current.status === 'paid' && signedPaidAmounts(current).some((amount) => amount !== current.paidAmountMinor)),
        providerOpen: providerShowsOpen(core, current),
      });
      if (next === null && !isOpen(current.status) && current.nextPollAt !== null) {
        core.log.warn('stopped watching a session whose status could not be read for a day past its watch', { sessionId, provider: session.provider });
      }
      return {
        patch: { pollAttempts: attempts, lastPolledAt: Date.now(), nextPollAt: next },
        events: [{ sessionId, kind: 'poll_failed', source: 'poll', data: { trigger, code, detail: isCheckoutError(error) ? (error.detail ?? error.message) : String(error) } }],
      };
    });
  }
}

/**
 * Queries the provider's status of `session` and applies it, stamped with when the query started (`apply`'s `readAt`)
 * and with what the shop says of the order's price for a first payment. Throws what the query or the store throws.
 */
export async function readAndApply(core: SessionCore, session: SessionRecord, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
  const readAt = Date.now();
  const result = await core.provider(session.provider).fetchStatus(session);
  const shop = await orderAtPayment(core, session, result);
  return apply(core, session.id, result, trigger === 'webhook' ? 'webhook' : 'poll', { trigger, recordPoll: true, readAt, ...shop });
}

/** What the shop says of the order when a session's first payment is reported (`orderAtPayment`). */
interface OrderAtPayment {
  /** The shop prices the order differently now. */
  priceChanged?: boolean;
  /**
   * The shop has the order paid already (`paid: true`), by some other means than this session; `unknown`: the lookup
   * failed (a lookup that does not know the order, say one that needs the payer's login, never tells: undefined).
   */
  paidByShop?: boolean | 'unknown';
}

/**
 * Asks the shop about the order when the session's first payment is reported at the session's amount: the price may
 * have changed since the session was opened without the payer asking for a new one (a cart grown in another tab), and
 * the old amount must not count as paid; or the shop has the order paid already (another payment method, a person),
 * and this payment is a second one, held for a refund. A lookup that fails, or that does not know the order (a lookup
 * that needs the payer's login), cannot tell: the amount alone decides, except that a failed lookup does not lift a
 * hold as a second payment (`paidByShop`). A session paid once before (back from a dispute) is not asked about again:
 * what the shop does with its order after a payment is its own business; nor one held already for its order's change.
 */
async function orderAtPayment(core: SessionCore, session: SessionRecord, observed: ProviderStatusResult): Promise<OrderAtPayment> {
  if (observed.status !== 'paid' || observed.paidAmountMinor !== session.amountMinor) return {};
  if (session.paidAt !== null || session.errorCode === 'order_changed') return {};
  try {
    const order = await core.resolveOrder(session.orderId, session.locale ? { locale: session.locale } : {});
    if (!order) return {};
    const amountMinor = orderAmountMinor(order.amount);
    const priceChanged = amountMinor !== undefined && (amountMinor !== session.amountMinor || order.currency !== session.currency);
    if (priceChanged) core.log.warn('order price changed since the session was opened', { sessionId: session.id, orderId: session.orderId });
    if (order.paid) core.log.warn('a payment arrived for an order the shop has paid already', { sessionId: session.id, orderId: session.orderId });
    return { priceChanged, paidByShop: order.paid === true };
  } catch (error) {
    core.log.warn('order lookup before a payment failed; deciding by the amount alone', {
      sessionId: session.id,
      code: isCheckoutError(error) ? error.code : 'error',
    });
    return { paidByShop: 'unknown' };
  }
}

/**
 * Whether an open session past its window may be ended now: its status was read since `since` and found still open,
 * or it cannot be read at all. A read that failed proves nothing: the payer may have paid while the provider's status
 * API was down, and ending the session would tell the shop "expired" (and open the way to a second payment).
 */
export function readSince(core: SessionCore, session: SessionRecord, since: number): boolean {
  if (!core.provider(session.provider).canFetchStatus(session)) return true;
  return session.statusReadAt !== null && session.statusReadAt >= since;
}

/**
 * The `updatedAt` of a change to `current`: now, and always after its last change, so that of two answers about a
 * session the later stamp is the newer data even when instances' clocks differ or one steps back (the element orders
 * status answers by it).
 */
export function changeStamp(current: { updatedAt: number }): number {
  return Math.max(Date.now(), current.updatedAt + 1);
}

/** A provider's own review of a payment (a dispute, a manual check) may take days: watched this long by default. */
export const PROVIDER_REVIEW_WATCH_MS = 14 * 86_400_000;
/** An ended session whose reads keep failing stays watched this long past its watch: a failed read proves nothing. */
export const UNREAD_WATCH_MS = 86_400_000;

/** What the caller knows of the read behind a scheduling decision. */
export interface PollHints {
  /** The status query failed: nothing is known of the session since its last successful read. */
  readFailed?: boolean;
  /** The payer paid and the provider is still checking or paying out (`paymentUnderway`). */
  underway?: boolean;
  /** The provider itself holds the payment (a dispute, a review), whatever else the session is held for. */
  providerHold?: boolean;
  /**
   * The provider still shows the payment open (payable) though the session ended here: Repay has no cancel call, and
   * its page stays payable until its own timeout, which may come later than the window the session assumed.
   */
  providerOpen?: boolean;
}

/**
 * When the reconciler should look at a session next: open sessions with exponential backoff (and at their expiry
 * check at the latest); sessions that ended without a payment — or are held — keep being watched until
 * `latePaymentWatchMs` after their window or their last change, because a payer may still pay and a webhook may never
 * come. A payment the provider itself reviews (held for `provider_review`), or one under way, is watched for
 * `providerReviewWatchMs`: the provider's decision may come days later, and no callback may tell it. A watch ends on a
 * read that found nothing new: while reads fail it goes on, for `UNREAD_WATCH_MS` more at most.
 */
export function nextPollAt(
  config: CheckoutConfig,
  session: SessionRecord,
  attempts: number,
  status: SessionStatus = session.status,
  hints: PollHints = {},
): number | null {
  const { minBackoffMs, maxBackoffMs, expiryGraceMs, latePaymentWatchMs, providerReviewWatchMs = PROVIDER_REVIEW_WATCH_MS } = config.reconcile;
  const backoff = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempts, 20));
  const now = Date.now();
  if (isOpen(status)) {
    const expiryCheck = session.expiresAt + expiryGraceMs;
    return expiryCheck > now ? Math.min(now + backoff, expiryCheck) : now + backoff;
  }
  // A payment counted as paid while the provider still pays it out (BOXEXCHANGER_PAYOUT_QUEUED_IS_PAID) may yet be
  // returned to the payer or fail, and BoxExchanger tells that once; one a person accepted while the provider still
  // holds it, or still shows it open, may yet be lost: watched like a payment the provider reviews.
  const watched =
    WATCHED_AFTER_END.has(status) || (status === 'paid' && (hints.underway === true || hints.providerHold === true || hints.providerOpen === true));
  if (!watched || !session.providerPaymentId) return null;
  const providerReview =
    (status === 'held' && !HELD_REASONS.has(session.errorCode as Decision['reason'])) ||
    hints.underway === true ||
    hints.providerHold === true ||
    hints.providerOpen === true;
  const watchUntil = Math.max(session.expiresAt, session.updatedAt) + (providerReview ? Math.max(providerReviewWatchMs, latePaymentWatchMs) : latePaymentWatchMs);
  // The last read of a watch falls at its end, not a backoff short of it.
  if (now < watchUntil) return Math.min(now + backoff, watchUntil);
  return hints.readFailed && now < watchUntil + UNREAD_WATCH_MS ? now + backoff : null;
}

/**
 * Applies an observed provider status atomically; returns the session after it. `readAt`: when the status query that
 * observed it started. An answer to a query started before the one the session already reflects is older news: it is
 * logged, and changes nothing. Instances order their reads by their clocks, which must agree to well within a
 * provider round trip (NTP does). `priceChanged`, `paidByShop`: what the shop said of the order (`orderAtPayment`).
 */
export async function apply(
  core: SessionCore,
  sessionId: string,
  observed: ProviderStatusResult,
  source: EventSource,
  meta: ObservationMeta = {},
): Promise<SessionRecord | undefined> {
  const result = await core.change(sessionId, observation(core, observed, source, meta));
  warnIfHeld(core, result);
  return result;
}

/**
 * Whether a session of the order stands for its payment, so that another one is a second payment: paid, or paid and
 * now held (a dispute, a review), which may yet end in its favour — unless it is held as a second payment itself.
 * Failed or refunded, it no longer does.
 */
function countsForOrder(session: SessionRecord): boolean {
  return session.status === 'paid' || (session.status === 'held' && session.paidAt !== null && session.errorCode !== 'duplicate_payment');
}

/**
 * The order's payments held as its second one that `current` moving to `to` may let count: when the order's payment
 * (paid here once) ends refunded or failed, each is read at once rather than when (or whether) its own watch still
 * reads it. Only those with a provider payment to read.
 */
function secondPaymentsFreedBy(current: SessionRecord, to: SessionStatus, context: MutationContext): string[] {
  // Before the order's other sessions are read (lazily, on SQLite): most changes free nothing.
  if (current.paidAt === null || !(to === 'refunded' || to === 'failed')) return [];
  return context.orderSessions
    .filter((other) => other.status === 'held' && other.errorCode === 'duplicate_payment' && other.providerPaymentId !== null)
    .map((other) => other.id);
}

/**
 * Whether the shop's word makes a first payment of `current` a second one: the shop said the order is paid; or its
 * lookup failed while the payment is held as a second one already (a lookup that fails once must not turn a payment
 * held for a refund into one the shop is told to ship). An answer of the shop's lifts that hold, or a person. The
 * shop's word counts for a first payment only, like its price (orderAtPayment), and not once every payment of the
 * order made here has been refunded or has failed: the shop's flag may then be one of those (not cleared yet after
 * its refund). (One held in a dispute still stands for the order by itself: countsForOrder.)
 */
function paidByShop(current: SessionRecord, orderSessions: readonly SessionRecord[], said: OrderAtPayment['paidByShop']): boolean {
  if (current.paidAt !== null) return false;
  const paidHere = orderSessions.filter((other) => other.paidAt !== null);
  if (paidHere.length > 0 && paidHere.every((other) => other.status === 'refunded' || other.status === 'failed')) return false;
  return said === true || (said === 'unknown' && current.status === 'held' && current.errorCode === 'duplicate_payment');
}

/**
 * Where a session keeps the amounts its provider's signed callbacks reported as paid (`VerifiedClaim.signedPaidAmountMinor`)
 * since a person last looked at the payment (`providerData`): each one, not only the latest, since Repay's callbacks
 * carry no time and a retried old one may arrive after a dispute's. A status answer naming another amount than any of
 * them is held (`decide`) until a person settles it (`resolveHeld`).
 */
export const SIGNED_PAID_AMOUNTS = 'signedPaidAmounts';

/** At most this many distinct signed amounts are kept per session (a dispute changes the amount once or twice). */
const MAX_SIGNED_AMOUNTS = 10;

function signedPaidAmounts(session: SessionRecord): number[] {
  const amounts = session.providerData[SIGNED_PAID_AMOUNTS];
  return Array.isArray(amounts) ? amounts.filter((amount): amount is number => typeof amount === 'number') : [];
}

/** The session's signed amounts with `amount`, each once. */
export function withSignedAmount(session: SessionRecord, amount: number): number[] {
  const amounts = signedPaidAmounts(session);
  return amounts.includes(amount) ? amounts : [...amounts, amount].slice(-MAX_SIGNED_AMOUNTS);
}

/**
 * The version of a session a person decides on (the merchant API's `ETag`, checked by `If-Match` on a resolution):
 * it changes with the session's last change and with everything the decision weighs — its status and reason, the
 * paid amount, the provider's status, the amounts the provider signed. A decision made on an older version is refused
 * (`session_changed`): what came since, a dispute's signed amount say, must be before the person's eyes first.
 */
export function decisionTag(session: SessionRecord): string {
  const weighed = [session.updatedAt, session.status, session.errorCode, session.paidAmountMinor, session.providerStatus, signedPaidAmounts(session)];
  return `"${createHash('sha256').update(JSON.stringify(weighed)).digest('base64url').slice(0, 22)}"`;
}

/** Set in `providerData` while a paid payment is held because its provider reported it unpaid (see observation()). */
const HELD_ON_LOSS = 'heldOnLoss';

/** A person's decision on a held payment (resolveHeld), kept with what the provider had said then (`providerData`). */
interface Resolution {
  status: SessionStatus;
  providerStatus: string | null;
  paidAmountMinor: number | null;
  /** The signed amounts the decision was made on (once accepted as paid: the accepted amount). */
  signedPaidAmounts?: number[];
}

/** What the read behind an observed status was: see apply(). */
export interface ObservationMeta {
  trigger?: RefreshTrigger;
  /** The report is not a status read but a signed claim that cannot be re-read: a payment in it is held (decide()). */
  unconfirmed?: boolean;
  recordPoll?: boolean;
  readAt?: number;
  priceChanged?: boolean;
  paidByShop?: OrderAtPayment['paidByShop'];
}

/**
 * The change an observed provider status makes to a session, as a store mutation: apply()'s transaction, and that of
 * a callback whose claim is applied in the transaction that stores it (sessions/callbacks.ts).
 */
export function observation(
  core: SessionCore,
  observed: ProviderStatusResult,
  source: EventSource,
  meta: ObservationMeta = {},
): (current: SessionRecord, context: MutationContext) => Mutation {
  return (current, context) => {
    const sessionId = current.id;
    const events: NewEvent[] = [];
    const stale = meta.readAt !== undefined && current.statusReadAt !== null && meta.readAt < current.statusReadAt;
    if (meta.recordPoll) {
      events.push({
        sessionId,
        kind: 'poll',
        source: 'poll',
        providerStatus: observed.rawStatus,
        amountMinor: observed.paidAmountMinor ?? null,
        data: { trigger: meta.trigger ?? null, status: observed.status, response: observed.raw, ...(stale ? { stale: true } : {}) },
      });
    }
    if (stale) {
      // An older read than the one the row reflects is not applied. But a person's decision on another instance stamps
      // the row as read without reading it (resolveHeld): an answer that disagrees with the row may be the provider's
      // news since (a dispute, a failure), so a fresh read is made now and decides. (An extra read at worst.)
      const disagrees =
        observed.rawStatus !== current.providerStatus ||
        (observed.paidAmountMinor !== undefined && observed.paidAmountMinor !== current.paidAmountMinor);
      const now = Date.now();
      const due = disagrees && (current.nextPollAt === null || current.nextPollAt > now);
      return due ? { patch: { nextPollAt: now }, events } : { events };
    }
    // The rest of the order matters only when a payment is reported (read lazily: most polls report none).
    const order =
      observed.status === 'paid'
        ? {
            paidElsewhere: context.orderSessions.some(countsForOrder) || paidByShop(current, context.orderSessions, meta.paidByShop),
            // The lookup was made before this transaction, maybe on an older copy of the row: it counts for a first
            // payment only (orderAtPayment).
            orderChanged: current.errorCode === 'order_changed' || (meta.priceChanged === true && current.paidAt === null),
            heldFor: current.status === 'held' ? current.errorCode : null,
            signedPaidAmounts: signedPaidAmounts(current),
          }
        : undefined;
    // A person settled this payment on what the provider said then (resolveHeld): the same answer again, while the
    // session still has the status they chose, brings nothing new and must not undo their decision. Any other answer
    // (a dispute, a refund) is applied as usual and ends that guard: the provider has moved on since.
    const { resolved, [HELD_ON_LOSS]: heldOnLoss, ...providerData } = current.providerData as { resolved?: Resolution; [HELD_ON_LOSS]?: boolean };
    // (A signed amount that came since, a dispute's, is news too.)
    const asResolved =
      resolved !== undefined &&
      current.status === resolved.status &&
      observed.rawStatus === resolved.providerStatus &&
      (observed.paidAmountMinor ?? null) === resolved.paidAmountMinor &&
      signedPaidAmounts(current).every((signed) => resolved.signedPaidAmounts?.includes(signed));
    // A paid payment held because the provider reported it unpaid (decide()) stays held while the provider goes on
    // reporting it unpaid, in whatever words, or open: a person settles it. A payment or a hold of the provider's own
    // ends that (a dispute's hold then ends failed when the provider decides against it, as any provider review does).
    const unpaid = observed.status === 'failed' || observed.status === 'cancelled' || observed.status === 'expired';
    const lossHeld = current.status === 'held' && heldOnLoss === true && (unpaid || isOpen(observed.status));
    const decision = asResolved || lossHeld ? undefined : decide(current.status, current.amountMinor, meta.unconfirmed ? { ...observed, unconfirmed: true } : observed, source, order);
    const holdsLoss = lossHeld || (current.status === 'paid' && decision?.to === 'held' && unpaid);
    const attempts = meta.recordPoll ? current.pollAttempts + 1 : current.pollAttempts;
    const status = decision?.to ?? current.status;
    const expiresAt = observed.expiresAt !== undefined && isOpen(status) ? observed.expiresAt : current.expiresAt;
    // The amount a payment reported, kept while there is a payment (a held one whose amount the provider corrects too).
    const paidAmountMinor =
      observed.paidAmountMinor !== undefined && (status === 'paid' || status === 'held' || status === 'refunded')
        ? observed.paidAmountMinor
        : current.paidAmountMinor;
    // `updatedAt` is when the session last changed: a read that finds nothing new leaves it, so an ended session's
    // late-payment watch runs from its end (nextPollAt), not from its latest poll, and does end.
    const changed =
      decision !== undefined ||
      observed.rawStatus !== current.providerStatus ||
      expiresAt !== current.expiresAt ||
      paidAmountMinor !== current.paidAmountMinor;
    const patch: Partial<SessionRecord> = {
      providerStatus: observed.rawStatus,
      pollAttempts: attempts,
      ...(changed ? { updatedAt: changeStamp(current) } : {}),
      ...(paidAmountMinor !== current.paidAmountMinor ? { paidAmountMinor } : {}),
      ...((resolved !== undefined && !asResolved) || (heldOnLoss === true) !== holdsLoss
        ? { providerData: { ...providerData, ...(asResolved ? { resolved } : {}), ...(holdsLoss ? { [HELD_ON_LOSS]: true } : {}) } }
        : {}),
      ...(meta.recordPoll ? { lastPolledAt: Date.now() } : {}),
      ...(meta.readAt !== undefined ? { statusReadAt: meta.readAt } : {}),
      ...(expiresAt !== current.expiresAt ? { expiresAt } : {}),
    };
    const after = { ...current, ...patch };
    patch.nextPollAt = nextPollAt(core.config, after, attempts, status, {
      underway: core.provider(current.provider).paymentUnderway(after),
      providerHold: observed.status === 'held',
      providerOpen: isOpen(observed.status),
    });
    if (decision) {
      // The payer's cancel, carried out by the provider: told as the payer's (the reason a payer's cancel the helper ends
      // itself carries), not as the provider's own word.
      const reason = decision.to === 'cancelled' && meta.trigger === 'payer_cancel' ? 'cancelled_by_payer' : decision.reason;
      if (reason === 'cancelled_by_payer') patch.errorCode = reason;
      patch.status = decision.to;
      if (decision.to === 'paid') {
        patch.errorCode = null;
        patch.paidAt = current.paidAt ?? Date.now();
      }
      // order_changed is never replaced: it is what keeps this session's old price from ever counting as paid (a
      // later amount mismatch or duplicate would otherwise erase it and let the next report of the old amount pass).
      if (HELD_REASONS.has(decision.reason) && current.errorCode !== 'order_changed') patch.errorCode = decision.reason;
      // Held on the provider's word (its own review): no earlier reason of an ended session (`window_passed`…) stays on
      // it as if it were why the payment is held.
      else if (decision.to === 'held' && current.errorCode !== 'order_changed') patch.errorCode = null;
      // A payment held for its amount or as a second payment that then ends unpaid: the hold's reason no longer says
      // anything about it (a shop must not read `amount_mismatch` on a failed payment as money that arrived).
      else if (!isOpen(decision.to) && decision.to !== 'paid' && decision.to !== 'refunded' && current.errorCode !== 'order_changed' && HELD_REASONS.has(current.errorCode as Decision['reason'])) {
        patch.errorCode = null;
      }
      events.push({
        sessionId,
        kind: 'transition',
        source,
        fromStatus: current.status,
        toStatus: decision.to,
        providerStatus: observed.rawStatus,
        amountMinor: observed.paidAmountMinor ?? null,
        data: { reason, trigger: meta.trigger ?? null },
      });
      const pollNow = secondPaymentsFreedBy(current, decision.to, context);
      return { patch, events, deliveries: core.notifications(current, patch, reason), ...(pollNow.length ? { pollNow } : {}) };
    }
    return { patch, events };
  };
}

export function warnIfHeld(core: SessionCore, session: SessionRecord | undefined): void {
  if (session?.status === 'held') {
    core.log.warn('payment held for review', { sessionId: session.id, orderId: session.orderId, reason: session.errorCode });
  }
}

/**
 * A person settles a held payment (merchant API): `paid` (ship it), `refunded` (the money went back) or `failed`
 * (nothing arrived). Logged with source `manual` and the note, and told to the merchant's backend like any change.
 */
export async function resolveHeld(
  core: SessionCore,
  sessionId: string,
  to: 'paid' | 'refunded' | 'failed',
  note: string,
  /** The `decisionTag` of the version the person saw (the API's `If-Match`); undefined: decided on the current one. */
  seen?: string,
): Promise<SessionRecord> {
  const session = await core.store.getSession(sessionId);
  if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
  let refused: SessionStatus | undefined;
  let paidElsewhere = false;
  let changed = false;
  // After any status read of the session in flight, and stamped as the latest read: an answer to a query started
  // before the decision is older news (apply() ignores it), not a reason to hold the payment again.
  const result = await afterRunningRead(core, sessionId, () =>
    core.change(sessionId, (current, context) => {
      // Decided afresh on each run: PostgreSQL runs the decision again after a lost serialisation race.
      refused = undefined;
      paidElsewhere = false;
      // The version the person read comes first (as HTTP's If-Match does): a payment settled since is news to them too.
      changed = seen !== undefined && decisionTag(current) !== seen;
      if (changed) return undefined;
      if (current.status !== 'held') {
        refused = current.status;
        return undefined;
      }
      // The order is paid by another session (or was, and that payment is held now): this payment is the second one,
      // which a person refunds, never ships.
      if (to === 'paid' && context.orderSessions.some(countsForOrder)) {
        paidElsewhere = true;
        return undefined;
      }
      // Accepted as paid, the signed amounts were before the person's eyes: a later callback's amount is news again.
      // (Settled otherwise, they stay: should the provider report the payment paid later, they still count.)
      // (And a hold on the provider's report of a loss is settled: the person's decision stands in its place.)
      const { [HELD_ON_LOSS]: _loss, ...settled } = current.providerData;
      const { [SIGNED_PAID_AMOUNTS]: _seen, ...accepted } = settled;
      const providerData = to === 'paid' ? accepted : settled;
      // What the provider said when the person decided: the same answer again leaves their decision (apply()).
      const resolved: Resolution = {
        status: to,
        providerStatus: current.providerStatus,
        paidAmountMinor: current.paidAmountMinor,
        // Accepted as paid: the amount the person accepted, signed later, is no news.
        signedPaidAmounts: to === 'paid' ? (current.paidAmountMinor === null ? [] : [current.paidAmountMinor]) : signedPaidAmounts(current),
      };
      const patch: Partial<SessionRecord> = {
        status: to,
        updatedAt: changeStamp(current),
        statusReadAt: Date.now(),
        providerData: { ...providerData, resolved },
        ...(to === 'paid' ? { errorCode: null, paidAt: current.paidAt ?? Date.now() } : {}),
      };
      // Accepted while the provider still pays it out, or still reviews it itself (held on its word): watched on until
      // the provider's decision, as any such payment is — a review it later loses reaches the shop.
      const hints = {
        underway: core.provider(current.provider).paymentUnderway(current),
        // Held on the provider's word, or for a reason of the helper's while the provider's own dispute runs too.
        providerHold: !HELD_REASONS.has(current.errorCode as Decision['reason']) || lastProviderStatus(core, current) === 'held',
        // Settled as failed while the provider still shows it payable: watched as long as it does.
        providerOpen: providerShowsOpen(core, current),
      };
      // Settled as failed, it is watched as any ended payment is (the provider's own review, for as long as one takes):
      // should the provider report it paid after all, that is applied. Refunded, it is not watched.
      patch.nextPollAt = nextPollAt(core.config, { ...current, ...patch }, 0, to, hints);
      const pollNow = secondPaymentsFreedBy(current, to, context);
      return {
        patch,
        events: [{ sessionId, kind: 'transition', source: 'manual', fromStatus: current.status, toStatus: to, data: { reason: 'manual', note, heldFor: current.errorCode } }],
        deliveries: core.notifications(current, patch, 'manual', note),
        ...(pollNow.length ? { pollNow } : {}),
      };
    }),
  );
  if (changed) {
    throw new CheckoutError('session_changed', 'This payment changed since it was read: read it again (GET /merchant/sessions/:id) and decide on what it says now.');
  }
  if (paidElsewhere) {
    throw new CheckoutError('order_paid', 'Another payment of this order is paid (or was, and is held now): this one is the second, to be refunded (resolve it as refunded).');
  }
  if (refused !== undefined || !result) {
    throw new CheckoutError('session_not_held', `Only a held payment can be resolved; this one is ${refused ?? 'gone'}.`);
  }
  core.log.info('held payment resolved', { sessionId, to });
  return result;
}
