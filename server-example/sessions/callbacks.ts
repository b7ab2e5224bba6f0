/**
 * Provider callbacks: the session a callback names, its verification into a claim (the adapter's `verifyCallback()`),
 * and what the claim does (`callbackPolicy()` in transitions.ts): refused and kept as a digest, or stored once in the
 * event log and followed by a status re-read, a hold, or nothing more. An unsigned callback (a trigger anyone can send)
 * is stored and followed at most once per TRIGGERED_READ_INTERVAL_MS per session (`unsignedTrigger()`).
 */
import { CheckoutError, isCheckoutError } from '../errors.js';
import { optional } from '../providers/common.js';
import { sha256Hex } from '../providers/crypto.js';
import type { CallbackInput, CallbackReply, ParsedCallback, PaymentProvider, VerifiedClaim } from '../providers/types.js';
import { ProviderPaymentTakenError } from '../store.js';
import type { Mutation, MutationContext, NewEvent, SessionRecord } from '../store.js';
import { callbackPolicy } from '../transitions.js';
import type { CallbackFollowUp } from '../transitions.js';
import type { ProviderId } from '../types.js';
import type { SessionCore } from './core.js';
import { referenceOf, sessionIdOfReference } from './references.js';
import { afterRunningRead, changeStamp, observation, readAndApply, SIGNED_PAID_AMOUNTS, warnIfHeld, withSignedAmount } from './sync.js';

/** Raw webhook bodies kept in the event log are capped (the request limit is 64 KB anyway). */
const MAX_RAW_LOGGED = 16_384;
/** An unsigned callback's body (anyone may send one) is kept as its head only: enough to see the provider's format. */
const MAX_UNSIGNED_RAW_LOGGED = 1_024;
/** The longest unsigned claimed status or content type kept: both are whatever the sender wrote. */
const MAX_UNSIGNED_TEXT = 64;

/**
 * A trigger anyone can send re-reads a session's provider status at most this often: the status route and the return
 * page (app.ts), and an unsigned callback, which is also stored at most this often per session (`unsignedTrigger()`).
 */
export const TRIGGERED_READ_INTERVAL_MS = 3_000;

/** Where a session remembers when an unsigned callback was last stored and followed (`providerData`). */
const UNSIGNED_TRIGGER_AT = 'unsignedCallbackAt';

/**
 * Verifies a provider callback and acts on it; returns the answer the provider expects. A callback is never
 * applied on its own word: it is stored, and the provider's status is re-read with our credentials and applied.
 * One that fails verification, or names a payment that is not the named session's, is kept only as a bounded
 * digest (`source`: the sender's address) and refused.
 */
export async function handleCallback(core: SessionCore, providerId: ProviderId, input: CallbackInput, source: string | null = null): Promise<CallbackReply> {
  const provider = core.provider(providerId);
  let claim: VerifiedClaim;
  let session: SessionRecord;
  let then: CallbackFollowUp;
  try {
    const parsed = provider.parseCallback(input);
    session = await callbackSession(core, provider, parsed);
    claim = provider.verifyCallback(input, parsed, session);
    const plan = callbackPolicy(claim, {
      providerPaymentId: session.providerPaymentId,
      amountMinor: session.amountMinor,
      canReread: provider.canFetchStatus({ ...session, providerPaymentId: session.providerPaymentId ?? claim.providerPaymentId ?? null }),
      underway: claim.status !== undefined && provider.paymentUnderway({ ...session, providerStatus: claim.status.raw }),
    });
    if (plan.action === 'reject') throw new CheckoutError('invalid_webhook', plan.message);
    if (plan.adopt !== undefined) session = await adoptPayment(core, session, plan.adopt);
    then = plan.then;
  } catch (error) {
    const code = isCheckoutError(error) ? error.code : 'invalid_webhook';
    core.log.warn('callback rejected', { provider: providerId, code });
    await core.store.recordRejectedCallback({ provider: providerId, code, body: input.rawBody, source });
    throw error;
  }
  if (!claim.authenticated) return unsignedTrigger(core, provider, session, claim, input, then);

  const raw = input.rawBody.length > MAX_RAW_LOGGED ? `${input.rawBody.slice(0, MAX_RAW_LOGGED)}…` : input.rawBody;
  const received: NewEvent & { sessionId: string } = {
    sessionId: session.id,
    kind: 'webhook',
    source: 'webhook',
    providerStatus: claim.status?.raw ?? null,
    amountMinor: claim.paidAmountMinor ?? null,
    data: { authenticated: claim.authenticated, contentType: input.contentType, raw },
    // The same notification is the same whatever its unsigned parts or whitespace say.
    dedupeKey: `webhook:${providerId}:${sha256Hex(claim.covers)}`,
  };
  // Providers that time-stamp their notifications: an older one than the last applied is out of order. The stamp
  // is kept in the same transaction that stores the callback.
  const stamp = claim.eventTimestamp;
  // A callback whose status is to be re-read leaves its session due for a poll in that same transaction: should the
  // re-read below never happen (a crash, the database away for a moment), the reconciler makes it. The provider's
  // retry cannot: it is a duplicate by then, and a session no longer watched would never be looked at again.
  const due = then === 'reread';
  // For the same reason a claim that is applied or held without a re-read changes the session in that transaction.
  const direct = claimChange(core, claim, then);
  // What the provider signed as paid is kept with the callback: a status answer naming another amount is held.
  const signed = claim.signedPaidAmountMinor;
  let outOfOrder = false;
  // A held payment's version (decisionTag) moves with each authenticated callback stored for it, re-read or not: it is
  // in the log a person reads before deciding.
  const held = session.status === 'held';
  const stored =
    stamp === undefined && !due && !direct && signed === undefined && !held
      ? { fresh: await core.store.appendEvent(received), session: undefined }
      : await core.appendAndChange(received, (current, context) => {
          const last = typeof current.providerData.lastNotificationAt === 'number' ? current.providerData.lastNotificationAt : 0;
          // Strictly older only: BoxExchanger's unix time may be in seconds, and two IPNs of one second (a quick
          // inProgress → done) are both news; an exact replay is caught by the dedupe key.
          // Assigned, not only set: PostgreSQL runs the decision again after a lost serialisation race.
          outOfOrder = stamp !== undefined && stamp < last;
          if (outOfOrder) {
            const note: NewEvent = { sessionId: current.id, kind: 'note', source: 'webhook', data: { reason: 'out_of_order', timestamp: stamp, last } };
            // Still in the log a person reads before settling a held payment: its version moves.
            return { events: [note], ...(current.status === 'held' ? { patch: { updatedAt: changeStamp(current) } } : {}) };
          }
          const noted = {
            ...(stamp !== undefined ? { lastNotificationAt: stamp } : {}),
            ...(signed !== undefined ? { [SIGNED_PAID_AMOUNTS]: withSignedAmount(current, signed) } : {}),
          };
          const stamped = stamp === undefined && signed === undefined ? current : { ...current, providerData: { ...current.providerData, ...noted } };
          const change = direct?.(stamped, context);
          return {
            ...change,
            patch: {
              ...(stamped !== current ? { providerData: stamped.providerData } : {}),
              ...(due ? { nextPollAt: Date.now() } : {}),
              // An authenticated callback is news of the payment: an ended session's late-payment watch runs on
              // from it (nextPollAt), so a status API that lags the callback, or is down, is read again later. (An
              // unsigned one only gets its re-read: unsignedTrigger().)
              ...(due || current.status === 'held' ? { updatedAt: changeStamp(current) } : {}),
              ...change?.patch,
            },
          };
        });
  if (!stored.fresh) {
    core.log.info('duplicate callback ignored', { provider: providerId, sessionId: session.id });
    return provider.callbackReply();
  }
  if (outOfOrder) return provider.callbackReply();

  if (direct) warnIfHeld(core, stored.session);
  const refreshed = due ? await rereadAfterCallback(core, provider, session) : stored.session;
  core.log.info('callback accepted', { provider: providerId, sessionId: session.id, status: (refreshed ?? session).status });
  return provider.callbackReply();
}

/**
 * An unsigned callback (today: age.trading without AGETRADING_CALLBACK_SECRET) is a trigger anyone who knows a
 * session's id or reference can send, with any body: the payer's browser is handed the session id. So per session, one
 * is stored (the head of its body) and followed by a status re-read at most once per TRIGGERED_READ_INTERVAL_MS — the
 * window the status route and the return page use; within the window the others are answered as the provider expects
 * and do nothing more: no event, no write, no provider call. Its words identify nothing (the sender picks them), so it
 * is throttled per session rather than deduplicated by content, and its time stamp, if any, orders nothing.
 *
 * A throttled trigger never makes the helper miss a payment. All it could have done is ask for a status read, and
 * only that read moves a session; meanwhile:
 * - the trigger stored in its window read the status (or, failing, left the session due for a poll) moments before;
 * - the reconciler polls every open session, and every ended one still watched for a late payment, on its own
 *   schedule whatever callbacks say (an unsigned callback never extends that watch, throttled or not), and the payer's
 *   open page polls the status route;
 * - the next trigger after the window (the provider's retry or next notification, even a forger's) reads again.
 * So a real payment whose unsigned callback lands in a forged one's window is applied by the next poll or trigger,
 * at worst a backoff later; nothing of it is lost. Authenticated callbacks are never throttled (handleCallback()).
 */
async function unsignedTrigger(
  core: SessionCore,
  provider: PaymentProvider,
  session: SessionRecord,
  claim: VerifiedClaim,
  input: CallbackInput,
  then: CallbackFollowUp,
): Promise<CallbackReply> {
  const now = Date.now();
  // Looked at on the row already read, so a flood costs no write; then again in the transaction, where one of many
  // arriving at once (at this instance or another) wins.
  if (triggeredWithin(session, now)) return throttled(core, provider, session, then);
  const head = input.rawBody.length > MAX_UNSIGNED_RAW_LOGGED ? `${input.rawBody.slice(0, MAX_UNSIGNED_RAW_LOGGED)}…` : input.rawBody;
  const received: NewEvent = {
    sessionId: session.id,
    kind: 'webhook',
    source: 'webhook',
    providerStatus: claim.status ? clip(claim.status.raw) : null,
    amountMinor: claim.paidAmountMinor ?? null,
    data: { authenticated: false, contentType: clip(input.contentType), raw: head, length: input.rawBody.length },
  };
  const due = then === 'reread';
  let stored = false;
  await core.store.mutate(session.id, (current) => {
    stored = !triggeredWithin(current, now);
    if (!stored) return undefined;
    return {
      patch: {
        providerData: { ...current.providerData, [UNSIGNED_TRIGGER_AT]: now },
        // Due for a poll in the same transaction, should the re-read below never happen (see handleCallback()). Its
        // re-read is all it gets: no change stamp, so it does not keep an ended session watched.
        ...(due ? { nextPollAt: now } : {}),
      },
      events: [received],
    };
  });
  if (!stored) return throttled(core, provider, session, then);
  // Unauthenticated: never applied or held on its own word (callbackPolicy()), at most re-read.
  const refreshed = due ? await rereadAfterCallback(core, provider, session) : undefined;
  core.log.info('callback accepted', { provider: provider.id, sessionId: session.id, status: (refreshed ?? session).status, authenticated: false });
  return provider.callbackReply();
}

/** An unsigned callback was stored for the session less than a window ago (by any clock: a step back never blocks longer). */
function triggeredWithin(session: SessionRecord, now: number): boolean {
  const at = session.providerData[UNSIGNED_TRIGGER_AT];
  return typeof at === 'number' && Math.abs(now - at) < TRIGGERED_READ_INTERVAL_MS;
}

/**
 * A trigger in another's window: its re-read is put off, never dropped. The session is due for a poll once the window
 * has passed, so a trigger that follows another within it (the provider's own next notice after a forged one, or after
 * its own earlier one) is still read — also for an ended session whose late-payment watch is over, which nothing else
 * reads. One write per window: the triggers after it find the poll already set.
 */
async function throttled(core: SessionCore, provider: PaymentProvider, session: SessionRecord, then: CallbackFollowUp): Promise<CallbackReply> {
  // Debug only: a line per forged callback would fill the log instead of the database.
  core.log.debug('unsigned callback throttled', { provider: provider.id, sessionId: session.id });
  if (then === 'reread' && readAfterWindow(session) !== undefined) {
    await core.store.mutate(session.id, (current) => {
      const at = readAfterWindow(current);
      return at === undefined ? undefined : { patch: { nextPollAt: at } };
    });
  }
  return provider.callbackReply();
}

/** When a session's put-off re-read is due: the end of its trigger window, unless a poll is due by then anyway. */
function readAfterWindow(session: SessionRecord): number | undefined {
  const at = session.providerData[UNSIGNED_TRIGGER_AT];
  if (typeof at !== 'number') return undefined;
  const due = at + TRIGGERED_READ_INTERVAL_MS;
  return session.nextPollAt !== null && session.nextPollAt <= due ? undefined : due;
}

function clip(text: string): string {
  return text.length > MAX_UNSIGNED_TEXT ? `${text.slice(0, MAX_UNSIGNED_TEXT)}…` : text;
}

/**
 * A stored, fresh callback whose status is to be re-read: the read, queued behind one already running for the session
 * (a poll, say). A read started later must be applied later, or a slow answer from before the provider's state changed
 * (e.g. `completed`) would land after this newer one (`proceedings`) and move the session back until the next poll.
 */
function rereadAfterCallback(core: SessionCore, provider: PaymentProvider, session: SessionRecord): Promise<SessionRecord | undefined> {
  return afterRunningRead(core, session.id, async () => {
    try {
      return await readAndApply(core, session, 'webhook');
    } catch (error) {
      // Stored, not applied: the reconciler re-reads the provider at its next pass.
      const code = isCheckoutError(error) ? error.code : 'error';
      core.log.warn('status re-read after callback failed', { sessionId: session.id, provider: provider.id, code });
      return core.store.mutate(session.id, () => ({
        patch: { nextPollAt: Date.now() },
        events: [{ sessionId: session.id, kind: 'poll_failed', source: 'webhook', data: { trigger: 'webhook', code } }],
      }));
    }
  });
}

/**
 * The change a claim makes without a status re-read (`callbackPolicy()`'s `apply` and `hold`), run in the transaction
 * that stores its callback; undefined when the claim waits for a re-read or is only recorded.
 */
function claimChange(
  core: SessionCore,
  claim: VerifiedClaim,
  then: CallbackFollowUp,
): ((current: SessionRecord, context: MutationContext) => Mutation) | undefined {
  const claimed = claim.status;
  const meta = { trigger: 'webhook', readAt: Date.now() } as const;
  const paid = optional('paidAmountMinor', claim.paidAmountMinor);
  if (then === 'apply' && claimed?.unified) {
    return observation(core, { rawStatus: claimed.raw, status: claimed.unified, ...paid, raw: claim.fields }, 'webhook', meta);
  }
  if (then !== 'hold') return undefined;
  // An authenticated "paid" (or a payment under way) we cannot confirm (e.g. BoxExchanger order credentials lost in a
  // crash): a person must look, so the payment is held rather than ignored or trusted — as a second payment when the
  // order is paid already.
  const hold = observation(core, { rawStatus: claimed?.raw ?? '', status: 'paid', ...paid, raw: claim.fields }, 'webhook', { ...meta, unconfirmed: true });
  return (current, context) => {
    const change = hold(current, context);
    const note: NewEvent = {
      sessionId: current.id,
      kind: 'note',
      source: 'webhook',
      data: { reason: 'unconfirmed_payment', detail: 'Authenticated callback reports a payment the helper cannot re-read from the provider.' },
    };
    return { ...change, events: [...(change.events ?? []), note] };
  };
}

/**
 * The session a callback is about. The provider payment it names decides when one of our sessions owns it; the
 * reference it names (our order reference, or the session in the IPN URL) must then be that session's. A callback
 * that names a session that does not exist is refused, never matched by other fields.
 */
async function callbackSession(core: SessionCore, provider: PaymentProvider, parsed: ParsedCallback): Promise<SessionRecord> {
  const owner = parsed.providerPaymentId ? await core.store.findByProviderPaymentId(provider.id, parsed.providerPaymentId) : undefined;
  let session = owner;
  if (!session && parsed.reference !== undefined) {
    const namedId = sessionIdOfReference(parsed.reference);
    const named = namedId ? await core.store.getSession(namedId) : undefined;
    if (named && named.provider === provider.id) session = named;
  }
  if (!session) throw new CheckoutError('unknown_session', `The ${provider.name} callback names no session of this shop.`);
  if (parsed.reference !== undefined && parsed.reference !== session.id && parsed.reference !== referenceOf(session)) {
    throw new CheckoutError('invalid_webhook', `The ${provider.name} callback names another order than its payment belongs to.`);
  }
  if (session.providerPaymentId && parsed.providerPaymentId && session.providerPaymentId !== parsed.providerPaymentId) {
    throw new CheckoutError('invalid_webhook', `The ${provider.name} callback names a different payment than the session.`);
  }
  return session;
}

/**
 * A session left by a crash before the provider's answer was stored takes over the payment a callback names (the
 * policy allowed it), unless another session owns that payment or the session learnt another one meanwhile.
 */
async function adoptPayment(core: SessionCore, session: SessionRecord, adopted: string): Promise<SessionRecord> {
  try {
    const updated = await core.store.mutate(session.id, (current) =>
      current.providerPaymentId
        ? undefined
        : {
            patch: { providerPaymentId: adopted, updatedAt: changeStamp(current) },
            events: [{ sessionId: current.id, kind: 'note', source: 'webhook', data: { reason: 'provider_payment_adopted', providerPaymentId: adopted } }],
          },
    );
    if (updated?.providerPaymentId !== adopted) throw new CheckoutError('invalid_webhook', 'The callback names a different payment than the session.');
    return updated;
  } catch (error) {
    if (error instanceof ProviderPaymentTakenError) {
      throw new CheckoutError('invalid_webhook', 'The callback names a payment that belongs to another session.');
    }
    throw error;
  }
}
