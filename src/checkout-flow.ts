import { html, nothing, render, type TemplateResult } from 'lit';
import { newKey, saveAttempt } from './attempt-writes.js';
import { attemptKey, loadAttempt, type Attempt } from './attempts.js';
import { PayCheckoutError } from './errors.js';
import {
  emit,
  type CancelReason,
  type CloseSource,
  type PayErrorDetail,
  type PaySession,
  type PayCheckoutState,
  type PresentedMode,
  type ProviderId,
  type ReturnOutcome,
  type SessionStatus,
} from './events.js';
import { formatMoney, loadStrings, t, type StringKey } from './i18n.js';
import type { MethodPicker } from './method-picker.js';
import { PayCheckout } from './pay-checkout.js';
import { inlineTemplate } from './presenters/inline.js';
import { lockScroll, modalTemplate, unlockScroll, type ModalHandlers } from './presenters/modal.js';
import type { PanelView } from './presenters/panel.js';
import { openPaymentWindow } from './presenters/open-window.js';
import { closeWindow, navigateWindow, watchWindow } from './presenters/popup.js';
import { clearReturnHash, navigation, readReturnHash, returnUrlFor } from './presenters/redirect.js';
import { panelStyles } from './presenters/styles.js';
import { listenForReturn } from './return-listener.js';
import { helperBase, resolveSessionUrl } from './helper-url.js';
import { SessionClient, type HelperConfig, type ProviderConfig, type SessionData } from './session-client.js';

let prepared = false;

/**
 * Once per page, when the first flow is created: the dialog's templates.
 * Lit parses a template the first time it is used. Doing that for the dialog's templates now, once per page,
 * keeps it out of the click: the click only fills in bindings.
 */
function prepare(handlers: ModalHandlers): void {
  if (prepared) return;
  prepared = true;
  const noop = (): void => undefined;
  const view: PanelView = {
    title: '',
    amount: '-',
    message: '-',
    busy: true,
    countdown: '-',
    frameUrl: 'about:blank',
    frameTitle: '',
    paymentUrl: 'about:blank',
    newWindowLabel: '',
    closeLabel: '',
    locked: false,
    actions: [{ label: '', run: noop, primary: true }],
    onFrameLoad: noop,
    onOpenWindow: noop,
    onClose: noop,
  };
  render(html`${modalTemplate(view, handlers)}${inlineTemplate(view)}`, document.createDocumentFragment());
}

/** Codes whose sentences come with the dialog's strings: the element's own, said without the helper. */
const OWN_CODES: readonly string[] = ['network_error', 'timeout', 'popup_blocked', 'failed', 'expired'];
/** How the helper's codes map onto one another's sentences (./strings.ts), loaded with them. */
let aliases: Record<string, string> | undefined;
const refusals = new Set<string>();

/**
 * The sentences for the helper's refusals and their aliases: not needed to show the payment page, so loaded the
 * first time a page gets a refusal (once per language; then at once). A failed load leaves the generic sentence.
 */
async function loadRefusals(locale: string): Promise<void> {
  const lang = locale.split('-')[0]!;
  if (aliases && refusals.has(lang)) return;
  try {
    [, { ERROR_ALIASES: aliases }] = await Promise.all([loadStrings(locale), import('./strings.js')]);
    refusals.add(lang);
  } catch {
    // offline, or the chunk is gone: the generic sentence
  }
}

/** A session as `POST /sessions` answered it, with the attempt whose key it was created under. */
interface Created {
  session: SessionData;
  reused: boolean;
  attempt: Attempt;
}

/** A session request started on the press, before the click. */
interface Early {
  method: string | undefined;
  request: Promise<Created>;
  timer: ReturnType<typeof setTimeout>;
  result?: Created;
}

/** One `/config` request per helper, shared by every element on the page. */
const configs = new Map<string, Promise<HelperConfig | undefined>>();

/**
 * Fetches a helper's `/config` once for the page (the element calls this when it first becomes visible).
 * @internal
 */
export function warmHelper(sessionUrl: string): void {
  void sharedConfig(sessionUrl);
}

/** A client is only made (or `http` used) when this helper's `/config` was not asked for yet. */
function sharedConfig(sessionUrl: string, http?: SessionClient): Promise<HelperConfig | undefined> {
  const base = helperBase(resolveSessionUrl(sessionUrl));
  let shared = configs.get(base);
  if (!shared) {
    // Not tied to one element's lifetime: others on the page wait for the same answer. A failure is
    // forgotten so that a later intent tries again.
    shared = (http ?? new SessionClient(sessionUrl, PayCheckout.timing.timeout)).config().catch(() => {
      configs.delete(base);
      return undefined;
    });
    configs.set(base, shared);
  }
  return shared;
}

/** @internal tests start each case with a helper whose `/config` was never read */
export function forgetConfigs(): void {
  configs.clear();
}

/** Frame titles before `/config` has named the providers. */
const PROVIDER_NAMES: Record<ProviderId, string> = { repay: 'Repay', boxexchanger: 'BoxExchanger', agetrading: 'age.trading' };

/** Statuses after which nothing changes without a person. */
const FINAL: readonly SessionStatus[] = ['paid', 'refunded', 'failed', 'cancelled', 'expired'];
/** Statuses that leave the payer nothing to do: final, or `held` (a person reviews it). Closing then is no cancellation. */
const SETTLED: readonly SessionStatus[] = [...FINAL, 'held'];
/** Statuses that end an attempt: the next click starts a new one with a new Idempotency-Key. */
const RESTART: readonly SessionStatus[] = ['failed', 'cancelled', 'expired'];

function publicSession(s: SessionData): PaySession {
  const out: PaySession = {
    id: s.id,
    orderId: s.orderId,
    provider: s.provider,
    method: s.method ?? null,
    status: s.status,
    amount: s.amount,
    currency: s.currency,
  };
  if (s.paidAmount != null) out.paidAmount = s.paidAmount;
  if (s.status === 'held' && s.heldReason) out.heldReason = s.heldReason;
  return out;
}

function remaining(expiresAt: SessionData['expiresAt']): number | undefined {
  if (expiresAt == null || expiresAt === '') return undefined;
  const at = typeof expiresAt === 'number' && expiresAt < 1e12 ? expiresAt * 1000 : new Date(expiresAt).getTime();
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function clock(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

/**
 * Everything after the first intent: the session client, the presenters, the return listener, status polling
 * and the picker. Loaded lazily by the element; one instance per connected element.
 */
export class CheckoutFlow {
  /** The presenter currently showing the payment (or, for `redirect`, resuming it). */
  presenter?: PresentedMode;
  #session?: SessionData;
  #client?: SessionClient;
  #config?: Promise<HelperConfig | undefined>;
  #cfg?: HelperConfig;
  #attemptAc?: AbortController;
  #popup?: Window | null;
  #frameUrl?: string;
  #needsWindow = false;
  #error?: PayErrorDetail;
  #method?: string;
  #returned = false;
  #cancelReason?: CancelReason;
  #picker?: MethodPicker;
  #early?: Early;
  #pollTimer?: ReturnType<typeof setTimeout>;
  #tickTimer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly host: PayCheckout,
    private readonly signal: AbortSignal,
  ) {
    const root = host.shadowRoot;
    const sheet = panelStyles.styleSheet;
    if (root && sheet && !root.adoptedStyleSheets.includes(sheet)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    }
    prepare(this.#modalHandlers);
  }

  get pickerOpen(): boolean {
    return !!this.#picker?.open;
  }

  publicSession(): PaySession | null {
    return this.#session ? publicSession(this.#session) : null;
  }

  hidesButton(): boolean {
    return this.presenter === 'inline';
  }

  /** First intent: fetch `/config` (frameability, method labels) and the picker code if it will be needed. */
  warm(): void {
    void this.#loadConfig();
    if (this.host.wantsPicker()) void import('./method-picker.js');
  }

  /** A click or `open()`. `popup` was opened synchronously by the element when it had to load this module first. */
  activate(popup?: Window | null): void {
    if (this.presenter && this.presenter !== 'redirect') {
      closeWindow(popup);
      this.#focus();
      return;
    }
    // Busy, confirming, or nothing left to pay (a held session waits for a person and is being polled): a click
    // must not start a payment. An order the helper called held (no session here) is asked about again.
    const state = this.host._state;
    if (['creating', 'redirecting', 'confirming', 'paid'].includes(state) || (state === 'held' && this.#session?.status === 'held')) {
      return closeWindow(popup);
    }
    if (this.#picker?.open) {
      closeWindow(popup);
      this.#picker.hide();
      return;
    }
    if (this.host.wantsPicker()) {
      closeWindow(popup);
      void this.#showPicker();
      return;
    }
    this.#start(this.host.method ?? this.host.methodList()[0], popup);
  }

  /** Closes whatever shows the payment; idempotent. Not locked: merchants may close programmatically. */
  close(): void {
    this.#picker?.hide(false);
    const presenter = this.presenter;
    if (!presenter || presenter === 'redirect') return;
    this.presenter = undefined;
    this.#attemptAc?.abort();
    this.#frameUrl = undefined;
    if (presenter === 'modal') this.#hideDialog();
    closeWindow(this.#popup);
    this.#popup = undefined;
    const session = this.#session;
    emit(this.host, 'pay-close', { session: session && publicSession(session), status: session?.status ?? null });
    const state = this.host._state;
    // A settled payment stays said under the button (held: what happens next); anything else is idle again.
    if (state !== 'paid' && state !== 'held' && state !== 'refunded') this.host.setState('idle');
    else this.#set(state);
    if (presenter === 'inline') void this.host.updateComplete.then(() => this.host.focusButton());
    if (this.#error) {
      // Closed because of an error (or after one): that was already reported as pay-error.
    } else if (session && !SETTLED.includes(session.status)) {
      void this.#afterDismiss(session);
    } else if (!session && state === 'creating') {
      emit(this.host, 'pay-cancel', { reason: 'dismissed' });
    }
  }

  /** The element left the page: abort everything; late results are ignored. */
  destroy(): void {
    clearTimeout(this.#early?.timer);
    this.#early = undefined;
    this.#attemptAc?.abort();
    this.#picker?.hide(false);
    if (this.presenter === 'modal') this.#hideDialog(false);
    this.presenter = undefined;
  }

  /**
   * The page (re)loaded with this order's attempt in the tab: back from a redirect with
   * `#pay-checkout=<id>:<outcome>` (resume if the session is ours), or an order already paid or held here (show
   * it again instead of "Pay", and keep checking a held session, which a person may settle).
   */
  async resume(): Promise<void> {
    const ret = readReturnHash();
    const attempt = loadAttempt(this.#storageKey());
    const session = attempt?.session;
    if (ret && session?.token && session.id === ret.sessionId) {
      clearReturnHash();
      this.#session = { ...session, paymentUrl: '' } as SessionData;
      this.#begin('redirect');
      this.#method = attempt!.method;
      this.#onReturn(ret.outcome);
    } else if (attempt?.settled) {
      const settled = attempt.settled;
      if (session?.token && session.status === settled) this.#session = { ...session, paymentUrl: '' } as SessionData;
      else {
        const explaining = this.#explain();
        if (explaining) await explaining;
        if (this.signal.aborted) return;
        this.#error = { code: `order_${settled}`, message: this.#errorMessage(`order_${settled}`), retryable: false };
      }
      this.#set(settled);
      if (this.#session?.status === 'held') {
        this.#newAttempt();
        await this.#refresh();
        if (!FINAL.includes(this.#session.status)) this.#poll();
      }
    }
  }

  render(locale: string): TemplateResult {
    const view = this.presenter === 'modal' || this.presenter === 'inline' ? this.#view(locale) : undefined;
    return html`${modalTemplate(this.presenter === 'modal' ? view : undefined, this.#modalHandlers)}${this.presenter ===
        'inline' && view
        ? inlineTemplate(view)
        : nothing}${this.#picker?.render(t(locale, 'chooseMethod')) ?? nothing}`;
  }

  // ── attempt ──────────────────────────────────────────────────────────────────────────────────────────

  #start(method: string | undefined, popup?: Window | null): void {
    let mode = this.#resolveMode();
    this.#method = method;
    if (mode === 'popup') {
      // Still synchronous inside the click (or picker choice): the browser allows the window.
      popup ??= openPaymentWindow();
      if (!popup) {
        this.#report(new PayCheckoutError('popup_blocked', false));
        mode = 'redirect';
      }
    } else {
      closeWindow(popup);
      popup = undefined;
    }
    this.#begin(mode);
    this.#popup = popup;
    const early = this.#early;
    if (early?.result && early.method === method && !(early.result.reused && RESTART.includes(early.result.session.status))) {
      // The press already brought the session: show the payment page in this very task. The frame is
      // rendered before showModal() so its navigation starts before the dialog's first layout.
      this.#early = undefined;
      clearTimeout(early.timer);
      this.#accept(early.result, mode);
      if (mode === 'modal') {
        this.host.renderNow();
        this.#showDialog();
      }
      return;
    }
    this.#set('creating');
    if (mode === 'modal') this.#showDialog();
    void this.#create(method, mode);
  }

  #begin(mode: PresentedMode): void {
    this.#newAttempt();
    this.presenter = mode;
    this.#error = undefined;
    this.#frameUrl = undefined;
    this.#needsWindow = false;
    this.#returned = false;
    this.#cancelReason = undefined;
  }

  /** A new attempt's abort signal, which stops its requests, polling and countdown (and is aborted with the flow). */
  #newAttempt(): void {
    this.#attemptAc?.abort();
    const ac = (this.#attemptAc = new AbortController());
    this.signal.addEventListener('abort', () => ac.abort(), { signal: ac.signal });
    ac.signal.addEventListener('abort', () => {
      clearTimeout(this.#pollTimer);
      clearInterval(this.#tickTimer);
    });
  }

  async #create(method: string | undefined, mode: PresentedMode, fresh = false): Promise<void> {
    const signal = this.#attemptAc!.signal;
    const early = this.#early;
    this.#early = undefined;
    clearTimeout(early?.timer);
    try {
      const { session, reused, attempt } =
        !fresh && early && early.method === method ? await early.request : await this.#request(method, fresh, signal);
      if (signal.aborted) return;
      // A reused key can answer with a session that ended while the page was away: start a fresh attempt.
      if (reused && RESTART.includes(session.status)) return this.#create(method, mode, true);
      this.#accept({ session, reused, attempt }, mode);
    } catch (error) {
      if (signal.aborted) return;
      // The same key with a different request (the page's URL, hence returnUrl, changed since): a new attempt.
      if (!fresh && error instanceof PayCheckoutError && error.code === 'idempotency_key_reused') {
        return this.#create(method, mode, true);
      }
      if (error instanceof PayCheckoutError && (error.code === 'order_paid' || error.code === 'order_held')) {
        return this.#orderSettled(error.code === 'order_paid' ? 'paid' : 'held', error);
      }
      return this.#fail(error, signal);
    }
  }

  /** The helper answered with a usable session: show it (or its final status). */
  #accept({ session, attempt }: Created, mode: PresentedMode): void {
    this.#session = { ...session, paymentUrl: this.#pageUrl(session) };
    this.#save(attempt);
    if (FINAL.includes(session.status)) this.#react(session.status);
    else this.#present(mode);
  }

  /** POST the session with this attempt's Idempotency-Key (a new key when `fresh` or the attempt ended). */
  async #request(method: string | undefined, fresh: boolean, signal: AbortSignal): Promise<Created> {
    const host = this.host;
    const storageKey = this.#storageKey();
    const provider = host.provider ?? undefined;
    const known = loadAttempt(storageKey);
    const reused = !!known && !fresh && !known.done && known.provider === provider && known.method === method;
    const attempt = reused ? known : { key: newKey(), provider, method };
    saveAttempt(storageKey, attempt);
    const session = await this.#http().create(
      { orderId: host.orderId!.trim(), provider, method, locale: host.currentLocale().split('-')[0], returnUrl: returnUrlFor(host.returnUrl) },
      attempt.key,
      signal,
    );
    return { session, reused, attempt };
  }

  /**
   * Pointer down (or Enter / Space) on the button: the click is about to come, so the session request starts
   * now and its round trip overlaps the press. Only on a press, never on hover: creating a provider payment is the
   * payer's decision. A press without a click (dragged away) leaves a session the next click reuses.
   */
  prestart(): void {
    const state = this.host._state;
    if (this.presenter || this.#early || this.host.wantsPicker() || (state !== 'idle' && state !== 'error')) return;
    const method = this.host.method ?? this.host.methodList()[0];
    const request = this.#request(method, false, this.signal);
    // Unused for a while (no click followed): forget it, so a later click asks afresh.
    const timer = setTimeout(() => (this.#early = undefined), 10_000);
    const early: Early = { method, request, timer };
    this.#early = early;
    // Errors are reported by the click that uses the request.
    request.then((result) => (early.result = result), () => undefined);
  }

  #present(mode: PresentedMode): void {
    const session = this.#session!;
    const signal = this.#attemptAc!.signal;
    listenForReturn(
      this.#http().origin,
      () => [this.#frameWindow(), this.#popup],
      (id, outcome) => id === this.#session?.id && this.#onReturn(outcome),
      signal,
    );
    if (mode === 'redirect') {
      // Back from the provider through the browser's back button, the page may come from the back/forward
      // cache still "redirecting": make the button usable again.
      window.addEventListener(
        'pageshow',
        (event) => {
          if (event.persisted && this.host._state === 'redirecting') {
            this.presenter = undefined;
            this.#set('idle');
          }
        },
        { signal },
      );
      this.#set('redirecting');
      emit(this.host, 'pay-open', { session: publicSession(session), mode });
      navigation.assign(session.paymentUrl);
      return;
    }
    if (mode === 'popup') {
      const popup = this.#popup!;
      if (!navigateWindow(popup, session.paymentUrl)) {
        this.close();
        return;
      }
      watchWindow(popup, () => this.#onWindowClosed(), signal);
      this.#set('waiting');
    } else if (session.frameable === false) {
      // The provider refuses framing: a new window needs a fresh click, so offer one.
      this.#needsWindow = true;
      this.#set('waiting');
    } else {
      this.#frameUrl = session.paymentUrl;
      this.#set('loading');
    }
    emit(this.host, 'pay-open', { session: publicSession(session), mode });
    this.#tick();
    this.#poll();
  }

  async #fail(error: unknown, signal: AbortSignal): Promise<void> {
    console.warn('[pay-checkout]', error);
    const explaining = this.#explain(error);
    if (explaining) await explaining;
    if (signal.aborted) return;
    const popup = this.presenter === 'popup';
    this.#error = this.#report(error);
    if (popup) {
      // The blank window opened for the click is useless now.
      this.close();
    }
    if (this.presenter !== 'modal' && this.presenter !== 'inline') this.presenter = undefined;
    this.#set('error');
  }

  /**
   * The helper refused a new payment because the order is paid, or a payment for it is held (perhaps from
   * another tab or device): nothing is left to pay here. Reported as `pay-error` as before, shown as that state,
   * and remembered so that a reload does not offer "Pay" again.
   */
  async #orderSettled(settled: 'paid' | 'held', error: PayCheckoutError): Promise<void> {
    const signal = this.#attemptAc!.signal;
    const explaining = this.#explain(error);
    if (explaining) await explaining;
    if (signal.aborted) return;
    this.#error = this.#report(error);
    if (this.presenter === 'popup') this.close();
    if (this.presenter !== 'modal' && this.presenter !== 'inline') this.presenter = undefined;
    this.#remember({ done: true, settled });
    this.#set(settled);
  }

  #report(error: unknown): PayErrorDetail {
    const e =
      error instanceof PayCheckoutError ? error : new PayCheckoutError('bad_response', true, String(error), { cause: error });
    const detail: PayErrorDetail = { code: e.code, message: this.#errorMessage(e.code), retryable: e.retryable };
    if (this.#session) detail.session = publicSession(this.#session);
    emit(this.host, 'pay-error', detail);
    return detail;
  }

  /** Loads the sentences for `error` first when it is (or may be) a refusal of the helper's (see `loadRefusals`). */
  #explain(error?: unknown): Promise<void> | void {
    if (!(error instanceof PayCheckoutError && OWN_CODES.includes(error.code))) {
      const locale = this.host.currentLocale();
      if (!aliases || !refusals.has(locale.split('-')[0]!)) return loadRefusals(locale);
    }
  }

  #errorMessage(code: string): string {
    const locale = this.host.currentLocale();
    const alias = aliases?.[code];
    return t(locale, `error.${code}`) || (alias && t(locale, `error.${alias}`)) || t(locale, 'error.generic');
  }

  // ── status ───────────────────────────────────────────────────────────────────────────────────────────

  #onReturn(outcome: ReturnOutcome): void {
    const session = this.#session!;
    this.#returned = true;
    // The return page replaced the provider page: show our own status instead of "you can close this window".
    this.#frameUrl = undefined;
    this.#needsWindow = false;
    emit(this.host, 'pay-return', { session: publicSession(session), outcome });
    this.#set('confirming');
    void (outcome === 'cancel' ? this.#cancel('payer') : this.#confirm());
  }

  async #confirm(): Promise<void> {
    await this.#refresh();
    if (this.#attemptAc?.signal.aborted) return;
    if (this.host._state === 'confirming') this.#set('waiting');
    if (!FINAL.includes(this.#session!.status)) this.#poll();
  }

  async #cancel(reason: CancelReason): Promise<void> {
    const session = this.#session!;
    const signal = this.#attemptAc!.signal;
    this.#cancelReason = reason;
    try {
      this.#apply(await this.#http().cancel(session.id, session.token!, signal));
      if (this.host._state === 'confirming') this.#set('waiting');
      if (!FINAL.includes(this.#session!.status)) this.#poll();
    } catch {
      if (!signal.aborted) await this.#confirm();
    }
  }

  #poll(delay = PayCheckout.timing.poll): void {
    clearTimeout(this.#pollTimer);
    const signal = this.#attemptAc!.signal;
    this.#pollTimer = setTimeout(async () => {
      await this.#refresh();
      if (!signal.aborted && !FINAL.includes(this.#session!.status)) {
        this.#poll(Math.min(delay * 1.5, PayCheckout.timing.pollMax));
      }
    }, delay);
  }

  async #refresh(signal = this.#attemptAc!.signal): Promise<void> {
    const session = this.#session;
    if (!session?.token || signal.aborted) return;
    try {
      this.#apply(await this.#http().get(session.id, session.token, signal));
    } catch (error) {
      // Polling shrugs off what a retry can fix; a refused token or a vanished session ends the attempt.
      if (!signal.aborted && error instanceof PayCheckoutError && !error.retryable) {
        clearTimeout(this.#pollTimer);
        await this.#fail(error, signal);
      }
    }
  }

  #apply(fresh: SessionData): void {
    const previous = this.#session!;
    this.#session = { ...previous, ...fresh, token: previous.token, paymentUrl: previous.paymentUrl || fresh.paymentUrl };
    this.#save();
    if (fresh.status !== previous.status) {
      emit(this.host, 'pay-status', {
        session: publicSession(this.#session),
        status: fresh.status,
        previous: previous.status,
      });
      this.#react(fresh.status);
    }
  }

  /** What a verified status means for the payer. */
  #react(status: SessionStatus): void {
    const host = this.host;
    const session = publicSession(this.#session!);
    if (FINAL.includes(status)) {
      clearTimeout(this.#pollTimer);
      clearInterval(this.#tickTimer);
      this.#frameUrl = undefined;
      this.#needsWindow = false;
      if (this.presenter === 'popup') closeWindow(this.#popup);
    }
    if (status === 'paid') {
      this.#error = undefined;
      this.#remember({ done: true, settled: 'paid' });
      this.#set('paid');
      emit(host, 'pay-success', { session });
    } else if (status === 'failed' || status === 'expired') {
      this.#remember({ done: true, settled: undefined });
      this.#set(status);
      this.#error = { code: status, message: this.#errorMessage(status), retryable: true, session };
      emit(host, 'pay-error', this.#error);
    } else if (status === 'cancelled') {
      this.#remember({ done: true, settled: undefined });
      this.#set('cancelled');
      emit(host, 'pay-cancel', { session, reason: this.#cancelReason ?? 'provider' });
    } else if (status === 'held' || status === 'refunded') {
      this.#error = undefined;
      this.#remember({ settled: status === 'held' ? 'held' : undefined });
      this.#set(status);
    } else if (host._state !== 'loading' && host._state !== 'creating') {
      this.#set('waiting');
    }
  }

  async #afterDismiss(session: SessionData): Promise<void> {
    // The payer may have paid and closed the page before the confirmation arrived: check once before
    // reporting a cancellation. The provider payment itself stays open and is reused on the next click.
    this.#cancelReason = 'dismissed';
    await this.#refresh(this.signal);
    if (this.signal.aborted || (this.#session && SETTLED.includes(this.#session.status))) return;
    emit(this.host, 'pay-cancel', { session: publicSession(this.#session ?? session), reason: 'dismissed' });
  }

  // ── presenters ───────────────────────────────────────────────────────────────────────────────────────

  #onWindowClosed(): void {
    if (this.presenter === 'popup') {
      if (this.#returned || FINAL.includes(this.#session?.status as SessionStatus)) {
        // The return page closes itself: the popup is gone, the confirmation goes on under the button.
        this.presenter = 'redirect';
        this.#popup = undefined;
        const s = this.#session!;
        emit(this.host, 'pay-close', { session: publicSession(s), status: s.status });
      } else {
        this.close();
      }
    } else if (this.#popup?.closed && !this.#returned && this.#session && !FINAL.includes(this.#session.status)) {
      // A window opened from the modal's header was closed: offer it again and check the status now.
      this.#popup = undefined;
      this.#needsWindow = true;
      this.host.requestUpdate();
      void this.#refresh();
    }
  }

  #openWindow = (event: Event): void => {
    event.preventDefault();
    const session = this.#session;
    if (!session?.paymentUrl) return;
    const win = openPaymentWindow();
    if (!win) {
      this.#report(new PayCheckoutError('popup_blocked', false));
      return;
    }
    navigateWindow(win, session.paymentUrl);
    closeWindow(this.#popup);
    this.#popup = win;
    this.#frameUrl = undefined;
    this.#needsWindow = false;
    if (this.host._state === 'loading') this.#set('waiting');
    else this.host.requestUpdate();
    watchWindow(win, () => this.#onWindowClosed(), this.#attemptAc!.signal);
  };

  #dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector('dialog');
  }

  #showDialog(): void {
    const dialog = this.#dialog();
    if (!dialog) {
      // First click before the module was warm: the dialog exists after this render.
      void this.host.updateComplete.then(() => this.presenter === 'modal' && this.#showDialog());
      return;
    }
    if (!dialog.open) {
      dialog.showModal();
      lockScroll();
    }
  }

  #hideDialog(returnFocus = true): void {
    const dialog = this.#dialog();
    if (dialog?.open) {
      dialog.close();
      unlockScroll();
    }
    this.host.requestUpdate();
    if (returnFocus) this.host.focusButton();
  }

  #requestClose(source: CloseSource): void {
    // Locked while the payment is being confirmed: closing now would hide the outcome.
    if (this.host._state === 'confirming') return;
    if (emit(this.host, 'pay-request-close', { source }, true)) this.close();
  }

  #modalHandlers = {
    onKeydown: (event: KeyboardEvent): void => {
      if (event.key !== 'Escape') return;
      // Handled here rather than by the dialog's own cancel, which Chrome stops honouring preventDefault()
      // for after repeated presses without user activation.
      event.preventDefault();
      event.stopPropagation();
      this.#requestClose('escape');
    },
    onCancel: (event: Event): void => {
      event.preventDefault();
      this.#requestClose('escape');
    },
    onNativeClose: (): void => {
      // Closed by the browser although we did not agree (a non-cancelable close request): show it again.
      const dialog = this.#dialog();
      if (this.presenter === 'modal' && dialog && !dialog.open) dialog.showModal();
    },
    onBackdrop: (event: MouseEvent): void => {
      if (event.target === event.currentTarget) this.#requestClose('backdrop');
    },
  };

  #focus(): void {
    if (this.presenter === 'popup' || this.#popup) this.#popup?.focus();
    else if (this.presenter === 'modal') this.#showDialog();
  }

  #view(locale: string): PanelView {
    const host = this.host;
    const s = this.#session;
    const state = host._state;
    const tr = (key: StringKey, vars?: Record<string, string | number>): string => t(locale, key, vars);
    const amount = s
      ? formatMoney(locale, s.amount, s.currency)
      : host.amount != null && host.amount !== ''
        ? formatMoney(locale, host.amount, host.currency)
        : '';
    const left = (state === 'loading' || state === 'waiting') && s ? remaining(s.expiresAt) : undefined;
    const actions: PanelView['actions'] = [];
    if (this.#needsWindow && !FINAL.includes(s?.status as SessionStatus)) {
      actions.push({ label: tr('openPage'), run: () => this.#openWindow(new Event('click')), primary: true });
    } else if (this.#popup && !this.#popup.closed && state === 'waiting') {
      actions.push({ label: tr('showWindow'), run: () => this.#popup?.focus() });
    }
    if ((state === 'error' && this.#error?.retryable) || state === 'failed' || state === 'expired' || state === 'cancelled') {
      actions.push({ label: tr('retry'), run: () => this.#retry(), primary: true });
    }
    if (state === 'paid') actions.push({ label: tr('done'), run: () => this.close(), primary: true });
    else if (['error', 'failed', 'expired', 'cancelled', 'held', 'refunded'].includes(state)) {
      actions.push({ label: tr('close'), run: () => this.#requestClose('close-button') });
    }
    return {
      // The merchant's own words for the order when the helper has them; else a short label. One line either way.
      title: s?.description?.trim() || tr('title', { order: host.orderId?.trim() ?? '' }),
      amount,
      message: this.#message(locale, state),
      busy: state === 'creating' || state === 'loading' || state === 'confirming',
      countdown: left !== undefined ? tr('timeLeft', { time: clock(left) }) : '',
      frameUrl: this.#frameUrl,
      frameTitle: tr('frameTitle', { provider: this.#providerName(s?.provider) }),
      paymentUrl: s?.paymentUrl && !FINAL.includes(s.status) && !this.#returned ? s.paymentUrl : undefined,
      newWindowLabel: tr('newWindow'),
      closeLabel: tr('close'),
      locked: state === 'confirming',
      actions,
      onFrameLoad: () => {
        if (this.host._state === 'loading') this.#set('waiting');
      },
      onOpenWindow: this.#openWindow,
      onClose: () => this.#requestClose('close-button'),
    };
  }

  #message(locale: string, state: PayCheckoutState): string {
    // `paid` / `held` with an error: the helper's `order_paid` / `order_held` answer, not this session's status.
    if (state === 'error' || (this.#error && (state === 'paid' || state === 'held'))) return this.#error?.message ?? t(locale, 'error.generic');
    if (state === 'held') {
      // What happens next depends on why a person reviews the payment; the merchant may word each case.
      const reason = this.#session?.heldReason;
      return (reason && t(locale, `held.${reason}`)) || t(locale, 'held');
    }
    if (state === 'failed' || state === 'expired') return this.#errorMessage(state);
    if (state === 'waiting') {
      if (this.#needsWindow) return t(locale, 'notFrameable');
      if (this.#popup && !this.#popup.closed) return t(locale, 'waitingWindow');
      // In the frame the provider page speaks for itself; the countdown line stays.
      return this.#frameUrl ? '' : t(locale, 'waiting');
    }
    if (state === 'idle' || state === 'invalid' || state === 'choosing') return '';
    return t(locale, state);
  }

  /** Updates the state and the status line(s); the status regions announce the change. */
  #set(state: PayCheckoutState): void {
    const inPanel = this.presenter === 'modal' || this.presenter === 'inline';
    this.host.setState(state, inPanel ? '' : this.#message(this.host.currentLocale(), state));
  }

  #tick(): void {
    clearInterval(this.#tickTimer);
    if (remaining(this.#session?.expiresAt) === undefined) return;
    let asked = false;
    this.#tickTimer = setInterval(() => {
      this.host.requestUpdate();
      // At zero, ask the helper right away instead of waiting for the next poll.
      if (!asked && remaining(this.#session?.expiresAt) === 0) {
        asked = true;
        void this.#refresh();
      }
    }, 1000);
  }

  #retry(): void {
    const presenter = this.presenter;
    this.#error = undefined;
    if (presenter === 'modal' || presenter === 'inline') {
      this.#begin(presenter);
      this.#set('creating');
      void this.#create(this.#method, presenter);
    } else {
      this.#start(this.#method);
    }
  }

  // ── picker and config ────────────────────────────────────────────────────────────────────────────────

  async #showPicker(): Promise<void> {
    const [{ MethodPicker }, config] = await Promise.all([import('./method-picker.js'), this.#loadConfig()]);
    if (this.signal.aborted) return;
    const locale = this.host.currentLocale();
    const lang = locale.split('-')[0]!;
    const provider = this.#provider(config);
    const items = this.host.methodList().map((id) => {
      const label = provider?.methods.find((m) => m.id === id)?.label;
      return { id, label: label?.[locale] ?? label?.[lang] ?? label?.ru ?? label?.en ?? id };
    });
    this.#picker ??= new MethodPicker(this.host, (id) => this.#start(id));
    void this.#picker.show(items, this.#method);
  }

  #loadConfig(): Promise<HelperConfig | undefined> {
    return (this.#config ??= sharedConfig(this.host.sessionUrl, this.#http()).then((cfg) => (this.#cfg = cfg)));
  }

  #provider(cfg = this.#cfg): ProviderConfig | undefined {
    const id = this.host.provider ?? cfg?.defaultProvider;
    return cfg?.providers.find((p) => p.id === id) ?? (id ? undefined : cfg?.providers[0]);
  }

  /**
   * The sandbox stands in for providers whose APIs carry no language (Repay, age.trading), so its hosted pages
   * take the element's language from the page URL (`lang`). Only for providers `/config` marks as sandbox: a real
   * provider's URL is never changed.
   */
  #pageUrl(session: SessionData): string {
    const url = session.paymentUrl;
    if (!url || !this.#cfg?.providers.find((p) => p.id === session.provider)?.sandbox) return url;
    const page = new URL(url);
    page.searchParams.set('lang', this.host.currentLocale().split('-')[0]!);
    return page.href;
  }

  #providerName(id?: string): string {
    return this.#cfg?.providers.find((p) => p.id === id)?.name ?? PROVIDER_NAMES[id as ProviderId] ?? '';
  }

  #resolveMode(): PresentedMode {
    const mode = this.host.mode;
    if (mode !== 'auto') return mode;
    // Unknown frameability (config not loaded) starts as a modal; a non-frameable session then offers a window.
    return this.#provider()?.frameable === false ? 'popup' : 'modal';
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────────────────

  #http(): SessionClient {
    const url = this.host.sessionUrl;
    if (this.#client?.url !== resolveSessionUrl(url)) {
      this.#client = new SessionClient(url, PayCheckout.timing.timeout);
      this.#config = undefined;
    }
    return this.#client;
  }

  #storageKey(): string {
    return attemptKey(this.host.sessionUrl, this.host.orderId ?? '');
  }

  #save(attempt: Attempt | undefined = loadAttempt(this.#storageKey())): void {
    const s = this.#session;
    if (!attempt || !s) return;
    const { paymentUrl: _omit, ...rest } = s;
    saveAttempt(this.#storageKey(), { ...attempt, session: rest });
  }

  #remember(change: Partial<Attempt>): void {
    const attempt = loadAttempt(this.#storageKey());
    if (attempt) saveAttempt(this.#storageKey(), { ...attempt, ...change });
  }

  #frameWindow(): Window | null | undefined {
    return this.host.renderRoot.querySelector('iframe')?.contentWindow;
  }
}
