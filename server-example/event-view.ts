/** The event log as it is shown outside the helper (demo log, merchant API). */
import { formatAmount } from './money.js';
import { isRecord } from './providers/http.js';
import type { EventRecord } from './store.js';

export interface EventView {
  seq: number;
  at: string;
  kind: string;
  source: string | null;
  from: string | null;
  to: string | null;
  providerStatus: string | null;
  amount: string | null;
  data: unknown;
}

export function eventView(event: EventRecord): EventView {
  return {
    seq: event.seq,
    at: new Date(event.at).toISOString(),
    kind: event.kind,
    source: event.source,
    from: event.fromStatus,
    to: event.toStatus,
    providerStatus: event.providerStatus,
    amount: event.amountMinor === null ? null : formatAmount(event.amountMinor),
    data: withoutProviderPayloads(event.data),
  };
}

/**
 * An event's data without what providers sent or answered: signed callbacks could be replayed, and answers carry
 * provider data. The rest (reasons, codes, triggers, notes) is what is shown.
 */
function withoutProviderPayloads(data: unknown): unknown {
  if (!isRecord(data)) return data;
  const { raw: _raw, response: _response, fields: _fields, ...rest } = data;
  return rest;
}
