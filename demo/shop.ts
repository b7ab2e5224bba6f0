/**
 * The demo storefront (`index.html`): a small shop whose products each carry a `<pay-checkout>`, loaded the way a
 * merchant loads it — `<script type="module" src="/dist/pay-checkout.js">` — and driven only through its
 * documented attributes and events. Never imports from `src/`.
 *
 * Stable hooks (end-to-end tests rely on them; keep them when restyling):
 *   - `[data-product="<sku>"]`        one product card per catalogue entry (`<article>`), containing its
 *                                     `<pay-checkout>` (the element's button is the card's only "pay" button, and
 *                                     its `status` line the card's only `role="status"`); the card also carries
 *                                     `data-order-id` (the order id its element uses) and, after `pay-success`,
 *                                     `data-paid="true"`, `data-paid-order-id` and a `.button-again` button that
 *                                     swaps in a fresh element for the next order; `.product-state` shows the
 *                                     session's last reported status (`data-session-status`, not a live region)
 *   - `select#provider-switch`        provider id from `/api/checkout/config` (`repay`, `boxexchanger`, `agetrading`);
 *                                     disabled (like `#method-switch`) until `/config` answered or failed
 *   - `select#method-switch`          `choose` (let the payer choose: `methods` = all of the provider's methods,
 *                                     no `method`, so the element shows its picker) or a method id (`sbp`, `card`:
 *                                     sets both `method` and `methods` to it)
 *   - `select#mode-switch`            `auto` | `modal` | `inline` | `popup` | `redirect`
 *   - `select#locale-switch`          `ru` | `en` (sets `<html lang>` and the elements' `locale`)
 *   - `#event-log`                    `<ol>`, newest first, one `<li data-event="pay-…">` per DOM event, with
 *                                     `data-detail` (the detail as one-line JSON), `data-status` (`detail.status`,
 *                                     else `detail.session.status`), `data-sku` (never `data-product`), and the detail
 *                                     pretty-printed in a `<pre>`; kept in `sessionStorage` across reloads and
 *                                     redirect-mode round trips
 *   - `#event-log-clear`              clears the log
 *   - `#element-status`               shown only while `pay-checkout` is still undefined after 2.5 s
 *   - `#toasts`                       outcome notices (success / error / cancel) with a link to the orders page
 *
 * On `pay-open` the page tells the shop's own backend (`POST /shop/orders`) that a purchase started; the shop's
 * order becomes paid only from the helper's webhooks (see the orders page).
 *
 * Order ids are `<sku>-<suffix>`; the suffix (10 alphanumerics) is kept in `sessionStorage` per product, provider
 * and method, so a reload — or the return from a redirect-mode payment — reuses the same order and therefore the
 * same helper session, and each provider gets its own order. `pay-success` gives the product a new suffix: the
 * paid element keeps showing "paid", and "Buy again" (or a reload) brings a fresh element for the next order.
 */
import type { SessionView } from '../contract/index.js';
import { DEMO_PRODUCTS, type DemoProduct } from '../server-example/demo-catalogue.js';
import {
  FALLBACK_CONFIG,
  fetchConfig,
  prettyJson,
  type CheckoutConfig,
  type ProviderInfo,
} from './api.js';
import { el } from './dom.js';
import { applyStaticTexts, formatMoney, formatTime, t, tryT, isLocale } from './i18n.js';
import {
  MODES,
  applyDocumentLocale,
  loadSettings,
  saveSettings,
  type DemoSettings,
  type Mode,
} from './settings.js';

const TAG = 'pay-checkout';

const PAY_EVENTS = [
  'pay-open',
  'pay-return',
  'pay-status',
  'pay-success',
  'pay-error',
  'pay-cancel',
  'pay-request-close',
  'pay-close',
] as const;
type PayEventName = (typeof PAY_EVENTS)[number];

/**
 * What the demo reads from an event's `detail.session` (docs/element.md, "Events": the helper's session view of
 * contract/index.d.ts); every field optional, read defensively.
 */
type SessionLike = Partial<Pick<SessionView, 'id' | 'orderId' | 'status'>>;

// ---------------------------------------------------------------------------------------------------------------
// State

let settings: DemoSettings = loadSettings();
let config: CheckoutConfig = FALLBACK_CONFIG;
let configLoaded = false;

interface Card {
  product: DemoProduct;
  root: HTMLElement;
  element: HTMLElement;
  orderLabel: HTMLElement;
  notes: HTMLElement;
  /** "Order … is paid" + "Buy again": shown after `pay-success`. */
  again: HTMLElement;
  /** A payment window (modal, popup, inline frame) is showing: the order id must not change under it. */
  open: boolean;
  /** The element reported `pay-success`: it keeps showing "paid" until the payer asks to buy again. */
  paid: boolean;
  /** The session's last known unified status (from the events), shown as a pill on the card. */
  status?: string;
  statusLine: HTMLElement;
}

const cards = new Map<string, Card>();

// ---------------------------------------------------------------------------------------------------------------
// Order ids

const SUFFIX_STORAGE_KEY = 'pay-checkout-demo:order-suffixes';
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

function readSuffixes(): Record<string, string> {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(SUFFIX_STORAGE_KEY) ?? '{}');
    return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
  } catch {
    return {};
  }
}

const suffixes = readSuffixes();

function writeSuffixes(): void {
  try {
    sessionStorage.setItem(SUFFIX_STORAGE_KEY, JSON.stringify(suffixes));
  } catch {
    // Storage off: order ids still work for this page view.
  }
}

function newSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  return Array.from(bytes, (byte) => SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length]).join('');
}

function suffixKey(sku: string): string {
  return `${sku}|${settings.provider || 'default'}|${settings.method}`;
}

/** The order id for a product under the current switches; made (and remembered) on first use. */
function orderIdFor(sku: string): string {
  const key = suffixKey(sku);
  let suffix = suffixes[key];
  if (!suffix || !/^[A-Za-z0-9]{4,32}$/.test(suffix)) {
    suffix = newSuffix();
    suffixes[key] = suffix;
    writeSuffixes();
  }
  return `${sku}-${suffix}`;
}

/** After a confirmed payment: the next purchase of this product is a new order. */
function rotateOrderId(sku: string, paidOrderId: string): void {
  const paidSuffix = paidOrderId.slice(sku.length + 1);
  for (const [key, suffix] of Object.entries(suffixes)) {
    if (key.startsWith(`${sku}|`) && suffix === paidSuffix) suffixes[key] = newSuffix();
  }
  writeSuffixes();
}

// ---------------------------------------------------------------------------------------------------------------
// Element attributes

function currentProvider(): ProviderInfo | undefined {
  return config.providers.find((provider) => provider.id === settings.provider);
}

function methodIdsOf(provider: ProviderInfo | undefined): string[] {
  const ids = provider?.methods.map((method) => method.id) ?? [];
  return ids.length > 0 ? ids : ['sbp', 'card'];
}

function setAttr(element: Element, name: string, value: string | undefined): void {
  if (value === undefined || value === '') element.removeAttribute(name);
  else if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

/** Puts the switches onto one element; only attributes from the documented list (docs/element.md, "Attributes"). */
function applyAttributes(card: Card): void {
  const { element, product } = card;
  const provider = currentProvider();
  const methods = methodIdsOf(provider);
  const chosen = settings.method !== 'choose' && methods.includes(settings.method) ? settings.method : undefined;

  // A paid element keeps its order (it shows "paid" until "buy again"); an open one is mid-payment.
  if ((!card.open && !card.paid) || element.getAttribute('order-id') === null) {
    setOrderId(card, orderIdFor(product.sku));
  }
  setAttr(element, 'amount', String(product.price));
  setAttr(element, 'currency', product.currency);
  setAttr(element, 'provider', settings.provider || undefined);
  setAttr(element, 'methods', chosen ?? methods.join(','));
  setAttr(element, 'method', chosen);
  setAttr(element, 'mode', settings.mode);
  setAttr(element, 'locale', settings.locale);
  renderCardNotes(card);
}

function setOrderId(card: Card, orderId: string): void {
  setAttr(card.element, 'order-id', orderId);
  card.root.dataset.orderId = orderId;
  card.orderLabel.textContent = orderId;
}

function createElement(): HTMLElement {
  const element = document.createElement(TAG);
  element.className = 'product-checkout';
  return element;
}

/**
 * "Buy again": the paid element stays as it is (it reports that order), so a fresh element takes its place with
 * the next order id — the same as a merchant's page showing a new cart.
 */
function buyAgain(card: Card): void {
  const fresh = createElement();
  card.paid = false;
  card.open = false;
  delete card.root.dataset.paid;
  delete card.root.dataset.paidOrderId;
  card.root.classList.remove('is-paying', 'is-inline');
  card.again.hidden = true;
  card.status = undefined;
  renderCardStatus(card);
  card.element.replaceWith(fresh);
  card.element = fresh;
  applyAttributes(card);
  // Keep the keyboard where it was: on the new pay button (reached through the public `button` part).
  void customElements.whenDefined(TAG).then(() =>
    requestAnimationFrame(() => fresh.shadowRoot?.querySelector<HTMLElement>('[part~="button"]')?.focus()),
  );
}

function applyAllAttributes(): void {
  for (const card of cards.values()) applyAttributes(card);
}

// ---------------------------------------------------------------------------------------------------------------
// Product cards

function artUrl(sku: string): string {
  return new URL(`./art/${sku}.svg`, import.meta.url).href;
}

function renderProducts(): void {
  const grid = document.getElementById('product-grid');
  if (!grid) return;
  for (const product of DEMO_PRODUCTS) {
    const item = el('li', 'product-item');
    const root = el('article', 'product-card');
    root.dataset.product = product.sku;
    const titleId = `product-title-${product.sku}`;
    root.setAttribute('aria-labelledby', titleId);

    const figure = el('div', 'product-art');
    const img = el('img');
    img.src = artUrl(product.sku);
    img.alt = '';
    img.width = 160;
    img.height = 120;
    img.decoding = 'async';
    img.addEventListener('error', () => (img.src = artUrl('default')), { once: true });
    figure.append(img);

    const body = el('div', 'product-body');
    const title = el('h3', 'product-title');
    title.id = titleId;
    const description = el('p', 'product-description');
    const price = el('p', 'product-price');
    const order = el('p', 'product-order');
    const orderCaption = el('span', 'product-order-caption');
    orderCaption.dataset.i18n = 'product.order';
    const orderLabel = el('code', 'product-order-id');
    order.append(orderCaption, ' ', orderLabel);
    const notes = el('ul', 'product-notes');
    // Not a live region either: the element's status line is the card's one `role="status"`.
    const statusLine = el('p', 'product-state');
    statusLine.hidden = true;
    body.append(title, description, price, order, notes, statusLine);

    const element = createElement();

    // Not a live region: the element's own status line (part "status") already announces "paid".
    const again = el('div', 'product-again');
    again.hidden = true;
    const paidText = el('p', 'product-paid');
    const againButton = el('button', 'button button-again');
    againButton.type = 'button';
    againButton.dataset.i18n = 'product.again';
    again.append(paidText, againButton);

    root.append(figure, body, element, again);
    item.append(root);
    grid.append(item);

    const card: Card = { product, root, element, orderLabel, notes, again, statusLine, open: false, paid: false };
    cards.set(product.sku, card);
    againButton.addEventListener('click', () => buyAgain(card));

    applyAttributes(card);
  }
  renderCardTexts();
}

function renderCardTexts(): void {
  for (const card of cards.values()) {
    const { product, root } = card;
    const locale = settings.locale;
    root.querySelector('.product-title')!.textContent = product.title[locale];
    root.querySelector('.product-description')!.textContent = product.description[locale];
    root.querySelector('.product-price')!.textContent = formatMoney(locale, product.price, product.currency);
    applyStaticTexts(locale, root);
    renderCardNotes(card);
    renderCardStatus(card);
  }
}

function renderCardStatus(card: Card): void {
  const { statusLine, status } = card;
  statusLine.hidden = !status;
  if (!status) return;
  const badge = el('span', `status-badge status-${status}`, tryT(settings.locale, `status.${status}`) ?? status);
  statusLine.replaceChildren(el('span', 'product-state-caption', t(settings.locale, 'product.status')), ' ', badge);
  statusLine.dataset.sessionStatus = status;
}

function renderCardNotes(card: Card): void {
  const locale = settings.locale;
  const provider = currentProvider();
  card.notes.replaceChildren();
  if (provider?.minAmount !== undefined && card.product.price < provider.minAmount) {
    card.notes.append(
      el(
        'li',
        'note note-warn',
        t(locale, 'product.minAmount', {
          provider: provider.name,
          amount: formatMoney(locale, provider.minAmount, card.product.currency),
        }),
      ),
    );
  }
  if (provider?.frameable === false && (settings.mode === 'auto' || settings.mode === 'modal')) {
    card.notes.append(el('li', 'note', t(locale, 'product.frameDeny', { provider: provider.name })));
  }
  card.notes.hidden = card.notes.childElementCount === 0;
  const paidOrder = card.root.dataset.paidOrderId;
  const paidText = card.again.querySelector('.product-paid');
  if (paidOrder && paidText) paidText.textContent = `✓ ${t(locale, 'product.paidNote', { order: paidOrder })}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Switches

function select(id: string): HTMLSelectElement | null {
  const node = document.getElementById(id);
  return node instanceof HTMLSelectElement ? node : null;
}

function fillSelect(node: HTMLSelectElement, options: { value: string; label: string }[], value: string): void {
  node.replaceChildren(
    ...options.map((option) => {
      const item = el('option', undefined, option.label);
      item.value = option.value;
      return item;
    }),
  );
  node.value = options.some((option) => option.value === value) ? value : (options[0]?.value ?? '');
}

/** Keeps the stored provider/method only while `/config` still offers them. */
function normaliseSettings(): void {
  const ids = config.providers.map((provider) => provider.id);
  if (!ids.includes(settings.provider)) {
    settings.provider =
      config.defaultProvider && ids.includes(config.defaultProvider) ? config.defaultProvider : (ids[0] ?? '');
  }
  if (settings.method !== 'choose' && !methodIdsOf(currentProvider()).includes(settings.method)) {
    settings.method = 'choose';
  }
}

function renderSwitches(): void {
  const locale = settings.locale;
  const sandboxWord = t(locale, 'badge.sandbox');

  const providerSwitch = select('provider-switch');
  if (providerSwitch) {
    fillSelect(
      providerSwitch,
      config.providers.map((provider) => ({
        value: provider.id,
        label: provider.sandbox ? `${provider.name} · ${sandboxWord}` : provider.name,
      })),
      settings.provider,
    );
  }

  const methodSwitch = select('method-switch');
  if (methodSwitch) {
    const provider = currentProvider();
    const methods = provider?.methods.length ? provider.methods : FALLBACK_CONFIG.providers[0]!.methods;
    fillSelect(
      methodSwitch,
      [
        { value: 'choose', label: t(locale, 'switches.methodChoose') },
        ...methods.map((method) => ({ value: method.id, label: method.label[locale] || method.id })),
      ],
      settings.method,
    );
  }

  const modeSwitch = select('mode-switch');
  if (modeSwitch) {
    fillSelect(
      modeSwitch,
      MODES.map((mode) => ({ value: mode, label: t(locale, `mode.${mode}`) })),
      settings.mode,
    );
  }

  const localeSwitch = select('locale-switch');
  if (localeSwitch) {
    fillSelect(
      localeSwitch,
      [
        { value: 'ru', label: 'Русский' },
        { value: 'en', label: 'English' },
      ],
      settings.locale,
    );
  }

  renderProviderFacts();
}

/** One line under the switches: what the selected provider is (sandbox, minimum, framing). */
function renderProviderFacts(): void {
  const facts = document.getElementById('provider-facts');
  if (!facts) return;
  const provider = currentProvider();
  facts.replaceChildren();
  if (!provider || !configLoaded) {
    facts.hidden = true;
    return;
  }
  const locale = settings.locale;
  const items: string[] = [];
  if (provider.minAmount !== undefined) {
    items.push(`${locale === 'ru' ? 'мин.' : 'min.'} ${formatMoney(locale, provider.minAmount)}`);
  }
  if (provider.frameable !== undefined) {
    items.push(
      provider.frameable
        ? locale === 'ru'
          ? 'показывается во фрейме'
          : 'can be framed'
        : locale === 'ru'
          ? 'не показывается во фрейме'
          : 'refuses framing',
    );
  }
  const name = el('strong', undefined, provider.name);
  facts.append(name);
  if (provider.sandbox) facts.append(' ', el('span', 'badge badge-sandbox', t(locale, 'badge.sandbox')));
  else if (provider.sandbox === false) facts.append(' ', el('span', 'badge badge-live', t(locale, 'badge.live')));
  if (items.length) facts.append(` · ${items.join(' · ')}`);
  facts.hidden = false;
}

function onSwitchChange(event: Event): void {
  const target = event.target;
  if (!(target instanceof HTMLSelectElement)) return;
  const value = target.value;
  switch (target.id) {
    case 'provider-switch':
      settings.provider = value;
      normaliseSettings();
      break;
    case 'method-switch':
      settings.method = value || 'choose';
      break;
    case 'mode-switch':
      if ((MODES as readonly string[]).includes(value)) settings.mode = value as Mode;
      break;
    case 'locale-switch':
      if (isLocale(value)) settings.locale = value;
      break;
    default:
      return;
  }
  saveSettings(settings);
  if (target.id === 'locale-switch') applyLocale();
  else renderSwitches();
  applyAllAttributes();
}

function applyLocale(): void {
  applyDocumentLocale(settings.locale);
  applyStaticTexts(settings.locale);
  renderSwitches();
  renderCardTexts();
  renderLog();
  renderConfigStatus();
}

// ---------------------------------------------------------------------------------------------------------------
// Live event log (kept in sessionStorage so a redirect-mode payment shows its whole story after the return)

interface LogEntry {
  at: number;
  event: PayEventName;
  sku?: string;
  orderId?: string;
  /** `detail.status`, else `detail.session.status`. */
  status?: string;
  /** The detail as JSON (`null` when the event had none). */
  detail: string;
}

const LOG_STORAGE_KEY = 'pay-checkout-demo:event-log';
const LOG_LIMIT = 200;

function readLog(): LogEntry[] {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(LOG_STORAGE_KEY) ?? '[]');
    return Array.isArray(value) ? (value as LogEntry[]).filter((entry) => typeof entry?.event === 'string') : [];
  } catch {
    return [];
  }
}

let log: LogEntry[] = readLog();

function writeLog(): void {
  try {
    sessionStorage.setItem(LOG_STORAGE_KEY, JSON.stringify(log));
  } catch {
    // Quota or storage off: the on-screen log still works.
  }
}

function logItem(entry: LogEntry): HTMLLIElement {
  const locale = settings.locale;
  const item = el('li', `log-entry log-${entry.event}`);
  item.dataset.event = entry.event;
  if (entry.sku) item.dataset.sku = entry.sku;
  if (entry.status) item.dataset.status = entry.status;
  item.dataset.detail = entry.detail;

  const head = el('div', 'log-head');
  const time = el('time', 'log-time', formatTime(locale, new Date(entry.at)));
  time.dateTime = new Date(entry.at).toISOString();
  const name = el('code', 'log-name', entry.event);
  head.append(time, name);
  const product = entry.sku ? DEMO_PRODUCTS.find((p) => p.sku === entry.sku) : undefined;
  if (product || entry.orderId) {
    head.append(el('span', 'log-product', product ? product.title[locale] : (entry.orderId ?? '')));
  }
  let pretty = entry.detail;
  try {
    pretty = JSON.stringify(JSON.parse(entry.detail), null, 2);
  } catch {
    // Stored by an older page version: show it as it is.
  }
  const detail = el('pre', 'log-detail', pretty);
  item.append(head, detail);
  return item;
}

function renderLog(): void {
  const list = document.getElementById('event-log');
  if (!list) return;
  list.replaceChildren(...log.map(logItem));
  renderLogMeta();
}

function renderLogMeta(): void {
  const empty = document.getElementById('event-log-empty');
  if (empty) empty.hidden = log.length > 0;
  const count = document.getElementById('event-log-count');
  if (count) count.textContent = t(settings.locale, 'log.count', { n: log.length });
}

function productOf(event: Event, detail: unknown): { card?: Card; orderId?: string } {
  const target = event.target instanceof Element ? event.target : null;
  const host = target?.closest<HTMLElement>('[data-product]');
  const session = sessionOf(detail);
  const orderId = session?.orderId ?? target?.closest(TAG)?.getAttribute('order-id') ?? undefined;
  let card = host ? cards.get(host.dataset.product ?? '') : undefined;
  if (!card && orderId) {
    card = [...cards.values()].find((candidate) => orderId.startsWith(`${candidate.product.sku}-`));
  }
  return { card, orderId };
}

function statusOf(detail: unknown): string | undefined {
  const own = typeof detail === 'object' && detail !== null ? (detail as { status?: unknown }).status : undefined;
  if (typeof own === 'string') return own;
  const status = sessionOf(detail)?.status;
  return typeof status === 'string' ? status : undefined;
}

/** One-line JSON for `data-detail` (tests parse it); the log shows it pretty-printed. */
function compactJson(value: unknown): string {
  const text = prettyJson(value);
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return JSON.stringify(text);
  }
}

function sessionOf(detail: unknown): SessionLike | undefined {
  if (typeof detail !== 'object' || detail === null) return undefined;
  const session = (detail as { session?: unknown }).session;
  return typeof session === 'object' && session !== null ? (session as SessionLike) : undefined;
}

function onPayEvent(event: Event): void {
  const name = event.type as PayEventName;
  const detail = event instanceof CustomEvent ? (event.detail as unknown) : undefined;
  const { card, orderId } = productOf(event, detail);

  const status = statusOf(detail);
  const entry: LogEntry = {
    at: Date.now(),
    event: name,
    ...(card ? { sku: card.product.sku } : {}),
    ...(orderId ? { orderId } : {}),
    ...(status ? { status } : {}),
    detail: detail === undefined ? 'null' : compactJson(detail),
  };
  log.unshift(entry);
  if (log.length > LOG_LIMIT) log = log.slice(0, LOG_LIMIT);
  writeLog();
  document.getElementById('event-log')?.prepend(logItem(entry));
  const list = document.getElementById('event-log');
  while (list && list.childElementCount > LOG_LIMIT) list.lastElementChild?.remove();
  renderLogMeta();

  if (card) trackCard(card, name, detail, orderId);
}

/** Follows one card's payment: window open/closed, paid (→ new order id), toasts. */
function trackCard(card: Card, name: PayEventName, detail: unknown, orderId: string | undefined): void {
  const locale = settings.locale;
  const title = card.product.title[locale];
  const session = sessionOf(detail);
  // A dismissed window is no cancel: the payment stays open and the next click reuses it (docs/element.md).
  const dismissed = name === 'pay-cancel' && (detail as { reason?: unknown } | undefined)?.reason === 'dismissed';
  const status = name === 'pay-cancel' && !dismissed ? 'cancelled' : statusOf(detail);
  if (status && name !== 'pay-request-close' && name !== 'pay-close') {
    card.status = status;
    renderCardStatus(card);
  }
  switch (name) {
    case 'pay-open':
      if (orderId) void startShopOrder(orderId);
      card.open = (detail as { mode?: string } | undefined)?.mode !== 'redirect';
      card.root.classList.add('is-paying');
      card.root.classList.toggle('is-inline', (detail as { mode?: string } | undefined)?.mode === 'inline');
      break;
    case 'pay-close':
      card.open = false;
      card.root.classList.remove('is-paying', 'is-inline');
      break;
    case 'pay-success': {
      const paidOrderId = orderId ?? card.element.getAttribute('order-id') ?? '';
      card.paid = true;
      card.root.dataset.paid = 'true';
      card.root.dataset.paidOrderId = paidOrderId;
      // The next purchase is a new order; a reload from here on shows a fresh button for it.
      rotateOrderId(card.product.sku, paidOrderId);
      card.again.hidden = false;
      renderCardNotes(card);
      toast('success', t(locale, 'toast.paid', { title }), session?.id);
      break;
    }
    case 'pay-error':
      toast('error', `${t(locale, 'toast.error', { title })}${errorText(detail)}`, session?.id);
      break;
    case 'pay-cancel':
      toast('info', t(locale, dismissed ? 'toast.dismissed' : 'toast.cancel', { title }), session?.id);
      break;
    default:
      break;
  }
}

/** The element's own sentence for the payer; the code stays in the event log. */
function errorText(detail: unknown): string {
  const message = typeof detail === 'object' && detail !== null ? (detail as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message ? ` — ${message}` : '';
}

/**
 * Tells the shop's own backend (demo/merchant-backend.ts, under /shop) that a purchase started, so the order is in
 * the shop's books before any payment news. Only a courtesy: the backend also creates the order from its first
 * webhook, and only webhooks make it paid.
 */
async function startShopOrder(orderId: string): Promise<void> {
  try {
    await fetch('/shop/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId }),
      // A redirect-mode payment leaves the page right after pay-open.
      keepalive: true,
    });
  } catch (error) {
    console.warn('[pay-checkout demo] /shop/orders:', error);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Toasts

function toast(kind: 'success' | 'error' | 'info', text: string, sessionId?: string): void {
  const region = document.getElementById('toasts');
  if (!region) return;
  const item = el('div', `toast toast-${kind}`);
  item.append(el('span', 'toast-text', text));
  if (sessionId) {
    const link = el('a', 'toast-link', t(settings.locale, 'toast.ordersLink'));
    link.href = `orders.html#session-${encodeURIComponent(sessionId)}`;
    item.append(link);
  }
  const close = el('button', 'toast-close', '×');
  close.type = 'button';
  close.setAttribute('aria-label', settings.locale === 'ru' ? 'Закрыть' : 'Dismiss');
  close.addEventListener('click', () => item.remove());
  item.append(close);
  region.append(item);
  while (region.childElementCount > 3) region.firstElementChild?.remove();
  window.setTimeout(() => item.remove(), kind === 'error' ? 12000 : 7000);
}

// ---------------------------------------------------------------------------------------------------------------
// Config

let configError = false;

function renderConfigStatus(): void {
  const status = document.getElementById('config-status');
  if (status) {
    status.hidden = !configError;
    status.textContent = configError ? t(settings.locale, 'switches.configError') : '';
  }
  const badge = document.getElementById('sandbox-badge');
  if (badge) badge.hidden = !(configLoaded && (config.sandbox ?? config.providers.some((p) => p.sandbox)));
}

async function loadConfig(): Promise<void> {
  try {
    const loaded = await fetchConfig();
    if (loaded.providers.length === 0) throw new Error('no providers enabled');
    config = loaded;
    configLoaded = true;
    configError = false;
  } catch (error) {
    configError = true;
    console.warn('[pay-checkout demo] /api/checkout/config:', error);
  }
  const before = `${settings.provider}|${settings.method}`;
  normaliseSettings();
  if (`${settings.provider}|${settings.method}` !== before) saveSettings(settings);
  renderSwitches();
  for (const id of ['provider-switch', 'method-switch']) select(id)?.toggleAttribute('disabled', false);
  renderConfigStatus();
  applyAllAttributes();
}

// ---------------------------------------------------------------------------------------------------------------
// Element availability: the page works (and waits) before the bundle exists.

function watchElementDefinition(): void {
  const status = document.getElementById('element-status');
  if (customElements.get(TAG)) return;
  const timer = window.setTimeout(() => {
    if (status && !customElements.get(TAG)) {
      status.textContent = t(settings.locale, 'element.missing');
      status.hidden = false;
    }
  }, 2500);
  void customElements.whenDefined(TAG).then(() => {
    window.clearTimeout(timer);
    if (status) status.hidden = true;
    document.body.classList.add('element-ready');
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Start

function start(): void {
  // Listen before any element exists: a redirect-mode return reports as soon as the element upgrades.
  for (const name of PAY_EVENTS) document.addEventListener(name, onPayEvent);

  // Provider and method wait for `/config` (the stored choice may no longer be offered); so do tests that pick one.
  for (const id of ['provider-switch', 'method-switch']) select(id)?.toggleAttribute('disabled', true);
  applyDocumentLocale(settings.locale);
  applyStaticTexts(settings.locale);
  renderSwitches();
  renderProducts();
  renderLog();
  renderConfigStatus();
  watchElementDefinition();

  document.getElementById('switches')?.addEventListener('change', onSwitchChange);
  document.getElementById('switches')?.addEventListener('submit', (event) => event.preventDefault());
  document.getElementById('event-log-clear')?.addEventListener('click', () => {
    log = [];
    writeLog();
    renderLog();
  });

  void loadConfig();
}

start();
