/**
 * Bytes a payer downloads, as Chromium's Network domain counts them (not file sizes added up): every response the
 * page received except the page itself and the payment page in the frame — the widget's scripts and its calls to
 * the helper — on the wire, compressed as served (the bench server sends gzip -9 to a browser that accepts it).
 * Three moments, each beside a same-run baseline:
 *   - a page with one visible button that nobody touches (until the network has been quiet for a while);
 *   - hover → click → the modal with the payment page;
 *   - hover → click → the method picker → a choice → the modal with the payment page.
 * The same page after the payer moved the pointer elsewhere (the idle preload) is reported as information.
 */
import type { Browser, CDPSession, Page } from '@playwright/test';
import { formatBytes, row, type Row } from './lib/report.js';
import { median } from './lib/stats.js';

const KB = 1000;
/** The network counts as quiet after this long without a request in flight. */
const QUIET_MS = 1000;
const HOVER_MS = 300;

interface Transfer {
  path: string;
  /** Body bytes on the wire (compressed as served). */
  body: number;
  /** Response header bytes. */
  headers: number;
}

/** Records every response of the page through CDP's Network domain, from before the navigation on. */
async function recorder(page: Page) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const urls = new Map<string, string>();
  const headerBytes = new Map<string, number>();
  const done: Transfer[] = [];
  let inFlight = 0;
  let lastChange = Date.now();
  cdp.on('Network.requestWillBeSent', (e: { requestId: string; request: { url: string } }) => {
    if (!urls.has(e.requestId)) inFlight++;
    urls.set(e.requestId, e.request.url);
    lastChange = Date.now();
  });
  // encodedDataLength at responseReceived is what arrived so far: the status line and headers.
  cdp.on('Network.responseReceived', (e: { requestId: string; response: { encodedDataLength: number } }) => {
    headerBytes.set(e.requestId, e.response.encodedDataLength);
  });
  cdp.on('Network.loadingFinished', (e: { requestId: string; encodedDataLength: number }) => {
    const url = urls.get(e.requestId);
    inFlight--;
    lastChange = Date.now();
    if (!url) return;
    const headers = headerBytes.get(e.requestId) ?? 0;
    done.push({ path: new URL(url).pathname, body: e.encodedDataLength - headers, headers });
  });
  cdp.on('Network.loadingFailed', () => {
    inFlight--;
    lastChange = Date.now();
  });
  return {
    /** Waits until nothing has been in flight for QUIET_MS. */
    async quiet(): Promise<void> {
      const until = Date.now() + 15_000;
      while (Date.now() < until) {
        if (inFlight <= 0 && Date.now() - lastChange >= QUIET_MS) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the network never went quiet');
    },
    /** What the widget cost: all but the document, the payment page and the favicon. */
    widget(): Transfer[] {
      return done.filter((t) => !t.path.startsWith('/pages/') && !t.path.startsWith('/pay/') && t.path !== '/favicon.ico');
    },
  };
}

type Scenario = 'idle' | 'active' | 'click' | 'picker';

async function run(browser: Browser, base: string, pageName: string, scenario: Scenario, selector: string): Promise<Transfer[]> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
  const page = await context.newPage();
  try {
    const net = await recorder(page);
    await page.goto(`${base}/pages/${pageName}`);
    await page.waitForFunction('window.__bench && window.__bench.ready === true', undefined, { timeout: 15_000 });
    if (scenario === 'active') {
      // The payer moves the pointer somewhere else on the page: activity, not an intent on the button.
      await page.mouse.move(5, 5);
      await page.mouse.move(40, 30, { steps: 5 });
    } else if (scenario === 'click' || scenario === 'picker') {
      await page.hover(selector);
      await page.waitForTimeout(HOVER_MS);
      await page.click(selector);
      if (scenario === 'picker') {
        await page.waitForFunction(`!!window.__bench.deepQuery(document, '[part~="picker"] [role="option"]')`, undefined, { timeout: 10_000 });
        await page.evaluate(`window.__bench.deepQuery(document, '[part~="picker"] [role="option"]').click()`);
      }
      await page.waitForFunction('window.__bench.opened >= 1', undefined, { timeout: 10_000 });
    }
    await net.quiet();
    return net.widget();
  } finally {
    await context.close();
  }
}

function describe(transfers: Transfer[]): string {
  const byPath = transfers.map((t) => `${t.path.replace(/^\/(dist|floor)\//, '')} ${formatBytes(t.body)}`).join(', ');
  const headers = transfers.reduce((sum, t) => sum + t.headers, 0);
  return `${transfers.length} response(s): ${byPath || 'none'}; response headers ${formatBytes(headers)} more`;
}

const body = (transfers: Transfer[]): number => transfers.reduce((sum, t) => sum + t.body, 0);

export async function measureBytes(
  log: (line: string) => void,
  browser: Browser,
  base: string,
  pages: { idleElement: string; idleFloor: string; clickElement: string; clickFloor: string; pickerElement: string },
  runs: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const cases = [
    {
      metric: 'downloaded: page with an idle visible button',
      element: () => run(browser, base, pages.idleElement, 'idle', ''),
      floor: () => run(browser, base, pages.idleFloor, 'idle', ''),
      floorLabel: 'minimal Lit',
      limit: 10 * KB,
    },
    {
      metric: 'downloaded: same page after pointer activity',
      element: () => run(browser, base, pages.idleElement, 'active', ''),
      floor: () => run(browser, base, pages.idleFloor, 'active', ''),
      floorLabel: 'minimal Lit',
      limit: 0,
    },
    {
      metric: 'downloaded: hover → click → modal',
      element: () => run(browser, base, pages.clickElement, 'click', 'pay-checkout [part~="button"]'),
      floor: () => run(browser, base, pages.clickFloor, 'click', '#buy'),
      floorLabel: 'hand-written fetch+iframe',
      limit: 20 * KB,
    },
    {
      metric: 'downloaded: hover → click → picker → modal',
      element: () => run(browser, base, pages.pickerElement, 'picker', 'pay-checkout [part~="button"]'),
      floor: () => run(browser, base, pages.clickFloor, 'click', '#buy'),
      floorLabel: 'hand-written fetch+iframe',
      limit: 22 * KB,
    },
  ];
  for (const c of cases) {
    const el: Transfer[][] = [];
    const fl: Transfer[][] = [];
    for (let i = 0; i < runs; i++) {
      el.push(await c.element());
      fl.push(await c.floor());
    }
    const value = median(el.map(body));
    const baseline = median(fl.map(body));
    // The run whose total is the median, to list its responses.
    const shown = el.find((t) => body(t) === value) ?? el[0]!;
    const over = value - c.limit;
    log(`element: ${c.metric} ${value} B (baseline ${baseline} B)`);
    rows.push(
      row({
        group: 'element',
        metric: c.metric,
        value,
        unit: 'B',
        baseline,
        baselineLabel: c.floorLabel,
        target: c.limit ? `≤ ${c.limit / KB} kB` : '',
        verdict: !c.limit ? 'info' : over <= 0 ? 'pass' : 'miss',
        note:
          `Chromium Network domain, body bytes as served (gzip -9), every response but the page and the payment page; median of ${runs}. ` +
          `${describe(shown)}. Baseline: ${describe(fl[0]!)}.` +
          (c.limit && over > 0 ? ` Over by ${(over / KB).toFixed(2)} kB.` : ''),
        detail: { element: el, floor: fl },
      }),
    );
  }
  return rows;
}
