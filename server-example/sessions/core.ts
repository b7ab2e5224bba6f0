/**
 * What every part of the session service shares: its dependencies, the provider lookup, and the one way a status
 * change is written (through the store, with the merchant notifications it causes).
 */
import type { CheckoutConfig } from '../config.js';
import { CheckoutError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MerchantNotifier } from '../merchant-webhooks/events.js';
import type { PaymentProvider } from '../providers/types.js';
import type { Mutation, MutationContext, NewDelivery, NewEvent, SessionRecord, Store } from '../store.js';
import type { ProviderId, ResolveOrder } from '../types.js';

/** Why a status read was made. `payer_cancel`: the payer's cancel (the read that tells what it did); `cancel`: ending a session. */
export type RefreshTrigger = 'reconcile' | 'status' | 'return' | 'webhook' | 'cancel' | 'payer_cancel' | 'create';

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

export class SessionCore {
  readonly config: CheckoutConfig;
  readonly store: Store;
  readonly providers: ReadonlyMap<ProviderId, PaymentProvider>;
  readonly resolveOrder: ResolveOrder;
  readonly log: Logger;
  /** The status re-read running for each session (one at a time per session). */
  readonly refreshes = new Map<string, Promise<SessionRecord | undefined>>();
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

  provider(id: ProviderId): PaymentProvider {
    const provider = this.providers.get(id);
    if (!provider) throw new CheckoutError('unknown_provider', `Provider "${id}" is not available.`);
    return provider;
  }

  /**
   * Runs a status change through the store and tells the sender when it wrote merchant notifications. Every change
   * that moves a session's status goes through here, so each transition is told exactly once.
   */
  async change(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): Promise<SessionRecord | undefined> {
    const watched = this.watchNotifications(fn);
    const result = await this.store.mutate(id, watched.fn);
    watched.tell();
    return result;
  }

  /** change() behind an event stored once (`store.appendEventAndMutate`): a duplicate event changes nothing. */
  async appendAndChange(
    event: NewEvent & { sessionId: string },
    fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined,
  ): Promise<{ fresh: boolean; session: SessionRecord | undefined }> {
    const watched = this.watchNotifications(fn);
    const result = await this.store.appendEventAndMutate(event, watched.fn);
    watched.tell();
    return result;
  }

  /** Remembers whether the mutation's last run (a transaction may be retried) wrote notifications, to tell the sender. */
  private watchNotifications(fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined) {
    let notified = false;
    return {
      fn: (current: SessionRecord, context: MutationContext) => {
        const mutation = fn(current, context);
        notified = Boolean(mutation?.deliveries?.length);
        return mutation;
      },
      tell: () => {
        if (notified) this.onNotified();
      },
    };
  }

  /**
   * The notifications of `current` moving to `patch.status`, as the session will be after the patch; a held payment
   * held now for another reason (a second payment of the order, say) is told again, with that reason.
   */
  notifications(current: SessionRecord, patch: Partial<SessionRecord>, reason: string | null, note?: string): NewDelivery[] {
    const reheld = patch.status === 'held' && current.status === 'held' && patch.errorCode !== undefined && patch.errorCode !== current.errorCode;
    if (!this.notifier.enabled || !patch.status || (patch.status === current.status && !reheld)) return [];
    return this.notifier.deliveries({ ...current, ...patch, id: current.id }, current.status, reason, current.paidAt !== null, note);
  }
}
