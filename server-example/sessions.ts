/**
 * Payment sessions: creation (one open provider payment per order, Idempotency-Key, write-before-call),
 * status refresh from providers, verified webhook handling, cancel, and the atomic application of observed
 * provider statuses through the state machine in transitions.ts.
 */
import { randomBytes } from 'node:crypto';
import type { CheckoutConfig } from './config.js';
import { checkoutBasePath } from './config.js';
import { CheckoutError, isCheckoutError } from './errors.js';
import type { ErrorCode } from './errors.js';
import type { Logger } from './logger.js';
import { formatAmount, parseAmount } from './money.js';
import { optional } from './providers/common.js';
import { sha256Hex } from './providers/crypto.js';
import type { CallbackInput, CallbackReply, CreatedPayment, ParsedCallback, PaymentProvider, ProviderStatusResult } from './providers/types.js';
import { OpenSessionExistsError, ProviderPaymentTakenError } from './store.js';
import type { Mutation, MutationContext, NewDelivery, NewEvent, SessionRecord, Store } from './store.js';
import { MerchantNotifier } from './merchant-webhooks/events.js';
import { decide, HELD_REASONS, isOpen } from './transitions.js';
import type { EventSource, MethodId, ProviderId, ResolveOrder, ResolvedOrder, SessionStatus } from './types.js';

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

export type RefreshTrigger = 'reconcile' | 'status' | 'return' | 'webhook' | 'cancel' | 'create';

export interface SessionServiceOptions {
  config: CheckoutConfig;
  store: Store;
  providers: ReadonlyMap<ProviderId, PaymentProvider>;
  resolveOrder: ResolveOrder;
  log: Logger;
  /** Builds the merchant notifications written with each status change (none without targets). */
  notifier?: MerchantNotifier;
  /** Called after a change wrote merchant notifications, so the sender delivers them at once. */
  onNotified?: () => void;
}

/** Ended sessions the reconciler keeps polling for a while: a late payment revives them, a held one may resolve. */
const WATCHED_AFTER_END: ReadonlySet<SessionStatus> = new Set<SessionStatus>(['held', 'failed', 'cancelled', 'expired']);

/** Raw webhook bodies kept in the event log are capped (the request limit is 64 KB anyway). */
const MAX_RAW_LOGGED = 16_384;

function newSessionId(): string {
  return `cs_${randomBytes(16).toString('base64url').replace(/[-_]/g, '').slice(0, 22).padEnd(22, '0')}`;
}

export const SESSION_ID_PATTERN = /^cs_[A-Za-z0-9]{22}$/;

/**
 * Our reference for a payment at the provider (Repay `order_id`, age.trading `merchant_request_id`): the merchant's
 * order id, so support finds a payment by order number, and the session id's random part, so it is unique and
 * leads back to the session. At most 50 characters (age.trading's limit).
 */
export function providerReference(orderId: string, sessionId: string): string {
  return `${orderId.slice(0, 27)}-${sessionId.slice(3)}`;
}

/** The session id a reference names: references end in the session id's random part (older ones are the id). */
export function sessionIdOfReference(reference: string): string | undefined {
  if (SESSION_ID_PATTERN.test(reference)) return reference;
  const match = /-([A-Za-z0-9]{22})$/.exec(reference);
  return match ? `cs_${match[1]}` : undefined;
}

/** The reference the provider knows this session's payment by. */
function referenceOf(session: SessionRecord): string {
  return typeof session.providerData.reference === 'string' ? session.providerData.reference : session.id;
}

/** The customer reference sent to providers: a hash, never the merchant's own id. */
function customerRef(customerId: string | undefined, orderId: string): string {
  const basis = customerId ? `customer:${customerId}` : `order:${orderId}`;
  return sha256Hex(`pay-checkout:${basis}`).slice(0, 32);
}

export class SessionService {
  private readonly config: CheckoutConfig;
  private readonly store: Store;
  private readonly providers: ReadonlyMap<ProviderId, PaymentProvider>;
  private readonly resolveOrder: ResolveOrder;
  private readonly log: Logger;
  private readonly refreshes = new Map<string, Promise<SessionRecord | undefined>>();
  /** Sessions whose provider create call is running in this process (the reconciler leaves them alone). */
  readonly creating = new Set<string>();

  private readonly notifier: MerchantNotifier;
  private readonly onNotified: () => void;

  constructor(options: SessionServiceOptions) {
    this.config = options.config;
    this.store = options.store;
    this.providers = options.providers;
    this.resolveOrder = options.resolveOrder;
    this.log = options.log;
    this.notifier = options.notifier ?? new MerchantNotifier([]);
    this.onNotified = options.onNotified ?? (() => undefined);
  }

  /**
   * Runs a status change through the store and tells the sender when it wrote merchant notifications. Every change
   * that moves a session's status goes through here, so each transition is told exactly once.
   */
  private async change(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): Promise<SessionRecord | undefined> {
    let notified = false;
    const result = await this.store.mutate(id, (current, context) => {
      const mutation = fn(current, context);
      notified = Boolean(mutation?.deliveries?.length);
      return mutation;
    });
    if (notified) this.onNotified();
    return result;
  }

  /** The notifications of `current` moving to `patch.status`, as the session will be after the patch. */
  private notifications(current: SessionRecord, patch: Partial<SessionRecord>, reason: string | null, note?: string): NewDelivery[] {
    if (!this.notifier.enabled || !patch.status || patch.status === current.status) return [];
    return this.notifier.deliveries({ ...current, ...patch, id: current.id }, current.status, reason, note);
  }

  provider(id: ProviderId): PaymentProvider {
    const provider = this.providers.get(id);
    if (!provider) throw new CheckoutError('unknown_provider', `Provider "${id}" is not available.`);
    return provider;
  }

  async create(input: CreateSessionInput): Promise<CreateSessionResult> {
    const providerId = input.provider ?? this.config.defaultProvider;
    if (!this.config.enabledProviders.includes(providerId)) {
      throw new CheckoutError('unknown_provider', `Provider "${providerId}" is not enabled.`);
    }
    const provider = this.provider(providerId);
    const method = input.method ?? provider.methods[0];
    if (!method || !provider.methods.includes(method)) {
      throw new CheckoutError('unknown_method', `${provider.name} does not offer the payment method "${input.method ?? ''}".`);
    }
    // Every request resolves the order first, a repeated Idempotency-Key included: resolveOrder() is where the
    // merchant checks that the order is the caller's, and the price may have changed since the key was first used.
    const order = await this.loadOrder(input);
    const amountMinor = order.amountMinor;
    const currency = order.resolved.currency;
    // A key stands for one request: this order at this price, with these choices.
    const fingerprint = sha256Hex(
      JSON.stringify([input.orderId, amountMinor, currency, input.provider ?? null, input.method ?? null, input.returnUrl ?? null]),
    );

    const run = async (): Promise<CreateSessionResult> => {
      if (input.idempotencyKey) {
        const known = await this.store.getIdempotencyKey(input.idempotencyKey);
        if (known) {
          if (known.fingerprint !== fingerprint) throw keyReused();
          const session = await this.store.getSession(known.sessionId);
          if (session) return { session, created: false };
        }
      }

      const history = await this.store.listOrderSessions(input.orderId);
      refuseSettledOrder(history.map((session) => session.status));

      const open = history.find((session) => isOpen(session.status));
      if (open) {
        const reusable = await this.settleOpenSession(open, amountMinor, currency);
        if (reusable) {
          await this.rememberKey(input.idempotencyKey, fingerprint, reusable.id);
          return { session: reusable, created: false };
        }
        // The settled session may have turned out paid or held.
        const settled = await this.store.getSession(open.id);
        if (settled) refuseSettledOrder([settled.status]);
      }

      provider.checkAmount(amountMinor, currency);
      const session = await this.openProviderPayment(provider, method, input, order.resolved, amountMinor, fingerprint);
      if (input.idempotencyKey) {
        // Stored with the provider's answer; a process outside this store's locks may have claimed the key meanwhile.
        const stored = await this.store.getIdempotencyKey(input.idempotencyKey);
        if (stored && stored.fingerprint !== fingerprint) throw keyReused();
      }
      return { session, created: true };
    };
    const forOrder = () => this.store.withLock(`order:${input.orderId}`, run);
    // One key used for several orders at once must not open a payment for each: the key is locked before the order
    // (always in that order, so two requests never hold one each while waiting for the other).
    return input.idempotencyKey ? this.store.withLock(`idempotency:${sha256Hex(input.idempotencyKey)}`, forOrder) : forOrder();
  }

  private async loadOrder(input: CreateSessionInput): Promise<{ resolved: ResolvedOrder; amountMinor: number }> {
    let resolved: ResolvedOrder | null | undefined;
    try {
      resolved = await this.resolveOrder(input.orderId, {
        ...(input.claimedCustomerId ? { claimedCustomerId: input.claimedCustomerId } : {}),
        ...(input.locale ? { locale: input.locale } : {}),
        ...(input.request ? { request: input.request } : {}),
      });
    } catch (error) {
      if (isCheckoutError(error)) throw error;
      this.log.error('resolveOrder() threw', { orderId: input.orderId, error });
      throw new CheckoutError('internal_error', 'The shop could not look up this order.');
    }
    if (!resolved) throw new CheckoutError('unknown_order', `Order "${input.orderId}" does not exist.`);
    if (resolved.paid) throw new CheckoutError('order_paid', 'This order is already paid.');
    const amountMinor =
      typeof resolved.amount === 'number'
        ? Number.isSafeInteger(resolved.amount) && resolved.amount > 0
          ? resolved.amount * 100
          : undefined
        : parseAmount(resolved.amount);
    if (amountMinor === undefined || amountMinor <= 0) {
      this.log.error('resolveOrder() returned an invalid amount', { orderId: input.orderId, amount: String(resolved.amount) });
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
  private async settleOpenSession(open: SessionRecord, amountMinor: number, currency: string): Promise<SessionRecord | undefined> {
    const now = Date.now();
    if (!open.paymentUrl) {
      if (this.creating.has(open.id) || now - open.createdAt < this.config.reconcile.crashGraceMs) {
        throw beingCreated();
      }
      await this.markInterrupted(open.id);
      return undefined;
    }
    if (open.expiresAt <= now) {
      const refreshed = (await this.refresh(open.id, 'create')) ?? open;
      if (!isOpen(refreshed.status)) return undefined;
      await this.endOpenSession(refreshed, 'expired', 'window_passed');
      return undefined;
    }
    if (open.amountMinor !== amountMinor || open.currency !== currency) {
      await this.endOpenSession(open, 'cancelled', 'order_changed');
      return undefined;
    }
    return open;
  }

  private async openProviderPayment(
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
      createdAt: now,
      updatedAt: now,
      expiresAt: now + this.config.providers[provider.id].sessionTtlSeconds * 1000,
      nextPollAt: now + this.config.reconcile.crashGraceMs,
      pollAttempts: 0,
      lastPolledAt: null,
    };
    // The row exists before the provider is called: a crash in between leaves something to reconcile.
    this.creating.add(id);
    try {
      try {
        await this.store.insertSession(record, [
          { sessionId: id, kind: 'created', source: 'manual', toStatus: 'created', amountMinor, data: { provider: provider.id, method, orderId: input.orderId } },
        ]);
      } catch (error) {
        if (error instanceof OpenSessionExistsError) {
          // Another helper process opened one between our read and our insert.
          throw beingCreated();
        }
        throw error;
      }

      const fail = async (failure: CheckoutError): Promise<never> => {
        this.log.warn('provider refused to create a payment', { sessionId: id, provider: provider.id, code: failure.code, detail: failure.detail });
        await this.store.mutate(id, (current) => ({
          patch: { status: 'failed', errorCode: failure.code, updatedAt: Date.now(), nextPollAt: null },
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
        }));
        throw failure;
      };

      const base = `${this.config.publicUrl}${checkoutBasePath(this.config)}`;
      const returnUrl = (outcome: string) => `${base}/return/${outcome}?session=${id}`;
      const webhook = provider.id === 'boxexchanger' ? `${base}/webhooks/boxexchanger/${id}` : `${base}/webhooks/${provider.id}`;
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
          trusted: order.trusted ?? this.config.providers.repay.trusted,
          ...(order.email ? { email: order.email } : {}),
          locale: input.locale ?? 'ru',
          urls: { success: returnUrl('success'), error: returnUrl('error'), cancel: returnUrl('cancel'), webhook },
          providerData: record.providerData,
        });
      } catch (error) {
        return fail(isCheckoutError(error) ? error : new CheckoutError('provider_error', `${provider.name} could not create the payment.`, { cause: error }));
      }

      // The provider handed back an earlier request instead of a new one: ours only if a crash lost it.
      const recovered = created.reference === undefined ? undefined : await this.recoverableSession(created.reference, record);
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
      try {
        updated = await this.store.mutate(id, (current) => ({
          patch: {
            providerPaymentId: created.providerPaymentId,
            paymentUrl: created.paymentUrl,
            providerStatus: created.rawStatus,
            providerData: { ...current.providerData, ...(created.providerData ?? {}), ...(recovered ? { reference: created.reference } : {}) },
            status,
            errorCode: rejected ? rejected.code : null,
            expiresAt: created.expiresAt ?? current.expiresAt,
            nextPollAt: isOpen(status) ? Date.now() + this.config.reconcile.minBackoffMs : this.nextPollAt({ ...current, providerPaymentId: created.providerPaymentId }, 0, status),
            updatedAt: Date.now(),
          },
          events: [
            {
              sessionId: id,
              kind: 'provider_created',
              source: 'manual',
              fromStatus: current.status,
              toStatus: status,
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
        }));
      } catch (error) {
        if (error instanceof ProviderPaymentTakenError) {
          return fail(new CheckoutError('provider_error', `${provider.name} answered with a payment that belongs to another session.`, { detail: error.message }));
        }
        throw error;
      }
      if (recovered) await this.markSuperseded(recovered.id, id);
      if (rejected) throw rejected;
      this.log.info('payment session opened', { sessionId: id, provider: provider.id, orderId: input.orderId, amount: formatAmount(amountMinor) });
      return updated!;
    } finally {
      this.creating.delete(id);
    }
  }

  /**
   * The session a provider-returned reference belongs to, when this session may take its payment over: a session of
   * the same order, provider and amount whose creation was interrupted before the provider's answer was stored.
   */
  private async recoverableSession(reference: string, session: SessionRecord): Promise<SessionRecord | undefined> {
    const ownerId = sessionIdOfReference(reference);
    const owner = ownerId && ownerId !== session.id ? await this.store.getSession(ownerId) : undefined;
    if (!owner || referenceOf(owner) !== reference) return undefined;
    const interrupted = !owner.paymentUrl && !owner.providerPaymentId && (isOpen(owner.status) || owner.errorCode === 'interrupted');
    const same = owner.orderId === session.orderId && owner.provider === session.provider && owner.amountMinor === session.amountMinor;
    return interrupted && same ? owner : undefined;
  }

  /** The interrupted session whose provider request another session took over: ended, and pointing at it. */
  private async markSuperseded(sessionId: string, by: string): Promise<void> {
    await this.store.mutate(sessionId, (current) => ({
      patch: {
        ...(isOpen(current.status) ? { status: 'failed' as const, errorCode: 'interrupted' } : {}),
        nextPollAt: null,
        updatedAt: Date.now(),
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

  private async rememberKey(key: string | undefined, fingerprint: string, sessionId: string): Promise<void> {
    if (!key) return;
    const stored = await this.store.putIdempotencyKey({ key, fingerprint, sessionId, createdAt: Date.now() });
    if (stored.fingerprint !== fingerprint) {
      throw keyReused();
    }
  }

  /** A row whose provider call never completed (the process stopped in between). */
  async markInterrupted(sessionId: string): Promise<SessionRecord | undefined> {
    return this.store.mutate(sessionId, (current) => {
      if (!isOpen(current.status) || current.paymentUrl) return undefined;
      return {
        patch: { status: 'failed', errorCode: 'interrupted', updatedAt: Date.now(), nextPollAt: null },
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

  /** Ends an open session locally (cancelling at the provider where possible). */
  async endOpenSession(
    session: SessionRecord,
    to: 'expired' | 'cancelled',
    reason: string,
    source: EventSource = 'poll',
    alreadyCancelledAtProvider = false,
  ): Promise<SessionRecord | undefined> {
    const provider = this.provider(session.provider);
    let providerCancelled = alreadyCancelledAtProvider;
    if (!alreadyCancelledAtProvider && provider.canCancel && session.providerPaymentId) {
      try {
        await provider.cancel(session);
        providerCancelled = true;
      } catch (error) {
        this.log.warn('provider cancel failed', { sessionId: session.id, provider: provider.id, code: isCheckoutError(error) ? error.code : 'error' });
      }
    }
    return this.change(session.id, (current) => {
      if (!isOpen(current.status)) return undefined;
      // The reason stays on the row: a payment that still arrives for a session ended because the order changed
      // is held, not paid (transitions.ts).
      const patch: Partial<SessionRecord> = {
        status: to,
        errorCode: reason,
        updatedAt: Date.now(),
        nextPollAt: this.nextPollAt({ ...current, updatedAt: Date.now() }, current.pollAttempts, to),
      };
      return {
        patch,
        events: [{ sessionId: session.id, kind: 'transition', source, fromStatus: current.status, toStatus: to, data: { reason, providerCancelled } }],
        deliveries: this.notifications(current, patch, reason),
      };
    });
  }

  /**
   * Re-reads the provider's status and applies it (one request per session at a time). Errors are recorded
   * and swallowed: the session keeps its last verified status and is polled again later.
   */
  refresh(sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
    const running = this.refreshes.get(sessionId);
    if (running) return running;
    const task = this.doRefresh(sessionId, trigger).finally(() => this.refreshes.delete(sessionId));
    this.refreshes.set(sessionId, task);
    return task;
  }

  private async doRefresh(sessionId: string, trigger: RefreshTrigger): Promise<SessionRecord | undefined> {
    const session = await this.store.getSession(sessionId);
    if (!session || !session.providerPaymentId) return session;
    const provider = this.provider(session.provider);
    let result: ProviderStatusResult;
    try {
      result = await provider.fetchStatus(session);
    } catch (error) {
      const code: ErrorCode = isCheckoutError(error) ? error.code : 'provider_error';
      this.log.warn('status query failed', { sessionId, provider: provider.id, code });
      return this.store.mutate(sessionId, (current) => {
        const attempts = current.pollAttempts + 1;
        return {
          patch: { pollAttempts: attempts, lastPolledAt: Date.now(), nextPollAt: this.nextPollAt(current, attempts) },
          events: [{ sessionId, kind: 'poll_failed', source: 'poll', data: { trigger, code, detail: isCheckoutError(error) ? (error.detail ?? error.message) : String(error) } }],
        };
      });
    }
    return this.apply(sessionId, result, trigger === 'webhook' ? 'webhook' : 'poll', { trigger, recordPoll: true });
  }

  /**
   * When the reconciler should look at a session next: open sessions with exponential backoff (and at their expiry
   * check at the latest); sessions that ended without a payment — or are held — keep being watched until
   * `latePaymentWatchMs` after their window, because a payer may still pay and a webhook may never come.
   */
  nextPollAt(session: SessionRecord, attempts: number, status: SessionStatus = session.status): number | null {
    const { minBackoffMs, maxBackoffMs, expiryGraceMs, latePaymentWatchMs } = this.config.reconcile;
    const backoff = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempts, 20));
    const now = Date.now();
    if (isOpen(status)) {
      const expiryCheck = session.expiresAt + expiryGraceMs;
      return expiryCheck > now ? Math.min(now + backoff, expiryCheck) : now + backoff;
    }
    if (!WATCHED_AFTER_END.has(status) || !session.providerPaymentId) return null;
    const watchUntil = Math.max(session.expiresAt, session.updatedAt) + latePaymentWatchMs;
    return now + backoff <= watchUntil ? now + backoff : null;
  }

  /** Applies an observed provider status atomically; returns the session after it. */
  async apply(
    sessionId: string,
    observed: ProviderStatusResult,
    source: EventSource,
    meta: { trigger?: RefreshTrigger; recordPoll?: boolean } = {},
  ): Promise<SessionRecord | undefined> {
    const result = await this.change(sessionId, (current, context) => {
      const events: NewEvent[] = [];
      if (meta.recordPoll) {
        events.push({
          sessionId,
          kind: 'poll',
          source: 'poll',
          providerStatus: observed.rawStatus,
          amountMinor: observed.paidAmountMinor ?? null,
          data: { trigger: meta.trigger ?? null, status: observed.status, response: observed.raw },
        });
      }
      // The rest of the order matters only when a payment is reported (read lazily: most polls report none).
      const order =
        observed.status === 'paid'
          ? { paidElsewhere: context.orderSessions.some((other) => other.status === 'paid'), orderChanged: current.errorCode === 'order_changed' }
          : undefined;
      const decision = decide(current.status, current.amountMinor, observed, source, order);
      const attempts = meta.recordPoll ? current.pollAttempts + 1 : current.pollAttempts;
      const status = decision?.to ?? current.status;
      const patch: Partial<SessionRecord> = {
        providerStatus: observed.rawStatus,
        updatedAt: Date.now(),
        pollAttempts: attempts,
        ...(meta.recordPoll ? { lastPolledAt: Date.now() } : {}),
        ...(observed.expiresAt !== undefined && isOpen(status) ? { expiresAt: observed.expiresAt } : {}),
      };
      const next = { ...current, ...patch };
      patch.nextPollAt = this.nextPollAt({ ...next, updatedAt: current.updatedAt }, attempts, status);
      if (decision) {
        patch.status = decision.to;
        if (observed.paidAmountMinor !== undefined && (decision.to === 'paid' || decision.to === 'held' || decision.to === 'refunded')) {
          patch.paidAmountMinor = observed.paidAmountMinor;
        }
        if (decision.to === 'paid') patch.errorCode = null;
        if (HELD_REASONS.has(decision.reason)) patch.errorCode = decision.reason;
        events.push({
          sessionId,
          kind: 'transition',
          source,
          fromStatus: current.status,
          toStatus: decision.to,
          providerStatus: observed.rawStatus,
          amountMinor: observed.paidAmountMinor ?? null,
          data: { reason: decision.reason, trigger: meta.trigger ?? null },
        });
        return { patch, events, deliveries: this.notifications(current, patch, decision.reason) };
      }
      return { patch, events };
    });
    if (result && result.status === 'held') {
      this.log.warn('payment held for review', { sessionId, orderId: result.orderId, reason: result.errorCode });
    }
    return result;
  }

  /**
   * Verifies a provider callback and acts on it; returns the answer the provider expects. A callback is never
   * applied on its own word: it is stored, and the provider's status is re-read with our credentials and applied.
   * One that fails verification, or names a payment that is not the named session's, is kept only as a bounded
   * digest (`source`: the sender's address) and refused.
   */
  async handleCallback(providerId: ProviderId, input: CallbackInput, source: string | null = null): Promise<CallbackReply> {
    const provider = this.provider(providerId);
    let parsed: ParsedCallback;
    let session: SessionRecord;
    let authenticated: boolean;
    try {
      parsed = provider.parseCallback(input);
      session = await this.callbackSession(provider, parsed);
      authenticated = provider.verifyCallback(input, parsed, session);
      if (!session.providerPaymentId) session = await this.adoptPayment(session, parsed, authenticated);
    } catch (error) {
      const code = isCheckoutError(error) ? error.code : 'invalid_webhook';
      this.log.warn('callback rejected', { provider: providerId, code });
      await this.store.recordRejectedCallback({ provider: providerId, code, body: input.rawBody, source });
      throw error;
    }

    const raw = input.rawBody.length > MAX_RAW_LOGGED ? `${input.rawBody.slice(0, MAX_RAW_LOGGED)}…` : input.rawBody;
    const received: NewEvent & { sessionId: string } = {
      sessionId: session.id,
      kind: 'webhook',
      source: 'webhook',
      providerStatus: parsed.claim?.rawStatus ?? null,
      amountMinor: parsed.claim?.paidAmountMinor ?? null,
      data: { authenticated, contentType: input.contentType, raw },
      // The same notification is the same whatever its unsigned parts or whitespace say.
      dedupeKey: `webhook:${providerId}:${sha256Hex(parsed.dedupeKey)}`,
    };
    // Providers that time-stamp their notifications: an older one than the last applied is out of order. The stamp
    // is kept in the same transaction that stores the callback.
    const stamp = parsed.eventTimestamp;
    let outOfOrder = false;
    const fresh =
      stamp === undefined
        ? await this.store.appendEvent(received)
        : (
            await this.store.appendEventAndMutate(received, (current) => {
              const last = typeof current.providerData.lastNotificationAt === 'number' ? current.providerData.lastNotificationAt : 0;
              if (stamp <= last) {
                outOfOrder = true;
                return { events: [{ sessionId: current.id, kind: 'note', source: 'webhook', data: { reason: 'out_of_order', timestamp: stamp, last } }] };
              }
              return { patch: { providerData: { ...current.providerData, lastNotificationAt: stamp } } };
            })
          ).fresh;
    if (!fresh) {
      this.log.info('duplicate callback ignored', { provider: providerId, sessionId: session.id });
      return provider.callbackReply();
    }
    if (outOfOrder) return provider.callbackReply();

    let refreshed: SessionRecord | undefined;
    if (provider.canFetchStatus(session)) {
      try {
        const result = await provider.fetchStatus(session);
        refreshed = await this.apply(session.id, result, 'webhook', { trigger: 'webhook', recordPoll: true });
      } catch (error) {
        // Stored, not applied: the reconciler re-reads the provider at its next pass.
        const code = isCheckoutError(error) ? error.code : 'error';
        this.log.warn('status re-read after callback failed', { sessionId: session.id, provider: providerId, code });
        refreshed = await this.store.mutate(session.id, () => ({
          patch: { nextPollAt: Date.now() },
          events: [{ sessionId: session.id, kind: 'poll_failed', source: 'webhook', data: { trigger: 'webhook', code } }],
        }));
      }
    } else if (authenticated && parsed.claim?.status === 'paid') {
      // An authenticated "paid" we cannot confirm (e.g. BoxExchanger order credentials lost in a crash): a person
      // must look, so the payment is held rather than ignored or trusted.
      const claim = parsed.claim;
      refreshed = await this.apply(session.id, { rawStatus: claim.rawStatus, status: 'held', ...optional('paidAmountMinor', claim.paidAmountMinor), raw: parsed.fields }, 'webhook', {
        trigger: 'webhook',
      });
      await this.store.appendEvent({ sessionId: session.id, kind: 'note', source: 'webhook', data: { reason: 'unconfirmed_payment', detail: 'Authenticated callback reports a payment the helper cannot re-read from the provider.' } });
    }
    this.log.info('callback accepted', { provider: providerId, sessionId: session.id, status: (refreshed ?? session).status });
    return provider.callbackReply();
  }

  /**
   * The session a callback is about. The provider payment it names decides when one of our sessions owns it; the
   * reference it names (our order reference, or the session in the IPN URL) must then be that session's. A callback
   * that names a session that does not exist is refused, never matched by other fields.
   */
  private async callbackSession(provider: PaymentProvider, parsed: ParsedCallback): Promise<SessionRecord> {
    const owner = parsed.providerPaymentId ? await this.store.findByProviderPaymentId(provider.id, parsed.providerPaymentId) : undefined;
    let session = owner;
    if (!session && parsed.reference !== undefined) {
      const namedId = sessionIdOfReference(parsed.reference);
      const named = namedId ? await this.store.getSession(namedId) : undefined;
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
   * A session left by a crash before the provider's answer was stored learns its payment from a callback, but only
   * from an authenticated one for exactly its amount, and only a payment no other session owns.
   */
  private async adoptPayment(session: SessionRecord, parsed: ParsedCallback, authenticated: boolean): Promise<SessionRecord> {
    const adopted = parsed.providerPaymentId;
    if (!adopted) return session;
    if (!authenticated || parsed.claim?.paidAmountMinor !== session.amountMinor) {
      throw new CheckoutError('invalid_webhook', 'The callback names a payment the session never recorded, without a signed matching amount.');
    }
    try {
      const updated = await this.store.mutate(session.id, (current) =>
        current.providerPaymentId
          ? undefined
          : {
              patch: { providerPaymentId: adopted, updatedAt: Date.now() },
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

  /**
   * A person settles a held payment (merchant API): `paid` (ship it), `refunded` (the money went back) or `failed`
   * (nothing arrived). Logged with source `manual` and the note, and told to the merchant's backend like any change.
   */
  async resolveHeld(sessionId: string, to: 'paid' | 'refunded' | 'failed', note: string): Promise<SessionRecord> {
    const session = await this.store.getSession(sessionId);
    if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
    let refused: SessionStatus | undefined;
    const result = await this.change(sessionId, (current) => {
      if (current.status !== 'held') {
        refused = current.status;
        return undefined;
      }
      const patch: Partial<SessionRecord> = { status: to, updatedAt: Date.now(), nextPollAt: null, ...(to === 'paid' ? { errorCode: null } : {}) };
      return {
        patch,
        events: [{ sessionId, kind: 'transition', source: 'manual', fromStatus: current.status, toStatus: to, data: { reason: 'manual', note, heldFor: current.errorCode } }],
        deliveries: this.notifications(current, patch, 'manual', note),
      };
    });
    if (refused !== undefined || !result) {
      throw new CheckoutError('session_not_held', `Only a held payment can be resolved; this one is ${refused ?? 'gone'}.`);
    }
    this.log.info('held payment resolved', { sessionId, to });
    return result;
  }

  /**
   * Payer-initiated cancel (POST /sessions/:id/cancel). `cancelledAtProvider` is false when the provider has no
   * cancel call (Repay): its page stays payable until it expires, so the session is ended here but its payment is
   * still polled, and a payment that arrives anyway is applied (held when the order is paid by another session).
   */
  async cancel(sessionId: string): Promise<{ session: SessionRecord; cancelledAtProvider: boolean }> {
    const session = await this.store.getSession(sessionId);
    if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
    return this.store.withLock(`order:${session.orderId}`, async () => {
      const current = (await this.store.getSession(sessionId))!;
      if (current.status === 'paid') throw new CheckoutError('order_paid', 'This payment is already completed and cannot be cancelled.');
      if (current.status === 'held' || current.status === 'refunded') {
        throw new CheckoutError('session_not_cancellable', 'This payment is being reviewed by the shop and cannot be cancelled.');
      }
      const provider = this.provider(current.provider);
      if (!isOpen(current.status)) return { session: current, cancelledAtProvider: provider.canCancel };
      if (!current.paymentUrl) throw new CheckoutError('session_creating', 'The payment is still being created; try again in a moment.');
      if (provider.canCancel) {
        try {
          await provider.cancel(current);
        } catch (error) {
          // E.g. BoxExchanger refuses once the payer has paid: find out what happened instead.
          const after = await this.refresh(sessionId, 'cancel');
          if (after && !isOpen(after.status)) return { session: after, cancelledAtProvider: after.status === 'cancelled' };
          throw error;
        }
        const after = await this.refresh(sessionId, 'cancel');
        if (after && !isOpen(after.status)) return { session: after, cancelledAtProvider: true };
      }
      const reason = provider.canCancel ? 'cancelled_by_payer' : 'cancelled_locally';
      const ended = (await this.endOpenSession(current, 'cancelled', reason, 'manual', provider.canCancel)) ?? current;
      return { session: ended, cancelledAtProvider: provider.canCancel };
    });
  }
}

/** Refuses a new payment for an order that is paid, or whose payment is on hold. */
function refuseSettledOrder(statuses: readonly SessionStatus[]): void {
  if (statuses.includes('paid')) throw new CheckoutError('order_paid', 'This order is already paid.');
  if (statuses.includes('held')) throw new CheckoutError('order_held', 'A payment for this order is on hold and needs the shop\'s attention.');
}

function keyReused(): CheckoutError {
  return new CheckoutError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request.');
}

function beingCreated(): CheckoutError {
  return new CheckoutError('session_creating', 'A payment for this order is being created; try again in a moment.');
}
