/**
 * The outbox sender: delivers merchant notifications written by status changes. Each delivery is signed with the
 * Standard Webhooks scheme (the same `webhook-id` on every attempt), POSTed with a time limit and no redirects
 * followed, and retried on anything but a 2xx with jittered backoff for about three days before it is marked
 * `failed`; a 429 or 503 with `Retry-After` is not tried again before that time (capped at the schedule's longest
 * step). Other statuses, 410 Gone included, are retried like any failure: a receiver's misconfiguration must not drop
 * a payment notification. The in-process `onEvent` hook rides the same rows, with the same time limit (a hook still
 * running then is a failed attempt; the pass does not wait for it). Only the head of each order's queue per target is
 * taken, so an order's events arrive in order, whichever of its sessions they are about; rows are leased, so several
 * helper instances never send one twice at the same time.
 */
import { BackgroundLoop } from '../background-loop.js';
import type { DeliveryConfig, MerchantWebhooksConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { WEBHOOK_LIST_ALIVE_MS, type DeliveryOutcome, type DeliveryRecord, type Store } from '../store.js';
import type { MerchantEvent } from '../types.js';
import { HOOK_TARGET } from './events.js';
import { signWebhook } from './signing.js';
import { redactUrlCredentials } from './url-credentials.js';

export interface DeliverySenderOptions {
  store: Store;
  delivery: DeliveryConfig;
  webhooks?: MerchantWebhooksConfig | undefined;
  onEvent?: ((event: MerchantEvent) => void | Promise<void>) | undefined;
  log: Logger;
}

export interface DeliveryReport {
  delivered: number;
  /** Attempts that failed and will be tried again. */
  retrying: number;
  /** Deliveries that failed their last attempt. */
  failed: number;
}

const BATCH = 50;
const LEASE_MARGIN_MS = 2_000;

export class DeliverySender {
  private readonly loop: BackgroundLoop<DeliveryReport>;
  private started = false;
  private warned = false;
  /** The outbox reconciled with MERCHANT_WEBHOOK_URL (`start()`): the first pass waits for it. */
  private retargeted: Promise<void> | undefined;
  /**
   * The store has answered `retargetDeliveries` once. Until then (a database not reachable at start) every pass and
   * touch asks again, and nothing is sent (see `pass()`).
   */
  private reconciled = false;
  /** When the failure to reconcile was last logged (every five minutes while it lasts). */
  private retargetWarnedAt: number | undefined;
  /** Another instance runs with a MERCHANT_WEBHOOK_URL list first seen after this one's: it decides, not this one. */
  private outdated = false;
  /** When this instance next says that its list runs (and, outdated, looks again whether it still is). */
  private touchAt = 0;
  private toucher: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: DeliverySenderOptions) {
    this.loop = new BackgroundLoop(
      (now) => this.pass(now),
      // Work found (or a wake-up meanwhile): the next heads of the queues are due at once.
      (report, woken) => (woken || (report && report.delivered + report.retrying + report.failed > 0) ? 0 : options.delivery.intervalMs),
    );
  }

  start(): void {
    this.started = true;
    this.retargeted ??= this.retarget();
    // On a timer of its own: passes may be a minute apart (MERCHANT_WEBHOOK_INTERVAL_MS), or slow, and a running list
    // that looked stopped would let an older one decide.
    // One touch per third of the minute, from whichever comes first (the pass's own check is for `tick()`).
    this.toucher ??= setInterval(() => void this.retargeted?.then(() => (Date.now() >= this.touchAt ? this.touchList(Date.now()) : undefined)), WEBHOOK_LIST_ALIVE_MS / 6);
    this.toucher.unref();
    this.loop.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.toucher);
    this.toucher = undefined;
    await this.loop.stop();
    await this.retargeted;
  }

  /**
   * Before the first pass: deliveries to a URL MERCHANT_WEBHOOK_URL no longer names (a moved route, a trailing slash,
   * http → https) follow the configuration, or they would retry a dead address for days and a retry would re-queue
   * them there (`Store.retargetDeliveries`). Delivered ones keep their target. A failure is logged and tried again
   * (see `reconciled`).
   */
  private async retarget(now = Date.now()): Promise<void> {
    const { store, webhooks, log } = this.options;
    if (typeof store.retargetDeliveries !== 'function') {
      // A store of the merchant's own written before the method: nothing to reconcile with, sent as they are.
      if (!this.reconciled) log.warn('the store has no retargetDeliveries(): deliveries keep their URLs when MERCHANT_WEBHOOK_URL changes');
      this.reconciled = true;
      return;
    }
    try {
      const report = await store.retargetDeliveries(webhooks?.urls ?? [], now);
      this.reconciled = true;
      this.retargetWarnedAt = undefined;
      this.touchAt = now + WEBHOOK_LIST_ALIVE_MS / 3;
      if (report.outdated && !this.outdated) {
        log.warn('another instance runs with a MERCHANT_WEBHOOK_URL list first seen after this one\'s: this instance leaves the deliveries where they are while it runs (the newest list decides)', {
          urls: (webhooks?.urls ?? []).map(describe),
        });
      }
      this.outdated = Boolean(report.outdated);
      if (this.outdated || report.moved + report.ended + report.left === 0) return;
      const fields = { from: report.targets.map(describe), to: (webhooks?.urls ?? []).map(describe), moved: report.moved, ended: report.ended, left: report.left };
      if (report.left > 0) {
        log.warn(
          'merchant deliveries to URLs MERCHANT_WEBHOOK_URL no longer names: some follow it, some are left there (several new URLs lack their event, another instance is sending them, or an earlier one of their order)',
          fields,
        );
      } else log.info('merchant deliveries to URLs MERCHANT_WEBHOOK_URL no longer names follow it', fields);
    } catch (error) {
      const message = redactUrlCredentials(String(error));
      // Once reconciled, a later failure (an outdated list looking again) leaves the deliveries as they are.
      if (this.reconciled) return log.warn('could not reconcile the merchant deliveries with MERCHANT_WEBHOOK_URL; they keep their URLs', { error: message });
      if (this.retargetWarnedAt !== undefined && now - this.retargetWarnedAt < 300_000) return;
      this.retargetWarnedAt = now;
      log.warn('could not reconcile the merchant deliveries with MERCHANT_WEBHOOK_URL yet: no merchant notification is sent until it is done', { error: message });
    }
  }

  /**
   * Says that this instance's MERCHANT_WEBHOOK_URL list runs, so that one of an older list started meanwhile leaves the
   * deliveries alone. Outdated, it looks again instead: once the newer list's instances are gone (a rollback), this
   * list decides.
   */
  private async touchList(now: number): Promise<void> {
    this.touchAt = now + WEBHOOK_LIST_ALIVE_MS / 3;
    if (this.outdated || !this.reconciled) return this.retarget(now);
    try {
      // A newer list started meanwhile: this one waits, and decides again once that one has stopped.
      this.outdated = await this.options.store.touchWebhookList(this.options.webhooks?.urls ?? [], now);
    } catch (error) {
      this.options.log.warn('could not record that this MERCHANT_WEBHOOK_URL list runs', { error: redactUrlCredentials(String(error)) });
    }
  }

  /** A change wrote deliveries: send them now rather than at the next interval. */
  wake(): void {
    // A helper mounted by hand whose runtime was never started queues every notification and sends none: say so once.
    if (!this.started && !this.warned) {
      this.warned = true;
      this.options.log.warn(
        'merchant notifications are queued, but this instance does not send them: call checkout.checkout.start() (startServer() does), here or on another instance',
      );
    }
    this.loop.wake();
  }

  /** One pass over the due deliveries (also callable directly, e.g. from a test). */
  tick(now = Date.now()): Promise<DeliveryReport> {
    return this.loop.tick(now);
  }

  private async pass(now: number): Promise<DeliveryReport> {
    await this.retargeted;
    if (this.retargeted && (now >= this.touchAt || !this.reconciled)) await this.touchList(now);
    const { store, delivery } = this.options;
    const report: DeliveryReport = { delivered: 0, retrying: 0, failed: 0 };
    // Not reconciled yet (the database did not answer): nothing is claimed. A delivery to a URL no longer configured
    // would be sent to the old address, and a claimed one is leased, which the reconciliation leaves where it is.
    if (this.retargeted && !this.reconciled) return report;
    // The lease outlasts an attempt, so a slow receiver is not sent the same message twice at once; a sender that
    // dies mid-attempt just lets it run out, and another instance (or this one, restarted) sends the message again.
    const due = await store.claimDueDeliveries(now, BATCH, delivery.timeoutMs + LEASE_MARGIN_MS);
    await Promise.all(
      due.map(async (record) => {
        // The lease counts from before the claim, which may have waited for a database connection: the attempt ends
        // a margin before the lease does, or another sender could send the message again while it still runs. With
        // no time left, the delivery is left to the pass that takes it once the lease has run out (no attempt counted).
        const limitMs = Math.min(delivery.timeoutMs, (record.leaseUntil ?? 0) - Date.now() - LEASE_MARGIN_MS);
        if (limitMs <= 0) return;
        const outcome = await this.attempt(record, limitMs);
        await store.finishDelivery(record, outcome, Date.now());
        if (outcome.delivered) report.delivered++;
        else if (outcome.nextAttemptAt === null) {
          report.failed++;
          this.options.log.error('merchant notification failed for good', { delivery: record.id, type: record.eventType, target: describe(record.target), error: outcome.error });
        } else report.retrying++;
      }),
    );
    return report;
  }

  private async attempt(record: DeliveryRecord, limitMs: number): Promise<DeliveryOutcome> {
    try {
      if (record.target === HOOK_TARGET) {
        if (!this.options.onEvent) throw new Error('no onEvent hook is configured any more');
        await this.callHook(this.options.onEvent, JSON.parse(record.payload) as MerchantEvent, limitMs);
        return { delivered: true };
      }
      const { status, retryAfter } = await this.post(record, limitMs);
      if (status >= 200 && status < 300) return { delivered: true, status };
      const waitMs = status === 429 || status === 503 ? retryAfterMs(retryAfter, Date.now()) : undefined;
      return this.failure(record, `HTTP ${status}`, status, waitMs);
    } catch (error) {
      // fetch's messages quote the URL: never a user name or password of it (stored as last_error, shown by the API).
      return this.failure(record, redactUrlCredentials(describeFailure(error), record.target === HOOK_TARGET ? [] : [record.target]));
    }
  }

  /**
   * The hook, with the attempt's time limit (the webhook's, or what its lease leaves, see `pass()`): a hook still
   * running after its lease could be called again (by another instance, or the next pass), and one that never returns
   * would hold up this instance's pass, and with it every notification. A hook that has not finished by then is a failed attempt,
   * retried with backoff; the pass goes on without waiting for it (it cannot be stopped: it may still finish later).
   */
  private async callHook(hook: (event: MerchantEvent) => void | Promise<void>, event: MerchantEvent, limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const call = (async () => hook(event))();
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        late = true;
        const error = new Error(`onEvent did not finish within ${limitMs} ms (MERCHANT_WEBHOOK_TIMEOUT_MS)`);
        error.name = 'TimeoutError';
        reject(error);
      }, limitMs);
    });
    // A hook that fails after its time ran out is reported in the log, never left as an unhandled rejection.
    call.catch((error: unknown) => {
      if (late) this.options.log.warn('onEvent failed after its time limit', { event: event.id, error: redactUrlCredentials(String(error)) });
    });
    try {
      await Promise.race([call, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async post(record: DeliveryRecord, limitMs: number): Promise<{ status: number; retryAfter: string | null }> {
    const secrets = this.options.webhooks?.secrets;
    if (!secrets?.length) throw new Error('no MERCHANT_WEBHOOK_SECRET to sign with');
    const response = await fetch(record.target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'pay-checkout-webhooks/1',
        ...signWebhook(secrets, record.payload, { id: record.messageId }),
      },
      body: record.payload,
      // A redirect is an answer, not a new address to send the payload to.
      redirect: 'manual',
      signal: AbortSignal.timeout(limitMs),
    });
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  }

  /**
   * The next attempt after a failure: the schedule's next step (jittered ±10 %), or none after the last. `waitMs`, the
   * receiver's `Retry-After`, is a lower bound, capped at the schedule's longest step so that a receiver asking for a
   * week is still tried within the usual spacing, and never makes the schedule longer in attempts.
   */
  private failure(record: DeliveryRecord, error: string, status?: number, waitMs?: number): DeliveryOutcome {
    const { retryDelaysMs } = this.options.delivery;
    const delay = retryDelaysMs[record.attempts];
    let nextAttemptAt: number | null = null;
    if (delay !== undefined) {
      const scheduled = Math.round(delay * (0.9 + Math.random() * 0.2));
      const asked = waitMs === undefined ? 0 : Math.min(waitMs, Math.max(...retryDelaysMs));
      nextAttemptAt = Date.now() + Math.max(scheduled, asked);
      this.options.log.warn('merchant notification not delivered; will retry', {
        delivery: record.id,
        target: describe(record.target),
        error,
        ...(waitMs === undefined ? {} : { retryAfterMs: waitMs }),
      });
    }
    return { delivered: false, error, ...(status === undefined ? {} : { status }), nextAttemptAt };
  }
}

/**
 * `Retry-After` (RFC 9110): delay-seconds, or an HTTP date; how long from `now` to wait, in ms. Undefined when absent
 * or unreadable (then only the schedule counts); a date in the past is 0.
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text), 10 * 365 * 86_400) * 1000;
  // An HTTP date always names its weekday or month in letters: a bare or signed number is not one.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * An attempt's error with what caused it: fetch rejects with `TypeError: fetch failed` whatever went wrong, and the
 * reason (a refused connection, an unknown host, a certificate) is its `cause`, e.g.
 * `TypeError: fetch failed; cause: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4000`. Errors carry no request
 * headers (no signature); URLs in them are redacted by the caller. At most three causes, each cut to 200 characters.
 */
export function describeFailure(error: unknown): string {
  const parts = [error instanceof Error ? `${error.name}: ${error.message}` : String(error)];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; depth < 3 && cause !== undefined && cause !== null; depth++) {
    parts.push(`cause: ${describeCause(cause).slice(0, 200)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join('; ');
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const code = (cause as { code?: unknown }).code;
  // A connection tried on several addresses fails with an AggregateError whose own message may be empty.
  const message =
    cause.message ||
    (cause instanceof AggregateError ? [...new Set(cause.errors.map((inner: unknown) => (inner instanceof Error ? inner.message : String(inner))))].join(', ') : '');
  const label = typeof code === 'string' && code ? code : cause.name;
  return message ? `${label}: ${message}` : label;
}

/** A target for the log: the hook, or the URL's origin and path (a query string may carry a token). */
function describe(target: string): string {
  if (target === HOOK_TARGET) return target;
  try {
    const url = new URL(target);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'invalid URL';
  }
}
