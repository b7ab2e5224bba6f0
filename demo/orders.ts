/**
 * The orders page (`orders.html`): every helper session, its status and its event log, refreshed every two
 * seconds so a provider's webhook / IPN can be watched arriving; plus the sandbox merchant accounts.
 *
 * Stable hooks (end-to-end tests rely on them):
 *   - `tr[data-session-id="<id>"]`        one row per session (newest first), also `data-order-id`
 *   - `tr[data-session-id] [data-status]` the status cell; its `data-status` attribute is the unified status
 *   - `tr[data-session-id] details.session-events`  the row's event log (expandable); one
 *                                         `li[data-source="webhook|poll|return|manual|…"][data-type]` per event
 *   - `details#sandbox-accounts`          the sandbox merchant accounts (`GET /sandbox/credentials`)
 *   - `select#locale-switch`              `ru` | `en`
 *   - `#orders-refresh-toggle`            pauses / resumes the refresh
 *
 * `orders.html#session-<id>` opens that session's log (the shop's toasts link here).
 */
import { DEMO_PRODUCTS } from '../server-example/demo-catalogue.js';
import {
  FALLBACK_CONFIG,
  fetchConfig,
  fetchSandboxCredentials,
  fetchSessionEvents,
  fetchSessions,
  optionalNumber,
  prettyJson,
  toDate,
  type CheckoutConfig,
  type DemoSession,
  type SessionEvent,
} from './api.js';
import { el } from './dom.js';
import { applyStaticTexts, formatMoney, formatTime, isLocale, t, tryT, type Locale, type MessageKey } from './i18n.js';
import { applyDocumentLocale, loadSettings, saveSettings } from './settings.js';

const REFRESH_MS = 2000;
/** Sessions that may still change get their log re-read on every refresh, up to this many. */
const LIVE_LOG_LIMIT = 20;
const FINAL_STATUSES = new Set(['paid', 'refunded', 'failed', 'cancelled', 'expired']);

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
  tr: HTMLTableRowElement;
  details: HTMLDetailsElement;
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
// Rows

const COLUMNS: MessageKey[] = [
  'orders.col.created',
  'orders.col.order',
  'orders.col.provider',
  'orders.col.amount',
  'orders.col.status',
  'orders.col.events',
];

function cell(index: number): HTMLTableCellElement {
  const td = el('td');
  td.setAttribute('role', 'cell');
  td.dataset.label = t(locale(), COLUMNS[index]!);
  return td;
}

function createRow(session: DemoSession): Row {
  const tr = el('tr', 'session-row');
  tr.setAttribute('role', 'row');
  tr.dataset.sessionId = session.id;
  tr.id = `session-${session.id}`;
  const details = el('details', 'session-events');
  details.addEventListener('toggle', () => {
    if (details.open) void loadEvents(row, true);
  });
  const row: Row = { session, tr, details, events: {} };
  return row;
}

function renderRow(row: Row): void {
  const { session, tr } = row;
  const current = locale();
  tr.dataset.orderId = session.orderId ?? '';
  tr.dataset.rowStatus = session.status ?? '';

  const created = cell(0);
  created.append(timeCell(session.createdAt, true));

  const order = cell(1);
  order.append(el('code', 'order-id', session.orderId ?? '—'));
  const title = productTitle(session.orderId);
  if (title) order.append(el('span', 'cell-sub', title));
  const sessionId = el('span', 'cell-sub cell-mono');
  sessionId.textContent = `${t(current, 'orders.sessionId')} ${session.id}`;
  order.append(sessionId);

  const provider = cell(2);
  provider.append(el('span', 'provider-name', providerName(session.provider)));
  const method = methodLabel(session.provider, session.method);
  if (method) provider.append(el('span', 'cell-sub', method));

  const amount = cell(3);
  amount.append(el('span', 'amount', money(session.amount, session.currency)));
  if (session.paidAmount !== undefined && session.paidAmount !== session.amount) {
    amount.append(el('span', 'cell-sub paid-amount', t(current, 'orders.paidAmount', { amount: money(session.paidAmount, session.currency) })));
  }

  const status = cell(4);
  status.dataset.status = session.status ?? 'unknown';
  status.append(statusBadge(session.status));
  for (const field of ['errorCode', 'providerStatus'] as const) {
    const value = session[field];
    if (typeof value === 'string' && value) status.append(el('span', 'cell-sub cell-mono', `${field}: ${value}`));
  }

  const events = cell(5);
  events.append(row.details);
  renderEvents(row);

  const cells = [created, order, provider, amount, status, events];
  // One box per cell, so the narrow-screen layout (label + value) has exactly two grid items.
  for (const td of cells) {
    const body = el('div', 'cell-body');
    body.append(...td.childNodes);
    td.append(body);
  }
  tr.replaceChildren(...cells);
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

async function refresh(): Promise<void> {
  const errorBox = document.getElementById('orders-error');
  let sessions: DemoSession[];
  try {
    sessions = await fetchSessions();
    if (errorBox) errorBox.hidden = true;
  } catch (error) {
    if (errorBox) {
      errorBox.textContent = t(locale(), 'orders.loadError', { error: errorMessage(error) });
      errorBox.hidden = false;
    }
    return;
  }

  const body = document.getElementById('orders-body');
  if (!body) return;
  const seenIds = new Set<string>();
  const ordered: HTMLTableRowElement[] = [];
  let live = 0;
  const loads: Promise<void>[] = [];

  for (const session of sessions) {
    seenIds.add(session.id);
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
    if ((statusChanged || (isNewRow && firstLoadDone)) && !row.tr.classList.contains('is-flash')) {
      row.tr.classList.add('is-flash');
      window.setTimeout(() => row.tr.classList.remove('is-flash'), 2000);
    }
    ordered.push(row.tr);

    const isLive = !FINAL_STATUSES.has(session.status ?? '');
    if (isLive) live += 1;
    if (row.details.open || !row.events.events || changed || (isLive && live <= LIVE_LOG_LIMIT)) {
      loads.push(loadEvents(row, row.details.open || changed));
    }
  }

  for (const [id, row] of rows) {
    if (!seenIds.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  // Re-append in the helper's order (newest first); moving a row keeps its <details> open state.
  ordered.forEach((tr, index) => {
    if (body.children[index] !== tr) body.insertBefore(tr, body.children[index] ?? null);
  });

  const empty = document.getElementById('orders-empty');
  if (empty) empty.hidden = sessions.length > 0;
  document.getElementById('orders-table')?.toggleAttribute('hidden', sessions.length === 0);

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
