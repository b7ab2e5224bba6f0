/**
 * `PostgresStore`: the `Store` on a shared PostgreSQL database, for several helper instances behind a load balancer
 * (`DATABASE_URL=postgres://…`). The same schema as the embedded SqliteStore, migrated in step (version N here is
 * migration N there), with the same guarantees enforced by the database rather than by one process:
 *
 * - the event log is append-only (a trigger refuses UPDATE, TRUNCATE and any DELETE but retention of ended sessions);
 * - at most one open session per order, and a provider payment belongs to one session (unique indexes);
 * - `mutate()` locks the order's sessions (`SELECT … FOR UPDATE`, in id order so two writers never deadlock);
 * - `withLock()` is a PostgreSQL advisory lock, so per-order creation is serialised across instances;
 * - `claimDueSessions()` leases due sessions with `FOR UPDATE SKIP LOCKED`, so each one is polled by one instance;
 * - `takeNonce()` is one atomic upsert, so BoxExchanger's increasing `time` holds across instances.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { sha256Hex } from './providers/crypto.js';
import {
  MAX_REJECTED_CALLBACKS,
  MIGRATIONS,
  markRedelivered,
  LATER_EVENT_POSTGRES,
  OUTDATED_LIST,
  WEBHOOK_LIST_ALIVE_MS,
  planRetargets,
  webhookUrlList,
  RETARGET_ROWS_POSTGRES,
  STALE_TARGET_POSTGRES,
  UNCONFIGURED_TARGET_ERROR,
  LockTimeoutError,
  OpenSessionExistsError,
  PRUNABLE_STATUSES,
  PRUNE_DELIVERIES_POSTGRES,
  ProviderPaymentTakenError,
  REJECTED_HEAD_CHARS,
} from './store.js';
import type {
  DeliveryFilter,
  DeliveryOutcome,
  DeliveryRecord,
  EventRecord,
  IdempotencyRecord,
  Mutation,
  MutationContext,
  NewDelivery,
  NewEvent,
  PruneReport,
  RejectedCallback,
  RejectedCallbackRecord,
  RetargetReport,
  RetriedDelivery,
  SessionRecord,
  Store,
} from './store.js';
import {
  columnValue as toColumn,
  deliveryFromRow,
  eventFromRow,
  PaymentIdConflict,
  rejectedFromRow,
  SESSION_COLUMNS as COLUMNS,
  SESSION_FIELDS as FIELDS,
  sessionFromRow,
} from './store-rows.js';
import type { DeliveryRow, EventRow, RejectedRow, SessionField, SessionRow } from './store-rows.js';
import { HOOK_TARGET } from './merchant-webhooks/events.js';
import type { ProviderId } from './types.js';

const ENDED = PRUNABLE_STATUSES.map((status) => `'${status}'`).join(',');

/**
 * The schema, one entry per SQLite migration (same numbers, same meaning). Times are epoch milliseconds (BIGINT),
 * JSON is kept as text like in SQLite (raw webhook bodies round-trip byte for byte).
 */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: sessions, events, idempotency keys
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    -- insertion order, for ties on created_at (SQLite's rowid)
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    order_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('created','pending','paid','held','refunded','failed','cancelled','expired')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
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
    paid_amount_minor BIGINT,
    error_code TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    next_poll_at BIGINT,
    poll_attempts INTEGER NOT NULL DEFAULT 0,
    last_polled_at BIGINT
  );
  CREATE INDEX sessions_order ON sessions (order_id, created_at DESC);
  CREATE UNIQUE INDEX sessions_one_open_per_order ON sessions (order_id) WHERE status IN ('created','pending');
  CREATE INDEX sessions_provider_ref ON sessions (provider, provider_payment_id);
  CREATE INDEX sessions_due ON sessions (next_poll_at) WHERE status IN ('created','pending');
  CREATE INDEX sessions_created ON sessions (created_at DESC);

  CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id TEXT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT,
    from_status TEXT,
    to_status TEXT,
    provider_status TEXT,
    amount_minor BIGINT,
    data TEXT,
    dedupe_key TEXT UNIQUE
  );
  CREATE INDEX events_session ON events (session_id, seq);
  CREATE FUNCTION checkout_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'the event log is append-only';
  END
  $$;
  CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION checkout_events_append_only();
  CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION checkout_events_append_only();

  CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );
  `,
  // 2: ended and held sessions are polled too for a while (late payments): the due index covers every scheduled row
  `
  DROP INDEX sessions_due;
  CREATE INDEX sessions_due ON sessions (next_poll_at) WHERE next_poll_at IS NOT NULL;
  `,
  // 3: the dedupe index only over events that have a key (SQLite also rebuilt its tables here; PostgreSQL needs no
  // rewrite for the rest)
  `
  ALTER TABLE events DROP CONSTRAINT events_dedupe_key_key;
  CREATE UNIQUE INDEX events_dedupe ON events (dedupe_key) WHERE dedupe_key IS NOT NULL;
  `,
  // 4: hardening. A provider payment belongs to one session at most; BoxExchanger's request nonce is shared by every
  // instance; rejected callbacks are a bounded digest; the event log stays append-only except for retention of
  // ended sessions the reconciler no longer watches (and events that name no session).
  `
  DROP INDEX sessions_provider_ref;
  CREATE UNIQUE INDEX sessions_provider_payment ON sessions (provider, provider_payment_id) WHERE provider_payment_id IS NOT NULL;

  CREATE TABLE provider_nonces (
    scope TEXT PRIMARY KEY,
    last BIGINT NOT NULL
  );

  CREATE TABLE rejected_callbacks (
    digest TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    code TEXT NOT NULL,
    size INTEGER NOT NULL,
    head TEXT NOT NULL,
    source TEXT,
    count INTEGER NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL
  );
  CREATE INDEX rejected_callbacks_last ON rejected_callbacks (last_at);

  CREATE FUNCTION checkout_events_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF OLD.session_id IS NULL OR EXISTS (
      SELECT 1 FROM sessions WHERE id = OLD.session_id AND status IN (${ENDED}) AND next_poll_at IS NULL
    ) THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the event log is append-only: only events of ended sessions may be pruned';
  END
  $$;
  DROP TRIGGER events_append_only ON events;
  CREATE TRIGGER events_append_only BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION checkout_events_append_only();
  CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION checkout_events_prune_only();
  `,
  // 5: the outbox of merchant notifications (webhooks and the in-process hook), written with the status changes
  `
  CREATE TABLE deliveries (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    session_id TEXT,
    order_id TEXT,
    target TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    last_error TEXT,
    last_status INTEGER,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
  CREATE INDEX deliveries_queue ON deliveries (session_id, target, seq) WHERE status = 'pending';
  CREATE INDEX deliveries_status ON deliveries (status, seq);
  `,
  // 6: one index fewer to write with every session: sessions_created served only the demo storefront's session log
  // (listSessions, test mode), which now reads the table and keeps the newest rows
  `
  DROP INDEX sessions_created;
  `,
  // 7: when a session was first paid, and when the provider status it reflects was read (see SqliteStore's migration 7)
  `
  ALTER TABLE sessions ADD COLUMN paid_at BIGINT;
  ALTER TABLE sessions ADD COLUMN status_read_at BIGINT;
  UPDATE sessions SET paid_at = (SELECT MIN(at) FROM events WHERE events.session_id = sessions.id AND kind = 'transition' AND to_status = 'paid');
  UPDATE sessions SET paid_at = updated_at WHERE paid_at IS NULL AND status = 'paid';
  `,
  // 8: the outbox keeps order per order, not per session (see SqliteStore's migration 8)
  `
  DROP INDEX deliveries_queue;
  CREATE INDEX deliveries_queue ON deliveries (order_id, target, seq) WHERE status = 'pending';
  `,
  // 9: the MERCHANT_WEBHOOK_URL lists instances started with (see SqliteStore's migration 9)
  `
  CREATE TABLE webhook_url_lists (seq BIGSERIAL PRIMARY KEY, urls TEXT NOT NULL UNIQUE, alive_until BIGINT NOT NULL);
  `,
];

if (POSTGRES_MIGRATIONS.length !== MIGRATIONS.length) {
  // Caught by the conformance suite too; here so a helper never runs with the two schemas out of step.
  throw new Error(`PostgresStore has ${POSTGRES_MIGRATIONS.length} migrations, SqliteStore ${MIGRATIONS.length}: they must move in step.`);
}

/** Advisory-lock key space of the helper (first argument of the two-key form is not used: one bigint per key). */
function lockId(key: string): string {
  return createHash('sha256').update(`pay-checkout:${key}`).digest().readBigInt64BE(0).toString();
}

/** Migrations of every instance starting at once are serialised by this lock. */
const MIGRATION_LOCK = lockId('schema-migration');
/** A failed migration (the database not up yet) is tried again by the first call this long after it. */
const MIGRATION_RETRY_MS = 1_000;

const INSERT_SESSION = `INSERT INTO sessions (id, ${FIELDS.map((field) => COLUMNS[field]).join(', ')}) VALUES (${['id', ...FIELDS].map((_, index) => `$${index + 1}`).join(', ')})`;
const INSERT_EVENT = `INSERT INTO events (session_id, at, kind, source, from_status, to_status, provider_status, amount_minor, data, dedupe_key)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
  ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING`;

type Row = Record<string, unknown>;
type Queryable = pg.Pool | pg.PoolClient;

/** BIGINT columns come back as numbers: every value here (epoch ms, kopecks, seq) is far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long withLock() waits for a lock held by another instance before failing (default 30 s). */
  lockTimeoutMs?: number;
  /**
   * How long one query on the lock connection (take or release a lock) may go unanswered before that connection is
   * closed and withLock() fails (default 5 s). These queries never wait on the server (pg_try_advisory_lock), so a
   * silent one means the connection is dead.
   */
  lockQueryTimeoutMs?: number;
  /**
   * How long a statement waits for a row or transaction lock another connection holds before it fails (PostgreSQL's
   * `lock_timeout`, default 10 s). The helper's own transactions hold them for milliseconds; without a limit, one
   * transaction left open elsewhere (an operator's `BEGIN` on a session row) would stop every instance's reconciler.
   */
  lockWaitMs?: number;
}

/**
 * An instance whose own callers have held a lock back to back this long leaves it free for LOCK_YIELD_MS, longer than
 * another instance's longest wait between two tries: that one gets its turn instead of timing out behind a busy queue.
 */
const LOCK_STREAK_MS = 1_000;
const LOCK_YIELD_MS = 60;
/** The longest pause between two pg_try_advisory_lock tries of a waiting instance (below LOCK_YIELD_MS). */
const LOCK_BACKOFF_MAX_MS = 50;

/** Transactions that lost a deadlock or a serialisation race are run again (their callbacks are pure decisions). */
const RETRYABLE = new Set(['40P01', '40001']);

export class PostgresStore implements Store {
  readonly pool: pg.Pool;
  private migrated: Promise<void>;
  /** When the last migration attempt failed, while none has been made since. */
  private migrationFailedAt: number | undefined;
  private closed = false;
  /** In-process queue per lock key: only the head of each queue asks the database. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Since when this instance's queue for a key has held its lock back to back (see LOCK_STREAK_MS). */
  private readonly streaks = new Map<string, number>();
  /** The last query sent on the lock connection (see lockQuery). */
  private lockQueries: Promise<unknown> = Promise.resolve();
  /** One connection holds this instance's advisory locks (session-level, taken with pg_try_advisory_lock). */
  private lockClient: Promise<pg.PoolClient> | undefined;
  private readonly lockPool: pg.Pool;
  /** Lock connections already handed back for destruction (a second release would throw). */
  private readonly droppedLockClients = new WeakSet<pg.PoolClient>();
  private readonly lockTimeoutMs: number;
  private readonly lockQueryTimeoutMs: number;
  private readonly lockWaitMs: number;

  constructor(connectionString: string, options: PostgresStoreOptions = {}) {
    // A database that cannot be reached fails requests after 10 s instead of queueing them forever. TCP keepalive
    // probes an idle connection after 10 s, so one whose peer vanished without a reset (a NAT or firewall that forgot
    // the flow, a database host gone) is found dead by the OS and replaced, and keeps a NAT's flow from expiring.
    const common = { connectionString, types: TYPES, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
    this.pool = new pg.Pool({ ...common, max: options.poolSize ?? 10, application_name: 'pay-checkout' });
    this.lockWaitMs = Math.round(options.lockWaitMs ?? 10_000);
    this.lockQueryTimeoutMs = options.lockQueryTimeoutMs ?? 5_000;
    // Every query on the lock connection is answered at once by a live server (nothing there waits), so each one is
    // bounded: without it one half-open lock connection would hang every withLock() of this instance until restart.
    this.lockPool = new pg.Pool({ ...common, max: 1, application_name: 'pay-checkout-locks', query_timeout: this.lockQueryTimeoutMs });
    // An idle connection the server dropped must not crash the process: the pool replaces it on next use.
    this.pool.on('error', () => undefined);
    this.lockPool.on('error', () => undefined);
    this.lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
    this.migrated = this.migration();
  }

  /**
   * Resolves once the schema is migrated; rejects when the database cannot be reached or is newer. A failed attempt is
   * made again by a call a second or more after it: a helper started before its database (a start-order race) serves
   * once the database is up, without a restart.
   */
  ready(): Promise<void> {
    if (this.migrationFailedAt !== undefined && Date.now() - this.migrationFailedAt >= MIGRATION_RETRY_MS) {
      this.migrationFailedAt = undefined;
      this.migrated = this.migration();
    }
    return this.migrated;
  }

  private migration(): Promise<void> {
    const attempt = this.migrate();
    // Awaited by every call; this records a failure (and keeps an early one from being reported as unhandled).
    attempt.catch(() => {
      if (this.migrated === attempt) this.migrationFailedAt = Date.now();
    });
    return attempt;
  }

  /** The schema version after migration (for tests and operators). */
  async schemaVersion(): Promise<number> {
    await this.ready();
    const { rows } = await this.pool.query<{ version: number }>('SELECT version FROM checkout_schema');
    return rows[0]?.version ?? 0;
  }

  private async migrate(): Promise<void> {
    const { client, release } = await this.borrow();
    try {
      // One instance migrates; the others wait here and then find nothing left to do.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await client.query('CREATE TABLE IF NOT EXISTS checkout_schema (version INTEGER NOT NULL)');
        const { rows } = await client.query<{ version: number }>('SELECT version FROM checkout_schema');
        if (rows.length === 0) await client.query('INSERT INTO checkout_schema (version) VALUES (0)');
        const current = rows[0]?.version ?? 0;
        if (current > POSTGRES_MIGRATIONS.length) {
          throw new Error(`The database schema (version ${current}) is newer than this helper (${POSTGRES_MIGRATIONS.length}).`);
        }
        for (let version = current; version < POSTGRES_MIGRATIONS.length; version++) {
          await client.query('BEGIN');
          try {
            await client.query(POSTGRES_MIGRATIONS[version]!);
            await client.query('UPDATE checkout_schema SET version = $1', [version + 1]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      }
    } finally {
      release();
    }
  }

  /**
   * A pool connection and its release. pg reports a connection the server ends while it is borrowed (a restart,
   * `pg_terminate_backend`, a failover) as an 'error' event, which unheard would end the whole process; the query
   * under way fails on its own. Such a connection is handed back broken, so the pool closes it.
   */
  private async borrow(): Promise<{ client: pg.PoolClient; release: () => void }> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (error: Error) => {
      lost = error;
    };
    client.on('error', onError);
    return {
      client,
      release: () => {
        client.off('error', onError);
        client.release(lost);
      },
    };
  }

  private async query<R extends Row = Row>(sql: string, values: unknown[] = [], on: Queryable = this.pool): Promise<pg.QueryResult<R>> {
    if (on === this.pool) await this.ready();
    return on.query<R>(sql, values);
  }

  /** Runs `fn` in one transaction on one connection; retried on deadlock / serialisation failure. */
  private async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    for (let attempt = 1; ; attempt++) {
      const { client, release } = await this.borrow();
      try {
        // Per transaction, not per connection: a connection parameter is refused by PgBouncer and overridden by a
        // DATABASE_URL's own `options`. One round trip for both statements.
        await client.query(`BEGIN; SET LOCAL lock_timeout = ${this.lockWaitMs}`);
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (attempt < 5 && RETRYABLE.has(pgCode(error))) continue;
        throw error;
      } finally {
        release();
      }
    }
  }

  async insertSession(record: SessionRecord, events: NewEvent[] = []): Promise<void> {
    try {
      await this.transaction(async (client) => {
        await client.query(INSERT_SESSION, [record.id, ...FIELDS.map((field) => toColumn(field, record[field]))]);
        for (const event of events) await insertEvent(client, event);
      });
    } catch (error) {
      const constraint = uniqueViolation(error);
      if (constraint === 'sessions_one_open_per_order') throw new OpenSessionExistsError(record.orderId);
      if (constraint === 'sessions_provider_payment') throw new ProviderPaymentTakenError(record.provider, record.providerPaymentId ?? '');
      throw error;
    }
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.query('SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] && fromRow(rows[0]);
  }

  async findByProviderPaymentId(provider: ProviderId, providerPaymentId: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.query(
      'SELECT * FROM sessions WHERE provider = $1 AND provider_payment_id = $2 ORDER BY created_at DESC, ord DESC LIMIT 1',
      [provider, providerPaymentId],
    );
    return rows[0] && fromRow(rows[0]);
  }

  async listOrderSessions(orderId: string): Promise<SessionRecord[]> {
    const { rows } = await this.query('SELECT * FROM sessions WHERE order_id = $1 ORDER BY created_at DESC, ord DESC', [orderId]);
    return rows.map(fromRow);
  }

  async mutate(id: string, fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined): Promise<SessionRecord | undefined> {
    return this.guardPaymentId(() => this.transaction((client) => applyMutation(client, id, fn)));
  }

  async appendEventAndMutate(
    event: NewEvent & { sessionId: string },
    fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined,
  ): Promise<{ fresh: boolean; session: SessionRecord | undefined }> {
    return this.guardPaymentId(() =>
      this.transaction(async (client) => {
        // A concurrent duplicate waits on the unique index here until this transaction ends, then inserts nothing.
        if (!(await insertEvent(client, event))) return { fresh: false, session: undefined };
        return { fresh: true, session: await applyMutation(client, event.sessionId, fn) };
      }),
    );
  }

  private async guardPaymentId<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof PaymentIdConflict) throw new ProviderPaymentTakenError(error.provider, error.providerPaymentId);
      throw error;
    }
  }

  async appendEvent(event: NewEvent): Promise<boolean> {
    await this.ready();
    return insertEvent(this.pool, event);
  }

  async listEvents(sessionId: string): Promise<EventRecord[]> {
    const { rows } = await this.query('SELECT * FROM events WHERE session_id = $1 ORDER BY seq', [sessionId]);
    return rows.map((row) => eventFromRow(row as EventRow));
  }

  async listSessions(limit: number): Promise<SessionRecord[]> {
    const { rows } = await this.query('SELECT * FROM sessions ORDER BY created_at DESC, ord DESC LIMIT $1', [limit]);
    return rows.map(fromRow);
  }

  async dueSessions(now: number, limit: number): Promise<SessionRecord[]> {
    const { rows } = await this.query(
      'SELECT * FROM sessions WHERE next_poll_at IS NOT NULL AND next_poll_at <= $1 ORDER BY next_poll_at, created_at LIMIT $2',
      [now, limit],
    );
    return rows.map(fromRow);
  }

  async claimDueSessions(now: number, limit: number, leaseMs: number): Promise<SessionRecord[]> {
    // Rows another instance is claiming right now are skipped, not waited for; a claimed row is not due again
    // until its lease ends (the poll that follows sets its real next time; a crashed poller's lease just runs out).
    const { rows } = await this.query(
      `WITH due AS (
         SELECT id, next_poll_at AS due_at FROM sessions
         WHERE next_poll_at IS NOT NULL AND next_poll_at <= $1
         ORDER BY next_poll_at, created_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE sessions SET next_poll_at = $3 FROM due WHERE sessions.id = due.id
       RETURNING sessions.*, due.due_at`,
      [now, limit, now + leaseMs],
    );
    return rows
      .sort((a, b) => (a.due_at as number) - (b.due_at as number) || (a.created_at as number) - (b.created_at as number))
      .map(fromRow);
  }

  async claimDueDeliveries(now: number, limit: number, leaseMs: number): Promise<DeliveryRecord[]> {
    // Heads of their order's queue per target only, so events reach a target in order; rows another instance is
    // claiming are skipped, not waited for. `=`, not IS NOT DISTINCT FROM, so that the lookup of an earlier pending
    // event is a search of deliveries_queue: a backlog of thousands stays a matter of milliseconds (every delivery
    // has its session's order id).
    const { rows } = await this.query(
      `WITH due AS (
         SELECT d.seq FROM deliveries d
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
           AND NOT EXISTS (
             SELECT 1 FROM deliveries e
             WHERE e.status = 'pending' AND e.target = d.target AND e.order_id = d.order_id AND e.seq < d.seq)
         ORDER BY d.next_attempt_at, d.seq LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE deliveries SET lease_until = $3 FROM due WHERE deliveries.seq = due.seq RETURNING deliveries.*`,
      [now, limit, now + leaseMs],
    );
    return rows.map((row) => deliveryFromRow(row as DeliveryRow)).sort((a, b) => (a.nextAttemptAt ?? 0) - (b.nextAttemptAt ?? 0) || a.seq - b.seq);
  }

  async finishDelivery(claimed: Pick<DeliveryRecord, 'id' | 'leaseUntil'>, outcome: DeliveryOutcome, now: number): Promise<void> {
    if (outcome.delivered) {
      await this.query(
        `UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, next_attempt_at = NULL, lease_until = NULL,
           last_error = NULL, last_status = $1, updated_at = $2, delivered_at = $2 WHERE id = $3 AND lease_until IS NOT DISTINCT FROM $4`,
        [outcome.status ?? null, now, claimed.id, claimed.leaseUntil],
      );
      return;
    }
    await this.query(
      `UPDATE deliveries SET status = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL,
         last_error = $3, last_status = $4, updated_at = $5 WHERE id = $6 AND lease_until IS NOT DISTINCT FROM $7`,
      [outcome.nextAttemptAt === null ? 'failed' : 'pending', outcome.nextAttemptAt, outcome.error.slice(0, 500), outcome.status ?? null, now, claimed.id, claimed.leaseUntil],
    );
  }

  async getDelivery(id: string): Promise<DeliveryRecord | undefined> {
    const { rows } = await this.query('SELECT * FROM deliveries WHERE id = $1', [id]);
    return rows[0] && deliveryFromRow(rows[0] as DeliveryRow);
  }

  async listDeliveries(filter: DeliveryFilter): Promise<DeliveryRecord[]> {
    const { rows } = await this.query(
      `SELECT * FROM deliveries WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR session_id = $2)
         AND ($5::text IS NULL OR order_id = $5) AND ($4::bigint IS NULL OR seq < $4)
       ORDER BY seq DESC LIMIT $3`,
      [filter.status ?? null, filter.sessionId ?? null, filter.limit, filter.beforeSeq ?? null, filter.orderId ?? null],
    );
    return rows.map((row) => deliveryFromRow(row as DeliveryRow));
  }

  async retryDelivery(id: string, now: number, options: { force?: boolean } = {}): Promise<RetriedDelivery | undefined> {
    return this.transaction(async (client): Promise<RetriedDelivery | undefined> => {
      // The sessions of the delivery's order first, in id order as applyMutation() locks them: a later delivery of the
      // order is written under those locks, so none can be committed between the check below and this transaction's
      // end (and then be sent while this one goes out again unmarked, after it).
      await client.query(
        `SELECT 1 FROM sessions WHERE order_id = (SELECT order_id FROM deliveries WHERE id = $1) ORDER BY id FOR UPDATE`,
        [id],
      );
      // The row is locked while it is checked and changed; a sender claiming it meanwhile skips it (SKIP LOCKED).
      const { rows } = await client.query('SELECT * FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
      if (!rows[0]) return undefined;
      const current = deliveryFromRow(rows[0] as DeliveryRow);
      if (current.status === 'pending') {
        if (current.leaseUntil !== null && current.leaseUntil > now) return { ...current, retry: 'in_flight' };
        const updated = await client.query('UPDATE deliveries SET attempts = 0, next_attempt_at = $1, updated_at = $1 WHERE seq = $2 RETURNING *', [now, current.seq]);
        return { ...deliveryFromRow(updated.rows[0] as DeliveryRow), retry: 'due_now' };
      }
      const later = await client.query(LATER_EVENT_POSTGRES, [current.orderId, current.seq, current.messageId, current.target]);
      const supersededBy = later.rows[0]?.id as string | undefined;
      if (supersededBy && !options.force) return { ...current, retry: 'superseded', supersededBy };
      const updated = await client.query(
        `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, lease_until = NULL, updated_at = $1, payload = $2
         WHERE seq = $3 RETURNING *`,
        [now, supersededBy ? markRedelivered(current.payload) : current.payload, current.seq],
      );
      return { ...deliveryFromRow(updated.rows[0] as DeliveryRow), retry: 'queued', ...(supersededBy ? { supersededBy } : {}) };
    });
  }

  async touchWebhookList(urls: readonly string[], now: number): Promise<boolean> {
    return this.transaction(async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('pay-checkout:delivery-targets', 0))");
      return touchList(client, urls, now);
    });
  }

  async retargetDeliveries(urls: readonly string[], now: number): Promise<RetargetReport> {
    return this.transaction(async (client) => {
      // One instance at a time: a second one starting with the same configuration waits, then finds nothing to do.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended('pay-checkout:delivery-targets', 0))");
      if (await touchList(client, urls, now)) return { ...OUTDATED_LIST };
      // The stale rows locked, in the order written: a sender claiming one meanwhile skips it (SKIP LOCKED), and one
      // claimed a moment ago is seen with its lease (this statement waits for that claim to commit).
      const params = [[...urls], HOOK_TARGET];
      await client.query(`SELECT seq FROM deliveries WHERE ${STALE_TARGET_POSTGRES} ORDER BY seq FOR UPDATE`, params);
      const { rows } = await client.query(RETARGET_ROWS_POSTGRES, params);
      const { moves, ends, report } = planRetargets(rows.map((row) => deliveryFromRow(row as DeliveryRow)), urls, now);
      if (moves.length > 0) {
        await client.query(
          `UPDATE deliveries d SET target = c.target, payload = c.payload, lease_until = NULL, updated_at = $4,
             attempts = CASE WHEN d.status = 'pending' THEN 0 ELSE d.attempts END,
             next_attempt_at = CASE WHEN d.status = 'pending' THEN $4 ELSE d.next_attempt_at END
           FROM unnest($1::bigint[], $2::text[], $3::text[]) AS c(seq, target, payload) WHERE d.seq = c.seq`,
          [moves.map((change) => change.seq), moves.map((change) => change.target), moves.map((change) => change.payload), now],
        );
      }
      if (ends.length > 0) {
        await client.query(
          `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_until = NULL, last_error = $2, updated_at = $3 WHERE seq = ANY($1::bigint[])`,
          [ends, UNCONFIGURED_TARGET_ERROR, now],
        );
      }
      return report;
    });
  }

  async getIdempotencyKey(key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await this.query('SELECT * FROM idempotency_keys WHERE key = $1', [key]);
    const row = rows[0];
    return row && { key: row.key as string, fingerprint: row.fingerprint as string, sessionId: row.session_id as string, createdAt: row.created_at as number };
  }

  async putIdempotencyKey(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    await this.ready();
    await insertIdempotencyKey(this.pool, record);
    return (await this.getIdempotencyKey(record.key))!;
  }

  /**
   * Cross-instance lock: callers in this process queue per key (so only one of them asks the database), and the head
   * of the queue takes a session-level advisory lock on this instance's lock connection with pg_try_advisory_lock,
   * retrying with backoff while another instance holds it. The lock connection is never blocked, so any number of
   * keys can be held at once, and `fn` runs on the main pool (no connection is held while it waits).
   */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.queued(key, async () => {
      await this.yieldAfterStreak(key);
      const held = await this.holdingAdvisoryLock(key, fn, true);
      return (held as { value: T }).value;
    });
  }

  async withLockIfFree<T>(key: string, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.locks.has(key)) return undefined;
    return this.queued(key, () => this.holdingAdvisoryLock(key, fn, false));
  }

  /** Runs `run` after every earlier caller in this process that asked for `key` has finished. */
  private async queued<T>(key: string, run: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const turn = previous.then(run, run);
    const tail = turn.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    try {
      return await turn;
    } finally {
      if (this.locks.get(key) === tail) {
        this.locks.delete(key);
        this.streaks.delete(key);
      }
    }
  }

  /**
   * The lock passes from one caller of this process to the next at once, where another instance only tries now and
   * then: after LOCK_STREAK_MS of that, the next caller waits LOCK_YIELD_MS first, so a waiting instance's try lands
   * while the lock is free.
   */
  private async yieldAfterStreak(key: string): Promise<void> {
    const since = this.streaks.get(key);
    if (since === undefined) {
      this.streaks.set(key, Date.now());
      return;
    }
    if (Date.now() - since < LOCK_STREAK_MS) return;
    await new Promise((resolve) => setTimeout(resolve, LOCK_YIELD_MS));
    this.streaks.set(key, Date.now());
  }

  /** `fn`'s value under the advisory lock; `undefined` when another instance holds it and `wait` is false. */
  private async holdingAdvisoryLock<T>(key: string, fn: () => Promise<T>, wait: boolean): Promise<{ value: T } | undefined> {
    await this.ready();
    const id = lockId(`lock:${key}`);
    const deadline = Date.now() + this.lockTimeoutMs;
    let backoff = 2;
    let holder: Promise<pg.PoolClient>;
    for (;;) {
      holder = this.lockConnection();
      const { rows } = await this.lockQuery<{ locked: boolean }>(holder, key, 'SELECT pg_try_advisory_lock($1) AS locked', [id]);
      if (rows[0]?.locked) break;
      if (!wait) return undefined;
      if (Date.now() > deadline) throw new LockTimeoutError(key, this.lockTimeoutMs);
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, LOCK_BACKOFF_MAX_MS);
    }
    try {
      return { value: await fn() };
    } finally {
      // A lock connection closed meanwhile took the lock with it (nothing to release, and no new connection to open
      // for it); a failed unlock closes the connection, which is what releases the lock on the server.
      if (this.lockClient === holder) await this.lockQuery(holder, key, 'SELECT pg_advisory_unlock($1)', [id]).catch(() => undefined);
    }
  }

  /**
   * One query on the lock connection. When it fails or goes unanswered for lockQueryTimeoutMs, the connection is
   * destroyed and forgotten, so the next lock opens a new one, and the caller gets an Error (a 500 `internal_error`,
   * retryable, for a checkout request: the same path as a lock wait that timed out).
   *
   * Destroying it is also what keeps the locks right: a pg_try_advisory_lock that timed out here may still have been
   * granted on the server, and this instance can no longer release it by query. A session-level advisory lock lives as
   * long as its session, so the server drops it, with every other lock of that session, once the session ends: at
   * once when the close reaches it, or when its own TCP keepalive finds the peer gone. Locks other callers in this
   * process held on the same connection go with it (they skip their unlock), and one open session per order stays
   * enforced by the unique index whatever the lock does.
   */
  private async lockQuery<R extends Row>(pending: Promise<pg.PoolClient>, key: string, sql: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await pending;
    // One query at a time on the connection: pg would queue them itself, but that is deprecated (gone in pg 9).
    const answer = this.lockQueries.then(() => client.query<R>(sql, values));
    this.lockQueries = answer.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await answer;
    } catch (error) {
      this.dropLockConnection(pending, client, error);
      const silent = error instanceof Error && /timeout/i.test(error.message);
      throw new Error(
        silent
          ? `The database did not answer on the lock connection within ${this.lockQueryTimeoutMs} ms (lock "${key}"); the connection was closed and the next lock opens a new one.`
          : `The lock connection failed (lock "${key}"): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }

  private lockConnection(): Promise<pg.PoolClient> {
    this.lockClient ??= this.lockPool.connect().then((client) => {
      // A lost lock connection releases its locks on the server; the next lock takes a new one.
      client.on('error', (error) => this.dropLockConnection(pending, client, error));
      return client;
    });
    const pending = this.lockClient;
    pending.catch(() => {
      if (this.lockClient === pending) this.lockClient = undefined;
    });
    return pending;
  }

  /** Forgets the lock connection and destroys it (once, however many of its queries fail together). */
  private dropLockConnection(pending: Promise<pg.PoolClient>, client: pg.PoolClient, error: unknown): void {
    if (this.lockClient === pending) this.lockClient = undefined;
    if (this.droppedLockClients.has(client)) return;
    this.droppedLockClients.add(client);
    // With an error the pool removes the client; pg ends a client whose query is still outstanding by destroying its
    // socket, so this never waits on the dead peer.
    client.release(error instanceof Error ? error : true);
  }

  async takeNonce(scope: string, now: number): Promise<number> {
    const { rows } = await this.query<{ last: number }>(
      `INSERT INTO provider_nonces (scope, last) VALUES ($1, $2)
       ON CONFLICT (scope) DO UPDATE SET last = GREATEST(EXCLUDED.last, provider_nonces.last + 1)
       RETURNING last`,
      [scope, now],
    );
    return rows[0]!.last;
  }

  async recordRejectedCallback(rejected: RejectedCallback): Promise<void> {
    const now = Date.now();
    const digest = sha256Hex(`${rejected.provider}\n${rejected.body}`);
    const { rows } = await this.query<{ inserted: boolean }>(
      `INSERT INTO rejected_callbacks (digest, provider, code, size, head, source, count, first_at, last_at)
       VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)
       ON CONFLICT (digest) DO UPDATE SET count = rejected_callbacks.count + 1, last_at = EXCLUDED.last_at,
         code = EXCLUDED.code, source = EXCLUDED.source
       RETURNING (xmax = 0) AS inserted`,
      [digest, rejected.provider, rejected.code, Buffer.byteLength(rejected.body), rejected.body.slice(0, REJECTED_HEAD_CHARS), rejected.source, now],
    );
    if (rows[0]?.inserted) {
      await this.query(
        'DELETE FROM rejected_callbacks WHERE digest IN (SELECT digest FROM rejected_callbacks ORDER BY last_at DESC, digest OFFSET $1)',
        [MAX_REJECTED_CALLBACKS],
      );
    }
  }

  async listRejectedCallbacks(limit: number): Promise<RejectedCallbackRecord[]> {
    const { rows } = await this.query('SELECT * FROM rejected_callbacks ORDER BY last_at DESC LIMIT $1', [limit]);
    return rows.map((row) => rejectedFromRow(row as RejectedRow));
  }

  async pruneEvents(before: number): Promise<PruneReport> {
    return this.transaction(async (client) => {
      const events = await client.query(
        `DELETE FROM events WHERE (session_id IS NULL AND at < $1) OR session_id IN (
           SELECT id FROM sessions WHERE status IN (${ENDED}) AND next_poll_at IS NULL AND updated_at < $1)`,
        [before],
      );
      const rejected = await client.query('DELETE FROM rejected_callbacks WHERE last_at < $1', [before]);
      const deliveries = await client.query(PRUNE_DELIVERIES_POSTGRES, [before]);
      return { events: events.rowCount ?? 0, rejectedCallbacks: rejected.rowCount ?? 0, deliveries: deliveries.rowCount ?? 0 };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.migrated.catch(() => undefined);
    const lock = this.lockClient;
    this.lockClient = undefined;
    const client = lock && (await lock.catch(() => undefined));
    if (client && !this.droppedLockClients.has(client)) {
      this.droppedLockClients.add(client);
      client.release();
    }
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }
}

/** The body of mutate(); runs inside the caller's transaction. */
async function applyMutation(
  client: pg.PoolClient,
  id: string,
  fn: (current: SessionRecord, context: MutationContext) => Mutation | undefined,
): Promise<SessionRecord | undefined> {
  // A statement sees the sessions committed when it began, and FOR UPDATE locks only those: a session of the order
  // that another instance inserted and paid between that moment and this statement's first row lock would be neither
  // seen nor waited for, and two payments of one order both decided as its first. So every mutation first takes the
  // order's transaction lock in a statement of its own: the one below begins after any other mutation of the order
  // has committed, and sees what it did.
  await client.query("SELECT pg_advisory_xact_lock(hashtextextended('pay-checkout:order-rows:' || order_id, 0)) FROM sessions WHERE id = $1", [id]);
  // Every session of the order, locked in id order (two writers on sibling sessions never deadlock), current values.
  const { rows } = await client.query(
    'SELECT * FROM sessions WHERE order_id = (SELECT order_id FROM sessions WHERE id = $1) ORDER BY id FOR UPDATE',
    [id],
  );
  const all = rows.map((row) => ({ ord: row.ord as number, record: fromRow(row) }));
  const self = all.find((entry) => entry.record.id === id);
  if (!self) return undefined;
  const current = self.record;
  const orderSessions = all
    .filter((entry) => entry !== self)
    .sort((a, b) => b.record.createdAt - a.record.createdAt || b.ord - a.ord)
    .map((entry) => entry.record);
  const mutation = fn(current, { orderSessions });
  if (!mutation) return current;
  let next = current;
  if (mutation.patch && Object.keys(mutation.patch).length > 0) {
    next = { ...current, ...mutation.patch, id: current.id };
    // Only the columns whose value changes are written: setting an indexed column, even to its old value, rules out a
    // heap-only (HOT) update and writes every index anew.
    const fields = [...new Set(Object.keys(mutation.patch) as SessionField[])].filter(
      (field) => field in COLUMNS && toColumn(field, next[field]) !== toColumn(field, current[field]),
    );
    if (fields.length > 0) {
      const sets = fields.map((field, index) => `${COLUMNS[field]} = $${index + 2}`).join(', ');
      try {
        await client.query(`UPDATE sessions SET ${sets} WHERE id = $1`, [id, ...fields.map((field) => toColumn(field, next[field]))]);
      } catch (error) {
        if (uniqueViolation(error) === 'sessions_provider_payment') throw new PaymentIdConflict(next.provider, next.providerPaymentId ?? '');
        throw error;
      }
    }
  }
  for (const event of mutation.events ?? []) await insertEvent(client, event);
  if (mutation.idempotencyKey) await insertIdempotencyKey(client, mutation.idempotencyKey);
  for (const delivery of mutation.deliveries ?? []) await insertDelivery(client, delivery);
  // Sessions of this order only, locked above with the rest of it.
  const due = (mutation.pollNow ?? []).filter((sibling) => orderSessions.some((other) => other.id === sibling));
  if (due.length > 0) {
    await client.query('UPDATE sessions SET next_poll_at = $1, updated_at = GREATEST(updated_at + 1, $1) WHERE id = ANY($2)', [Date.now(), due]);
  }
  return next;
}

async function insertDelivery(on: Queryable, delivery: NewDelivery): Promise<void> {
  await on.query(
    `INSERT INTO deliveries (id, message_id, event_type, session_id, order_id, target, payload, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8)`,
    [delivery.id, delivery.messageId, delivery.eventType, delivery.sessionId, delivery.orderId, delivery.target, delivery.payload, delivery.createdAt],
  );
}

async function insertEvent(on: Queryable, event: NewEvent): Promise<boolean> {
  const result = await on.query(INSERT_EVENT, [
    event.sessionId,
    Date.now(),
    event.kind,
    event.source ?? null,
    event.fromStatus ?? null,
    event.toStatus ?? null,
    event.providerStatus ?? null,
    event.amountMinor ?? null,
    event.data === undefined ? null : JSON.stringify(event.data),
    event.dedupeKey ?? null,
  ]);
  return result.rowCount === 1;
}

async function insertIdempotencyKey(on: Queryable, record: IdempotencyRecord): Promise<void> {
  await on.query('INSERT INTO idempotency_keys (key, fingerprint, session_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO NOTHING', [
    record.key,
    record.fingerprint,
    record.sessionId,
    record.createdAt,
  ]);
}

function fromRow(row: Row): SessionRecord {
  return sessionFromRow(row as SessionRow);
}

function pgCode(error: unknown): string {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : '';
}

/** The violated unique constraint's name, or undefined. */
function uniqueViolation(error: unknown): string | undefined {
  return pgCode(error) === '23505' ? ((error as { constraint?: string }).constraint ?? '') : undefined;
}

/** Records that an instance with MERCHANT_WEBHOOK_URL `urls` runs; true when a list first seen after it runs too. */
async function touchList(client: pg.PoolClient, urls: readonly string[], now: number): Promise<boolean> {
  const list = webhookUrlList(urls);
  // A list that had stopped and runs again (a rollback, a second deploy of it) is the newest: a new `seq`.
  await client.query('DELETE FROM webhook_url_lists WHERE urls = $1 AND alive_until <= $2', [list, now]);
  await client.query(
    'INSERT INTO webhook_url_lists (urls, alive_until) VALUES ($1, $2) ON CONFLICT (urls) DO UPDATE SET alive_until = EXCLUDED.alive_until',
    [list, now + WEBHOOK_LIST_ALIVE_MS],
  );
  const newer = await client.query('SELECT 1 FROM webhook_url_lists WHERE seq > (SELECT seq FROM webhook_url_lists WHERE urls = $1) AND alive_until > $2', [list, now]);
  return newer.rows.length > 0;
}
