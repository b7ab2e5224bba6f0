/**
 * The orders page (`orders.html`): every order twice, side by side — the shop's view (its own order in the demo
 * shop's backend, changed only by the helper's signed webhooks, with the webhook ids it received) and the helper's
 * log (its payment sessions for the order, their statuses and event logs) — refreshed every two seconds; a held
 * payment can be settled from here through the shop's backend and the helper's merchant API. Plus the sandbox
 * merchant accounts.
 *
 * Stable hooks (end-to-end tests rely on them):
 *   - `article.order-card[data-order-id="<id>"]`  one card per order (newest first), shop orders and helper sessions
 *                                         joined by order id
 *   - `.shop-view[data-shop-status]`      the shop's order status (`new`, `paid`, `held`, `failed`, `cancelled`,
 *                                         `expired`, `refunded`; `unknown` while the shop has not heard of the order);
 *                                         one `li.shop-webhook[data-webhook-id][data-type]` per webhook received
 *   - `[data-session-id="<id>"] [data-status]`  a helper session (`.helper-session`) and its unified status
 *   - `[data-session-id] details.session-events`  the session's event log (expandable); one
 *                                         `li[data-source="webhook|poll|return|manual|…"][data-type]` per event
 *   - `[data-session-id] form.resolve-form`  shown for a `held` session: `select[name=status]` (paid | refunded |
 *                                         failed), `input[name=note]`, a submit button; `.resolve-result` says how it went
 *   - `#shop-error`                       the shop backend could not be read
 *   - `details#sandbox-accounts`          the sandbox merchant accounts (`GET /sandbox/credentials`)
 *   - `select#locale-switch`              `ru` | `en`
 *   - `#orders-refresh-toggle`            pauses / resumes the refresh
 *
 * `orders.html#session-<id>` opens that session's log (the shop's toasts link here).
 */
import type { HeldResolution, SessionStatus } from '../contract/index.js';
import { DEMO_PRODUCTS } from '../server-example/demo-catalogue.js';
import {
  ApiError,
  FALLBACK_CONFIG,
  fetchConfig,
  fetchSandboxCredentials,
  fetchSessionEvents,
  fetchSessions,
  fetchShopOrders,
  optionalNumber,
  prettyJson,
  resolveHeldPayment,
  toDate,
  type CheckoutConfig,
  type DemoSession,
  type SessionEvent,
  type ShopOrderView,
  type ShopWebhookView,
} from './api.js';
import { el } from './dom.js';
import { applyStaticTexts, formatMoney, formatTime, isLocale, t, tryT, type Locale } from './i18n.js';
import { applyDocumentLocale, loadSettings, saveSettings } from './settings.js';

const REFRESH_MS = 2000;
/** Sessions that may still change get their log re-read on every refresh, up to this many. */
const LIVE_LOG_LIMIT = 20;
const FINAL_STATUSES = new Set<string>(['paid', 'refunded', 'failed', 'cancelled', 'expired'] satisfies SessionStatus[]);

const settings = loadSettings();
let config: CheckoutConfig = FALLBACK_CONFIG;

interface EventsState {
  events?: SessionEvent[];
  error?: string;
  /** `status|updatedAt` when the log was last read. */
  version?: string;
  /** How many events were already shown: later ones are marked new. */
  seen?: number;
  loading?: boolean;
}

interface Row {
  session: DemoSession;
  /** The session's block in its order card (`.helper-session`). */
  tr: HTMLElement;
  head: HTMLElement;
  details: HTMLDetailsElement;
  /** What the last "resolve" did (kept after the form goes away). */
  result: HTMLElement;
  form?: HTMLFormElement;
  events: EventsState;
}

const rows = new Map<string, Row>();
let firstLoadDone = false;
let paused = false;
let timer: number | undefined;
let hashHandled = false;

function locale(): Locale {
  return settings.locale;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

function providerName(id: string | undefined): string {
  if (!id) return '—';
  return config.providers.find((provider) => provider.id === id)?.name ?? id;
}

function methodLabel(providerId: string | undefined, methodId: string | undefined): string {
  if (!methodId) return '';
  const provider = config.providers.find((p) => p.id === providerId) ?? FALLBACK_CONFIG.providers[0];
  return provider?.methods.find((m) => m.id === methodId)?.label[locale()] ?? methodId;
}

function statusLabel(status: string | undefined): string {
  if (!status) return '—';
  return tryT(locale(), `status.${status}`) ?? status;
}

function sourceLabel(source: string): string {
  return tryT(locale(), `source.${source}`) ?? source;
}

function money(amount: number | undefined, currency = 'RUB'): string {
  if (amount === undefined) return '—';
  try {
    return formatMoney(locale(), amount, currency);
  } catch {
    return `${amount} ${currency}`;
  }
}

function timeCell(value: unknown, withDate: boolean): HTMLElement {
  const date = toDate(value);
  if (!date) return el('span', undefined, value === undefined ? '—' : String(value));
  const time = el('time', undefined, formatTime(locale(), date, withDate));
  time.dateTime = date.toISOString();
  return time;
}

function statusBadge(status: string | undefined): HTMLElement {
  const badge = el('span', `status-badge status-${status ?? 'unknown'}`, statusLabel(status));
  return badge;
}

function productTitle(orderId: string | undefined): string | undefined {
  if (!orderId) return undefined;
  const product = DEMO_PRODUCTS.find((p) => orderId.startsWith(`${p.sku}-`));
  return product?.title[locale()];
}

// ---------------------------------------------------------------------------------------------------------------
// Orders: one card per order, the shop's view beside the helper's sessions

interface OrderCard {
  orderId: string;
  article: HTMLElement;
  head: HTMLElement;
  shopView: HTMLElement;
  helperList: HTMLElement;
  helperEmpty: HTMLElement;
  shop?: ShopOrderView;
  /** The shop order as last rendered (JSON), to re-render only on change. */
  shopKey?: string;
  sessions: DemoSession[];
  headKey?: string;
}

const orderCards = new Map<string, OrderCard>();

function createOrderCard(orderId: string): OrderCard {
  const current = locale();
  const article = el('article', 'order-card');
  article.dataset.orderId = orderId;
  const head = el('header', 'order-head');
  const views = el('div', 'order-views');

  const shopView = el('section', 'order-view shop-view');
  const helperView = el('section', 'order-view helper-view');
  const helperTitle = el('h3', 'view-title');
  helperTitle.dataset.i18n = 'orders.helperView';
  helperTitle.textContent = t(current, 'orders.helperView');
  const helperHint = el('p', 'view-hint');
  helperHint.dataset.i18n = 'orders.helperHint';
  helperHint.textContent = t(current, 'orders.helperHint');
  const helperList = el('div', 'helper-sessions');
  const helperEmpty = el('p', 'events-empty');
  helperEmpty.dataset.i18n = 'orders.noSessions';
  helperEmpty.textContent = t(current, 'orders.noSessions');
  helperView.append(helperTitle, helperHint, helperList, helperEmpty);
  views.append(shopView, helperView);
  article.append(head, views);
  return { orderId, article, head, shopView, helperList, helperEmpty, sessions: [] };
}

function orderCreatedAt(card: OrderCard): number {
  const times = [card.shop?.createdAt, ...card.sessions.map((session) => session.createdAt)]
    .map((value) => toDate(value)?.getTime())
    .filter((value): value is number => value !== undefined);
  return times.length ? Math.min(...times) : 0;
}

function renderOrderHead(card: OrderCard): void {
  const current = locale();
  const first = card.sessions.at(-1);
  const amount = optionalNumber(card.shop?.amount) ?? first?.amount;
  const key = `${current}|${amount}|${orderCreatedAt(card)}`;
  if (card.headKey === key) return;
  card.headKey = key;
  const title = el('div', 'order-title');
  title.append(el('code', 'order-id', card.orderId));
  const product = productTitle(card.orderId);
  if (product) title.append(el('span', 'order-product', product));
  const facts = el('div', 'order-facts');
  facts.append(el('span', 'amount', money(amount, card.shop?.currency ?? first?.currency)));
  const created = orderCreatedAt(card);
  if (created) facts.append(timeCell(created, true));
  card.head.replaceChildren(title, facts);
}

function orderStatusLabel(status: string): string {
  return tryT(locale(), `order.status.${status}`) ?? status;
}

function webhookItem(hook: ShopWebhookView): HTMLLIElement {
  const current = locale();
  const item = el('li', 'shop-webhook');
  item.dataset.webhookId = hook.webhookId;
  item.dataset.type = hook.type;
  const head = el('div', 'event-head');
  head.append(timeCell(hook.receivedAt, false), el('code', 'event-type', hook.type));
  if (hook.previousStatus || hook.sessionStatus) {
    const transition = el('span', 'event-transition');
    if (hook.previousStatus) transition.append(statusBadge(hook.previousStatus));
    transition.append(el('span', 'arrow', '→'));
    if (hook.sessionStatus) transition.append(statusBadge(hook.sessionStatus));
    head.append(transition);
  }
  item.append(head);
  const facts = el('dl', 'event-facts');
  const addFact = (name: string, value: string): void => {
    facts.append(el('dt', undefined, name), el('dd', undefined, value));
  };
  addFact('webhook-id', hook.webhookId);
  if (hook.sessionId) addFact(t(current, 'orders.sessionId'), hook.sessionId);
  if (hook.reason) addFact('reason', hook.reason);
  if (hook.note) addFact('note', hook.note);
  if (hook.orderStatus) addFact(t(current, 'orders.orderAfter'), orderStatusLabel(hook.orderStatus));
  item.append(facts);
  return item;
}

function renderShopView(card: OrderCard, force = false): void {
  const key = `${locale()}|${card.shop ? prettyJson(card.shop) : ''}`;
  if (!force && card.shopKey === key) return;
  const changedStatus = card.shopKey !== undefined && card.shopView.dataset.shopStatus !== (card.shop?.status ?? 'unknown');
  card.shopKey = key;
  const current = locale();
  const { shop, shopView } = card;
  shopView.dataset.shopStatus = shop?.status ?? 'unknown';
  const title = el('h3', 'view-title', t(current, 'orders.shopView'));
  const hint = el('p', 'view-hint', t(current, 'orders.shopHint'));
  const children: Node[] = [title, hint];
  if (!shop) {
    children.push(el('p', 'events-empty', t(current, 'orders.shopUnknown')));
  } else {
    const status = el('p', 'view-status');
    status.append(el('span', `status-badge status-${shop.status === 'new' ? 'created' : shop.status}`, orderStatusLabel(shop.status)));
    if (shop.createdBy) status.append(el('span', 'cell-sub', tryT(current, `orders.createdBy.${shop.createdBy}`) ?? shop.createdBy));
    children.push(status);
    if (shop.paidTwice) children.push(el('p', 'notice notice-warn', t(current, 'orders.paidTwice')));
    if (shop.webhooks.length === 0) {
      children.push(el('p', 'events-empty', t(current, 'orders.shopNoWebhooks')));
    } else {
      const list = el('ol', 'event-list shop-webhooks');
      // Newest first, like the helper's sessions.
      for (const hook of [...shop.webhooks].reverse()) list.append(webhookItem(hook));
      children.push(list);
    }
  }
  shopView.replaceChildren(...children);
  if (changedStatus) flash(shopView);
}

function flash(node: HTMLElement): void {
  if (node.classList.contains('is-flash')) return;
  node.classList.add('is-flash');
  window.setTimeout(() => node.classList.remove('is-flash'), 2000);
}

// ---------------------------------------------------------------------------------------------------------------
// Helper sessions

function createRow(session: DemoSession): Row {
  const tr = el('div', 'helper-session');
  tr.dataset.sessionId = session.id;
  tr.id = `session-${session.id}`;
  const head = el('div', 'session-head');
  const details = el('details', 'session-events');
  const result = el('p', 'resolve-result');
  result.setAttribute('role', 'status');
  const row: Row = { session, tr, head, details, result, events: {} };
  details.addEventListener('toggle', () => {
    if (details.open) void loadEvents(row, true);
  });
  tr.append(head, result, details);
  return row;
}

function renderRow(row: Row): void {
  const { session, tr, head } = row;
  const current = locale();
  tr.dataset.orderId = session.orderId ?? '';
  tr.dataset.rowStatus = session.status ?? '';

  const status = el('span', 'session-status');
  status.dataset.status = session.status ?? 'unknown';
  status.append(statusBadge(session.status));

  const what = el('span', 'session-what');
  what.append(el('span', 'provider-name', providerName(session.provider)));
  const method = methodLabel(session.provider, session.method);
  if (method) what.append(` · ${method}`);

  const amount = el('span', 'amount', money(session.amount, session.currency));
  const line = el('div', 'session-line');
  line.append(status, what, amount, timeCell(session.createdAt, false));
  if (session.paidAmount !== undefined && session.paidAmount !== session.amount) {
    line.append(el('span', 'cell-sub paid-amount', t(current, 'orders.paidAmount', { amount: money(session.paidAmount, session.currency) })));
  }
  const sub = el('div', 'cell-sub cell-mono');
  sub.textContent = `${t(current, 'orders.sessionId')} ${session.id}`;
  for (const field of ['errorCode', 'providerStatus'] as const) {
    const value = session[field];
    if (typeof value === 'string' && value) sub.textContent += ` · ${field}: ${value}`;
  }
  head.replaceChildren(line, sub);

  renderResolveForm(row);
  renderEvents(row);
}

/** The "settle a held payment" form: only while the helper says the session is held. */
function renderResolveForm(row: Row): void {
  const held = row.session.status === 'held';
  if (!held) {
    row.form?.remove();
    row.form = undefined;
    return;
  }
  if (!row.form) {
    row.form = createResolveForm(row);
    row.head.after(row.form);
  }
  applyStaticTexts(locale(), row.form);
}

function createResolveForm(row: Row): HTMLFormElement {
  const form = el('form', 'resolve-form');
  const id = `resolve-${row.session.id}`;
  const title = el('p', 'resolve-title');
  title.dataset.i18n = 'resolve.title';

  const statusField = el('div', 'field field-inline');
  const statusCaption = el('label');
  statusCaption.htmlFor = `${id}-status`;
  statusCaption.dataset.i18n = 'resolve.status';
  const select = el('select');
  select.id = `${id}-status`;
  select.name = 'status';
  for (const value of ['paid', 'refunded', 'failed'] satisfies HeldResolution[]) {
    const option = el('option');
    option.value = value;
    option.dataset.i18n = `resolve.${value}`;
    select.append(option);
  }
  statusField.append(statusCaption, select);

  const noteField = el('div', 'field field-inline resolve-note');
  const noteLabel = el('label');
  noteLabel.htmlFor = `${id}-note`;
  noteLabel.dataset.i18n = 'resolve.note';
  const note = el('input');
  note.id = `${id}-note`;
  note.name = 'note';
  note.required = true;
  note.maxLength = 1000;
  note.autocomplete = 'off';
  note.dataset.i18nAttr = 'placeholder:resolve.notePlaceholder';
  noteField.append(noteLabel, note);

  const submit = el('button', 'button button-resolve');
  submit.type = 'submit';
  submit.dataset.i18n = 'resolve.submit';
  const hint = el('p', 'view-hint');
  hint.dataset.i18n = 'resolve.hint';
  const fields = el('div', 'resolve-fields');
  fields.append(statusField, noteField, submit);
  form.append(title, fields, hint);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const status = select.value as HeldResolution;
    const text = note.value.trim();
    if (!text) {
      note.focus();
      return;
    }
    submit.disabled = true;
    row.result.textContent = t(locale(), 'resolve.sending');
    row.result.dataset.outcome = 'sending';
    resolveHeldPayment(row.session.orderId ?? '', row.session.id, status, text, row.session.version).then(
      () => {
        row.result.textContent = t(locale(), 'resolve.done', { status: statusLabel(status) });
        row.result.dataset.outcome = 'done';
        void refresh();
      },
      (error: unknown) => {
        submit.disabled = false;
        // Changed since it was listed (a callback came, someone else decided): show what it says now before anyone
        // decides again.
        const changed = error instanceof ApiError && error.status === 412;
        row.result.textContent = changed ? t(locale(), 'resolve.changed') : t(locale(), 'resolve.error', { error: errorMessage(error) });
        row.result.dataset.outcome = 'error';
        if (changed) void refresh();
      },
    );
  });
  return form;
}

// ---------------------------------------------------------------------------------------------------------------
// Event logs

function summaryText(row: Row): string {
  const current = locale();
  const { events, error, loading } = row.events;
  if (events) {
    const last = events.at(-1);
    const kind = String(last?.type ?? last?.kind ?? '');
    const lastText = last
      ? [
          last.source ? sourceLabel(last.source) : '',
          last.to ? `→ ${statusLabel(last.to)}` : kind !== last.source ? kind : '',
        ]
          .filter(Boolean)
          .join(' ')
      : '';
    return `${t(current, 'orders.events', { n: events.length })}${lastText ? ` · ${lastText}` : ''}`;
  }
  if (error) return t(current, 'orders.eventsError', { error });
  return loading ? t(current, 'orders.eventsLoading') : t(current, 'orders.col.events');
}

/** Fields shown in the entry's head, or under "raw data"; anything else is listed as it comes. */
const KNOWN_EVENT_FIELDS = new Set(['seq', 'at', 'source', 'type', 'kind', 'from', 'to', 'providerStatus', 'amount', 'raw', 'data', 'currency']);

/** Raw provider payloads may arrive as objects or as JSON text. */
function rawText(value: unknown): string {
  if (typeof value === 'string') {
    try {
      return prettyJson(JSON.parse(value));
    } catch {
      return value;
    }
  }
  return prettyJson(value);
}

function eventItem(event: SessionEvent, isNew: boolean, currency: string | undefined): HTMLLIElement {
  const current = locale();
  const item = el('li', `event-item${isNew ? ' is-new' : ''}`);
  // The helper calls the entry's kind `kind` (created, webhook, transition, poll…); older drafts said `type`.
  const type = event.type ?? (typeof event.kind === 'string' ? event.kind : undefined);
  if (event.source) item.dataset.source = String(event.source);
  if (type) item.dataset.type = String(type);

  const head = el('div', 'event-head');
  if (typeof event.seq === 'number') head.append(el('span', 'event-seq', `#${event.seq}`));
  head.append(timeCell(event.at, false));
  if (event.source) head.append(el('span', `source-badge source-${String(event.source)}`, sourceLabel(String(event.source))));
  if (type) head.append(el('code', 'event-type', String(type)));
  if (event.from || event.to) {
    const transition = el('span', 'event-transition');
    if (event.from) transition.append(statusBadge(String(event.from)));
    transition.append(el('span', 'arrow', '→'));
    if (event.to) transition.append(statusBadge(String(event.to)));
    head.append(transition);
  }
  if (isNew) head.append(el('span', 'new-tag', t(current, 'orders.newEvent')));
  item.append(head);

  const facts = el('dl', 'event-facts');
  const addFact = (name: string, value: string): void => {
    facts.append(el('dt', undefined, name), el('dd', undefined, value));
  };
  if (event.providerStatus !== undefined && event.providerStatus !== null) {
    addFact('providerStatus', String(event.providerStatus));
  }
  const amount = optionalNumber(event.amount);
  if (amount !== undefined) {
    addFact('amount', money(amount, typeof event.currency === 'string' ? event.currency : currency));
  } else if (event.amount !== undefined && event.amount !== null) addFact('amount', String(event.amount));
  for (const [key, value] of Object.entries(event)) {
    if (KNOWN_EVENT_FIELDS.has(key) || value === undefined || value === null) continue;
    addFact(key, typeof value === 'object' ? prettyJson(value) : String(value));
  }
  if (facts.childElementCount) item.append(facts);

  const payloads = (['raw', 'data'] as const).filter((key) => event[key] !== undefined && event[key] !== null);
  if (payloads.length) {
    const raw = el('details', 'event-raw');
    raw.append(el('summary', undefined, t(current, 'orders.raw')));
    for (const key of payloads) {
      if (payloads.length > 1) raw.append(el('p', 'raw-label', key));
      raw.append(el('pre', 'raw-json', rawText(event[key])));
    }
    item.append(raw);
  }
  return item;
}

function renderEvents(row: Row): void {
  const { details, events: state, session } = row;
  const current = locale();
  // Keep the nested "raw" boxes the reader opened.
  const openRaw = new Set<number>();
  details.querySelectorAll<HTMLDetailsElement>('.event-list > li').forEach((li, index) => {
    if (li.querySelector<HTMLDetailsElement>('details.event-raw')?.open) openRaw.add(index);
  });

  const summary = el('summary', 'events-summary');
  summary.append(el('span', 'events-summary-text', summaryText(row)));
  const children: Node[] = [summary];

  if (state.events) {
    if (state.events.length === 0) children.push(el('p', 'events-empty', t(current, 'orders.eventsEmpty')));
    const seen = state.seen ?? state.events.length;
    const list = el('ol', 'event-list');
    state.events.forEach((event, index) => {
      const item = eventItem(event, firstLoadDone && index >= seen, session.currency);
      if (openRaw.has(index)) item.querySelector('details')?.setAttribute('open', '');
      list.append(item);
    });
    if (state.events.length) children.push(list);
  } else if (state.error) {
    children.push(el('p', 'events-empty', t(current, 'orders.eventsError', { error: state.error })));
  } else {
    children.push(el('p', 'events-empty', t(current, 'orders.eventsLoading')));
  }

  const whole = el('details', 'session-raw');
  whole.append(el('summary', undefined, t(current, 'orders.session')), el('pre', 'raw-json', prettyJson(session)));
  const previousWhole = details.querySelector<HTMLDetailsElement>(':scope > details.session-raw');
  if (previousWhole?.open) whole.open = true;
  children.push(whole);

  details.replaceChildren(...children);
}

async function loadEvents(row: Row, force = false): Promise<void> {
  const version = `${row.session.status ?? ''}|${String(row.session.updatedAt ?? '')}`;
  const live = !FINAL_STATUSES.has(row.session.status ?? '');
  if (!force && !row.details.open && row.events.version === version && !live) return;
  if (row.events.loading) return;
  row.events.loading = true;
  try {
    const events = await fetchSessionEvents(row.session.id);
    const previous = row.events.events;
    const changed = !previous || prettyJson(previous) !== prettyJson(events);
    // Events shown before this read stay "seen"; the ones that just arrived get highlighted.
    row.events.seen = previous ? Math.min(previous.length, events.length) : events.length;
    row.events.events = events;
    row.events.error = undefined;
    row.events.version = version;
    if (changed) renderEvents(row);
  } catch (error) {
    row.events.error = errorMessage(error);
    renderEvents(row);
  } finally {
    row.events.loading = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Refresh loop

let lastSessions: DemoSession[] = [];
let lastShopOrders: ShopOrderView[] = [];
let refreshing: Promise<void> | undefined;

/** One refresh at a time; a call during one (e.g. after a resolution) gets that one. */
function refresh(): Promise<void> {
  refreshing ??= refreshNow().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

async function refreshNow(): Promise<void> {
  const [helperResult, shopResult] = await Promise.allSettled([fetchSessions(), fetchShopOrders()]);
  const errorBox = document.getElementById('orders-error');
  if (helperResult.status === 'fulfilled') lastSessions = helperResult.value;
  if (errorBox) {
    errorBox.hidden = helperResult.status === 'fulfilled';
    if (helperResult.status === 'rejected') {
      errorBox.textContent = t(locale(), 'orders.loadError', { error: errorMessage(helperResult.reason) });
    }
  }
  const shopError = document.getElementById('shop-error');
  if (shopResult.status === 'fulfilled') lastShopOrders = shopResult.value;
  if (shopError) {
    shopError.hidden = shopResult.status === 'fulfilled';
    if (shopResult.status === 'rejected') {
      shopError.textContent = t(locale(), 'orders.shopError', { error: errorMessage(shopResult.reason) });
    }
  }
  if (helperResult.status === 'rejected' && shopResult.status === 'rejected') return;

  const list = document.getElementById('orders-list');
  if (!list) return;

  // Join the shop's orders and the helper's sessions by order id.
  const seenOrders = new Set<string>();
  const cardOf = (orderId: string): OrderCard => {
    let card = orderCards.get(orderId);
    if (!card) {
      card = createOrderCard(orderId);
      orderCards.set(orderId, card);
    }
    if (!seenOrders.has(orderId)) {
      seenOrders.add(orderId);
      card.shop = undefined;
      card.sessions = [];
    }
    return card;
  };
  for (const order of lastShopOrders) cardOf(order.orderId).shop = order;
  for (const session of lastSessions) cardOf(session.orderId ?? '—').sessions.push(session);

  const seenSessions = new Set<string>();
  let live = 0;
  const loads: Promise<void>[] = [];

  for (const card of [...seenOrders].map((id) => orderCards.get(id)!)) {
    renderOrderHead(card);
    renderShopView(card);
    const ordered: HTMLElement[] = [];
    for (const session of card.sessions) {
      seenSessions.add(session.id);
      let row = rows.get(session.id);
      const isNewRow = !row;
      if (!row) {
        row = createRow(session);
        rows.set(session.id, row);
      }
      const statusChanged = !isNewRow && row.session.status !== session.status;
      const changed = isNewRow || prettyJson(row.session) !== prettyJson(session);
      row.session = session;
      if (changed) renderRow(row);
      if (statusChanged || (isNewRow && firstLoadDone)) flash(row.tr);
      ordered.push(row.tr);

      const isLive = !FINAL_STATUSES.has(session.status ?? '');
      if (isLive) live += 1;
      if (row.details.open || !row.events.events || changed || (isLive && live <= LIVE_LOG_LIMIT)) {
        loads.push(loadEvents(row, row.details.open || changed));
      }
    }
    // The helper's order (newest first); moving a block keeps its <details> open and its form as typed.
    ordered.forEach((node, index) => {
      if (card.helperList.children[index] !== node) card.helperList.insertBefore(node, card.helperList.children[index] ?? null);
    });
    card.helperEmpty.hidden = card.sessions.length > 0;
  }

  for (const [id, row] of rows) {
    if (!seenSessions.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  for (const [id, card] of orderCards) {
    if (!seenOrders.has(id)) {
      card.article.remove();
      orderCards.delete(id);
    }
  }
  const cards = [...seenOrders].map((id) => orderCards.get(id)!).sort((a, b) => orderCreatedAt(b) - orderCreatedAt(a));
  cards.forEach((card, index) => {
    if (list.children[index] !== card.article) list.insertBefore(card.article, list.children[index] ?? null);
  });

  const empty = document.getElementById('orders-empty');
  if (empty) empty.hidden = cards.length > 0;

  await Promise.allSettled(loads);
  firstLoadDone = true;
  renderUpdatedAt();
  openFromHash();
}

function renderUpdatedAt(): void {
  const node = document.getElementById('orders-updated');
  if (node) node.textContent = t(locale(), 'orders.updatedAt', { time: formatTime(locale(), new Date()) });
}

function schedule(): void {
  window.clearTimeout(timer);
  if (paused) return;
  timer = window.setTimeout(() => {
    void refresh().finally(schedule);
  }, REFRESH_MS);
}

function openFromHash(): void {
  if (hashHandled) return;
  const match = /^#session-(.+)$/.exec(location.hash);
  if (!match) {
    hashHandled = true;
    return;
  }
  const row = rows.get(decodeURIComponent(match[1]!));
  if (!row) return; // Not listed yet: try again after the next refresh.
  hashHandled = true;
  row.details.open = true;
  row.tr.classList.add('is-target');
  row.tr.scrollIntoView({ block: 'center' });
}

function togglePause(): void {
  paused = !paused;
  const button = document.getElementById('orders-refresh-toggle');
  if (button) {
    button.setAttribute('aria-pressed', String(paused));
    button.textContent = t(locale(), paused ? 'orders.resume' : 'orders.pause');
  }
  document.getElementById('orders-live')?.classList.toggle('is-paused', paused);
  if (paused) window.clearTimeout(timer);
  else void refresh().finally(schedule);
}

// ---------------------------------------------------------------------------------------------------------------
// Sandbox accounts

let credentials: Record<string, unknown> | undefined;
let credentialsError: string | undefined;

function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.push([prefix, Array.isArray(value) ? value.join(', ') : String(value)]);
  }
}

function renderCredentials(): void {
  const box = document.getElementById('sandbox-accounts-body');
  if (!box) return;
  const current = locale();
  box.replaceChildren();
  if (credentialsError) {
    box.append(el('p', 'notice notice-warn', t(current, 'sandbox.error', { error: credentialsError })));
    return;
  }
  if (!credentials) {
    box.append(el('p', 'events-empty', t(current, 'orders.eventsLoading')));
    return;
  }
  const grid = el('div', 'accounts-grid');
  for (const [provider, account] of Object.entries(credentials)) {
    const section = el('section', 'account');
    section.dataset.provider = provider;
    section.append(el('h3', 'account-title', providerName(provider)));
    const list = el('dl', 'account-fields');
    const fields: [string, string][] = [];
    flatten(account, '', fields);
    for (const [key, value] of fields) {
      const dt = el('dt', undefined, key || provider);
      const dd = el('dd');
      const code = el('code', undefined, value);
      const copy = el('button', 'copy-button', t(current, 'sandbox.copy'));
      copy.type = 'button';
      copy.setAttribute('aria-label', `${t(current, 'sandbox.copy')}: ${key}`);
      copy.addEventListener('click', () => {
        void navigator.clipboard?.writeText(value).then(
          () => {
            copy.textContent = t(locale(), 'sandbox.copied');
            window.setTimeout(() => (copy.textContent = t(locale(), 'sandbox.copy')), 1500);
          },
          () => undefined,
        );
      });
      dd.append(code, copy);
      list.append(dt, dd);
    }
    section.append(list);
    grid.append(section);
  }
  box.append(grid);
}

async function loadCredentials(): Promise<void> {
  try {
    credentials = await fetchSandboxCredentials();
    credentialsError = undefined;
  } catch (error) {
    credentialsError = errorMessage(error);
  }
  renderCredentials();
}

// ---------------------------------------------------------------------------------------------------------------
// Language

function applyLocale(): void {
  applyDocumentLocale(locale());
  applyStaticTexts(locale());
  const button = document.getElementById('orders-refresh-toggle');
  if (button) button.textContent = t(locale(), paused ? 'orders.resume' : 'orders.pause');
  for (const card of orderCards.values()) {
    card.headKey = undefined;
    renderOrderHead(card);
    renderShopView(card);
    applyStaticTexts(locale(), card.article);
  }
  for (const row of rows.values()) renderRow(row);
  renderCredentials();
  renderUpdatedAt();
}

function setupLocaleSwitch(): void {
  const node = document.getElementById('locale-switch');
  if (!(node instanceof HTMLSelectElement)) return;
  node.replaceChildren(
    ...[
      ['ru', 'Русский'],
      ['en', 'English'],
    ].map(([value, label]) => {
      const option = el('option', undefined, label);
      option.value = value!;
      return option;
    }),
  );
  node.value = settings.locale;
  node.addEventListener('change', () => {
    if (!isLocale(node.value)) return;
    settings.locale = node.value;
    saveSettings(settings);
    applyLocale();
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Start

function start(): void {
  setupLocaleSwitch();
  applyDocumentLocale(locale());
  applyStaticTexts(locale());
  document.getElementById('orders-refresh-toggle')?.addEventListener('click', togglePause);
  window.addEventListener('hashchange', () => {
    hashHandled = false;
    openFromHash();
  });
  void fetchConfig()
    .then((loaded) => {
      config = loaded;
      for (const row of rows.values()) renderRow(row);
      renderCredentials();
    })
    .catch(() => undefined);
  void loadCredentials();
  void refresh().finally(schedule);
}

start();
