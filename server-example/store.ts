/**
 * Persistence. `Store` is the interface the helper needs (so a shared database can replace the embedded one);
 * `SqliteStore` is the embedded default: better-sqlite3 in WAL mode, schema migrations by `user_version`,
 * an append-only event log (UPDATE and DELETE are refused by triggers), and a partial unique index that allows
 * at most one open session per order even when several processes share the file.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { HOOK_TARGET } from './merchant-webhooks/events.js';
import { sha256Hex } from './providers/crypto.js';
import {
  columnValue,
  deliveryFromRow,
  eventFromRow,
  PaymentIdConflict,
  rejectedFromRow,
  SESSION_COLUMNS,
  sessionFromRow as fromRow,
  sessionToRow as toRow,
} from './store-rows.js';
import type { DeliveryRow, EventRow, RejectedRow, SessionField, SessionRow } from './store-rows.js';
import type { EventSource, MethodId, ProviderId, SessionStatus } from './types.js';
import { startWalCheckpointer } from './wal-checkpointer.js';
import type { WalCheckpointer } from './wal-checkpointer.js';

export interface SessionRecord {
  id: string;
  orderId: string;
  provider: ProviderId;
  method: MethodId;
  status: SessionStatus;
  amountMinor: number;
  currency: string;
  description: string | null;
  /** Hash of the merchant's customer id, as sent to providers. */
  customerRef: string;
  locale: string | null;
  /** Storefront origin recorded at creation: the only postMessage target of the return page. */
  storefrontOrigin: string;
  returnUrl: string | null;
  providerPaymentId: string | null;
  paymentUrl: string | null;
  providerStatus: string | null;
  /** Provider-private data (BoxExchanger uid/secret/ipnSecret…). Never leaves the helper. */
  providerData: Record<string, unknown>;
  paidAmountMinor: number | null;
  errorCode: string | null;
  /**
   * When the session first became paid (a provider's verified status or a person's resolution); kept when it later
   * leaves `paid`, so that a return to `paid` is told as `payment.reinstated`, never as a second `payment.paid`.
   */
  paidAt: number | null;
  /**
   * When the provider status the row reflects was read (the start of that status query, by any instance): an answer
   * to a query started earlier is older news and changes nothing, however late it arrives.
   */
  statusReadAt: number | null;
  createdAt: number;
  updatedAt: number;
  expiresAt: number;
  nextPollAt: number | null;
  pollAttempts: number;
  lastPolledAt: number | null;
}

export type EventKind =
  | 'created'
  | 'provider_created'
  | 'create_failed'
  | 'transition'
  | 'webhook'
  | 'webhook_rejected'
  | 'poll'
  | 'poll_failed'
  | 'return'
  | 'cancel'
  | 'note';

export interface NewEvent {
  sessionId: string | null;
  kind: EventKind;
  source?: EventSource | null;
  fromStatus?: SessionStatus | null;
  toStatus?: SessionStatus | null;
  providerStatus?: string | null;
  amountMinor?: number | null;
  /** Anything JSON-serialisable: raw webhook bodies, poll results, reasons. */
  data?: unknown;
  /** Events with the same key are stored once (duplicate webhooks). */
  dedupeKey?: string;
}

export interface EventRecord {
  seq: number;
  sessionId: string | null;
  at: number;
  kind: EventKind;
  source: EventSource | null;
  fromStatus: SessionStatus | null;
  toStatus: SessionStatus | null;
  providerStatus: string | null;
  amountMinor: number | null;
  data: unknown;
}

export interface IdempotencyRecord {
  key: string;
  fingerprint: string;
  sessionId: string;
  createdAt: number;
}

/** What a `mutate()` callback sees beside the row: read in the same transaction, so no other writer can change it. */
export interface MutationContext {
  /** The other sessions of the same order (a second payment for a paid order must be held, not paid). */
  readonly orderSessions: readonly SessionRecord[];
}

/** A provider callback that failed verification, kept as a bounded digest rather than in the event log. */
export interface RejectedCallback {
  provider: ProviderId;
  code: string;
  body: string;
  /** The sender's address, when known. */
  source: string | null;
}

export interface RejectedCallbackRecord {
  digest: string;
  provider: ProviderId;
  code: string;
  /** Size of the body in bytes. */
  size: number;
  /** The first 256 characters of the body. */
  head: string;
  source: string | null;
  count: number;
  firstAt: number;
  lastAt: number;
}

export interface PruneReport {
  events: number;
  rejectedCallbacks: number;
  /** Merchant webhook deliveries that ended (delivered or failed) before the cutoff. */
  deliveries: number;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryFilter {
  status?: DeliveryStatus;
  sessionId?: string;
  orderId?: string;
  /** Only deliveries written before the one with this `seq` (pagination, newest first). */
  beforeSeq?: number;
  limit: number;
}

/**
 * One merchant notification for one target (a webhook URL, or the in-process hook), written to the outbox in the
 * same transaction as the status change it reports.
 */
export interface NewDelivery {
  /** `dlv_…`: this delivery (merchant API: list, retry). */
  id: string;
  /** `msg_…`: the event's id, the `webhook-id` of every attempt and every target. */
  messageId: string;
  eventType: string;
  sessionId: string | null;
  orderId: string | null;
  /** A webhook URL, or `hook:onEvent`. An order's deliveries to one target are made in the order written. */
  target: string;
  /** The exact JSON body sent (and signed). */
  payload: string;
  createdAt: number;
}

export interface DeliveryRecord extends NewDelivery {
  seq: number;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  /** HTTP status of the last answer, when there was one. */
  lastStatus: number | null;
  updatedAt: number;
  deliveredAt: number | null;
  /** Until when the sender that claimed it may send it (`claimDueDeliveries`); null when nobody holds it. */
  leaseUntil: number | null;
}

/**
 * What `retryDelivery` did. `queued`: a failed or delivered row is pending again, due now, with a fresh schedule of
 * attempts. `due_now`: a pending row waiting for its next attempt is due now (a fresh schedule). `in_flight`: a sender
 * holds it right now; left as it is. `superseded`: refused, nothing changed — the same order has a later event, in
 * any target (delivered, queued or failed), so this older one is not the latest news (`force` sends it anyway, its
 * payload marked `data.redelivered: true`).
 */
export type DeliveryRetryOutcome = 'queued' | 'due_now' | 'in_flight' | 'superseded';

export interface RetriedDelivery extends DeliveryRecord {
  retry: DeliveryRetryOutcome;
  /** `superseded`, or `queued` by force: a delivery of the order's latest later event (to the same target if it has one). */
  supersededBy?: string;
}

/**
 * The payload of an event sent again after later events of its order reached the target: `data.redelivered: true`,
 * so the receiver can tell it is older than what it already has (the `webhook-id` stays the same, for dedupe).
 */
export function markRedelivered(payload: string): string {
  try {
    const event = JSON.parse(payload) as { data?: unknown };
    if (!event || typeof event !== 'object' || !event.data || typeof event.data !== 'object' || Array.isArray(event.data)) return payload;
    const data = event.data as Record<string, unknown>;
    if (data.redelivered === true) return payload;
    return JSON.stringify({ ...event, data: { ...data, redelivered: true } });
  } catch {
    return payload;
  }
}

/** What one delivery attempt came to; `nextAttemptAt: null` after the last try marks the delivery failed. */
export type DeliveryOutcome =
  | { delivered: true; status?: number }
  | { delivered: false; error: string; status?: number; nextAttemptAt: number | null };

/** What `retargetDeliveries` did with the deliveries to webhook URLs that MERCHANT_WEBHOOK_URL no longer names. */
export interface RetargetReport {
  /** The URLs no longer configured that pending or failed deliveries named. */
  targets: string[];
  /** Re-pointed to the one configured URL their event had no delivery to yet (a pending one due now, afresh). */
  moved: number;
  /** Pending ones ended as failed: their event has a delivery to every configured URL already. */
  ended: number;
  /**
   * Left as they were: several configured URLs lack their event (which one is its new address cannot be told), or
   * another instance is sending it right now (the next start takes it up), or an earlier one of its order was left.
   */
  left: number;
  /**
   * Nothing was done: another instance was started with another MERCHANT_WEBHOOK_URL since this one's was first seen
   * (this one is the old configuration of a deploy under way, or of a rollback), and the newest decides.
   */
  outdated?: boolean;
}

/** A MERCHANT_WEBHOOK_URL list as `webhook_url_lists` keys it: the same URLs in any order are one list. */
export function webhookUrlList(urls: readonly string[]): string {
  return JSON.stringify([...new Set(urls)].sort());
}

/**
 * How long a MERCHANT_WEBHOOK_URL list counts as running after an instance with it last said so (`touchWebhookList`,
 * every third of it from each sender).
 */
export const WEBHOOK_LIST_ALIVE_MS = 60_000;

/** What `retargetDeliveries` answers for an instance whose list is not the newest. */
export const OUTDATED_LIST: RetargetReport = { targets: [], moved: 0, ended: 0, left: 0, outdated: true };

/** `last_error` of a pending delivery that `retargetDeliveries` ended. */
export const UNCONFIGURED_TARGET_ERROR =
  'MERCHANT_WEBHOOK_URL no longer names this URL; this event has a delivery to every URL it names, so it is not sent here any more';

/** A delivery `planRetargets` moves to another URL, with its payload (marked redelivered, or as it was). */
export interface RetargetMove {
  seq: number;
  target: string;
  payload: string;
}

/**
 * The decisions of `retargetDeliveries`, the same for every store. `rows`: every delivery of the orders (and events)
 * that have a pending or failed delivery to a webhook URL not in `urls`, as they are in the transaction. Such a stale
 * delivery — never one to the hook, never a delivered one (its history stays true) — is taken in the order written:
 * the configured URLs its event has no delivery to yet are its candidates. One: it goes there, keeping its `seq` and
 * so its place in that URL's queue of the order (a pending one is due now with a fresh schedule, marked redelivered
 * when a later event of its order may have reached that URL already — delivered, failed, tried or being sent — as it
 * then arrives after it). None: a pending one is ended as failed. Several: left. A pending one leased until after
 * `now` is another instance's to send: left. Once a pending one of an order is left, so are the order's later ones,
 * which would otherwise reach the new URL before it. Linear in the rows.
 */
export function planRetargets(
  rows: readonly DeliveryRecord[],
  urls: readonly string[],
  now: number,
): { moves: RetargetMove[]; ends: number[]; report: RetargetReport } {
  const configured = [...new Set(urls)];
  const stale = rows
    .filter((row) => (row.status === 'pending' || row.status === 'failed') && row.target !== HOOK_TARGET && !configured.includes(row.target))
    .sort((a, b) => a.seq - b.seq);
  const targetsOf = new Map<string, Set<string>>();
  for (const row of rows) {
    const targets = targetsOf.get(row.messageId) ?? new Set<string>();
    targets.add(row.target);
    targetsOf.set(row.messageId, targets);
  }
  // Per order and URL, the latest delivery that may have reached it already (what was there before this pass only: a
  // failed delivery moved along with it was never sent there): delivered, failed, or pending with an attempt made or
  // under way (a timed-out attempt may have arrived).
  const reachedUpTo = new Map<string, number>();
  for (const row of rows) {
    const tried = row.status !== 'pending' || row.attempts > 0 || (row.leaseUntil !== null && row.leaseUntil > now);
    const key = `${row.orderId}\u0000${row.target}`;
    if (row.orderId !== null && tried && row.seq > (reachedUpTo.get(key) ?? -1)) reachedUpTo.set(key, row.seq);
  }
  const report: RetargetReport = { targets: [...new Set(stale.map((row) => row.target))], moved: 0, ended: 0, left: 0 };
  const moves: RetargetMove[] = [];
  const ends: number[] = [];
  // Orders with a delivery left where it was: their later ones stay behind it, or a later event would reach the new
  // URL first while the earlier one is still sent to the old.
  const held = new Set<string | null>();
  for (const row of stale) {
    const targets = targetsOf.get(row.messageId)!;
    const candidates = configured.filter((url) => !targets.has(url));
    const leased = row.status === 'pending' && row.leaseUntil !== null && row.leaseUntil > now;
    if (held.has(row.orderId) || leased || candidates.length > 1) {
      // A failed one is not sent again on its own: nothing of the order waits for it.
      if (row.status === 'pending') held.add(row.orderId);
      report.left++;
      continue;
    }
    if (candidates.length === 1) {
      const target = candidates[0]!;
      // Sent there after a later event of its order: an older event, as a forced retry would be.
      const overtaken = row.status === 'pending' && row.orderId !== null && (reachedUpTo.get(`${row.orderId}\u0000${target}`) ?? -1) > row.seq;
      targets.delete(row.target);
      targets.add(target);
      moves.push({ seq: row.seq, target, payload: overtaken ? markRedelivered(row.payload) : row.payload });
      report.moved++;
    } else if (row.status === 'pending') {
      ends.push(row.seq);
      report.ended++;
    }
  }
  return { moves, ends, report };
}

/** What a `mutate()` callback decides: a patch for the row and the events to append with it. */
export interface Mutation {
  patch?: Partial<Omit<SessionRecord, 'id'>>;
  events?: NewEvent[];
  /** An Idempotency-Key to remember in the same transaction (kept as it is when the key exists already). */
  idempotencyKey?: IdempotencyRecord;
  /** Merchant notifications of this change, into the outbox in the same transaction. */
  deliveries?: NewDelivery[];
  /**
   * Other sessions of the same order (`MutationContext.orderSessions`) this change makes worth a status read: due for a
   * poll now, in the same transaction (a payment held as a second one counts once the order's paid one is gone), and
   * changed now, so that their watch for the provider's word runs from here.
   */
  pollNow?: string[];
}

/** withLock() waited its limit for a lock another instance held; `fn` did not run. */
export class LockTimeoutError extends Error {
  constructor(readonly key: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms waiting for the lock "${key}" held by another instance.`);
    this.name = 'LockTimeoutError';
  }
}

export class OpenSessionExistsError extends Error {
  constructor(readonly orderId: string) {
    super(`An open session already exists for order ${orderId}.`);
    this.name = 'OpenSessionExistsError';
  }
}

/** A provider payment id can belong to one session only (a signed callback must not let one payment pay two orders). */
export class ProviderPaymentTakenError extends Error {
  constructor(readonly provider: ProviderId, readonly providerPaymentId: string) {
    super(`The ${provider} payment ${providerPaymentId} already belongs to another session.`);
    this.name = 'ProviderPaymentTakenError';
  }
}

/** Rejected callbacks kept at most; the least recently seen are dropped beyond it. */
export const MAX_REJECTED_CALLBACKS = 10_000;
/** Characters of a rejected callback's body kept for inspection. */
export const REJECTED_HEAD_CHARS = 256;

/** Statuses after which a session's events may be pruned (once the reconciler no longer watches it). */
export const PRUNABLE_STATUSES = ['paid', 'refunded', 'failed', 'cancelled', 'expired'] as const;

/**
 * Retention of merchant deliveries (`$1`: the cutoff). An order's deliveries go together or not at all, whatever their
 * targets: a retry asks whether a later event of the order exists (`retryDelivery`, in any target), and a later one
 * pruned alone would let an old `payment.paid` go out again as news. So none of them goes while any is pending or
 * changed since the cutoff, or names a session whose own history is kept (open, held or still watched, or changed since
 * the cutoff): such a delivery keeps its order.
 */
const KEEPS_ITS_GROUP = `kept.status = 'pending' OR kept.updated_at >= $1
  OR (s.id IS NOT NULL AND NOT (s.status IN (${PRUNABLE_STATUSES.map((status) => `'${status}'`).join(',')}) AND s.next_poll_at IS NULL AND s.updated_at < $1))`;

/** Sessions (or session-less events) per retention batch on SQLite, and the pause that lets the helper write between. */
const PRUNE_BATCH = 1_000;
const PRUNE_PAUSE_MS = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SQLite: the order as one text key, which SQLite looks up in a temporary index. */
const PRUNE_DELIVERIES_SQLITE = `DELETE FROM deliveries WHERE status <> 'pending' AND updated_at < $1
  AND coalesce(order_id, '') NOT IN (
    SELECT coalesce(kept.order_id, '') FROM deliveries kept LEFT JOIN sessions s ON s.id = kept.session_id
     WHERE ${KEEPS_ITS_GROUP})`.replace(/\$1/g, '@before');

/** PostgreSQL: an anti-join (a NOT IN over more groups than work_mem holds would be searched row by row). */
export const PRUNE_DELIVERIES_POSTGRES = `DELETE FROM deliveries d WHERE d.status <> 'pending' AND d.updated_at < $1
  AND NOT EXISTS (
    SELECT 1 FROM deliveries kept LEFT JOIN sessions s ON s.id = kept.session_id
     WHERE coalesce(kept.order_id, '') = coalesce(d.order_id, '') AND (${KEEPS_ITS_GROUP}))`;

/**
 * The delivery that makes an earlier one of its order old news (`retryDelivery`): of the latest event the order had
 * after it, in any target — the order's events are news whichever URL they went to (MERCHANT_WEBHOOK_URL may have
 * changed in between, or the hook had it), as the receivers are one shop — that event's row to the same target if it
 * has one, else its first. The same event's rows to other targets do not count.
 */
const LATER_EVENT_SQLITE = `SELECT id FROM deliveries WHERE order_id IS @order AND message_id = (
    SELECT message_id FROM deliveries WHERE order_id IS @order AND seq > @seq AND message_id <> @message ORDER BY seq DESC LIMIT 1)
  ORDER BY target = @target DESC, seq LIMIT 1`;
export const LATER_EVENT_POSTGRES = `SELECT id FROM deliveries WHERE order_id IS NOT DISTINCT FROM $1 AND message_id = (
    SELECT message_id FROM deliveries WHERE order_id IS NOT DISTINCT FROM $1 AND seq > $2 AND message_id <> $3 ORDER BY seq DESC LIMIT 1)
  ORDER BY target = $4 DESC, seq LIMIT 1`;

/**
 * `retargetDeliveries`: every delivery of the orders and events that have a pending or failed one to a webhook URL no
 * longer configured (the rows `planRetargets` decides on).
 */
const STALE_TARGET_SQLITE = `status IN ('pending','failed') AND target <> @hook AND target NOT IN (SELECT value FROM json_each(@urls))`;
const RETARGET_ROWS_SQLITE = `SELECT * FROM deliveries
  WHERE message_id IN (SELECT message_id FROM deliveries WHERE ${STALE_TARGET_SQLITE})
     OR order_id IN (SELECT order_id FROM deliveries WHERE ${STALE_TARGET_SQLITE})`;
export const STALE_TARGET_POSTGRES = `status IN ('pending','failed') AND target <> $2 AND target <> ALL($1::text[])`;
export const RETARGET_ROWS_POSTGRES = `SELECT * FROM deliveries
  WHERE message_id IN (SELECT message_id FROM deliveries WHERE ${STALE_TARGET_POSTGRES})
     OR order_id IN (SELECT order_id FROM deliveries WHERE ${STALE_TARGET_POSTGRES})`;

export interface Store {
  insertSession(record: SessionRecord, events?: NewEvent[]): Promise<void>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  findByProviderPaymentId(provider: ProviderId, providerPaymentId: string): Promise<SessionRecord | undefined>;
  /** Sessions of an order, newest first. */
  listOrderSessions(orderId: string): Promise<SessionRecord[]>;
  /**
   * Runs `fn` on the current row (and the order's other sessions) and applies its result atomically; returns the
   * row after the change. Throws ProviderPaymentTakenError when the patch claims a provider payment another
   * session owns.
   */
  mutate(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): Promise<SessionRecord | undefined>;
  /**
   * Runs `fn` while holding the named lock, after every earlier holder has finished. The lock must hold across
   * every process sharing the store (per-order creation, per-key provider nonces).
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Runs `fn` holding the named lock only when nobody holds or waits for it, in any process sharing the store
   * (within the same limits as withLock); `undefined`, without waiting, when it is busy.
   */
  withLockIfFree<T>(key: string, fn: () => Promise<T>): Promise<{ value: T } | undefined>;
  /** Atomically takes the next value of a never-decreasing counter: max(now, last + 1), stored. */
  takeNonce(scope: string, now: number): Promise<number>;
  /** Stores (or counts again) a rejected callback as a bounded digest. */
  recordRejectedCallback(rejected: RejectedCallback): Promise<void>;
  listRejectedCallbacks(limit: number): Promise<RejectedCallbackRecord[]>;
  /**
   * Retention: deletes the events of ended, no longer watched sessions last updated before `before`, events that
   * name no session, and rejected-callback digests last seen before `before`.
   */
  pruneEvents(before: number): Promise<PruneReport>;
  /** Appends one event; false when an event with the same dedupe key exists already. */
  appendEvent(event: NewEvent): Promise<boolean>;
  /**
   * Appends one event and, only when it is new, applies `fn` to the event's session in the same transaction (a
   * callback stored together with what it changes). `fresh` is false for a duplicate; `session` is the row after.
   */
  appendEventAndMutate(
    event: NewEvent & { sessionId: string },
    fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined,
  ): Promise<{ fresh: boolean; session: SessionRecord | undefined }>;
  listEvents(sessionId: string): Promise<EventRecord[]>;
  listSessions(limit: number): Promise<SessionRecord[]>;
  /** Sessions whose next poll is due (open ones, and ended ones still watched for a late payment). */
  dueSessions(now: number, limit: number): Promise<SessionRecord[]>;
  /**
   * Claims up to `limit` due sessions for one poller: their next poll moves to `now + leaseMs` in the same atomic step,
   * so another process (or instance) does not take them; the poll that follows sets the real next time, and a
   * poller that dies just lets the lease run out. Ordered like dueSessions().
   */
  claimDueSessions(now: number, limit: number, leaseMs: number): Promise<SessionRecord[]>;
  /**
   * The outbox: pending deliveries that are due and at the head of their order's queue for their target (so an
   * order's events, of all its sessions, reach each target in order), leased for `leaseMs` so no other sender takes
   * them meanwhile.
   */
  claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]>;
  /**
   * Records one attempt: delivered, or failed with the next attempt's time (null: no more attempts). Only while the
   * row still carries the lease it was claimed with (`claimed.leaseUntil`): a sender that stalled past its lease, whose
   * row another sender has taken over (and maybe delivered), changes nothing.
   */
  finishDelivery(claimed: Pick<DeliveryRecord, 'id' | 'leaseUntil'>, outcome: DeliveryOutcome, now: number): Promise<void>;
  getDelivery(id: string): Promise<DeliveryRecord | undefined>;
  /** Newest first; `beforeSeq`: only deliveries older than that one (a page after it). */
  listDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]>;
  /**
   * Sends a delivery again (see DeliveryRetryOutcome): due now, a fresh schedule of attempts, the same message id.
   * Refused (`superseded`) when its order has a later event, to any target, whatever became of its delivery, unless
   * `force`; then the payload is marked redelivered. A failed row never blocks the rows after it, so this check is
   * what keeps a retry from reordering an order's events; and a later event that failed too is still newer news
   * the helper has (a refund after the payment), which an unmarked old one must not hide. Whether an event is the
   * latest is the order's, not the target's: after MERCHANT_WEBHOOK_URL changed, the refund went to the new URL while
   * the payment failed at the old one, and both reach one shop. Undefined when there is no such delivery.
   */
  retryDelivery(id: string, now: number, options?: { force?: boolean }): Promise<RetriedDelivery | undefined>;
  /**
   * Reconciles the outbox with the configured webhook URLs (`urls`, MERCHANT_WEBHOOK_URL), at start before the
   * sender runs: pending and failed deliveries to a URL no longer configured follow it, see `planRetargets`. One
   * transaction, serialised with another instance doing the same; a delivery another instance is sending is left alone.
   */
  retargetDeliveries(urls: readonly string[], now: number): Promise<RetargetReport>;
  /**
   * Says that an instance with MERCHANT_WEBHOOK_URL `urls` runs (for WEBHOOK_LIST_ALIVE_MS from `now`); true when a
   * list first seen after it runs too (this one is outdated: `retargetDeliveries` would do nothing).
   */
  touchWebhookList(urls: readonly string[], now: number): Promise<boolean>;
  getIdempotencyKey(key: string): Promise<IdempotencyRecord | undefined>;
  /** Stores the key unless it exists; returns the stored record either way. */
  putIdempotencyKey(record: IdempotencyRecord): Promise<IdempotencyRecord>;
  close(): Promise<void>;
}

export const MIGRATIONS: readonly string[] = [
  // 1: sessions, events, idempotency keys
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created','pending','paid','held','refunded','failed','cancelled','expired')),
    amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    description TEXT,
    customer_ref TEXT NOT NULL,
    locale TEXT,
    storefront_origin TEXT NOT NULL,
    return_url TEXT,
    provider_payment_id TEXT,
    payment_url TEXT,
    provider_status TEXT,
    provider_data TEXT NOT NULL DEFAULT '{}',
    paid_amount_minor INTEGER,
    error_code TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    next_poll_at INTEGER,
    poll_attempts INTEGER NOT NULL DEFAULT 0,
    last_polled_at INTEGER
  );
  CREATE INDEX sessions_order ON sessions (order_id, created_at DESC);
  CREATE UNIQUE INDEX sessions_one_open_per_order ON sessions (order_id) WHERE status IN ('created','pending');
  CREATE INDEX sessions_provider_ref ON sessions (provider, provider_payment_id);
  CREATE INDEX sessions_due ON sessions (next_poll_at) WHERE status IN ('created','pending');
  CREATE INDEX sessions_created ON sessions (created_at DESC);

  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT,
    from_status TEXT,
    to_status TEXT,
    provider_status TEXT,
    amount_minor INTEGER,
    data TEXT,
    dedupe_key TEXT UNIQUE
  );
  CREATE INDEX events_session ON events (session_id, seq);
  CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

  CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  `,
  // 2: ended and held sessions are polled too for a while (late payments), so the due index covers every
  // scheduled row, not only open ones
  `
  DROP INDEX sessions_due;
  CREATE INDEX sessions_due ON sessions (next_poll_at) WHERE next_poll_at IS NOT NULL;
  `,
  // 3: fewer pages written per commit, same guarantees. Events: no AUTOINCREMENT (it rewrote sqlite_sequence on
  // every insert; seq still only grows because the triggers refuse DELETE, so no rowid is ever reused) and the
  // dedupe index only over events that have a key (most have none). Idempotency keys: WITHOUT ROWID (one b-tree
  // instead of a table plus its key index). Rows, seq values and the append-only triggers are carried over.
  `
  CREATE TABLE events_v3 (
    seq INTEGER PRIMARY KEY,
    session_id TEXT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT,
    from_status TEXT,
    to_status TEXT,
    provider_status TEXT,
    amount_minor INTEGER,
    data TEXT,
    dedupe_key TEXT
  );
  INSERT INTO events_v3 (seq, session_id, at, kind, source, from_status, to_status, provider_status, amount_minor, data, dedupe_key)
    SELECT seq, session_id, at, kind, source, from_status, to_status, provider_status, amount_minor, data, dedupe_key FROM events ORDER BY seq;
  DROP TABLE events;
  ALTER TABLE events_v3 RENAME TO events;
  CREATE UNIQUE INDEX events_dedupe ON events (dedupe_key) WHERE dedupe_key IS NOT NULL;
  CREATE INDEX events_session ON events (session_id, seq);
  CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

  CREATE TABLE idempotency_keys_v3 (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO idempotency_keys_v3 (key, fingerprint, session_id, created_at) SELECT key, fingerprint, session_id, created_at FROM idempotency_keys;
  DROP TABLE idempotency_keys;
  ALTER TABLE idempotency_keys_v3 RENAME TO idempotency_keys;
  `,
  // 4: hardening. A provider payment belongs to one session at most. BoxExchanger's request nonce survives
  // restarts and is shared by every process on the database. Rejected callbacks are a bounded digest, not log
  // lines. The event log stays append-only except for retention: events of ended sessions the reconciler no longer
  // watches (and events that name no session) may be deleted.
  `
  DROP INDEX sessions_provider_ref;
  CREATE UNIQUE INDEX sessions_provider_payment ON sessions (provider, provider_payment_id) WHERE provider_payment_id IS NOT NULL;

  CREATE TABLE provider_nonces (
    scope TEXT PRIMARY KEY,
    last INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE rejected_callbacks (
    digest TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    code TEXT NOT NULL,
    size INTEGER NOT NULL,
    head TEXT NOT NULL,
    source TEXT,
    count INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX rejected_callbacks_last ON rejected_callbacks (last_at);

  DROP TRIGGER events_append_only_delete;
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    WHEN OLD.session_id IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM sessions WHERE id = OLD.session_id
        AND status IN ('paid','refunded','failed','cancelled','expired') AND next_poll_at IS NULL)
    BEGIN SELECT RAISE(ABORT, 'the event log is append-only: only events of ended sessions may be pruned'); END;
  `,
  // 5: the outbox of merchant notifications (webhooks and the in-process hook), written with the status changes
  `
  CREATE TABLE deliveries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    session_id TEXT,
    order_id TEXT,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until INTEGER,
    last_error TEXT,
    last_status INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_queue ON deliveries (session_id, target, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_status ON deliveries (status, seq);
  `,
  // 6: one index fewer to write with every session. sessions_created served only the demo storefront's session log
  // (listSessions, test mode); that log now reads the table and keeps the newest rows. Every other index is read by a
  // query (by id, by order, by provider payment, the reconciler's due list, the outbox).
  `
  DROP INDEX sessions_created;
  `,
  // 7: when a session was first paid, and when the provider status it reflects was read. A shop ships on the first
  // payment.paid; a session that returns to paid after a hold (a dispute won, a review passed) is told as
  // payment.reinstated. paid_at is filled from the event log's transitions for the sessions already there (a paid
  // session whose events were pruned: its last update). A status query answered after a later one (a slow poll on
  // one instance, a callback's re-read on another) is not applied over it.
  `
  ALTER TABLE sessions ADD COLUMN paid_at INTEGER;
  ALTER TABLE sessions ADD COLUMN status_read_at INTEGER;
  UPDATE sessions SET paid_at = (SELECT MIN(at) FROM events WHERE events.session_id = sessions.id AND kind = 'transition' AND to_status = 'paid');
  UPDATE sessions SET paid_at = updated_at WHERE paid_at IS NULL AND status = 'paid';
  `,
  // 8: the outbox keeps order per order, not per session. A shop decides per order (shipped, refunded, paid twice),
  // and the events of an order's sessions are news about one another: a second payment promoted to paid after the
  // first was refunded must not reach the shop before that refund.
  `
  DROP INDEX deliveries_queue;
  CREATE INDEX deliveries_queue ON deliveries (order_id, target, seq) WHERE status = 'pending';
  `,
  // 9: each MERCHANT_WEBHOOK_URL list instances run with, in the order first seen (`seq`, the database's own count,
  // not an instance's clock), and until when an instance with it was last known to run. Deliveries follow the
  // configuration only from the newest list still running: during a deploy the instances still on the old list (or
  // one restarted then) must not move or end what the new list's instances write.
  `
  CREATE TABLE webhook_url_lists (seq INTEGER PRIMARY KEY AUTOINCREMENT, urls TEXT NOT NULL UNIQUE, alive_until INTEGER NOT NULL);
  `,
];

/** Every column, from the exhaustive field map of store-rows.ts. */
const COLUMN_NAMES: readonly string[] = ['id', ...Object.values(SESSION_COLUMNS)];
const INSERT_SESSION = `INSERT INTO sessions (${COLUMN_NAMES.join(', ')}) VALUES (${COLUMN_NAMES.map((name) => `@${name}`).join(', ')})`;

export class SqliteStore implements Store {
  readonly db: Database.Database;
  private closed = false;
  /** Prepared statements by SQL text (preparing costs more than running on these small queries). */
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * The transactions, wrapped once: `db.transaction()` builds four wrapper functions each time it is called, which
   * is per-request garbage on the hot paths. Each is run with `.immediate` (take the write lock before reading).
   */
  private readonly insertTx: Database.Transaction<(row: SessionRow, events: NewEvent[]) => void>;
  private readonly mutateTx: Database.Transaction<
    (id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined) => SessionRecord | undefined
  >;
  /** In-process locks: SQLite serialises writers itself, and the unique indexes guard against a second process. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly appendAndMutateTx: Database.Transaction<
    (event: NewEvent & { sessionId: string }, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined) => { fresh: boolean; session: SessionRecord | undefined }
  >;

  /** WAL checkpoints on a worker thread instead of inside a request's commit (wal-checkpointer.ts). */
  private readonly checkpointer: WalCheckpointer | undefined;

  /**
   * Group commit. The session writes of one turn of the event loop (insertSession, mutate, appendEvent,
   * appendEventAndMutate) are committed together when it ends: under load many requests write in the same turn, and
   * one transaction for all of them takes SQLite's file locks once and writes each page they share (the tails of the
   * sessions table, of the event log and of the due index) to the WAL once instead of once per request. Each write
   * runs in a savepoint of its own, so one that fails is undone alone and rejects only its own promise; every promise
   * settles after the commit, so nothing is acknowledged before it is stored.
   */
  private queued: QueuedWrite[] = [];
  private flushScheduled = false;
  private readonly groupTx: Database.Transaction<(group: QueuedWrite[]) => void>;
  private readonly appendTx: Database.Transaction<(event: NewEvent) => boolean>;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // better-sqlite3 builds SQLite with a 16 MB page cache per connection; the helper's writes and lookups touch the
    // tails of its tables and a few index pages, and the operating system caches the file anyway. SQLite's own
    // default (2 MB) keeps a busy helper's memory about 18 MB lower at the same throughput (docs/performance.md, RSS).
    this.db.pragma('cache_size = -2000');
    this.db.pragma('foreign_keys = ON');
    // Several helpers (or the reconciler of another process) may write: wait rather than fail.
    this.db.pragma('busy_timeout = 5000');
    try {
      this.migrate();
      this.checkWritable(path);
    } catch (error) {
      // A refused database (newer schema, failed migration, a file it cannot write) is closed, and no checkpoint
      // worker was started for it.
      this.db.close();
      throw error;
    }
    if (path !== ':memory:') {
      this.checkpointer = startWalCheckpointer({
        path,
        setAutoCheckpoint: (pages) => this.closed || this.db.pragma(`wal_autocheckpoint = ${pages}`),
        onError: (message) => console.warn(`[pay-checkout] WAL checkpoint failed: ${message}`),
      });
    }
    this.insertTx = this.db.transaction((row: SessionRow, events: NewEvent[]) => {
      this.stmt(INSERT_SESSION).run(row);
      for (const event of events) this.insertEvent(event);
    });
    this.mutateTx = this.db.transaction((id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined) =>
      this.applyMutation(id, fn),
    );
    this.appendAndMutateTx = this.db.transaction(
      (event: NewEvent & { sessionId: string }, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined) => {
        if (!this.insertEvent(event)) return { fresh: false, session: undefined };
        return { fresh: true, session: this.applyMutation(event.sessionId, fn) };
      },
    );
    this.appendTx = this.db.transaction((event: NewEvent) => this.insertEvent(event));
    this.groupTx = this.db.transaction((group: QueuedWrite[]) => {
      for (const write of group) {
        try {
          // A transaction function called inside this one runs in a savepoint (better-sqlite3).
          write.value = write.run();
        } catch (error) {
          write.failed = true;
          write.error = error;
          // An I/O or disk-full error can end the whole transaction: then nothing of the group is kept.
          if (!this.db.inTransaction) throw error;
        }
      }
    });
  }

  /** Queues a write (a transaction function run with `.immediate`) for the group commit at the end of this turn. */
  private write<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ run, resolve: resolve as (value: unknown) => void, reject, failed: false });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const group = this.queued;
    if (group.length === 0) return;
    this.queued = [];
    if (this.closed) {
      for (const write of group) write.reject(new Error('The store is closed.'));
      return;
    }
    if (group.length === 1) {
      // Alone: its own transaction, as without grouping.
      const write = group[0]!;
      try {
        write.resolve(write.run());
      } catch (error) {
        write.reject(error);
      }
      return;
    }
    try {
      this.groupTx.immediate(group);
    } catch (error) {
      for (const write of group) write.reject(error);
      return;
    }
    for (const write of group) {
      if (write.failed) write.reject(write.error);
      else write.resolve(write.value);
    }
  }

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The schema version after migration (for tests and operators). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /**
   * SQLite opens a file it may not write (a restore with the wrong owner) read-only without a word, and a schema
   * already migrated needs no write: the helper would start and then fail every payment. A write of the schema
   * version as it is finds out at start.
   */
  private checkWritable(path: string): void {
    try {
      this.db.pragma(`user_version = ${this.schemaVersion}`);
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_READONLY') throw error;
      throw new Error(`The database ${path} cannot be written (SQLITE_READONLY): the helper's user needs write access to the file and its directory.`, {
        cause: error,
      });
    }
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    if (current > MIGRATIONS.length) {
      throw new Error(`The database schema (version ${current}) is newer than this helper (${MIGRATIONS.length}).`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  }

  async insertSession(record: SessionRecord, events: NewEvent[] = []): Promise<void> {
    const row = toRow(record);
    try {
      await this.write(() => this.insertTx.immediate(row, events));
    } catch (error) {
      if (isUniqueViolation(error, 'sessions.order_id')) throw new OpenSessionExistsError(record.orderId);
      throw error;
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.stmt('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row && fromRow(row);
  }

  async findByProviderPaymentId(provider: ProviderId, providerPaymentId: string): Promise<SessionRecord | undefined> {
    const row = this.stmt('SELECT * FROM sessions WHERE provider = ? AND provider_payment_id = ? ORDER BY created_at DESC LIMIT 1')
      .get(provider, providerPaymentId) as SessionRow | undefined;
    return row && fromRow(row);
  }

  async listOrderSessions(orderId: string): Promise<SessionRecord[]> {
    const rows = this.stmt('SELECT * FROM sessions WHERE order_id = ? ORDER BY created_at DESC, rowid DESC').all(orderId) as SessionRow[];
    return rows.map(fromRow);
  }

  async mutate(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): Promise<SessionRecord | undefined> {
    return this.write(() => this.guardPaymentId(() => this.mutateTx.immediate(id, fn)));
  }

  async appendEventAndMutate(
    event: NewEvent & { sessionId: string },
    fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined,
  ): Promise<{ fresh: boolean; session: SessionRecord | undefined }> {
    return this.write(() => this.guardPaymentId(() => this.appendAndMutateTx.immediate(event, fn)));
  }

  private guardPaymentId<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof PaymentIdConflict) throw new ProviderPaymentTakenError(error.provider, error.providerPaymentId);
      throw error;
    }
  }

  /** The body of mutate(); runs inside the caller's transaction. */
  private applyMutation(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): SessionRecord | undefined {
    const row = this.stmt('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    if (!row) return undefined;
    const current = fromRow(row);
    const siblings = this.stmt('SELECT * FROM sessions WHERE order_id = ? AND id <> ? ORDER BY created_at DESC, rowid DESC');
    let orderSessions: SessionRecord[] | undefined;
    const context: MutationContext = {
      // Read only when the callback asks (most mutations never look at the rest of the order).
      get orderSessions() {
        orderSessions ??= (siblings.all(current.orderId, current.id) as SessionRow[]).map(fromRow);
        return orderSessions;
      },
    };
    const mutation = fn(current, context);
    if (!mutation) return current;
    let next = current;
    if (mutation.patch && Object.keys(mutation.patch).length > 0) {
      next = { ...current, ...mutation.patch, id: current.id };
      // Only the columns whose value changes are written: an index over a column that is set, even to its old value,
      // is rewritten too (a patch often repeats the status, or a time it had already).
      const values: Record<string, unknown> = { id: current.id };
      let sets = '';
      for (const key of Object.keys(mutation.patch) as SessionField[]) {
        const column = SESSION_COLUMNS[key];
        if (column === undefined || column in values) continue;
        const value = columnValue(key, next[key]);
        if (value === row[column]) continue;
        values[column] = value;
        sets += `${sets ? ', ' : ''}${column} = @${column}`;
      }
      if (sets) {
        try {
          this.stmt(`UPDATE sessions SET ${sets} WHERE id = @id`).run(values);
        } catch (error) {
          if (isUniqueViolation(error, 'sessions.provider_payment_id')) throw new PaymentIdConflict(next.provider, next.providerPaymentId ?? '');
          throw error;
        }
      }
    }
    for (const event of mutation.events ?? []) this.insertEvent(event);
    if (mutation.idempotencyKey) this.insertIdempotencyKey(mutation.idempotencyKey);
    for (const delivery of mutation.deliveries ?? []) this.insertDelivery(delivery);
    if (mutation.pollNow?.length) {
      // Sessions of this order only, never the one just changed.
      const due = this.stmt('UPDATE sessions SET next_poll_at = @now, updated_at = MAX(updated_at + 1, @now) WHERE id = @id AND order_id = @order AND id <> @self');
      for (const sibling of mutation.pollNow) due.run({ now: Date.now(), id: sibling, order: current.orderId, self: current.id });
    }
    return next;
  }

  async appendEvent(event: NewEvent): Promise<boolean> {
    return this.write(() => this.appendTx.immediate(event));
  }

  private insertEvent(event: NewEvent): boolean {
    const result = this.stmt(
      `INSERT INTO events (session_id, at, kind, source, from_status, to_status, provider_status, amount_minor, data, dedupe_key)
       VALUES (@session_id, @at, @kind, @source, @from_status, @to_status, @provider_status, @amount_minor, @data, @dedupe_key)
       ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`,
    ).run({
        session_id: event.sessionId,
        at: Date.now(),
        kind: event.kind,
        source: event.source ?? null,
        from_status: event.fromStatus ?? null,
        to_status: event.toStatus ?? null,
        provider_status: event.providerStatus ?? null,
        amount_minor: event.amountMinor ?? null,
        data: event.data === undefined ? null : JSON.stringify(event.data),
        dedupe_key: event.dedupeKey ?? null,
      });
    return result.changes === 1;
  }

  async listEvents(sessionId: string): Promise<EventRecord[]> {
    const rows = this.stmt('SELECT * FROM events WHERE session_id = ? ORDER BY seq').all(sessionId) as EventRow[];
    return rows.map(eventFromRow);
  }

  async listSessions(limit: number): Promise<SessionRecord[]> {
    const rows = this.stmt('SELECT * FROM sessions ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as SessionRow[];
    return rows.map(fromRow);
  }

  async dueSessions(now: number, limit: number): Promise<SessionRecord[]> {
    const rows = this.stmt(
        `SELECT * FROM sessions WHERE next_poll_at IS NOT NULL AND next_poll_at <= ?
         ORDER BY next_poll_at, created_at LIMIT ?`,
      )
      .all(now, limit) as SessionRow[];
    return rows.map(fromRow);
  }

  async claimDueSessions(now: number, limit: number, leaseMs: number): Promise<SessionRecord[]> {
    // One immediate transaction: a second process sharing the file waits for it, then finds the rows leased.
    return this.db.transaction(() => {
      const rows = this.stmt(
        `SELECT * FROM sessions WHERE next_poll_at IS NOT NULL AND next_poll_at <= ?
         ORDER BY next_poll_at, created_at LIMIT ?`,
      ).all(now, limit) as SessionRow[];
      const lease = this.stmt('UPDATE sessions SET next_poll_at = ? WHERE id = ?');
      for (const row of rows) {
        row.next_poll_at = now + leaseMs;
        lease.run(row.next_poll_at, row.id);
      }
      return rows.map(fromRow);
    }).immediate();
  }

  private insertDelivery(delivery: NewDelivery): void {
    this.stmt(
      `INSERT INTO deliveries (id, message_id, event_type, session_id, order_id, target, payload, status, attempts, next_attempt_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
    ).run(
      delivery.id,
      delivery.messageId,
      delivery.eventType,
      delivery.sessionId,
      delivery.orderId,
      delivery.target,
      delivery.payload,
      delivery.createdAt,
      delivery.createdAt,
      delivery.createdAt,
    );
  }

  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    return this.db.transaction(() => {
      const rows = this.stmt(
        `SELECT * FROM deliveries d
         WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND (d.lease_until IS NULL OR d.lease_until <= @now)
           AND NOT EXISTS (
             SELECT 1 FROM deliveries e
             WHERE e.status = 'pending' AND e.target = d.target AND e.order_id = d.order_id AND e.seq < d.seq)
         ORDER BY d.next_attempt_at, d.seq LIMIT @limit`,
      ).all({ now, limit }) as DeliveryRow[];
      const lease = this.stmt('UPDATE deliveries SET lease_until = ? WHERE seq = ?');
      for (const row of rows) {
        row.lease_until = now + leaseMs;
        lease.run(row.lease_until, row.seq);
      }
      return rows.map(deliveryFromRow);
    }).immediate();
  }

  async finishDelivery(claimed: Pick<DeliveryRecord, 'id' | 'leaseUntil'>, outcome: DeliveryOutcome, now: number): Promise<void> {
    if (outcome.delivered) {
      this.stmt(
        `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, next_attempt_at = NULL, lease_until = NULL,
           last_error = NULL, last_status = ?, updated_at = ?, delivered_at = ? WHERE id = ? AND lease_until IS ?`,
      ).run(outcome.status ?? null, now, now, claimed.id, claimed.leaseUntil);
      return;
    }
    this.stmt(
      `UPDATE deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,
         last_error = ?, last_status = ?, updated_at = ? WHERE id = ? AND lease_until IS ?`,
    ).run(outcome.nextAttemptAt === null ? 'failed' : 'pending', outcome.nextAttemptAt, outcome.error.slice(0, 500), outcome.status ?? null, now, claimed.id, claimed.leaseUntil);
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const row = this.stmt('SELECT * FROM deliveries WHERE id = ?').get(id) as DeliveryRow | undefined;
    return row && deliveryFromRow(row);
  }

  async listDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const rows = this.stmt(
      `SELECT * FROM deliveries WHERE (@status IS NULL OR status = @status) AND (@session IS NULL OR session_id = @session)
         AND (@order IS NULL OR order_id = @order) AND (@before IS NULL OR seq < @before)
       ORDER BY seq DESC LIMIT @limit`,
    ).all({ status: filter.status ?? null, session: filter.sessionId ?? null, order: filter.orderId ?? null, before: filter.beforeSeq ?? null, limit: filter.limit }) as DeliveryRow[];
    return rows.map(deliveryFromRow);
  }

  async retryDelivery(id: string, now: number, options: { force?: boolean } = {}): Promise<RetriedDelivery | undefined> {
    return this.db.transaction((): RetriedDelivery | undefined => {
      const get = (where: string, value: string | number) => {
        const row = this.stmt(`SELECT * FROM deliveries WHERE ${where} = ?`).get(value) as DeliveryRow | undefined;
        return row && deliveryFromRow(row);
      };
      const current = get('id', id);
      if (!current) return undefined;
      if (current.status === 'pending') {
        if (current.leaseUntil !== null && current.leaseUntil > now) return { ...current, retry: 'in_flight' };
        this.stmt('UPDATE deliveries SET attempts = 0, next_attempt_at = ?, updated_at = ? WHERE seq = ?').run(now, now, current.seq);
        return { ...get('seq', current.seq)!, retry: 'due_now' };
      }
      const later = this.stmt(LATER_EVENT_SQLITE).get({ order: current.orderId, seq: current.seq, message: current.messageId, target: current.target }) as
        | { id: string }
        | undefined;
      if (later && !options.force) return { ...current, retry: 'superseded', supersededBy: later.id };
      this.stmt(
        `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL, updated_at = ?, payload = ?
         WHERE seq = ?`,
      ).run(now, now, later ? markRedelivered(current.payload) : current.payload, current.seq);
      return { ...get('seq', current.seq)!, retry: 'queued', ...(later ? { supersededBy: later.id } : {}) };
    }).immediate();
  }

  async touchWebhookList(urls: readonly string[], now: number): Promise<boolean> {
    return this.db.transaction(() => this.touchList(urls, now)).immediate();
  }

  private touchList(urls: readonly string[], now: number): boolean {
    const list = webhookUrlList(urls);
    // A list that had stopped and runs again (a rollback, a second deploy of it) is the newest: a new `seq`.
    this.stmt('DELETE FROM webhook_url_lists WHERE urls = ? AND alive_until <= ?').run(list, now);
    this.stmt('INSERT INTO webhook_url_lists (urls, alive_until) VALUES (@list, @until) ON CONFLICT (urls) DO UPDATE SET alive_until = excluded.alive_until').run({
      list,
      until: now + WEBHOOK_LIST_ALIVE_MS,
    });
    return Boolean(this.stmt('SELECT 1 FROM webhook_url_lists WHERE seq > (SELECT seq FROM webhook_url_lists WHERE urls = ?) AND alive_until > ?').get(list, now));
  }

  async retargetDeliveries(urls: readonly string[], now: number): Promise<RetargetReport> {
    // Immediate: another process doing the same, or claiming a delivery, waits for this one and then sees it done.
    return this.db.transaction((): RetargetReport => {
      if (this.touchList(urls, now)) return { ...OUTDATED_LIST };
      const rows = this.stmt(RETARGET_ROWS_SQLITE).all({ urls: JSON.stringify([...urls]), hook: HOOK_TARGET }) as DeliveryRow[];
      const { moves, ends, report } = planRetargets(rows.map(deliveryFromRow), urls, now);
      const move = this.stmt(
        `UPDATE deliveries SET target = @target, payload = @payload, lease_until = NULL, updated_at = @now,
           attempts = CASE WHEN status = 'pending' THEN 0 ELSE attempts END,
           next_attempt_at = CASE WHEN status = 'pending' THEN @now ELSE next_attempt_at END
         WHERE seq = @seq`,
      );
      const end = this.stmt(
        `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, last_error = @error, updated_at = @now WHERE seq = @seq`,
      );
      for (const change of moves) move.run({ ...change, now });
      for (const seq of ends) end.run({ seq, error: UNCONFIGURED_TARGET_ERROR, now });
      return report;
    }).immediate();
  }

  async getIdempotencyKey(key: string): Promise<IdempotencyRecord | undefined> {
    const row = this.stmt('SELECT * FROM idempotency_keys WHERE key = ?').get(key) as
      | { key: string; fingerprint: string; session_id: string; created_at: number }
      | undefined;
    return row && { key: row.key, fingerprint: row.fingerprint, sessionId: row.session_id, createdAt: row.created_at };
  }

  async putIdempotencyKey(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    this.insertIdempotencyKey(record);
    return (await this.getIdempotencyKey(record.key))!;
  }

  private insertIdempotencyKey(record: IdempotencyRecord): void {
    this.stmt('INSERT INTO idempotency_keys (key, fingerprint, session_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING').run(
      record.key,
      record.fingerprint,
      record.sessionId,
      record.createdAt,
    );
  }

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  async withLockIfFree<T>(key: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.locks.has(key)) return undefined;
    return { value: await this.withLock(key, fn) };
  }

  async takeNonce(scope: string, now: number): Promise<number> {
    const row = this.stmt(
      `INSERT INTO provider_nonces (scope, last) VALUES (?, ?)
       ON CONFLICT (scope) DO UPDATE SET last = max(excluded.last, provider_nonces.last + 1)
       RETURNING last`,
    ).get(scope, now) as { last: number };
    return row.last;
  }

  async recordRejectedCallback(rejected: RejectedCallback): Promise<void> {
    const now = Date.now();
    const digest = sha256Hex(`${rejected.provider}\n${rejected.body}`);
    const result = this.stmt(
      `INSERT INTO rejected_callbacks (digest, provider, code, size, head, source, count, first_at, last_at)
       VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET count = count + 1, last_at = excluded.last_at, code = excluded.code, source = excluded.source`,
    ).run(digest, rejected.provider, rejected.code, Buffer.byteLength(rejected.body), rejected.body.slice(0, REJECTED_HEAD_CHARS), rejected.source, now, now);
    if (result.changes === 1 && this.rejectedCount() > MAX_REJECTED_CALLBACKS) {
      this.stmt('DELETE FROM rejected_callbacks WHERE digest IN (SELECT digest FROM rejected_callbacks ORDER BY last_at LIMIT ?)').run(
        this.rejectedCount() - MAX_REJECTED_CALLBACKS,
      );
    }
  }

  private rejectedCount(): number {
    return (this.stmt('SELECT count(*) AS n FROM rejected_callbacks').get() as { n: number }).n;
  }

  async listRejectedCallbacks(limit: number): Promise<RejectedCallbackRecord[]> {
    const rows = this.stmt('SELECT * FROM rejected_callbacks ORDER BY last_at DESC LIMIT ?').all(limit) as RejectedRow[];
    return rows.map(rejectedFromRow);
  }

  /**
   * In batches, each its own short write transaction, with a pause between them. The command runs beside the helper
   * on the same file: one transaction over millions of events held the write lock for many seconds, and each write of
   * the helper (synchronous, waiting up to busy_timeout) stalled its whole event loop meanwhile, then failed.
   */
  async pruneEvents(before: number): Promise<PruneReport> {
    const statuses = PRUNABLE_STATUSES.map((status) => `'${status}'`).join(',');
    const prunable = `status IN (${statuses}) AND next_poll_at IS NULL AND updated_at < @before`;
    // Sessions in id order, a batch at a time; each batch's condition is checked again inside its write transaction.
    const nextBatch = this.db.prepare(`SELECT max(id) FROM (SELECT id FROM sessions WHERE id > @after AND ${prunable} ORDER BY id LIMIT ${PRUNE_BATCH})`).pluck();
    const deleteBatch = this.db.prepare(`DELETE FROM events WHERE session_id IN (SELECT id FROM sessions WHERE id > @after AND id <= @last AND ${prunable})`);
    const deleteUnowned = this.db.prepare(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE session_id IS NULL AND at < @before LIMIT ${PRUNE_BATCH})`);
    let events = 0;
    for (let after = ''; ; ) {
      const last = nextBatch.get({ after, before }) as string | null;
      if (last === null) break;
      events += this.db.transaction(() => deleteBatch.run({ after, last, before }).changes).immediate();
      after = last;
      await pause(PRUNE_PAUSE_MS);
    }
    for (;;) {
      const deleted = this.db.transaction(() => deleteUnowned.run({ before }).changes).immediate();
      events += deleted;
      if (deleted < PRUNE_BATCH) break;
      await pause(PRUNE_PAUSE_MS);
    }
    return this.db.transaction(() => {
      const rejectedCallbacks = this.db.prepare('DELETE FROM rejected_callbacks WHERE last_at < ?').run(before).changes;
      const deliveries = this.db.prepare(PRUNE_DELIVERIES_SQLITE).run({ before }).changes;
      return { events, rejectedCallbacks, deliveries };
    }).immediate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes queued in this turn are committed before the database closes.
    this.flush();
    this.closed = true;
    await this.checkpointer?.stop();
    this.db.close();
  }
}

/** A write waiting for the group commit. */
interface QueuedWrite {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  failed: boolean;
  value?: unknown;
  error?: unknown;
}

function isUniqueViolation(error: unknown, column: string): boolean {
  return (
    error instanceof Error &&
    (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes(column)
  );
}
