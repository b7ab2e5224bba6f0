// Shared test setup: msw in the browser in front of the helper API, a small in-memory helper, and tools to
// observe what a real browser would do (message sources, listener bookkeeping).
import { fixture, oneEvent, waitUntil as openWcWaitUntil } from '@open-wc/testing';
import { delay, http, HttpResponse } from 'msw';
import { setupWorker } from 'msw/browser';
import type { ConfigView } from '../../contract/index.js';
import type { SessionStatus } from '../../src/events.js';
import { forgetConfigs } from '../../src/checkout/controller.js';
import { PayCheckout } from '../../src/pay-checkout.js';
import { navigation } from '../../src/presenters/redirect.js';
import '../../src/define.js';

export const PAY_PAGE = new URL('/test/browser/fixtures/pay-page.html', location.origin).href;
export const API = '/api/checkout';

export const CONFIG: ConfigView = {
  providers: [
    {
      id: 'repay',
      name: 'Repay',
      methods: [
        { id: 'sbp', label: { ru: 'СБП', en: 'Faster Payments (SBP)' } },
        { id: 'card', label: { ru: 'Банковская карта', en: 'Bank card' } },
      ],
      minAmount: 100,
      frameable: true,
      sandbox: true,
    },
    {
      id: 'boxexchanger',
      name: 'BoxExchanger',
      methods: [{ id: 'card', label: { ru: 'Карта', en: 'Card' } }],
      minAmount: 100,
      frameable: false,
      sandbox: true,
    },
  ],
  defaultProvider: 'repay',
  currency: 'RUB',
  sandbox: true,
};

interface CreateCall {
  body: Record<string, unknown>;
  key: string | null;
}

let status: SessionStatus = 'created';
/** How many times the status changed: the fake helper's change stamp moves on by a second with each. */
let changes = 0;

/**
 * The fake helper's state; tests change `status` to simulate provider events. Each change moves its `updatedAt`
 * on, as the helper's does; `stamps: false` answers without one, as an older helper does.
 */
export const helper = {
  get status(): SessionStatus {
    return status;
  },
  set status(next: SessionStatus) {
    if (next !== status) changes++;
    status = next;
  },
  get updatedAt(): string {
    return new Date(Date.UTC(2026, 0, 1) + changes * 1000).toISOString();
  },
  stamps: true,
  frameable: true,
  paidAmount: undefined as string | undefined,
  heldReason: undefined as string | undefined,
  expiresAt: null as string | null,
  description: null as string | null,
  creates: [] as CreateCall[],
  gets: 0,
  cancels: 0,
  configs: 0,
  sessionsByKey: new Map<string, string>(),
};

export function resetHelper(): void {
  forgetConfigs();
  status = 'created';
  changes = 0;
  Object.assign(helper, {
    stamps: true,
    frameable: true,
    paidAmount: undefined,
    heldReason: undefined,
    expiresAt: null,
    description: null,
    creates: [],
    gets: 0,
    cancels: 0,
    configs: 0,
    sessionsByKey: new Map(),
  });
}

function sessionBody(id: string, body: Record<string, unknown>) {
  return {
    id,
    status: helper.status,
    provider: (body.provider as string) ?? 'repay',
    method: (body.method as string) ?? null,
    paymentUrl: `${PAY_PAGE}?session=${id}`,
    frameable: helper.frameable,
    amount: '1500',
    currency: 'RUB',
    orderId: body.orderId as string,
    description: helper.description,
    expiresAt: helper.expiresAt,
    ...(helper.stamps ? { updatedAt: helper.updatedAt } : {}),
    ...(helper.paidAmount ? { paidAmount: helper.paidAmount } : {}),
    ...(helper.status === 'held' && helper.heldReason ? { heldReason: helper.heldReason } : {}),
  };
}

let lastBody: Record<string, unknown> = { orderId: 'A-1001' };

export const handlers = [
  http.get(`${API}/config`, () => {
    helper.configs++;
    return HttpResponse.json(CONFIG);
  }),
  http.post(`${API}/sessions`, async ({ request }) => {
    const body = (await request.json()) as Record<string, unknown>;
    const key = request.headers.get('idempotency-key');
    helper.creates.push({ body, key });
    lastBody = body;
    const existing = key ? helper.sessionsByKey.get(key) : undefined;
    const id = existing ?? `cs_${helper.sessionsByKey.size + 1}`;
    if (key) helper.sessionsByKey.set(key, id);
    return HttpResponse.json({ ...sessionBody(id, body), token: `tok_${id}` }, { status: existing ? 200 : 201 });
  }),
  http.get(`${API}/sessions/:id`, ({ request, params }) => {
    helper.gets++;
    if (request.headers.get('authorization') !== `Bearer tok_${params.id as string}`) {
      return HttpResponse.json({ error: { code: 'unauthorized', message: 'bad token', retryable: false } }, { status: 401 });
    }
    return HttpResponse.json(sessionBody(params.id as string, lastBody));
  }),
  http.post(`${API}/sessions/:id/cancel`, ({ params }) => {
    helper.cancels++;
    helper.status = 'cancelled';
    return HttpResponse.json(sessionBody(params.id as string, lastBody));
  }),
];

/** The fake helper's answer about session `id` as it stands now, with `changes` over it (a stored snapshot, say). */
export function sessionAnswer(id: string, changes: Record<string, unknown> = {}) {
  return { ...sessionBody(id, lastBody), ...changes };
}

/**
 * The next status read answers late, with the status (and change stamp) the helper had when the request arrived (a poll overtaken
 * by a faster check, or held back by a retry). `started` / `answered` say how far it got.
 */
export function slowGet(ms: number): { started: boolean; answered: boolean; id?: string } {
  const seen: { started: boolean; answered: boolean; id?: string } = { started: false, answered: false };
  worker.use(
    http.get(
      `${API}/sessions/:id`,
      async ({ request, params }) => {
        helper.gets++;
        seen.started = true;
        seen.id = params.id as string;
        const status = helper.status;
        const updatedAt = helper.updatedAt;
        const authorized = request.headers.get('authorization') === `Bearer tok_${params.id as string}`;
        await delay(ms);
        seen.answered = true;
        if (!authorized) {
          return HttpResponse.json({ error: { code: 'unauthorized', message: 'bad token', retryable: false } }, { status: 401 });
        }
        const body = sessionBody(params.id as string, lastBody);
        return HttpResponse.json({ ...body, status, ...('updatedAt' in body ? { updatedAt } : {}) });
      },
      { once: true },
    ),
  );
  return seen;
}

export const worker = setupWorker(...handlers);
let started: Promise<unknown> | undefined;

/** Starts msw once per test file; unknown requests fail the way a missing route would. */
export function startWorker(): Promise<unknown> {
  return (started ??= worker.start({
    serviceWorker: { url: '/mockServiceWorker.js' },
    onUnhandledRequest: 'error',
    quiet: true,
  }));
}

/** Per suite: msw started once, and every test starts from a fresh helper, default handlers and no stored attempt. */
export function useFakeHelper(): void {
  before(startWorker);
  beforeEach(() => {
    resetHelper();
    worker.resetHandlers();
    sessionStorage.clear();
  });
}

/** An error body the helper would send. */
export function helperError(status: number, code: string, retryable = false) {
  return () => HttpResponse.json({ error: { code, message: `helper says ${code}`, retryable } }, { status });
}

export { delay, http, HttpResponse, PayCheckout };

/** How long `waitUntil` waits for its condition unless told otherwise: open-wc's 1 s is too short on a slow, shared machine. */
export const WAIT_UNTIL_TIMEOUT = 5_000;

/**
 * Open-wc's `waitUntil` with a generous default deadline: it polls for a state that is to come, so a slow machine
 * (a module compiled on first import, a busy service worker) makes it wait longer, never fail.
 */
export function waitUntil(
  predicate: () => unknown | Promise<unknown>,
  message?: string,
  options: { interval?: number; timeout?: number } = {},
): Promise<void> {
  return openWcWaitUntil(predicate, message, { timeout: WAIT_UNTIL_TIMEOUT, ...options });
}

/** Parts live in the shadow root; the test queries them as a merchant's CSS would. */
export function part<T extends Element = HTMLElement>(el: PayCheckout, name: string): T | null {
  return el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
}

/** The pointer entering the button, as the browser reports it (pointerover bubbles out of the shadow root): the first intent. */
export function hover(el: PayCheckout): void {
  part(el, 'button')!.dispatchEvent(new PointerEvent('pointerover', { bubbles: true, composed: true }));
}

/** The button getting focus without a real focus change: focusin, as the browser sends it. */
export function focusIntent(el: PayCheckout): void {
  part(el, 'button')!.dispatchEvent(new FocusEvent('focusin', { bubbles: true, composed: true }));
}

/** Clicks the button and waits for the payment page to be shown and rendered; returns the payment frame, if any. */
export async function openModal(el: PayCheckout): Promise<HTMLIFrameElement> {
  part<HTMLButtonElement>(el, 'button')!.click();
  await oneEvent(el, 'pay-open');
  await el.updateComplete;
  return part<HTMLIFrameElement>(el, 'frame')!;
}

/**
 * Opens the dialog, then has the helper answer `status` to the check the provider page's return triggers; the frame
 * with the payment page.
 */
export async function settleInModal(el: PayCheckout, status: SessionStatus): Promise<HTMLIFrameElement> {
  const frame = await openModal(el);
  helper.status = status;
  postReturn(frame.contentWindow, returnMessage('cs_1'));
  await waitUntil(() => el.state === status, status);
  await el.updateComplete;
  return frame;
}

export function dialogOf(el: PayCheckout): HTMLDialogElement {
  return el.shadowRoot!.querySelector('dialog')!;
}

/** Sends a return-page message as the browser would deliver it, with a chosen origin and source window. */
export function postReturn(
  source: Window | null,
  data: unknown,
  origin = location.origin,
): void {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}

export function returnMessage(sessionId: string, outcome: 'success' | 'error' | 'cancel' = 'success') {
  return { type: 'pay-checkout:return', v: 1, sessionId, outcome };
}

/** Counts the element's requested updates from now on (a running countdown asks for one a second). */
export function countUpdates(el: PayCheckout): () => number {
  let updates = 0;
  const requestUpdate = el.requestUpdate.bind(el);
  el.requestUpdate = ((...args: Parameters<PayCheckout['requestUpdate']>) => {
    updates++;
    return requestUpdate(...args);
  }) as PayCheckout['requestUpdate'];
  return () => updates;
}

/** Collects events of the given names from an element, in order. */
export function record(el: EventTarget, names: string[]): CustomEvent[] {
  const seen: CustomEvent[] = [];
  for (const name of names) el.addEventListener(name, (e) => seen.push(e as CustomEvent));
  return seen;
}

export function names(events: Event[]): string[] {
  return events.map((e) => e.type);
}

/**
 * Counts window/document listeners that are still attached: added minus removed minus those whose
 * AbortSignal fired. Install before creating elements, call `active()` at the end.
 */
export function trackListeners() {
  const live = new Set<{ target: EventTarget; type: string; listener: unknown; signal?: AbortSignal }>();
  const targets: EventTarget[] = [window, document];
  const originals = targets.map((target) => {
    const add = target.addEventListener;
    const remove = target.removeEventListener;
    target.addEventListener = function (type: string, listener: unknown, options?: unknown) {
      const signal = typeof options === 'object' && options ? (options as AddEventListenerOptions).signal : undefined;
      live.add({ target, type, listener, signal });
      return add.call(this, type, listener as EventListener, options as AddEventListenerOptions);
    };
    target.removeEventListener = function (type: string, listener: unknown, options?: unknown) {
      for (const entry of live) if (entry.type === type && entry.listener === listener) live.delete(entry);
      return remove.call(this, type, listener as EventListener, options as EventListenerOptions);
    };
    return { target, add, remove };
  });
  return {
    active(filter: (type: string) => boolean = () => true): string[] {
      return [...live].filter((e) => !e.signal?.aborted && filter(e.type)).map((e) => e.type);
    },
    restore(): void {
      for (const { target, add, remove } of originals) {
        target.addEventListener = add;
        target.removeEventListener = remove;
      }
    },
  };
}

/** Fast polling for tests; restored by the caller. */
export function fastTiming(overrides: Partial<typeof PayCheckout.timing> = {}): () => void {
  const saved = { ...PayCheckout.timing };
  Object.assign(PayCheckout.timing, { poll: 50, pollMax: 100, ...overrides });
  return () => Object.assign(PayCheckout.timing, saved);
}

/** Per suite: every test polls fast (`fastTiming()`), and the timing is put back after it. */
export function useFastTiming(): void {
  let restore: (() => void) | undefined;
  beforeEach(() => (restore = fastTiming()));
  afterEach(() => restore?.());
}

/** Waits `ms` of real time (for what must *not* happen meanwhile). */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The payer pressed "Pay" for `orderId` in redirect mode and the page left for the provider: the element is gone, its
 * attempt (session and token) kept in the tab for the return.
 */
export async function leaveForRedirect(orderId: string): Promise<void> {
  const original = navigation.assign;
  navigation.assign = () => undefined;
  try {
    const el = document.createElement('pay-checkout') as PayCheckout;
    el.setAttribute('order-id', orderId);
    el.setAttribute('mode', 'redirect');
    await fixture(el);
    part<HTMLButtonElement>(el, 'button')!.click();
    await oneEvent(el, 'pay-open');
    el.remove();
  } finally {
    navigation.assign = original;
  }
}
