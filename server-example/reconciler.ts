/**
 * The reconciler: webhooks are unreliable (Repay reports only success, BoxExchanger sends its IPN once), so open
 * sessions are polled with exponential backoff, expired after the provider's window, and rows left by a crash
 * between the session write and the provider answer are resolved. Due sessions are claimed with a lease, so several
 * helper instances on one database never poll the same session at once.
 */
import { BackgroundLoop } from './background-loop.js';
import type { CheckoutConfig } from './config.js';
import { isCheckoutError } from './errors.js';
import type { Logger } from './logger.js';
import type { SessionService } from './sessions.js';
import type { Store } from './store.js';
import { isOpen } from './transitions.js';

export interface ReconcilerOptions {
  config: CheckoutConfig;
  store: Store;
  sessions: SessionService;
  log: Logger;
}

export interface ReconcileReport {
  polled: number;
  /** Ended sessions found paid on a late-payment poll. */
  revived: number;
  expired: number;
  interrupted: number;
  errors: number;
}

const BATCH = 50;
/**
 * How long a claimed session stays with this poller before another instance may take it: longer than a normal pass,
 * short enough that sessions claimed by an instance that died are polled again soon. A pass slower than this (a
 * provider timing out on every call) at worst lets a second instance poll the same session, which is harmless.
 */
const MIN_LEASE_MS = 120_000;

export class Reconciler {
  private readonly loop: BackgroundLoop<ReconcileReport>;

  constructor(private readonly options: ReconcilerOptions) {
    this.loop = new BackgroundLoop((now) => this.pass(now), () => options.config.reconcile.intervalMs);
  }

  start(): void {
    this.loop.start();
  }

  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One pass over the due sessions (also callable directly, e.g. from a cron job or a test). */
  tick(now = Date.now()): Promise<ReconcileReport> {
    return this.loop.tick(now);
  }

  private async pass(now: number): Promise<ReconcileReport> {
    const { store, sessions, config, log } = this.options;
    const report: ReconcileReport = { polled: 0, revived: 0, expired: 0, interrupted: 0, errors: 0 };
    // Claimed, not just read: with several instances on one database each due session is polled by one of them.
    const due = await store.claimDueSessions(now, BATCH, Math.max(MIN_LEASE_MS, 4 * config.reconcile.intervalMs));
    for (const session of due) {
      if (sessions.creating.has(session.id)) continue;
      try {
        // Left by a crash before the provider's answer was stored; a row a signed callback gave its payment is read.
        if (!session.paymentUrl && !session.providerPaymentId && isOpen(session.status)) {
          if (now - session.createdAt >= config.reconcile.crashGraceMs) {
            const result = await sessions.markInterrupted(session.id);
            if (result?.status === 'failed') {
              report.interrupted++;
              log.warn('session left by an interrupted creation marked failed', { sessionId: session.id });
            }
          } else {
            await store.mutate(session.id, () => ({ patch: { nextPollAt: session.createdAt + config.reconcile.crashGraceMs } }));
          }
          continue;
        }
        const readFrom = Date.now();
        const refreshed = (await sessions.refresh(session.id, 'reconcile')) ?? session;
        report.polled++;
        if (!isOpen(session.status)) {
          if (session.status !== 'paid' && refreshed.status === 'paid') report.revived++;
          continue;
        }
        // Ended only on this pass's own read of it (a failed one says nothing: see readSince()), and never while the
        // provider is still checking a payment the payer made (it stays open, polled, until the provider decides).
        const ending =
          isOpen(refreshed.status) &&
          now > refreshed.expiresAt + config.reconcile.expiryGraceMs &&
          sessions.readSince(refreshed, readFrom) &&
          !sessions.provider(refreshed.provider).paymentUnderway(refreshed);
        if (ending) {
          const ended = await sessions.endOpenSession(refreshed, 'expired', 'window_passed');
          if (ended?.status === 'expired') report.expired++;
        }
      } catch (error) {
        report.errors++;
        log.error('reconcile failed for a session', { sessionId: session.id, code: isCheckoutError(error) ? error.code : 'error', error });
      }
    }
    return report;
  }
}
