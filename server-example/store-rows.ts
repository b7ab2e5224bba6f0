/**
 * The rows both stores keep — SQLite (store.ts) and PostgreSQL (store-postgres.ts) share one schema, migrated in
 * step — and their mapping to the records of the `Store` interface. Times are epoch milliseconds, JSON is text.
 */
import type { DeliveryRecord, DeliveryStatus, EventKind, EventRecord, RejectedCallbackRecord, SessionRecord } from './store.js';
import type { EventSource, MethodId, ProviderId, SessionStatus } from './types.js';

export type SessionRow = {
  id: string;
  order_id: string;
  provider: string;
  method: string;
  status: string;
  amount_minor: number;
  currency: string;
  description: string | null;
  customer_ref: string;
  locale: string | null;
  storefront_origin: string;
  return_url: string | null;
  provider_payment_id: string | null;
  payment_url: string | null;
  provider_status: string | null;
  provider_data: string;
  paid_amount_minor: number | null;
  error_code: string | null;
  paid_at: number | null;
  status_read_at: number | null;
  created_at: number;
  updated_at: number;
  expires_at: number;
  next_poll_at: number | null;
  poll_attempts: number;
  last_polled_at: number | null;
};

/** The column of every session field but the id; exhaustive, so a new field cannot be forgotten by a store. */
export const SESSION_COLUMNS: Readonly<Record<keyof Omit<SessionRecord, 'id'>, keyof SessionRow>> = {
  orderId: 'order_id',
  provider: 'provider',
  method: 'method',
  status: 'status',
  amountMinor: 'amount_minor',
  currency: 'currency',
  description: 'description',
  customerRef: 'customer_ref',
  locale: 'locale',
  storefrontOrigin: 'storefront_origin',
  returnUrl: 'return_url',
  providerPaymentId: 'provider_payment_id',
  paymentUrl: 'payment_url',
  providerStatus: 'provider_status',
  providerData: 'provider_data',
  paidAmountMinor: 'paid_amount_minor',
  errorCode: 'error_code',
  paidAt: 'paid_at',
  statusReadAt: 'status_read_at',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  expiresAt: 'expires_at',
  nextPollAt: 'next_poll_at',
  pollAttempts: 'poll_attempts',
  lastPolledAt: 'last_polled_at',
};

export type SessionField = keyof typeof SESSION_COLUMNS;

/** Every session field but the id, in column order. */
export const SESSION_FIELDS = Object.keys(SESSION_COLUMNS) as SessionField[];

/** A field's value as its column stores it (providerData as JSON text, undefined as NULL). */
export function columnValue(field: SessionField, value: unknown): unknown {
  if (field === 'providerData') return JSON.stringify(value ?? {});
  return value ?? null;
}

export function sessionToRow(record: SessionRecord): SessionRow {
  return {
    id: record.id,
    order_id: record.orderId,
    provider: record.provider,
    method: record.method,
    status: record.status,
    amount_minor: record.amountMinor,
    currency: record.currency,
    description: record.description,
    customer_ref: record.customerRef,
    locale: record.locale,
    storefront_origin: record.storefrontOrigin,
    return_url: record.returnUrl,
    provider_payment_id: record.providerPaymentId,
    payment_url: record.paymentUrl,
    provider_status: record.providerStatus,
    provider_data: JSON.stringify(record.providerData ?? {}),
    paid_amount_minor: record.paidAmountMinor,
    error_code: record.errorCode,
    paid_at: record.paidAt,
    status_read_at: record.statusReadAt,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    expires_at: record.expiresAt,
    next_poll_at: record.nextPollAt,
    poll_attempts: record.pollAttempts,
    last_polled_at: record.lastPolledAt,
  };
}

export function sessionFromRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    orderId: row.order_id,
    provider: row.provider as ProviderId,
    method: row.method as MethodId,
    status: row.status as SessionStatus,
    amountMinor: row.amount_minor,
    currency: row.currency,
    description: row.description,
    customerRef: row.customer_ref,
    locale: row.locale,
    storefrontOrigin: row.storefront_origin,
    returnUrl: row.return_url,
    providerPaymentId: row.provider_payment_id,
    paymentUrl: row.payment_url,
    providerStatus: row.provider_status,
    providerData: JSON.parse(row.provider_data) as Record<string, unknown>,
    paidAmountMinor: row.paid_amount_minor,
    errorCode: row.error_code,
    paidAt: row.paid_at,
    statusReadAt: row.status_read_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    nextPollAt: row.next_poll_at,
    pollAttempts: row.poll_attempts,
    lastPolledAt: row.last_polled_at,
  };
}

export type EventRow = {
  seq: number;
  session_id: string | null;
  at: number;
  kind: string;
  source: string | null;
  from_status: string | null;
  to_status: string | null;
  provider_status: string | null;
  amount_minor: number | null;
  data: string | null;
};

export function eventFromRow(row: EventRow): EventRecord {
  return {
    seq: row.seq,
    sessionId: row.session_id,
    at: row.at,
    kind: row.kind as EventKind,
    source: row.source as EventSource | null,
    fromStatus: row.from_status as SessionStatus | null,
    toStatus: row.to_status as SessionStatus | null,
    providerStatus: row.provider_status,
    amountMinor: row.amount_minor,
    data: row.data === null ? null : (JSON.parse(row.data) as unknown),
  };
}

export type DeliveryRow = {
  seq: number;
  id: string;
  message_id: string;
  event_type: string;
  session_id: string | null;
  order_id: string | null;
  target: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  last_status: number | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
  lease_until: number | null;
};

export function deliveryFromRow(row: DeliveryRow): DeliveryRecord {
  return {
    seq: Number(row.seq),
    id: row.id,
    messageId: row.message_id,
    eventType: row.event_type,
    sessionId: row.session_id,
    orderId: row.order_id,
    target: row.target,
    payload: row.payload,
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    lastError: row.last_error,
    lastStatus: row.last_status === null ? null : Number(row.last_status),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
  };
}

export type RejectedRow = {
  digest: string;
  provider: string;
  code: string;
  size: number;
  head: string;
  source: string | null;
  count: number;
  first_at: number;
  last_at: number;
};

export function rejectedFromRow(row: RejectedRow): RejectedCallbackRecord {
  return {
    digest: row.digest,
    provider: row.provider as ProviderId,
    code: row.code,
    size: row.size,
    head: row.head,
    source: row.source,
    count: row.count,
    firstAt: row.first_at,
    lastAt: row.last_at,
  };
}

/** Thrown inside a transaction (to roll it back) when a patch claims a provider payment another session owns. */
export class PaymentIdConflict extends Error {
  constructor(
    readonly provider: ProviderId,
    readonly providerPaymentId: string,
  ) {
    super('provider payment id taken');
  }
}
