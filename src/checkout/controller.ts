// Everything after the first intent, loaded lazily by the element: one `CheckoutController` per connected element
// carries out what ./machine.ts decides, with the session client, the presenters, the return listener, status
// polling and the method picker. The element is only known through ./host.ts (a type), so there is no import cycle.
import { html, nothing, render, type TemplateResult } from 'lit';
import { PayCheckoutError } from '../errors.js';
import { emit, type PayErrorDetail, type PaySession, type PayCheckoutState, type PresentedMode, type SessionStatus } from '../events.js';
import { resolveSessionUrl } from '../helper-url.js';
import { formatMoney, loadStrings, stringsLoaded, t, type StringKey } from '../i18n.js';
import type { MethodPicker } from '../method-picker.js';
import { InlinePresenter, inlineTemplate } from '../presenters/inline.js';
import { ModalPresenter, modalTemplate, type ModalHandlers } from '../presenters/modal.js';
import { openPaymentWindow } from '../presenters/open-window.js';
import type { PanelView } from '../presenters/panel.js';
import { closeWindow, PopupPresenter, watchWindow } from '../presenters/popup.js';
import type { Presenter } from '../presenters/presenter.js';
import { clearReturnHash, readReturnHash, redirectPresenter, returnUrlFor } from '../presenters/redirect.js';
import { panelStyles } from '../presenters/styles.js';
import { listenForReturn } from '../return-listener.js';
import { SessionClient, type HelperConfig, type SessionData } from '../session-client.js';
import { timing } from '../timing.js';
import { AttemptStore, type Created } from './attempt.js';
import { pageUrl, providerName, providerOf, resolveMode, sharedConfig } from './helper-config.js';
import type { CheckoutHost } from './host.js';
import {
  canMove,
  canPrestart,
  FINAL,
  initialState,
  onActivate,
  RESTART,
  SETTLED,
  transition,
  type CheckoutEvent,
  type CheckoutState,
  type EffectHandlers,
  type FlowError,
} from './machine.js';
import { clock, remaining, StatusSync } from './status-sync.js';

export { forgetConfigs, warmHelper } from './helper-config.js';

let prepared = false;

/** How many times a dismissed payment is checked again in the background, after the first check. */
const DISMISS_CHECKS = 4;

/**
 * Once per page, when the first controller is created: the dialog's templates.
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
/** How the helper's codes map onto one another's sentences (../strings.ts), loaded with them. */
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
    [, { ERROR_ALIASES: aliases }] = await Promise.all([loadStrings(locale), import('../strings.js')]);
    refusals.add(lang);
  } catch {
    // offline, or the chunk is gone: the generic sentence
  }
}

/** A session request started on the press, before the click. */
interface Early {
  method: string | undefined;
  request: Promise<Created>;
  timer: ReturnType<typeof setTimeout>;
  result?: Created;
}

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

/** A session answer's change stamp in milliseconds, or undefined without a readable one (an older helper). */
function stampOf(s: SessionData): number | undefined {
  const at = s.updatedAt ? Date.parse(s.updatedAt) : NaN;
  return Number.isNaN(at) ? undefined : at;
}

/**
 * Whether an answer is older than the session the element has: about another session, or with an older change stamp
 * than the one last applied. The order is the data's, not the requests': the helper answers a read from its store
 * at once (older data, fast) or after reading the provider (newer data, slow), and a cancellation after the
 * provider's answer. Without two different stamps (the same one, or an older helper) it is a move the helper never
 * makes that gives a stale answer away.
 */
function isStale(current: SessionData, fresh: SessionData): boolean {
  if (fresh.id !== current.id) return true;
  const was = stampOf(current);
  const now = stampOf(fresh);
  if (was !== undefined && now !== undefined && was !== now) return now < was;
  return !canMove(current.status, fresh.status);
}

/** An error as the payer and `pay-error` see it: the element's own type, else a malformed answer. */
function flowError(error: unknown): FlowError {
  return error instanceof PayCheckoutError ? error : { code: 'bad_response', retryable: true };
}

/**
 * What the console gets of an error: its code, HTTP status and message. Never the error itself, whose cause (ky's
 * HTTPError) carries the request with its `Authorization: Bearer` token.
 */
function loggable(error: unknown): { code: string; status?: number; message: string } {
  if (error instanceof PayCheckoutError) {
    return error.status === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, status: error.status, message: error.message };
  }
  return { code: 'bad_response', message: error instanceof Error ? error.message : String(error) };
}

/**
 * The checkout of one element, made by the element once this module has loaded: it lives until the element's
 * `signal` aborts, when the element is removed from the page (not when it is moved: `moved()`).
 */
export class CheckoutController {
  #state: CheckoutState;
  #session?: SessionData;
  #client?: SessionClient;
  #config?: Promise<HelperConfig | undefined>;
  #cfg?: HelperConfig;
  #attemptAc?: AbortController;
  #method?: string;
  #picker?: MethodPicker;
  #early?: Early;
  #presenter?: Presenter;
  /**
   * The helper and order the session in hand was asked for: the tab's record of it stays under that order's key when
   * the element is pointed at another order meanwhile (that order's record is not this payment's).
   */
  #attemptFor?: { sessionUrl: string; orderId: string };
  /**
   * The client of the helper the session in hand came from: its token is that helper's, and only that helper's answer
   * about it counts, even after `session-url` points elsewhere while the payment is shown.
   */
  #own?: SessionClient;
  /** The session `pay-success` was reported for: once per session. */
  #succeeded?: string;
  /**
   * A token the helper refused (or whose session it no longer knows): never sent again. A new one comes with the
   * session from `POST /sessions`.
   */
  #refused?: string;
  /** A token `#renew` brought that no check has accepted yet: refused too, it is a refusal, not an expiry. */
  #renewed?: string;
  /** The element was pointed at another order while a payment was shown: drop its session once nothing shows it. */
  #forgetLater = false;
  /** While a transition's effects run: `close()` and `open()` called meanwhile, to run once they are done. */
  #later?: (() => void)[];
  readonly #modal: ModalPresenter;
  readonly #inline: InlinePresenter;
  readonly #sync = new StatusSync(
    () => this.#refresh(),
    // A held session is polled until a person settles it, whatever limit the polling had.
    (left) =>
      !!this.#session &&
      this.#session.token !== this.#refused &&
      !FINAL.includes(this.#session.status) &&
      (left > 0 || this.#session.status === 'held'),
  );

  constructor(
    private readonly host: CheckoutHost,
    private readonly signal: AbortSignal,
  ) {
    this.#state = initialState(host._state);
    this.#modal = new ModalPresenter(host, (source) => this.#dispatch({ type: 'request-close', source }));
    this.#inline = new InlinePresenter(host);
    const root = host.shadowRoot;
    const sheet = panelStyles.styleSheet;
    if (root && sheet && !root.adoptedStyleSheets.includes(sheet)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    }
    prepare(this.#modal.handlers);
    signal.addEventListener('abort', () => this.#end());
  }

  /**
   * The element was removed from the page: everything stops, late results are ignored. The payment window (the
   * popup, or one opened from the panel's header) would outlive it, with nothing left to confirm a payment made
   * there: it is closed, and a popup that showed the payment is reported gone (`pay-close`).
   */
  #end(): void {
    clearTimeout(this.#early?.timer);
    this.#early = undefined;
    this.#attemptAc?.abort();
    this.#picker?.hide(false);
    const kind = this.#state.surface.kind;
    if (kind === 'modal') this.#modal.hide(false);
    closeWindow(this.#presenter?.window);
    this.#state = { ...this.#state, surface: { kind: 'none' } };
    if (kind === 'popup') this.#effects['pay-close']();
  }

  /**
   * The element was moved in the page (taken out and put back in the same task): the payment goes on, its popup
   * and checks too. Only the parts of the page the move undid are redone: the dialog left the top layer (modal again),
   * the picker closed.
   */
  moved(): void {
    this.#picker?.hide(false);
    if (this.#state.surface.kind === 'modal') this.#modal.reopen();
  }

  /**
   * The element was pointed at another order or helper while nothing shows the payment: the previous session (a held
   * one polled under the button, a dismissed one checked in the background) is not this order's, so its checks stop
   * and it is dropped, as is a session requested ahead of a click. The tab keeps its record under the old order.
   * While a payment is shown, that waits until nothing shows it (`#dispatch`): closing it then neither polls a held
   * session nor checks a dismissed one of the old order under the new order's button.
   */
  forget(): void {
    if (this.busy) {
      this.#forgetLater = true;
      return;
    }
    this.#forgetLater = false;
    clearTimeout(this.#early?.timer);
    this.#early = undefined;
    this.#attemptAc?.abort();
    this.#session = undefined;
    this.#attemptFor = undefined;
    this.#state = { ...this.#state, status: undefined, error: undefined, cancelReason: undefined, told: undefined, returned: false };
  }

  get pickerOpen(): boolean {
    return !!this.#picker?.open;
  }

  /** Something shows or resumes the payment: the element keeps what the tab knows about the order for later. */
  get busy(): boolean {
    return this.#state.surface.kind !== 'none';
  }

  publicSession(): PaySession | null {
    return this.#session ? publicSession(this.#session) : null;
  }

  hidesButton(): boolean {
    return this.#state.surface.kind === 'inline';
  }

  /** First intent: fetch `/config` (frameability, method labels) and the picker code if it will be needed. */
  warm(): void {
    void this.#loadConfig();
    if (this.host.wantsPicker()) void import('../method-picker.js');
  }

  /** A click or `open()`. `popup` was opened synchronously by the element when it had to load this module first. */
  activate(popup?: Window | null): void {
    if (this.#defer(() => this.activate(popup))) return;
    // An open() in a pay-error listener (a blocked popup is reported while the attempt starts) waits for it too.
    this.#holding(() => this.#activate(popup));
  }

  #activate(popup?: Window | null): void {
    const action = onActivate(this.#current());
    if (action !== 'start') {
      closeWindow(popup);
      if (action === 'focus') this.#presenter?.focus();
      return;
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
    this.#start(this.host.method || this.host.methodList()[0], popup);
  }

  /** Closes whatever shows the payment; idempotent. Not locked: merchants may close programmatically. */
  close(): void {
    if (this.#defer(() => this.close())) return;
    this.#picker?.hide(false);
    this.#dispatch({ type: 'close' });
  }

  /**
   * The page (re)loaded with this order's attempt in the tab: back from a redirect with
   * `#pay-checkout=<id>:<outcome>` (resume if the session is ours), or an order already paid or held here (show
   * it again instead of "Pay", and keep checking a held session, which a person may settle).
   */
  async resume(): Promise<void> {
    const ret = readReturnHash();
    this.#attemptFor = this.#hostOrder();
    this.#own = this.#http();
    const attempt = this.#attempts().load();
    const session = attempt?.session;
    const ours = ret && session?.token && session.id === ret.sessionId;
    if (ours) clearReturnHash();
    // A return replayed once the outcome was known (the history back to the helper's return page, which sends the
    // payer here again): nothing to confirm, shown as after a reload (a held payment re-read and polled). Only a
    // success after an end without a payment is asked about: the payer may have paid that payment since.
    if (ours && (!SETTLED.includes(session.status) || (ret.outcome === 'success' && RESTART.includes(session.status)))) {
      this.#session = { ...session, paymentUrl: '' } as SessionData;
      this.#presenter = redirectPresenter;
      this.#dispatch({ type: 'begin', mode: 'redirect' });
      this.#method = attempt!.method;
      this.#dispatch({ type: 'return', outcome: ret.outcome });
    } else if (attempt?.settled) {
      const settled = attempt.settled;
      let error: FlowError | undefined;
      if (session?.token && session.status === settled) {
        this.#session = { ...session, paymentUrl: '' } as SessionData;
        await this.#heldSentences(session.status);
        if (this.signal.aborted) return;
      } else {
        const explaining = this.#explain();
        if (explaining) await explaining;
        if (this.signal.aborted) return;
        error = { code: `order_${settled}`, retryable: false };
      }
      this.#dispatch({ type: 'restored', settled, error });
      if (this.#session?.status === 'held') {
        this.#newAttempt();
        const signal = this.#attemptAc!.signal;
        await this.#refresh(signal);
        // Meanwhile the element may have been pointed at another order (the session dropped) or the check refused.
        const now = this.#session;
        if (!signal.aborted && now && !FINAL.includes(now.status)) this.#sync.poll(signal);
      }
    }
  }

  render(locale: string): TemplateResult {
    const kind = this.#state.surface.kind;
    const error = this.#state.error;
    // A refusal or a held payment shown before the language changed: the new language's sentences for it come with
    // its refusals chunk (render again once loaded; a failed load leaves the sentence as it was, and no loop).
    const loading = error || this.host._state === 'held' ? this.#explain(error) : undefined;
    loading?.then(() => refusals.has(locale.split('-')[0]!) && this.host.requestUpdate());
    // The note under the button, said in the language of this render (the state and error are kept, not a sentence);
    // while that language's sentences load it keeps the last one, or its status region would announce an empty line,
    // then the general sentence, before the right one.
    if (!loading && stringsLoaded(locale)) this.host._note = kind === 'modal' || kind === 'inline' ? '' : this.#message(locale, this.host._state);
    const view = kind === 'modal' || kind === 'inline' ? this.#view(locale) : undefined;
    const root = this.host.renderRoot as ShadowRoot;
    const frame = root.querySelector('iframe');
    // The payment frame goes (a return, a settled status): the focus it held, or the open dialog's that had already
    // fallen to the page's body, would drop to the body, and a keyboard or screen-reader payer lose their place as
    // the outcome appears. It goes to the panel's heading, which is read out; the actions are the next Tab (on one of
    // them, keys the payer was still typing in the frame would press it: "try again" would open another payment).
    if (view && !view.frameUrl && frame && (root.activeElement === frame || (kind === 'modal' && document.activeElement === document.body))) {
      void this.host.updateComplete.then(() => root.getElementById('title')?.focus());
    }
    return html`${modalTemplate(kind === 'modal' ? view : undefined, this.#modal.handlers)}${kind === 'inline' && view
      ? inlineTemplate(view)
      : nothing}${this.#picker?.render(t(locale, 'chooseMethod')) ?? nothing}`;
  }

  /**
   * Pointer down (or Enter / Space) on the button: the click is about to come, so the session request starts
   * now and its round trip overlaps the press. Only on a press, never on hover: creating a provider payment is the
   * payer's decision. A press without a click (dragged away) leaves a session the next click reuses.
   */
  prestart(): void {
    if (this.#early || this.host.wantsPicker() || !canPrestart(this.#current())) return;
    const method = this.host.method || this.host.methodList()[0];
    const request = this.#request(method, false, this.signal);
    // Unused for a while (no click followed): forget it, so a later click asks afresh.
    const timer = setTimeout(() => (this.#early = undefined), 10_000);
    const early: Early = { method, request, timer };
    this.#early = early;
    // Errors are reported by the click that uses the request.
    request.then((result) => (early.result = result), () => undefined);
  }

  // ── the machine ──────────────────────────────────────────────────────────────────────────────────────

  /** The machine's state with what the element and the session say now. */
  #current(): CheckoutState {
    return { ...this.#state, view: this.host._state, status: this.#session?.status };
  }

  /**
   * Whether `run` waits for the effects under way: a merchant's listener runs inside the element's event (`close()` in
   * `pay-return` or `pay-open`, `open()` in `pay-close`), and the transition that fired it must finish first (its
   * `pay-success` included), or what it does next (confirming, polling, checking a dismissal) would act on the state
   * the call made. It then acts on that transition's state: closing aborts the attempt, and so what it started.
   */
  #defer(run: () => void): boolean {
    return !!this.#later?.push(run);
  }

  /** Runs `work` with the `close()` and `open()` calls made meanwhile held until it is done (`#defer`), then runs them. */
  #holding(work: () => void): void {
    const outer = !this.#later;
    const later = (this.#later ??= []);
    try {
      work();
    } finally {
      // Even after `work` threw: a queue left behind would hold every later close() and open() for good.
      if (outer) this.#later = undefined;
    }
    if (outer) for (const run of later) run();
  }

  #dispatch(event: CheckoutEvent): void {
    const [next, effects] = transition(this.#current(), event);
    this.#state = next;
    this.#holding(() => {
      for (const [name, ...args] of effects) (this.#effects[name] as (...a: unknown[]) => void)(...args);
    });
    if (this.#forgetLater && !this.busy) {
      this.#forgetLater = false;
      // Pointed back at the payment's own order meanwhile: it is this order's after all.
      const was = this.#attemptFor;
      const now = this.#hostOrder();
      if (!was || was.sessionUrl !== now.sessionUrl || was.orderId !== now.orderId) {
        this.forget();
        this.host.requestUpdate();
      }
    }
  }

  /** The events are about the session as it is when they are dispatched. */
  #pub = (): PaySession => publicSession(this.#session!);

  readonly #effects: EffectHandlers = {
    // The status line(s) say the view at the render (`render`), in its language; the status regions announce it.
    set: (view) => this.host.setState(view),
    render: () => this.host.requestUpdate(),
    'pay-open': () => emit(this.host, 'pay-open', { session: this.#pub(), mode: this.#presenter!.mode }),
    'pay-success': () => {
      if (this.#succeeded === this.#session!.id) return;
      this.#succeeded = this.#session!.id;
      emit(this.host, 'pay-success', { session: this.#pub() });
    },
    'pay-close': () => emit(this.host, 'pay-close', { session: this.publicSession() ?? undefined, status: this.#session?.status ?? null }),
    'pay-status': (status, previous) => emit(this.host, 'pay-status', { session: this.#pub(), status, previous }),
    'pay-return': (outcome) => emit(this.host, 'pay-return', { session: this.#pub(), outcome }),
    'pay-cancel': (reason, withSession) => emit(this.host, 'pay-cancel', withSession ? { session: this.#pub(), reason } : { reason }),
    report: () => this.#report(this.#state.error!),
    'ask-close': (source) => emit(this.host, 'pay-request-close', { source }, true) && this.close(),
    'new-attempt': () => this.#newAttempt(),
    abort: () => this.#attemptAc?.abort(),
    hide: () => this.#presenter?.hide(true),
    'close-window': () => closeWindow(this.#presenter?.window),
    'drop-window': () => this.#presenter && (this.#presenter.window = undefined),
    'stop-sync': () => this.#sync.stop(),
    'stop-countdown': () => this.#sync.stopCountdown(),
    poll: () => this.#sync.poll(this.#attemptAc!.signal),
    refresh: () => void this.#refresh(),
    present: () => this.#present(),
    navigate: () => this.#presenter!.show(this.#session!.paymentUrl),
    countdown: () => this.#sync.countdown(() => this.#session?.expiresAt, () => this.host.requestUpdate()),
    remember: (change) => {
      const attempts = this.#attempts();
      attempts.remember(change);
      // A paid order is never offered again in this tab: neither by a second button for it on the page.
      if (change.settled === 'paid') this.host.paidElsewhere(attempts.key);
    },
    'after-dismiss': () => void this.#afterDismiss(this.#session!),
    'keep-polling': () => this.#sync.poll(this.#background()),
    confirm: () => void this.#confirm(),
    cancel: () => void this.#cancel(),
    create: () => void this.#create(this.#method, this.#presenter!.mode),
    start: () => this.#start(this.#method),
  };

  // ── attempt ──────────────────────────────────────────────────────────────────────────────────────────

  #start(method: string | undefined, popup?: Window | null): void {
    let mode = resolveMode(this.host.mode, providerOf(this.#cfg, this.host.provider));
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
    const presenter = (this.#presenter =
      mode === 'popup' ? new PopupPresenter(popup) : mode === 'modal' ? this.#modal : mode === 'inline' ? this.#inline : redirectPresenter);
    presenter.window = popup;
    this.#dispatch({ type: 'begin', mode });
    if (mode === 'inline') presenter.show();
    const early = this.#early;
    const ready = early?.result?.session.status;
    if (early?.result && early.method === method && ready !== 'held' && !(early.result.reused && RESTART.includes(ready!))) {
      // The press already brought the session: show the payment page in this very task. The frame is
      // rendered before showModal() so its navigation starts before the dialog's first layout.
      this.#early = undefined;
      clearTimeout(early.timer);
      this.#accept(early.result);
      // Not when a pay-open listener closed it already.
      if (mode === 'modal' && this.#state.surface.kind === 'modal') {
        this.host.renderNow();
        this.#modal.show();
      }
      return;
    }
    this.#dispatch({ type: 'creating' });
    if (mode === 'modal') this.#modal.show();
    void this.#create(method, mode);
  }

  /** A new attempt's abort signal, which stops its requests, polling and countdown (and is aborted with the element). */
  #newAttempt(): void {
    this.#attemptAc?.abort();
    const ac = (this.#attemptAc = new AbortController());
    this.signal.addEventListener('abort', () => ac.abort(), { signal: ac.signal });
    ac.signal.addEventListener('abort', () => this.#sync.stop());
  }

  async #create(method: string | undefined, mode: PresentedMode, fresh = false): Promise<void> {
    const signal = this.#attemptAc!.signal;
    const early = this.#early;
    this.#early = undefined;
    clearTimeout(early?.timer);
    try {
      const created =
        !fresh && early && early.method === method ? await early.request : await this.#request(method, fresh, signal);
      if (signal.aborted) return;
      // A reused key can answer with a session that ended while the page was away: start a fresh attempt.
      if (created.reused && RESTART.includes(created.session.status)) return this.#create(method, mode, true);
      await this.#heldSentences(created.session.status);
      if (signal.aborted) return;
      this.#accept(created);
    } catch (error) {
      if (signal.aborted) return;
      // The same key with a different request (the page's URL, hence returnUrl, changed since): a new attempt.
      if (!fresh && error instanceof PayCheckoutError && error.code === 'idempotency_key_reused') {
        return this.#create(method, mode, true);
      }
      if (error instanceof PayCheckoutError && (error.code === 'order_paid' || error.code === 'order_held')) {
        const explaining = this.#explain(error);
        if (explaining) await explaining;
        if (!signal.aborted) this.#dispatch({ type: 'order-settled', settled: error.code === 'order_paid' ? 'paid' : 'held', error });
        return;
      }
      return this.#fail(error, () => !signal.aborted);
    }
  }

  /** The helper answered with a usable session: show it (or its final status). */
  #accept({ session, attempt }: Created): void {
    // A session the helper has just handed out comes with a token it vouches for.
    this.#refused = undefined;
    this.#session = { ...session, paymentUrl: pageUrl(this.#cfg, session.paymentUrl, session.provider, this.host.currentLocale()) };
    this.#attempts().saveSession(this.#session, attempt);
    const win = this.#presenter!.window;
    this.#dispatch({ type: 'accepted', status: session.status, frameable: session.frameable !== false, windowGone: !win || win.closed });
  }

  /** POST the session with this attempt's Idempotency-Key (a new key when `fresh` or the attempt ended). */
  #request(method: string | undefined, fresh: boolean, signal: AbortSignal): Promise<Created> {
    const host = this.host;
    this.#attemptFor = this.#hostOrder();
    return this.#attempts().request(
      (this.#own = this.#http()),
      {
        orderId: host.orderId!.trim(),
        // Blank (a framework binding an empty value) is absent, as the element's validation reads it.
        provider: host.provider || undefined,
        method,
        locale: host.currentLocale().split('-')[0],
        returnUrl: returnUrlFor(host.returnUrl),
      },
      fresh,
      signal,
    );
  }

  /** Listens for the return page, then shows the payment page on the attempt's presenter. */
  #present(): void {
    const presenter = this.#presenter!;
    const session = this.#session!;
    const signal = this.#attemptAc!.signal;
    listenForReturn(
      // The return page is the creating helper's, whatever `session-url` says now.
      this.#own!.origin,
      () => [this.host.renderRoot.querySelector('iframe')?.contentWindow, presenter.window],
      () => this.#session?.id,
      (outcome) => this.#dispatch({ type: 'return', outcome }),
      signal,
    );
    // Payers pay in a bank's app and come back to the tab: check at once rather than at the next poll.
    document.addEventListener(
      'visibilitychange',
      () => document.visibilityState === 'visible' && this.#session && !FINAL.includes(this.#session.status) && void this.#refresh(signal),
      { signal },
    );
    if (presenter.mode === 'redirect') {
      // Back from the provider through the browser's back button, the page may come from the back/forward
      // cache still "redirecting": make the button usable again.
      window.addEventListener('pageshow', (event) => event.persisted && this.#dispatch({ type: 'pageshow' }), { signal });
    } else if (presenter.mode === 'popup') {
      presenter.show(session.paymentUrl);
      this.#watch(presenter.window!, signal);
    }
  }

  #watch(win: Window, signal: AbortSignal): void {
    watchWindow(win, () => this.#presenter?.window === win && this.#dispatch({ type: 'window-closed' }), signal);
  }

  /** Logs and reports `error` (`pay-error`) unless `live()` says the element moved on meanwhile. */
  async #fail(error: unknown, live: () => boolean): Promise<void> {
    console.warn('[pay-checkout]', loggable(error));
    const explaining = this.#explain(error);
    if (explaining) await explaining;
    if (live()) this.#dispatch({ type: 'fail', error: flowError(error) });
  }

  #report(error: FlowError): PayErrorDetail {
    const detail: PayErrorDetail = { code: error.code, message: this.#errorMessage(error.code), retryable: error.retryable };
    if (this.#session) detail.session = publicSession(this.#session);
    emit(this.host, 'pay-error', detail);
    return detail;
  }

  /** Loads the sentences for `error` first when it is (or may be) a refusal of the helper's (see `loadRefusals`). */
  #explain(error?: unknown): Promise<void> | void {
    if (!OWN_CODES.includes((error as FlowError | undefined)?.code as string)) {
      const locale = this.host.currentLocale();
      if (!aliases || !refusals.has(locale.split('-')[0]!)) return loadRefusals(locale);
    }
  }

  /**
   * What happens next with a held payment is said per reason, in the refusals' chunk (as rare as a refusal): loaded
   * before a held status is shown. A failed load leaves the general sentence for `held`.
   */
  #heldSentences(status: SessionStatus): Promise<void> | void {
    if (status === 'held') return this.#explain();
  }

  #errorMessage(code: string): string {
    const locale = this.host.currentLocale();
    const alias = aliases?.[code];
    return t(locale, `error.${code}`) || (alias && t(locale, `error.${alias}`)) || t(locale, 'error.generic');
  }

  // ── status ───────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Confirms for the attempt it started under: closed meanwhile, the checks after the dismissal (under an attempt of
   * their own) are what follows, not polling without limit.
   */
  async #confirm(signal = this.#attemptAc!.signal): Promise<void> {
    await this.#refresh(signal);
    if (!signal.aborted) this.#dispatch({ type: 'confirmed' });
  }

  async #cancel(): Promise<void> {
    const session = this.#session!;
    const signal = this.#attemptAc!.signal;
    try {
      await this.#apply(await this.#own!.cancel(session.id, session.token!, signal), signal);
    } catch {
      return this.#confirm(signal);
    }
    if (!signal.aborted) this.#dispatch({ type: 'confirmed' });
  }

  async #refresh(signal = this.#attemptAc!.signal): Promise<void> {
    const session = this.#session;
    if (!session?.token || session.token === this.#refused || signal.aborted) return;
    try {
      await this.#apply(await this.#own!.get(session.id, session.token, signal), signal);
      this.#renewed = undefined;
    } catch (error) {
      // Polling shrugs off what a retry can fix. A refused token or a vanished session ends the attempt: its signal
      // is aborted at once, so no poll, return to the tab, confirmation or check after a dismissal asks again (or
      // reports a cancellation), and the token is not sent again until the helper hands out a session. Any other
      // answer a retry cannot fix (a proxy's 403, say) stops polling and is reported; a later check may still work.
      if (!signal.aborted && error instanceof PayCheckoutError && !error.retryable) {
        const attempt = this.#attemptAc;
        if (error.code === 'unauthorized' || error.code === 'unknown_session') {
          // A held payment outlives its token: renewed, it is polled on; else it stays shown as held, unpolled. A token
          // just renewed and refused before any check accepted it is a refusal like any other.
          const held = error.code === 'unauthorized' && session.status === 'held' && session.token !== this.#renewed;
          if (held && (await this.#renew(session, signal))) return;
          this.#refused = session.token;
          attempt?.abort();
          if (held) return;
        }
        this.#sync.stop();
        await this.#fail(error, () => this.#attemptAc === attempt && !this.signal.aborted);
      }
    }
  }

  /**
   * A held payment outlives its token (the helper's `SESSION_TOKEN_TTL_SECONDS`, a day by default): `POST /sessions`
   * with the attempt's Idempotency-Key, which the helper keeps, hands the same session back with a fresh token. True
   * when polling goes on (renewed, or a failure a retry may fix); false when it cannot be renewed here (no attempt of
   * this session in the tab, another session, a refusal): the held payment stays shown, unpolled. `order_paid` (the
   * shop settled it and says so before the key is read) is shown as the helper's answer to a click would be.
   */
  async #renew(session: SessionData, signal: AbortSignal): Promise<boolean> {
    const a = this.#attempts().load();
    if (a?.session?.id !== session.id) return false;
    try {
      const again = await this.#own!.create(
        { orderId: session.orderId, provider: a.provider, method: a.method, returnUrl: returnUrlFor(this.host.returnUrl) },
        a.key,
        signal,
      );
      if (signal.aborted) return true;
      if (again.id !== session.id) return false;
      this.#session = { ...this.#session!, token: (this.#renewed = again.token) };
      await this.#apply(again, signal);
      return true;
    } catch (error) {
      if (!(error instanceof PayCheckoutError)) return true;
      if (error.code === 'order_paid') {
        await this.#explain(error);
        if (!signal.aborted) this.#dispatch({ type: 'order-settled', settled: 'paid', error });
      }
      return error.retryable;
    }
  }

  /**
   * Applies a status answer unless it is stale (`isStale`): for another session than the current one (the element
   * moved on), or older data than the answer last applied, whenever its request started or its answer arrived.
   */
  async #apply(fresh: SessionData, signal: AbortSignal): Promise<void> {
    const stale = (): boolean => signal.aborted || !this.#session || isStale(this.#session, fresh);
    if (stale()) return;
    if (fresh.status === 'held' && this.#session?.status !== 'held') {
      await this.#heldSentences(fresh.status);
      if (stale()) return;
    }
    const previous = this.#session!;
    this.#session = { ...previous, ...fresh, token: previous.token, paymentUrl: previous.paymentUrl || fresh.paymentUrl };
    this.#attempts().saveSession(this.#session);
    if (fresh.status !== previous.status) this.#dispatch({ type: 'status', status: fresh.status, previous: previous.status });
  }

  /**
   * Checking on after what showed the payment was closed: under a signal of its own, which the next attempt (or the
   * element's removal) aborts, so that nothing of it reaches a newer payment.
   */
  #background(): AbortSignal {
    this.#newAttempt();
    return this.#attemptAc!.signal;
  }

  async #afterDismiss(session: SessionData): Promise<void> {
    // The payer may have paid and closed the page before the confirmation arrived: check before reporting a
    // cancellation. The provider payment itself stays open and is reused on the next click.
    const signal = this.#background();
    await this.#refresh(signal);
    const now = this.#session;
    if (signal.aborted || now?.id !== session.id) return;
    this.#dispatch({ type: 'dismiss-checked' });
    // The helper reads the provider every few seconds at most: its first answer may predate a payment completed just
    // before closing. A few more checks (2, 3, 4.5 and 6.75 s apart by default) report that as pay-success still.
    // (Unless a pay-cancel listener started another attempt meanwhile.)
    if (!signal.aborted && !FINAL.includes(now.status)) this.#sync.poll(signal, timing.poll, DISMISS_CHECKS);
  }

  // ── presenters and view ──────────────────────────────────────────────────────────────────────────────

  #openWindow = (event: Event): void => {
    event.preventDefault();
    const session = this.#session;
    const presenter = this.#presenter;
    if (!session?.paymentUrl || !presenter) return;
    const win = openPaymentWindow();
    if (!win) {
      this.#report(new PayCheckoutError('popup_blocked', false));
      return;
    }
    win.location.href = session.paymentUrl;
    closeWindow(presenter.window);
    presenter.window = win;
    this.#dispatch({ type: 'window-opened' });
    this.#watch(win, this.#attemptAc!.signal);
  };

  #view(locale: string): PanelView {
    const host = this.host;
    const s = this.#session;
    const state = host._state;
    const surface = this.#state.surface;
    const page = 'page' in surface ? surface.page : 'none';
    const win = this.#presenter?.window;
    const tr = (key: StringKey, vars?: Record<string, string | number>): string => t(locale, key, vars);
    const amount = s
      ? formatMoney(locale, s.amount, s.currency)
      : host.amount != null && host.amount !== ''
        ? formatMoney(locale, host.amount, host.currency)
        : '';
    const left = (state === 'loading' || state === 'waiting') && s ? remaining(s.expiresAt) : undefined;
    const actions: PanelView['actions'] = [];
    const requestClose = (): void => this.#dispatch({ type: 'request-close', source: 'close-button' });
    if (page === 'offer' && !SETTLED.includes(s?.status as SessionStatus)) {
      actions.push({ label: tr('openPage'), run: () => this.#openWindow(new Event('click')), primary: true });
    } else if (win && !win.closed && state === 'waiting') {
      actions.push({ label: tr('showWindow'), run: () => win.focus() });
    }
    if ((state === 'error' && this.#state.error?.retryable) || state === 'failed' || state === 'expired' || state === 'cancelled') {
      actions.push({ label: tr('retry'), run: () => this.#dispatch({ type: 'retry' }), primary: true });
    }
    if (state === 'paid') actions.push({ label: tr('done'), run: () => this.close(), primary: true });
    else if (['error', 'failed', 'expired', 'cancelled', 'held', 'refunded'].includes(state)) {
      actions.push({ label: tr('close'), run: requestClose });
    }
    return {
      // The merchant's own words for the order when the helper has them; else a short label. One line either way.
      title: s?.description?.trim() || tr('title', { order: host.orderId?.trim() ?? '' }),
      amount,
      message: this.#message(locale, state),
      busy: state === 'creating' || state === 'loading' || state === 'confirming',
      countdown: left !== undefined ? tr('timeLeft', { time: clock(left) }) : '',
      frameUrl: page === 'frame' ? s?.paymentUrl : undefined,
      frameTitle: tr('frameTitle', { provider: providerName(this.#cfg, s?.provider) }),
      paymentUrl: s?.paymentUrl && !SETTLED.includes(s.status) && !this.#state.returned ? s.paymentUrl : undefined,
      newWindowLabel: tr('newWindow'),
      closeLabel: tr('close'),
      locked: state === 'confirming',
      actions,
      onFrameLoad: () => this.#dispatch({ type: 'frame-loaded' }),
      onOpenWindow: this.#openWindow,
      onClose: requestClose,
    };
  }

  #message(locale: string, state: PayCheckoutState): string {
    const error = this.#state.error;
    // `paid` / `held` with an error: the helper's `order_paid` / `order_held` answer, not this session's status.
    if (state === 'error' || (error && (state === 'paid' || state === 'held'))) {
      return error ? this.#errorMessage(error.code) : t(locale, 'error.generic');
    }
    if (state === 'held') {
      // What happens next depends on why a person reviews the payment; the merchant may word each case.
      const reason = this.#session?.heldReason;
      return (reason && t(locale, `held.${reason}`)) || t(locale, 'held');
    }
    if (state === 'failed' || state === 'expired') return this.#errorMessage(state);
    if (state === 'waiting') {
      const surface = this.#state.surface;
      const page = 'page' in surface ? surface.page : 'none';
      const win = this.#presenter?.window;
      if (page === 'offer') return t(locale, 'notFrameable');
      if (win && !win.closed) return t(locale, 'waitingWindow');
      // In the frame the provider page speaks for itself; the countdown line stays.
      return page === 'frame' ? '' : t(locale, 'waiting');
    }
    if (state === 'idle' || state === 'invalid' || state === 'choosing') return '';
    return t(locale, state);
  }

  // ── picker and config ────────────────────────────────────────────────────────────────────────────────

  async #showPicker(): Promise<void> {
    const [{ MethodPicker }, config] = await Promise.all([import('../method-picker.js'), this.#loadConfig()]);
    if (this.signal.aborted) return;
    const lang = this.host.currentLocale().split('-')[0]!;
    const provider = providerOf(config, this.host.provider);
    const items = this.host.methodList().map((id) => {
      const label = provider?.methods.find((m) => m.id === id)?.label;
      // The helper labels methods in its two languages; any other language reads the Russian one.
      return { id, label: (lang === 'en' ? label?.en : label?.ru) || id };
    });
    // A choice starts the attempt as a click does (`activate()`): what a listener calls meanwhile waits for it.
    this.#picker ??= new MethodPicker(this.host, (id) => this.#holding(() => this.#start(id)));
    void this.#picker.show(items, this.#method);
  }

  #loadConfig(): Promise<HelperConfig | undefined> {
    return (this.#config ??= sharedConfig(this.host.sessionUrl, this.#http()).then((cfg) => (this.#cfg = cfg)));
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────────────────

  /** The client for the element's `session-url`; a new one (and a new `/config`) when the attribute changed. */
  #http(): SessionClient {
    const url = this.host.sessionUrl;
    if (this.#client?.url !== resolveSessionUrl(url)) {
      this.#client = new SessionClient(url, timing.timeout);
      this.#config = undefined;
      this.#cfg = undefined;
    }
    return this.#client;
  }

  #hostOrder(): { sessionUrl: string; orderId: string } {
    return { sessionUrl: this.host.sessionUrl, orderId: this.host.orderId ?? '' };
  }

  #attempts(): AttemptStore {
    const { sessionUrl, orderId } = this.#attemptFor ?? this.#hostOrder();
    return new AttemptStore(sessionUrl, orderId);
  }
}
