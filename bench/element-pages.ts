/**
 * The pages the element bench loads, with their in-page instruments as plain JavaScript (strings, so nothing the
 * TypeScript loader adds ends up in the browser). Every page defines `window.__bench`.
 */
import { pageHtml } from './element-server.js';

/** In-page instruments shared by all pages. */
const INSTRUMENTS = String.raw`
const deepQuery = (root, selector) => {
  const found = root.querySelector(selector);
  if (found) return found;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) {
      const inner = deepQuery(el.shadowRoot, selector);
      if (inner) return inner;
    }
  }
  return null;
};
const visible = (el) => !!el && el.isConnected && el.getBoundingClientRect().width > 0 && (el.checkVisibility ? el.checkVisibility({ opacityProperty: false, visibilityProperty: true }) : true);
const B = (window.__bench = {
  deepQuery,
  dialog: () => { const d = deepQuery(document, 'dialog[part~="dialog"]') || document.querySelector('dialog'); return d; },
  frame: () => deepQuery(document, 'iframe[part~="frame"]') || document.querySelector('iframe'),
  /** Arms the click instruments: input timestamps, and a rAF loop that notes the first frame showing the dialog. */
  arm() {
    const r = (B.click = { pointerdown: null, clickEvent: null, click: null, visibleAt: null, frames: 0, animationMs: 0 });
    addEventListener('pointerdown', (e) => { r.pointerdown = e.timeStamp; }, { capture: true, once: true });
    // The first listener to run: when the page gets the click. Input delivery before it is the browser's, and the
    // same for every page; it is recorded (clickEvent = the event's own timestamp) but not charged to the widget.
    addEventListener('click', (e) => {
      r.click = performance.now();
      r.clickEvent = e.timeStamp;
      const tick = () => {
        r.frames++;
        const d = B.dialog();
        if (d && d.open && visible(d)) {
          r.visibleAt = performance.now();
          // An entrance animation starts in this frame: noted, so the reader knows when it is fully shown.
          r.animationMs = Math.max(0, ...d.getAnimations().map((a) => Number(a.effect?.getComputedTiming().duration) || 0));
          return;
        }
        if (r.frames < 1200) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    }, { capture: true, once: true });
  },
  /** After the click: dialog shown and the payment page's navigation started in the frame. */
  clickDone() {
    const r = B.click;
    if (!r || r.visibleAt === null) return false;
    const f = B.frame();
    try { return !!f && f.contentWindow.location.pathname.startsWith('/pay/'); } catch { return false; }
  },
  clickResult() {
    const r = B.click;
    const f = B.frame();
    const w = f.contentWindow;
    // The payment page's navigation start on this page's timeline: its resource entry here once it loaded, else
    // the frame's own time origin (its navigation start) moved onto this page's clock. The two agree.
    const iframeEntry = performance.getEntriesByType('resource').find((e) => e.initiatorType === 'iframe' && new URL(e.name).pathname.startsWith('/pay/'));
    const payNavStart = iframeEntry ? iframeEntry.startTime : w.performance.timeOrigin - performance.timeOrigin;
    const sessions = performance.getEntriesByType('resource').filter((e) => /\/api\/checkout\/sessions$/.test(new URL(e.name).pathname));
    const configs = performance.getEntriesByType('resource').filter((e) => /\/api\/checkout\/config$/.test(new URL(e.name).pathname));
    const s = sessions[sessions.length - 1];
    return {
      pointerdown: r.pointerdown, clickEvent: r.clickEvent, click: r.click, visibleAt: r.visibleAt, frames: r.frames, animationMs: r.animationMs,
      payNavStart, payIframeEntryStart: iframeEntry ? iframeEntry.startTime : null,
      session: s ? { start: s.startTime, requestStart: s.requestStart, responseEnd: s.responseEnd } : null,
      sessionCount: sessions.length,
      config: configs.map((c) => ({ start: c.startTime, responseEnd: c.responseEnd })),
      scripts: performance.getEntriesByType('resource').filter((e) => e.initiatorType === 'script' || e.name.endsWith('.js')).map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, responseEnd: e.responseEnd })),
    };
  },
  /** Inserts 100 elements (or buttons) through the parser and waits until they are rendered and laid out. */
  async render(kind) {
    const host = document.getElementById('host');
    const markup = kind === 'button'
      ? Array.from({ length: 100 }, () => '<button type="button" class="buy">Оплатить 650 ₽</button>').join('')
      : kind === 'minimal-lit'
        ? Array.from({ length: 100 }, () => '<minimal-lit>Оплатить 650 ₽</minimal-lit>').join('')
        : Array.from({ length: 100 }, (_, i) => '<pay-checkout order-id="tea-r' + String(i).padStart(4, '0') + '" amount="650"></pay-checkout>').join('');
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    const t0 = performance.now();
    host.innerHTML = markup;
    if (kind !== 'button') await Promise.all(Array.from(host.children, (el) => el.updateComplete));
    host.getBoundingClientRect();
    document.body.offsetHeight;
    const t1 = performance.now();
    const parts = kind === 'button' ? host.querySelectorAll('button').length : Array.from(host.children).filter((el) => el.shadowRoot && el.shadowRoot.querySelector('[part~="button"]')).length;
    return { ms: t1 - t0, rendered: parts };
  },
});
`;

/** Start-up: import the bundle, wait for the definition; `initial` lists the files of the static graph. */
export function startupPage(): string {
  return pageHtml(
    '',
    `${INSTRUMENTS}
const q = new URLSearchParams(location.search);
const src = q.get('src'); const tag = q.get('tag'); const initial = (q.get('initial') || '').split(',').filter(Boolean);
await new Promise((r) => setTimeout(r, 50));
const t0 = performance.now();
await import(src);
await customElements.whenDefined(tag);
const t1 = performance.now();
const entries = performance.getEntriesByType('resource').filter((e) => initial.includes(new URL(e.name).pathname));
const fetched = entries.length ? Math.max(...entries.map((e) => e.responseEnd)) : t0;
B.startup = { total: t1 - t0, evalDefine: t1 - fetched, files: entries.length, expected: initial.length };`,
  );
}

/** 100 × render: the bundle is loaded and defined first, the measurement runs on `__bench.render(kind)`. */
export function renderPage(bundle: string, tag: string): string {
  return pageHtml(
    '<div id="host"></div>',
    `${INSTRUMENTS}
await import(${JSON.stringify(bundle)});
await customElements.whenDefined(${JSON.stringify(tag)});
B.ready = true;`,
  );
}

/** One element, as a storefront page has it; `attributes` adds e.g. `methods="sbp,card"` for the picker. */
export function elementClickPage(bundle: string, attributes = ''): string {
  return pageHtml(
    `<main style="padding:24px"><h1>Иван-чай</h1><pay-checkout order-id="tea-bench01" amount="650"${attributes ? ` ${attributes}` : ''}></pay-checkout></main>`,
    `${INSTRUMENTS}
await import(${JSON.stringify(bundle)});
await customElements.whenDefined('pay-checkout');
const el = document.querySelector('pay-checkout');
await el.updateComplete;
B.opened = 0; B.closed = 0;
el.addEventListener('pay-open', () => B.opened++);
el.addEventListener('pay-close', () => B.closed++);
B.close = () => el.close();
B.ready = true;`,
  );
}

/**
 * The hand-written floor for the click path: a button whose click handler asks for the session, opens a native
 * <dialog> with an iframe and points the iframe at the session's paymentUrl. What any widget must at least do, with
 * no framework and no lazy loading.
 */
export function floorClickPage(): string {
  return pageHtml(
    `<main style="padding:24px"><h1>Иван-чай</h1><button id="buy" type="button">Оплатить 650 ₽</button></main>
<dialog id="dlg" aria-label="Оплата"><header>Оплата <button id="x" type="button">×</button></header></dialog>`,
    `${INSTRUMENTS}
const buy = document.getElementById('buy');
const dlg = document.getElementById('dlg');
let frame = null;
B.opened = 0; B.closed = 0;
buy.addEventListener('click', async () => {
  // The request first: the round trip overlaps the dialog's and the frame's creation.
  const pending = fetch('/api/checkout/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: JSON.stringify({ orderId: 'tea-floor01' }),
  }).then((response) => response.json());
  dlg.showModal();
  frame = document.createElement('iframe');
  frame.title = 'Оплата';
  frame.style.cssText = 'width:480px;height:600px;border:0';
  dlg.append(frame);
  const current = frame;
  current.addEventListener('load', () => { if (current.src) B.opened++; });
  const session = await pending;
  current.src = session.paymentUrl;
});
B.close = () => { if (frame) frame.remove(); frame = null; dlg.close(); B.closed++; };
B.ready = true;`,
  );
}

/** The idle floor: a storefront page with one minimal LitElement button. */
export function floorIdlePage(bundle: string): string {
  return pageHtml(
    '<main style="padding:24px"><h1>Иван-чай</h1><minimal-lit>Оплатить 650 ₽</minimal-lit></main>',
    `${INSTRUMENTS}
await import(${JSON.stringify(bundle)});
await customElements.whenDefined('minimal-lit');
B.ready = true;`,
  );
}
