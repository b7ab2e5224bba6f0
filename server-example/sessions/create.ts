/**
 * Opening a payment: one open provider payment per order (Idempotency-Key and order lookup under locks), the order
 * resolved and priced by the merchant on every request, the session row written before the provider is called, and
 * the recovery of rows a crash left between the two.
 */
import { checkoutBasePath, providerBaseUrl } from '../config.js';
import { CheckoutError, isCheckoutError } from '../errors.js';
import { formatAmount, orderAmountMinor } from '../money.js';
import { sha256Hex } from '../providers/crypto.js';
import { NoAnswerError } from '../providers/http.js';
import { webhookPath } from '../providers/index.js';
import type { CreatedPayment, PaymentProvider } from '../providers/types.js';
import { OpenSessionExistsError, ProviderPaymentTakenError } from '../store.js';
import type { SessionRecord } from '../store.js';
import { isOpen } from '../transitions.js';
import type { MethodId, ProviderId, ResolvedOrder, SessionStatus } from '../types.js';
import { TRIGGERED_READ_INTERVAL_MS } from './callbacks.js';
import { endOpenSession } from './cancel.js';
import type { SessionCore } from './core.js';
import { newSessionId, providerReference, referenceOf, sessionIdOfReference } from './references.js';
import { changeStamp, nextPollAt, readNow, readSince, refresh } from './sync.js';

export interface CreateSessionInput {
  orderId: string;
  provider?: ProviderId;
  method?: MethodId;
  locale?: 'ru' | 'en';
  claimedCustomerId?: string;
  returnUrl?: string;
  idempotencyKey?: string;
  storefrontOrigin: string;
  /** Passed to resolveOrder() so the merchant can check who is asking. */
  request?: Request;
}

export interface CreateSessionResult {
  session: SessionRecord;
  /** True when a new provider payment was opened (201), false when an existing session was returned (200). */
  created: boolean;
}

/** Provider payments opened for one order within ORDER_ATTEMPT_WINDOW_MS: far more than a payer retrying makes. */
export const ORDER_PAYMENTS_PER_WINDOW = 20;
/** Attempts of any outcome (a provider's refusals and outages too) within the window. */
export const ORDER_ATTEMPTS_PER_WINDOW = 100;
const ORDER_ATTEMPT_WINDOW_MS = 3_600_000;

/**
 * Each attempt is a row every later change of the order reads, and most are a payment at the provider: a script
 * replaying "pay" and "cancel" for an order the lookup lets it into must make neither without bound. A payer whose
 * attempts the provider refused (an outage) is held back only by the looser limit.
 */
function overLimit(history: readonly SessionRecord[]): boolean {
  const since = Date.now() - ORDER_ATTEMPT_WINDOW_MS;
  const recent = history.filter((session) => session.createdAt > since);
  const payments = recent.filter((session) => session.providerPaymentId !== null || session.paymentUrl !== null).length;
  return payments >= ORDER_PAYMENTS_PER_WINDOW || recent.length >= ORDER_ATTEMPTS_PER_WINDOW;
}

function tooManyAttempts(): CheckoutError {
  return new CheckoutError('rate_limited', 'This order had too many payment attempts within the hour; try again later.');
}

/** The customer reference sent to providers: a hash, never the merchant's own id. */
function customerRef(customerId: string | undefined, orderId: string): string {
  const basis = customerId ? `customer:${customerId}` : `order:${orderId}`;
  return sha256Hex(`pay-checkout:${basis}`).slice(0, 32);
}

/**
 * Opens a payment for an order, or hands out its open one: the same Idempotency-Key, or an open session of the order
 * at the same price, gets that session back (200); otherwise a new provider payment is opened (201).
 */
export async function createSession(core: SessionCore, input: CreateSessionInput): Promise<CreateSessionResult> {
  const providerId = input.provider ?? core.config.defaultProvider;
  if (!core.config.enabledProviders.includes(providerId)) {
    throw new CheckoutError('unknown_provider', `Provider "${providerId}" is not enabled.`);
  }
  const provider = core.provider(providerId);
  const method = input.method ?? provider.methods[0];
  if (!method || !provider.methods.includes(method)) {
    throw new CheckoutError('unknown_method', `${provider.name} does not offer the payment method "${input.method ?? ''}".`);
  }
  // Every request resolves the order first, a repeated Idempotency-Key included: resolveOrder() is where the
  // merchant checks that the order is the caller's, and the price may have changed since the key was first used.
  const order = await loadOrder(core, input);
  const amountMinor = order.amountMinor;
  const currency = order.resolved.currency;
  // A key stands for one request: this order at this price, with these choices.
  const fingerprint = sha256Hex(
    JSON.stringify([input.orderId, amountMinor, currency, input.provider ?? null, input.method ?? null, input.returnUrl ?? null]),
  );

  const run = async (): Promise<CreateSessionResult> => {
    if (input.idempotencyKey) {
      const known = await core.store.getIdempotencyKey(input.idempotencyKey);
      if (known) {
        if (known.fingerprint !== fingerprint) throw keyReused();
        const session = await core.store.getSession(known.sessionId);
        if (session) return { session, created: false };
      }
    }

    const history = await core.store.listOrderSessions(input.orderId);
    refuseSettledOrder(history.map((session) => session.status));

    const limited = overLimit(history);
    const open = history.find((session) => isOpen(session.status));
    if (open) {
      // Over the limit, an open session is still handed back, but not ended for a new one that would be refused.
      const reusable = await settleOpenSession(core, open, amountMinor, currency, limited);
      if (reusable) {
        await rememberKey(core, input.idempotencyKey, fingerprint, reusable.id);
        return { session: await returnToThisPage(core, reusable, input), created: false };
      }
      // The settled session may have turned out paid or held.
      const settled = await core.store.getSession(open.id);
      if (settled) refuseSettledOrder([settled.status]);
    }

    if (limited) throw tooManyAttempts();
    provider.checkAmount(amountMinor, currency);
    const session = await openProviderPayment(core, provider, method, input, order.resolved, amountMinor, fingerprint);
    if (input.idempotencyKey) {
      // Stored with the provider's answer; a process outside this store's locks may have claimed the key meanwhile.
      const stored = await core.store.getIdempotencyKey(input.idempotencyKey);
      if (stored && stored.fingerprint !== fingerprint) throw keyReused();
    }
    return { session, created: true };
  };
  const forOrder = () => core.store.withLock(`order:${input.orderId}`, run);
  // One key used for several orders at once must not open a payment for each: the key is locked before the order
  // (always in that order, so two requests never hold one each while waiting for the other).
  return input.idempotencyKey ? core.store.withLock(`idempotency:${sha256Hex(input.idempotencyKey)}`, forOrder) : forOrder();
}

async function loadOrder(core: SessionCore, input: CreateSessionInput): Promise<{ resolved: ResolvedOrder; amountMinor: number }> {
  let resolved: ResolvedOrder | null | undefined;
  try {
    resolved = await core.resolveOrder(input.orderId, {
      ...(input.claimedCustomerId ? { claimedCustomerId: input.claimedCustomerId } : {}),
      ...(input.locale ? { locale: input.locale } : {}),
      ...(input.request ? { request: input.request } : {}),
    });
  } catch (error) {
    if (isCheckoutError(error)) throw error;
    core.log.error('resolveOrder() threw', { orderId: input.orderId, error });
    throw new CheckoutError('internal_error', 'The shop could not look up this order.');
  }
  if (!resolved) throw new CheckoutError('unknown_order', `Order "${input.orderId}" does not exist.`);
  if (resolved.paid) throw new CheckoutError('order_paid', 'This order is already paid.');
  const amountMinor = orderAmountMinor(resolved.amount);
  if (amountMinor === undefined) {
    core.log.error('resolveOrder() returned an invalid amount', { orderId: input.orderId, amount: String(resolved.amount) });
    throw new CheckoutError('invalid_order', 'The shop returned an invalid amount for this order.');
  }
  if (typeof resolved.currency !== 'string' || !/^[A-Z]{3}$/.test(resolved.currency)) {
    throw new CheckoutError('invalid_order', 'The shop returned an invalid currency for this order.');
  }
  return { resolved, amountMinor };
}

/**
 * Decides whether an open session of the order can be handed out again. Returns it when reusable; otherwise
 * ends it (expired, order changed, crashed creation) and returns undefined so a new payment may be opened.
 */
async function settleOpenSession(
  core: SessionCore,
  open: SessionRecord,
  amountMinor: number,
  currency: string,
  /** No new payment may be opened for the order now (its attempt limit): the open one is not ended for one. */
  limited: boolean,
): Promise<SessionRecord | undefined> {
  const now = Date.now();
  if (!open.paymentUrl) {
    if (core.creating.has(open.id) || now - open.createdAt < core.config.reconcile.crashGraceMs) {
      throw beingCreated();
    }
    if (!open.providerPaymentId) {
      await markInterrupted(core, open.id);
      return undefined;
    }
    // A crash lost its payment page, but a signed callback named its payment: while that may still be paid, the
    // order gets no second payment (and this one no page to hand out).
    const refreshed = (await refresh(core, open.id, 'create')) ?? open;
    if (!isOpen(refreshed.status)) return undefined;
    throw previousUnconfirmed();
  }
  if (open.expiresAt <= now) return endUnlessPaid(core, open, 'expired', 'window_passed', limited);
  // A payment under way stands even if the order's price changed meanwhile: when it completes, the price check at
  // payment holds it for a person (sync.ts, orderAtPayment).
  if (core.provider(open.provider).paymentUnderway(open)) return open;
  if (open.amountMinor !== amountMinor || open.currency !== currency) return endUnlessPaid(core, open, 'cancelled', 'order_changed', limited);
  return open;
}

/**
 * Ends an open session that is not to be handed out again, on the provider's word read now: the payer may have paid
 * it since it was last read (a callback lost or late). Undefined when it ended (here, or paid or held by the read):
 * the order then gets a new payment, or the caller refuses it as paid. A payment the provider still checks is handed
 * back, never a second one; while its status cannot be read, no second payment is opened either.
 */
async function endUnlessPaid(
  core: SessionCore,
  open: SessionRecord,
  to: 'expired' | 'cancelled',
  reason: string,
  limited: boolean,
): Promise<SessionRecord | undefined> {
  if (limited) {
    // No new payment for this order now, so this one is not ended for one. A payment made on it meanwhile is still
    // answered as such, on a read at most as often as a status request makes one (a script repeating "pay" must not
    // make provider reads without bound either).
    const due = open.lastPolledAt === null || Date.now() - open.lastPolledAt > TRIGGERED_READ_INTERVAL_MS;
    const known = due ? ((await refresh(core, open.id, 'create').catch(() => undefined)) ?? open) : open;
    refuseSettledOrder([known.status]);
    // A payment the provider still checks is handed back, as it would be under the limit.
    if (isOpen(known.status) && core.provider(known.provider).paymentUnderway(known)) return known;
    throw tooManyAttempts();
  }
  const readFrom = Date.now();
  const refreshed = (await readNow(core, open.id, 'create')) ?? open;
  if (!isOpen(refreshed.status)) return undefined;
  if (!readSince(core, refreshed, readFrom)) throw previousUnconfirmed();
  if (core.provider(refreshed.provider).paymentUnderway(refreshed)) return refreshed;
  const after = await endOpenSession(core, refreshed, to, reason);
  if (!after || !isOpen(after.status)) return undefined;
  // Not ended: the provider refused the cancel and then showed a payment under way, or could not be read at all.
  if (core.provider(after.provider).paymentUnderway(after)) return after;
  throw previousUnconfirmed();
}

/**
 * An open session handed out again goes back to the page that asked this time: its return page posts to this
 * storefront origin and its top-level return lands on this return URL. The payer may have moved to another allowed
 * origin (www and apex, a mobile site) or another page; the provider's own return URLs name only the session.
 */
async function returnToThisPage(core: SessionCore, session: SessionRecord, input: CreateSessionInput): Promise<SessionRecord> {
  // A request that names no page (a server-to-server call) leaves the payer's page as it was.
  const returnUrl = input.returnUrl;
  if (returnUrl === undefined) return session;
  if (session.storefrontOrigin === input.storefrontOrigin && session.returnUrl === returnUrl) return session;
  const updated = await core.store.mutate(session.id, () => ({ patch: { storefrontOrigin: input.storefrontOrigin, returnUrl } }));
  return updated ?? session;
}

async function openProviderPayment(
  core: SessionCore,
  provider: PaymentProvider,
  method: MethodId,
  input: CreateSessionInput,
  order: ResolvedOrder,
  amountMinor: number,
  fingerprint: string,
): Promise<SessionRecord> {
  const now = Date.now();
  const id = newSessionId();
  const reference = providerReference(input.orderId, id);
  const record: SessionRecord = {
    id,
    orderId: input.orderId,
    provider: provider.id,
    method,
    status: 'created',
    amountMinor,
    currency: order.currency,
    description: order.description ?? null,
    customerRef: customerRef(order.customerId, input.orderId),
    locale: input.locale ?? null,
    storefrontOrigin: input.storefrontOrigin,
    returnUrl: input.returnUrl ?? null,
    providerPaymentId: null,
    paymentUrl: null,
    providerStatus: null,
    providerData: { ...provider.prepare(), reference },
    paidAmountMinor: null,
    errorCode: null,
    paidAt: null,
    statusReadAt: null,
    createdAt: now,
    updatedAt: now,
    expiresAt: now + core.config.providers[provider.id].sessionTtlSeconds * 1000,
    nextPollAt: now + core.config.reconcile.crashGraceMs,
    pollAttempts: 0,
    lastPolledAt: null,
  };
  // The row exists before the provider is called: a crash in between leaves something to reconcile.
  core.creating.add(id);
  try {
    try {
      await core.store.insertSession(record, [
        { sessionId: id, kind: 'created', source: 'manual', toStatus: 'created', amountMinor, data: { provider: provider.id, method, orderId: input.orderId } },
      ]);
    } catch (error) {
      if (error instanceof OpenSessionExistsError) {
        // Another helper process opened one between our read and our insert.
        throw beingCreated();
      }
      throw error;
    }

    /** Ends the row as failed; `recorded`: the row's error code (`interrupted` when the outcome at the provider is unknown). */
    const fail = async (failure: CheckoutError, recorded: string = failure.code): Promise<never> => {
      // Test mode in a server of the merchant's own: the sandbox is most often just not mounted where it is looked for.
      const sandboxMissing = core.config.providers[provider.id].baseUrl === null && (failure.code === 'provider_error' || failure.code === 'provider_not_found');
      core.log.warn('provider refused to create a payment', {
        sessionId: id,
        provider: provider.id,
        code: failure.code,
        message: failure.message,
        detail: failure.detail,
        ...(sandboxMissing ? { hint: `test mode: is the sandbox (createSandboxApp) mounted at ${providerBaseUrl(core.config, provider.id)}?` } : {}),
      });
      await core.store.mutate(id, (current) =>
        // The payment may have been made while its provider failed to answer us: a signed callback for exactly this
        // amount adopted it (and its status read may have moved the row on: pending, paid, held). That row is watched
        // and read like any other; failing it would stop the reads that tell its outcome.
        !isOpen(current.status) || current.providerPaymentId !== null
          ? undefined
          : {
              patch: { status: 'failed', errorCode: recorded, updatedAt: changeStamp(current), nextPollAt: null },
              events: [
                {
                  sessionId: id,
                  kind: 'create_failed',
                  source: 'manual',
                  fromStatus: current.status,
                  toStatus: 'failed',
                  data: { code: failure.code, message: failure.message, detail: failure.detail ?? null },
                },
              ],
            },
      );
      throw failure;
    };

    const base = `${core.config.publicUrl}${checkoutBasePath(core.config)}`;
    const returnUrl = (outcome: string) => `${base}/return/${outcome}?session=${id}`;
    const webhook = `${base}${webhookPath(provider, id)}`;
    let created: CreatedPayment;
    try {
      created = await provider.create({
        sessionId: id,
        reference,
        amountMinor,
        currency: order.currency,
        method,
        description: record.description,
        customerRef: record.customerRef,
        ...(order.trusted !== undefined ? { trusted: order.trusted } : {}),
        ...(order.email ? { email: order.email } : {}),
        locale: input.locale ?? 'ru',
        urls: { success: returnUrl('success'), error: returnUrl('error'), cancel: returnUrl('cancel'), webhook },
        providerData: record.providerData,
      });
    } catch (error) {
      // No answer: the provider may have created the payment all the same. Recorded as interrupted, like a crash at
      // this point, so that a request the provider hands back on the next attempt is taken over (recoverableSession).
      if (error instanceof NoAnswerError) return fail(error, 'interrupted');
      return fail(isCheckoutError(error) ? error : new CheckoutError('provider_error', `${provider.name} could not create the payment.`, { cause: error }));
    }

    // The provider handed back an earlier request instead of a new one: ours only if a crash lost it.
    const recovered = created.reference === undefined ? undefined : await recoverableSession(core, created, record);
    if (created.reference !== undefined && !recovered) {
      return fail(
        new CheckoutError(
          'previous_request_open',
          `${provider.name} returned the customer's previous unclosed request; it must be paid, cancelled or time out first.`,
          { detail: `returned reference ${created.reference || '(none)'}` },
        ),
      );
    }

    const rejected = created.rejection;
    const status: SessionStatus = rejected ? (isOpen(created.status) ? 'failed' : created.status) : isOpen(created.status) ? created.status : 'created';
    let updated: SessionRecord | undefined;
    let endedMeanwhile = false;
    try {
      updated = await core.store.mutate(id, (current) => {
        endedMeanwhile = !isOpen(current.status);
        // Ended while its provider answered: only when the order lock did not hold (a lost PostgreSQL lock
        // connection, several processes on one SQLite file) and another process took the row for a crash's leftover.
        // Nothing moves back to open; the payment is recorded so that, should it be paid all the same, it is found
        // and revives the row like any late payment, and the payer is asked to try again.
        if (endedMeanwhile) {
          return {
            patch: {
              providerPaymentId: created.providerPaymentId,
              providerData: { ...current.providerData, ...(created.providerData ?? {}) },
              nextPollAt: nextPollAt(core.config, { ...current, providerPaymentId: created.providerPaymentId }, 0, current.status),
              updatedAt: changeStamp(current),
            },
            events: [
              {
                sessionId: id,
                kind: 'note',
                source: 'manual',
                providerStatus: created.rawStatus,
                data: { reason: 'created_after_end', providerPaymentId: created.providerPaymentId, response: created.raw },
              },
            ],
          };
        }
        // A signed callback adopted the payment while this call was out, and its status read was applied: that read
        // is newer than the create answer (whose `created` would move a paying payer's session back).
        const behind = !rejected && current.statusReadAt !== null;
        const toStatus = behind ? current.status : status;
        return {
          patch: {
            providerPaymentId: created.providerPaymentId,
            paymentUrl: created.paymentUrl,
            providerStatus: behind ? current.providerStatus : created.rawStatus,
            providerData: { ...current.providerData, ...(created.providerData ?? {}), ...(recovered ? { reference: created.reference } : {}) },
            status: toStatus,
            errorCode: rejected ? rejected.code : null,
            expiresAt: behind ? current.expiresAt : (created.expiresAt ?? current.expiresAt),
            nextPollAt: isOpen(status) ? Date.now() + core.config.reconcile.minBackoffMs : nextPollAt(core.config, { ...current, providerPaymentId: created.providerPaymentId }, 0, status),
            updatedAt: changeStamp(current),
          },
          events: [
            {
              sessionId: id,
              kind: 'provider_created',
              source: 'manual',
              fromStatus: current.status,
              toStatus,
              providerStatus: created.rawStatus,
              data: {
                providerPaymentId: created.providerPaymentId,
                response: created.raw,
                ...(rejected ? { rejection: rejected.code } : {}),
                ...(recovered ? { recoveredFrom: recovered.id } : {}),
              },
            },
          ],
          // Only a session handed out is remembered: a refused attempt may be retried with the same key.
          ...(input.idempotencyKey && !rejected
            ? { idempotencyKey: { key: input.idempotencyKey, fingerprint, sessionId: id, createdAt: Date.now() } }
            : {}),
        };
      });
    } catch (error) {
      if (error instanceof ProviderPaymentTakenError) {
        return fail(new CheckoutError('provider_error', `${provider.name} answered with a payment that belongs to another session.`, { detail: error.message }));
      }
      throw error;
    }
    if (endedMeanwhile) {
      core.log.warn('payment created for a session ended meanwhile', { sessionId: id, provider: provider.id, status: updated?.status });
      throw new CheckoutError('session_creating', 'The payment could not be opened in time; try again.');
    }
    if (recovered) await markSuperseded(core, recovered.id, id);
    if (rejected) throw rejected;
    core.log.info('payment session opened', { sessionId: id, provider: provider.id, orderId: input.orderId, amount: formatAmount(amountMinor) });
    return updated!;
  } finally {
    core.creating.delete(id);
  }
}

/**
 * The session a provider-returned reference belongs to, when this session may take its payment over: a session of
 * the same order, provider and amount whose creation was interrupted before the provider's answer was stored.
 */
async function recoverableSession(core: SessionCore, created: CreatedPayment, session: SessionRecord): Promise<SessionRecord | undefined> {
  const reference = created.reference!;
  const ownerId = sessionIdOfReference(reference);
  const owner = ownerId && ownerId !== session.id ? await core.store.getSession(ownerId) : undefined;
  if (!owner || referenceOf(owner) !== reference) return undefined;
  // Taken over once already: the session that holds it now is not a crash's leftover (its payer may have cancelled
  // it, and the provider still hands it back).
  if (await core.store.findByProviderPaymentId(session.provider, created.providerPaymentId)) return undefined;
  const interrupted = !owner.paymentUrl && !owner.providerPaymentId && (isOpen(owner.status) || owner.errorCode === 'interrupted');
  const same = owner.orderId === session.orderId && owner.provider === session.provider && owner.amountMinor === session.amountMinor;
  return interrupted && same ? owner : undefined;
}

/** The interrupted session whose provider request another session took over: ended, and pointing at it. */
async function markSuperseded(core: SessionCore, sessionId: string, by: string): Promise<void> {
  await core.store.mutate(sessionId, (current) => ({
    patch: {
      ...(isOpen(current.status) ? { status: 'failed' as const, errorCode: 'interrupted' } : {}),
      nextPollAt: null,
      updatedAt: changeStamp(current),
    },
    events: [
      {
        sessionId,
        kind: 'note',
        source: 'manual',
        ...(isOpen(current.status) ? { fromStatus: current.status, toStatus: 'failed' as const } : {}),
        data: { reason: 'superseded', by, detail: 'The provider returned this session\'s request to a later attempt, which took it over.' },
      },
    ],
  }));
}

async function rememberKey(core: SessionCore, key: string | undefined, fingerprint: string, sessionId: string): Promise<void> {
  if (!key) return;
  const stored = await core.store.putIdempotencyKey({ key, fingerprint, sessionId, createdAt: Date.now() });
  if (stored.fingerprint !== fingerprint) {
    throw keyReused();
  }
}

/**
 * markInterrupted() for a caller that does not hold the row's order lock (the reconciler). A creation under way holds
 * its order's lock until its row has the provider's answer, in whichever instance it runs, and a stopped instance's
 * locks go with it: while the lock is busy the row is left alone (undefined), however long its creation has taken.
 */
export async function markInterruptedUnlessCreating(core: SessionCore, sessionId: string): Promise<SessionRecord | undefined> {
  const session = await core.store.getSession(sessionId);
  if (!session) return undefined;
  const locked = await core.store.withLockIfFree(`order:${session.orderId}`, () => markInterrupted(core, sessionId));
  return locked?.value;
}

/**
 * A row whose provider call never completed (the process stopped in between). The caller holds the order's lock. Not a
 * row that a signed callback gave its payment meanwhile: that one is read like any other until its outcome is known.
 */
export async function markInterrupted(core: SessionCore, sessionId: string): Promise<SessionRecord | undefined> {
  return core.store.mutate(sessionId, (current) => {
    if (!isOpen(current.status) || current.paymentUrl || current.providerPaymentId) return undefined;
    return {
      patch: { status: 'failed', errorCode: 'interrupted', updatedAt: changeStamp(current), nextPollAt: null },
      events: [
        {
          sessionId,
          kind: 'transition',
          source: 'poll',
          fromStatus: current.status,
          toStatus: 'failed',
          data: { reason: 'interrupted', detail: 'The provider call did not complete (the helper stopped); a verified payment later revives the session.' },
        },
      ],
    };
  });
}

/** Refuses a new payment for an order that is paid, or whose payment is on hold. */
function refuseSettledOrder(statuses: readonly SessionStatus[]): void {
  if (statuses.includes('paid')) throw new CheckoutError('order_paid', 'This order is already paid.');
  if (statuses.includes('held')) throw new CheckoutError('order_held', 'A payment for this order is on hold and needs the shop\'s attention.');
}

function keyReused(): CheckoutError {
  return new CheckoutError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request.');
}

function previousUnconfirmed(): CheckoutError {
  return new CheckoutError('provider_unavailable', 'The payment service could not confirm the previous payment of this order; try again in a moment.');
}

function beingCreated(): CheckoutError {
  return new CheckoutError('session_creating', 'A payment for this order is being created; try again in a moment.');
}
