/**
 * The merchant's server API under `/merchant/…`: what the shop's backend asks instead of trusting a browser event.
 * Authenticated with `MERCHANT_API_KEY` (`Authorization: Bearer`, compared in constant time); without a key
 * configured the routes do not exist (404). Answers carry the merchant view of sessions: no tokens, no payment URLs,
 * no provider data.
 */
import type { Context, Hono } from 'hono';
import { CheckoutError } from './errors.js';
import { eventView } from './event-view.js';
import { merchantSessionView } from './merchant-webhooks/events.js';
import { constantTimeEqual } from './providers/crypto.js';
import { ORDER_ID_PATTERN } from './request-bodies.js';
import type { SessionService } from './sessions.js';
import { SESSION_ID_PATTERN } from './sessions.js';
import { decisionTag } from './sessions/sync.js';
import type { DeliveryRecord, DeliveryStatus, SessionRecord, Store } from './store.js';
import { isOpen } from './transitions.js';

export interface MerchantApiOptions {
  apiKey: string | undefined;
  store: Store;
  sessions: SessionService;
  /** Reads a JSON object body with the app's own limits and errors. */
  readJson: (c: Context) => Promise<Record<string, unknown>>;
}

/** What an order comes to, for shipping decisions: any paid session makes it paid. */
export type OrderVerdict = 'paid' | 'held' | 'open' | 'unpaid';

export function orderVerdict(sessions: readonly SessionRecord[]): OrderVerdict {
  if (sessions.some((session) => session.status === 'paid')) return 'paid';
  if (sessions.some((session) => session.status === 'held')) return 'held';
  if (sessions.some((session) => isOpen(session.status))) return 'open';
  return 'unpaid';
}

const RESOLUTIONS = ['paid', 'refunded', 'failed'] as const;
const DELIVERY_STATUSES: readonly DeliveryStatus[] = ['pending', 'delivered', 'failed'];

export function registerMerchantApi(app: Hono, options: MerchantApiOptions): void {
  const { apiKey, store, sessions, readJson } = options;

  app.use('/merchant/*', async (c, next) => {
    if (!apiKey) throw new CheckoutError('not_found', 'No such endpoint.');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!match || !constantTimeEqual(match[1]!, apiKey)) {
      throw new CheckoutError('unauthorized', 'The merchant API needs Authorization: Bearer <MERCHANT_API_KEY>.');
    }
    await next();
  });

  const findSession = async (id: string) => {
    const session = SESSION_ID_PATTERN.test(id) ? await store.getSession(id) : undefined;
    if (!session) throw new CheckoutError('unknown_session', 'This payment session does not exist.');
    return session;
  };

  app.get('/merchant/orders/:orderId', async (c) => {
    const orderId = c.req.param('orderId');
    const list = await store.listOrderSessions(orderId);
    if (list.length === 0) throw new CheckoutError('unknown_order', `No payment was ever started for order "${orderId.slice(0, 100)}".`);
    // Each with the version a person decides on (as GET /merchant/sessions/:id's ETag): a tool may settle from this list.
    return c.json({ orderId, verdict: orderVerdict(list), sessions: list.map((session) => ({ ...merchantSessionView(session), version: decisionTag(session) })) });
  });

  app.get('/merchant/sessions/:id', async (c) => {
    const session = await findSession(c.req.param('id'));
    const events = await store.listEvents(session.id);
    // The version a person decides on: a resolution sent with it as If-Match is refused if the payment changed since.
    const version = decisionTag(session);
    c.header('ETag', version);
    return c.json({ ...merchantSessionView(session), version, events: events.map(eventView) });
  });

  app.post('/merchant/sessions/:id/resolve', async (c) => {
    const id = c.req.param('id');
    await findSession(id);
    const body = await readJson(c);
    const status = body.status;
    if (typeof status !== 'string' || !(RESOLUTIONS as readonly string[]).includes(status)) {
      throw new CheckoutError('invalid_field', 'status must be "paid", "refunded" or "failed".');
    }
    const note = body.note;
    if (typeof note !== 'string' || note.trim().length === 0 || note.length > 1000) {
      throw new CheckoutError('invalid_field', 'note must say why, in 1–1000 characters.');
    }
    const resolved = await sessions.resolveHeld(id, status as (typeof RESOLUTIONS)[number], note.trim(), seenVersion(c.req.header('if-match')));
    c.header('ETag', decisionTag(resolved));
    return c.json(merchantSessionView(resolved));
  });

  app.get('/merchant/deliveries', async (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !(DELIVERY_STATUSES as readonly string[]).includes(status)) {
      throw new CheckoutError('invalid_field', 'status must be pending, delivered or failed.');
    }
    const limitText = c.req.query('limit');
    if (limitText !== undefined && !(/^\d{1,3}$/.test(limitText) && Number(limitText) >= 1 && Number(limitText) <= 500)) {
      throw new CheckoutError('invalid_field', 'limit must be a whole number from 1 to 500.');
    }
    const limit = limitText === undefined ? 100 : Number(limitText);
    const sessionId = c.req.query('sessionId');
    if (sessionId !== undefined && !SESSION_ID_PATTERN.test(sessionId)) throw new CheckoutError('invalid_field', 'sessionId must be a session id (cs_…).');
    const orderId = c.req.query('orderId');
    if (orderId !== undefined && !ORDER_ID_PATTERN.test(orderId)) throw new CheckoutError('invalid_field', 'orderId must be an order id (letters, digits and . _ : -, at most 100).');
    const before = c.req.query('before');
    let beforeSeq: number | undefined;
    if (before !== undefined) {
      // The cursor is a listed delivery's id (`nextCursor`): the page goes on after it.
      const cursor = /^dlv_[\w-]{1,64}$/.test(before) ? await store.getDelivery(before) : undefined;
      if (!cursor) throw new CheckoutError('invalid_field', 'before must be the id of a listed delivery (nextCursor of the previous page).');
      beforeSeq = cursor.seq;
    }
    const list = await store.listDeliveries({
      ...(status ? { status: status as DeliveryStatus } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(orderId ? { orderId } : {}),
      ...(beforeSeq === undefined ? {} : { beforeSeq }),
      limit,
    });
    return c.json({ deliveries: list.map(deliveryView), nextCursor: list.length === limit ? list[list.length - 1]!.id : null });
  });

  app.post('/merchant/deliveries/:id/retry', async (c) => {
    const forceText = c.req.query('force');
    if (forceText !== undefined && forceText !== '1' && forceText !== 'true') throw new CheckoutError('invalid_field', 'force must be 1 (or true) when given.');
    const force = forceText !== undefined;
    const delivery = await store.retryDelivery(c.req.param('id'), Date.now(), { force });
    if (!delivery) throw new CheckoutError('not_found', 'No such delivery.');
    // Merchant-API-only refusals (the browser never sees them): the error body of every other error, plus the delivery.
    if (delivery.retry === 'superseded') {
      const message =
        `This order has a later event (${delivery.supersededBy}): this one is not the latest news. ` +
        'Retry that one, or read the order (GET /merchant/orders/:orderId), ' +
        'or send this one anyway with ?force=1 (it then carries data.redelivered: true).';
      return c.json({ error: { code: 'delivery_superseded', message, retryable: false }, supersededBy: delivery.supersededBy, delivery: deliveryView(delivery) }, 409);
    }
    if (delivery.retry === 'in_flight') {
      const message = 'This delivery is being sent right now; read it again in a moment.';
      return c.json({ error: { code: 'delivery_in_flight', message, retryable: true }, delivery: deliveryView(delivery) }, 409);
    }
    return c.json({ ...deliveryView(delivery), retry: delivery.retry, ...(delivery.supersededBy ? { supersededBy: delivery.supersededBy } : {}) });
  });
}

/** `If-Match` of a resolution: one entity tag of GET /merchant/sessions/:id; none or `*`, any version. */
function seenVersion(ifMatch: string | undefined): string | undefined {
  const value = ifMatch?.trim();
  if (!value || value === '*') return undefined;
  if (!/^"[\x21\x23-\x7e]{1,64}"$/.test(value)) {
    throw new CheckoutError('invalid_field', 'If-Match must be the ETag that GET /merchant/sessions/:id answered with (one strong tag, quoted).');
  }
  return value;
}

function deliveryView(delivery: DeliveryRecord) {
  return {
    id: delivery.id,
    eventId: delivery.messageId,
    type: delivery.eventType,
    sessionId: delivery.sessionId,
    orderId: delivery.orderId,
    target: delivery.target,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.nextAttemptAt === null ? null : new Date(delivery.nextAttemptAt).toISOString(),
    lastError: delivery.lastError,
    lastStatus: delivery.lastStatus,
    createdAt: new Date(delivery.createdAt).toISOString(),
    deliveredAt: delivery.deliveredAt === null ? null : new Date(delivery.deliveredAt).toISOString(),
  };
}
