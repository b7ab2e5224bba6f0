import { LitElement, html, nothing, render, type PropertyValues } from 'lit';
import { attemptKey, attemptsAtHand, loadAttempt } from './attempts.js';
import type { CheckoutController } from './checkout/controller.js';
import { emit, type PayCheckoutMode, type PayCheckoutState, type PaySession, type ProviderId } from './events.js';
import { formatMoney, loadStrings, onStringsChange, resolveLocale, stringsLoaded, t } from './i18n.js';
import { openPaymentWindow } from './presenters/open-window.js';
import { HOVER_TRANSITION, hostStyles } from './styles.js';
import { timing } from './timing.js';

const MODES: readonly string[] = ['auto', 'modal', 'inline', 'popup', 'redirect'];
const PROVIDERS: readonly string[] = ['repay', 'boxexchanger', 'agetrading'] satisfies ProviderId[];
const ID = /^[\w-]+$/;

/**
 * A configuration problem: the attribute at fault. `order-id` is missing (absent or blank); any other attribute is
 * invalid.
 */
type ConfigProblem = string;

/**
 * Shared by all elements, so a page with a hundred buttons pays for one of each: the set of connected elements
 * (re-rendered when an ancestor's `lang` or the merchant's strings change), one `lang` MutationObserver, one set
 * of page-activity listeners, and one load of the checkout module.
 */
const connected = new Set<PayCheckout>();
const rerender = (): void => connected.forEach((el) => el.requestUpdate());
let langObserver: MutationObserver | undefined;
let flowModule: Promise<typeof import('./checkout/controller.js')> | undefined;
let activity: AbortController | undefined;
/** The buttons' hover transition has been added to the page's shared style sheet. */
let transitions = false;

/** The checkout module, loaded once; a failed load (offline) is retried on the next intent. */
function loadFlowModule(): Promise<typeof import('./checkout/controller.js')> {
  return (flowModule ??= import('./checkout/controller.js').catch((error: unknown) => {
    flowModule = undefined;
    throw error;
  }));
}

/** Runs `run` once the browser is idle, and after `timeout` ms at the latest when it is given. */
function whenIdle(run: () => void, timeout?: number): void {
  // Safari has no requestIdleCallback.
  if (typeof requestIdleCallback === 'function') requestIdleCallback(run, { timeout });
  else setTimeout(run, 200);
}

/** The page's first idle moment, or the payer's first intent, has come: the tab's attempts may be read now. */
let readNow = false;
let readArmed = false;

/** An element's first frame left its order's attempt unread (see `attemptsAtHand`): read it at the first idle moment. */
function readAttemptsWhenIdle(): void {
  if (readArmed) return;
  readArmed = true;
  whenIdle(() => {
    readNow = true;
    rerender();
  }, 500);
}

// A touch fires pointerdown, so no touchstart listener is needed (see #onPress).
const ACTIVITY = ['pointermove', 'pointerdown', 'wheel', 'scroll', 'keydown'] as const;

/**
 * Preloads the checkout module, the dialog's strings and the helper's `/config` once the payer is active on the page (moves the
 * pointer, scrolls, types, touches) and the browser is idle. A page nobody interacts with (a background tab, a crawler, a payer who only reads)
 * downloads the button alone; an active payer usually has the module before the first hover or tap, which
 * matters on touch screens, where the tap is the first intent and the click follows within ~100 ms.
 * `requestIdleCallback` keeps the download and evaluation out of the page's own busy moments.
 */
function armPreload(): void {
  if (activity) return;
  const ac = (activity = new AbortController());
  const onActivity = (): void => {
    ac.abort();
    // Before the pointer reaches a button, so its hover is animated from the first one on (see HOVER_TRANSITION).
    if (!transitions) hostStyles.styleSheet?.insertRule(HOVER_TRANSITION);
    transitions = true;
    whenIdle(() => {
      const waiting = [...connected].filter((el) => el.state === 'idle' && !el.disabled);
      if (!waiting.length) return;
      // Once per language: loadStrings keeps each language's load.
      waiting.forEach((el) => loadStrings(el.currentLocale(), false).catch(() => undefined));
      const helpers = new Set(waiting.map((el) => el.sessionUrl));
      loadFlowModule().then((m) => helpers.forEach((url) => m.warmHelper(url)), () => undefined);
    });
  };
  for (const type of ACTIVITY) window.addEventListener(type, onActivity, { capture: true, passive: true, signal: ac.signal });
}

/**
 * The payer's intents on a pay button (hover, focus, press, keys), listened to once for the page instead of on
 * every button: on a page of many buttons the listeners were most of each button's own cost. Capture phase, so
 * a page's `stopPropagation()` cannot hide them. The click itself is heard by each element (`createRenderRoot`).
 */
const INTENTS = ['pointerover', 'focusin', 'pointerdown', 'keydown'] as const;
let intents: AbortController | undefined;

/** The element whose pay button the event happened on (through its open shadow root), if any. */
function buttonHost(event: Event): PayCheckout | undefined {
  // Retargeted to a shadow host at the document: a page element without a shadow root is not ours.
  if (!(event.target as Element | null)?.shadowRoot) return undefined;
  for (const node of event.composedPath()) {
    if (node instanceof HTMLButtonElement && node.part.contains('button')) {
      const root = node.getRootNode();
      return root instanceof ShadowRoot && root.host instanceof PayCheckout ? root.host : undefined;
    }
    if (node instanceof ShadowRoot) return undefined;
  }
  return undefined;
}

function onIntent(event: Event): void {
  buttonHost(event)?.handleIntent(event);
}

function armIntents(): void {
  if (intents) return;
  intents = new AbortController();
  for (const type of INTENTS) {
    // keydown may preventDefault (arrows open the picker instead of scrolling); the others never do.
    document.addEventListener(type, onIntent, { capture: true, passive: type !== 'keydown', signal: intents.signal });
  }
}

/** The last element left the page: no listener and no preload are wanted any more (listener hygiene for SPAs). */
function disarm(): void {
  activity?.abort();
  activity = undefined;
  intents?.abort();
  intents = undefined;
}

/**
 * The element's own templates have no binding: each binding is a Lit part created on every element, and a template
 * with bindings is scanned by Lit before its first use; on a page of a hundred buttons the four bindings of the idle
 * button (click, text, status line, the flow's part) were about a tenth of the first render (docs/performance.md).
 * The texts and the button's state attributes are written by `update()`, the click is heard on the shadow root, and
 * the flow's part (dialog, inline panel, picker) is rendered after the template, apart, once a flow exists.
 */
const BUTTON = html`<button part="button" type="button" aria-describedby="note"></button><p id="note" part="status" class="note" role="status"></p>`;
/** The inline panel replaces the button. */
const STATUS = html`<p id="note" part="status" class="note" role="status"></p>`;

const validUrls = new Map<string, boolean>();

function isHttpUrl(value: string): boolean {
  let valid = validUrls.get(value);
  if (valid === undefined) {
    try {
      valid = !/\s/.test(value) && /^https?:$/.test(new URL(value, document.baseURI).protocol);
    } catch {
      valid = false;
    }
    validUrls.set(value, valid);
  }
  return valid;
}

/**
 * A payment button that opens the payment provider's hosted page for one order and reports the outcome the
 * merchant's backend verified. Browser signals (redirects, messages) only trigger a status check; `pay-success`
 * fires when the helper reports `paid`.
 *
 * @summary Checkout button for RUB payments through Repay, BoxExchanger and age.trading.
 * @tagname pay-checkout
 *
 * @attr {string} order-id - Required. The merchant's order id; the helper resolves the amount from it.
 * @attr {string} session-url - The helper's sessions endpoint. Default `/api/checkout/sessions`; `/config` is read from its directory.
 * @attr {string} amount - Amount shown on the button (display only, the browser never sends the price).
 * @attr {string} currency - ISO 4217 currency of `amount`. Default `RUB`.
 * @attr {'repay' | 'boxexchanger' | 'agetrading'} provider - Provider to use; default the helper's `defaultProvider`.
 * @attr {string} methods - Comma-separated method ids; more than one shows a method picker.
 * @attr {string} method - Preselected method id (skips the picker).
 * @attr {'auto' | 'modal' | 'inline' | 'popup' | 'redirect'} mode - How the payment page is shown. Default `auto`.
 * @attr {string} locale - Language for texts and amounts; default the nearest `lang`, else `ru`.
 * @attr {string} label - Button text instead of "Pay {amount}".
 * @attr {boolean} disabled - Disables the button.
 * @attr {string} return-url - Redirect mode: where the payer comes back. Default the current page.
 *
 * @prop {PayCheckoutState} state - Read-only. What the payer currently sees (`idle`, `creating`, `loading`, `waiting`, `confirming`, `paid`, `held`, `failed`, `expired`, `cancelled`, `error`, …).
 * @prop {PaySession | null} session - Read-only. The current session without its token, or `null`.
 *
 * @fires {CustomEvent<PayOpenDetail>} pay-open - The payment page is shown, or the redirect is about to start. `detail: { session, mode }`.
 * @fires {CustomEvent<PayReturnDetail>} pay-return - The payer came back through the success / error / cancel page; a hint, not proof. `detail: { session, outcome }`.
 * @fires {CustomEvent<PayStatusDetail>} pay-status - Each verified status change. `detail: { session, status, previous }`.
 * @fires {CustomEvent<PaySuccessDetail>} pay-success - The helper confirmed `paid`. `detail: { session }`.
 * @fires {CustomEvent<PayErrorDetail>} pay-error - Session refused, provider failure, bad configuration, `failed` / `expired`. `detail: { code, message, retryable, session? }`.
 * @fires {CustomEvent<PayCancelDetail>} pay-cancel - The payer gave up, or the provider reported cancellation. `detail: { session?, reason }`.
 * @fires {CustomEvent<PayRequestCloseDetail>} pay-request-close - Esc, close button or backdrop; cancelable; not fired while a payment is being confirmed. `detail: { source }`.
 * @fires {CustomEvent<PayCloseDetail>} pay-close - The modal, inline page or popup went away. `detail: { session?, status }`.
 *
 * @csspart button - The pay button.
 * @csspart status - The status line under the button and the status line in the dialog (`role="status"`).
 * @csspart dialog - The modal `<dialog>`.
 * @csspart header - The dialog's (or inline panel's) header.
 * @csspart frame - The `<iframe>` with the payment page.
 * @csspart close-button - The dialog's close button.
 * @csspart picker - The method picker listbox.
 *
 * @cssproperty --pay-checkout-accent - Button and focus colour. Default `#1f5bd6`.
 * @cssproperty --pay-checkout-accent-text - Text colour on the accent. Default `#fff`.
 * @cssproperty --pay-checkout-radius - Corner radius of the button, dialog and picker. Default `10px`.
 * @cssproperty --pay-checkout-font - Font shorthand. Default `inherit`.
 * @cssproperty --pay-checkout-focus-ring - Focus outline colour.
 * @cssproperty --pay-checkout-surface - Dialog and picker background. Default `Canvas` (light / dark from `prefers-color-scheme`).
 * @cssproperty --pay-checkout-text - Dialog and picker text colour. Default `CanvasText`.
 * @cssproperty --pay-checkout-backdrop - Modal backdrop. Default `rgb(0 0 0 / 0.55)`.
 * @cssproperty --pay-checkout-dialog-width - Modal width. Default `480px`.
 * @cssproperty --pay-checkout-dialog-height - Modal height. Default `720px`.
 * @cssproperty --pay-checkout-frame-height - Inline frame height. Default `640px`.
 * @cssproperty --pay-checkout-z-index - Stacking of the picker. Default `1000`.
 */
export class PayCheckout extends LitElement {
  static override styles = hostStyles;

  static override properties = {
    orderId: { attribute: 'order-id' },
    sessionUrl: { attribute: 'session-url' },
    amount: {},
    currency: {},
    provider: {},
    methods: {},
    method: {},
    mode: {},
    locale: {},
    label: {},
    disabled: { type: Boolean, reflect: true },
    returnUrl: { attribute: 'return-url' },
  };

  /**
   * Network and polling tuning shared by all elements: request timeout, first poll delay and poll cap (ms).
   * Status polling starts at `poll` and backs off by 1.5× up to `pollMax`.
   */
  static timing = timing;

  declare orderId: string | null;
  declare sessionUrl: string;
  declare amount: string | number | null;
  declare currency: string;
  declare provider: string | null;
  declare methods: string | null;
  declare method: string | null;
  declare mode: PayCheckoutMode;
  declare locale: string | null;
  declare label: string | null;
  declare disabled: boolean;
  declare returnUrl: string | null;

  /** @internal set by the checkout flow */
  _state: PayCheckoutState = 'idle';
  /** @internal text of the status line under the button */
  _note = '';

  #problem?: ConfigProblem;
  #reported?: ConfigProblem;
  #flow?: CheckoutController;
  #loading?: Promise<CheckoutController | undefined>;
  #ac?: AbortController;
  /** Look for this order's attempt in the tab (a redirect return, or an order paid or held here) at the next update. */
  #resume?: boolean;
  /** The flow's part has been rendered. */
  #panel?: boolean;

  constructor() {
    super();
    this.orderId = null;
    this.sessionUrl = '/api/checkout/sessions';
    this.amount = null;
    this.currency = 'RUB';
    this.provider = null;
    this.methods = null;
    this.method = null;
    this.mode = 'auto';
    this.locale = null;
    this.label = null;
    this.disabled = false;
    this.returnUrl = null;
  }

  /** What the payer currently sees. */
  get state(): PayCheckoutState {
    return this.#problem ? 'invalid' : this._state;
  }

  /** The current session (never the token), or `null`. */
  get session(): PaySession | null {
    return this.#flow?.publicSession() ?? null;
  }

  /** Starts the payment, as a click on the button does. Idempotent: an open payment page is only focused. */
  open(): void {
    this.#readAttemptNow();
    if (this.#problem || this.disabled) return;
    if (this.#flow) {
      this.#flow.activate();
      return;
    }
    // Opened before any await: popup blockers only allow windows opened synchronously inside the click.
    const popup = this.mode === 'popup' && !this.wantsPicker() ? openPaymentWindow() : undefined;
    void this.#load().then((flow) => (flow ? flow.activate(popup) : popup?.close()));
  }

  /** Closes the dialog, inline page, popup or picker without asking (`pay-request-close` is for the payer's actions). Idempotent. */
  close(): void {
    this.#flow?.close();
  }

  /** @internal */
  methodList(): string[] {
    return (this.methods ?? '').split(',').map((m) => m.trim()).filter(Boolean);
  }

  /** @internal several methods and none preselected: a click shows the method picker. */
  wantsPicker(): boolean {
    return !this.method && this.methodList().length > 1;
  }

  /** @internal */
  currentLocale(): string {
    return resolveLocale(this, this.locale);
  }

  /** @internal */
  focusButton(): void {
    this.renderRoot.querySelector<HTMLElement>('[part~="button"]')?.focus();
  }

  /** @internal the tab now remembers the order of attempt `key` as paid: the page's other buttons for it show that too */
  paidElsewhere(key: string): void {
    for (const el of connected) {
      if (el === this || !el.hasUpdated) continue;
      // One with an attribute problem may be for this order once it is mended: it reads the tab then (`willUpdate`).
      if (el.#problem) el.#resume = true;
      else if (attemptKey(el.sessionUrl, el.orderId!) === key) {
        el.#resume = true;
        el.requestUpdate();
      }
    }
  }

  /** @internal renders pending changes now instead of at the end of the task */
  renderNow(): void {
    this.performUpdate();
  }

  /** @internal */
  setState(state: PayCheckoutState, note = ''): void {
    this._state = state;
    this._note = note;
    this.requestUpdate();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!langObserver) {
      langObserver = new MutationObserver(rerender);
      langObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['lang'], subtree: true });
      onStringsChange(rerender);
    }
    connected.add(this);
    armPreload();
    armIntents();
    // Moved in the page: its checkout is still there (see disconnectedCallback) and goes on.
    this.#flow?.moved();
    this.#resume = true;
    // Put back on the page: Lit renders a connected element again only when something changed.
    if (this.hasUpdated) this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    connected.delete(this);
    if (!connected.size) disarm();
    // A move (`append()` of a connected element, a framework re-ordering a list) disconnects and connects the element
    // again before the task's microtasks: the payment goes on (connectedCallback). Removal mid-flow aborts requests,
    // timers and listeners, and the checkout closes its popup; late results are ignored by the aborted checkout.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.#ac?.abort();
      this.#ac = undefined;
      this.#flow = undefined;
      this.#loading = undefined;
      if (this._state !== 'paid') this.setState('idle');
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    this.#problem = this.#validate();
    // Another order (or helper) than the one shown: what the tab knows about it decides the button.
    if (changed.has('orderId') || changed.has('sessionUrl')) {
      this.#resume = true;
      // Unless a payment is on screen, the previous order's session stops being checked and is dropped: its outcome
      // is not this order's.
      this.#flow?.forget();
    }
    if (this.#resume && !this.#problem && !this.#flow?.busy) {
      // A reload of a tab where this order was paid or is held shows that from the first frame, never "Pay"; a page
      // reached through a link shows it at its first idle moment, or at the payer's first intent if that comes first.
      const later = !readNow && !attemptsAtHand();
      if (later) readAttemptsWhenIdle();
      else this.#resume = false;
      const settled = later ? undefined : loadAttempt(attemptKey(this.sessionUrl, this.orderId!))?.settled;
      if (settled) this._state = settled;
      else if (this._state === 'paid' || this._state === 'held') this.setState('idle');
      if (settled || location.hash.startsWith('#pay-checkout=')) void this.#load().then((flow) => flow?.resume());
    }
  }

  protected override createRenderRoot(): HTMLElement | DocumentFragment {
    const root = super.createRenderRoot();
    // The template is rendered before this marker and the flow's part after it, so that neither clears the other.
    this.renderOptions.renderBefore = root.appendChild(new Comment());
    // The button's click, heard where it leaves the button: one listener for every button the element will show.
    root.addEventListener('click', (event) => (event.target as Element).part?.contains('button') && this.open());
    return root;
  }

  /**
   * Renders the template (see `BUTTON`), then the flow's part, then writes the texts and the button's state
   * attributes, before the controllers and `updated()` see the update. Each is written only when it changes, as a
   * binding would: an unchanged value makes no mutation record.
   */
  protected override update(changed: PropertyValues<this>): void {
    super.update(changed);
    const root = this.renderRoot as ShadowRoot;
    const locale = this.currentLocale();
    const problem = this.#problem;
    const flow = this.#flow;
    if (flow || this.#panel) {
      // The language changed after the flow was loaded: fetch that language's dialog strings, then show them.
      if (flow && !stringsLoaded(locale)) loadStrings(locale, false).then(() => this.requestUpdate(), () => undefined);
      render(flow ? flow.render(locale) : nothing, root, { host: this });
      this.#panel = !!flow;
    }
    const write = (node: Node, text: string): void => {
      if (node.textContent !== text) node.textContent = text;
    };
    const note = root.getElementById('note')!;
    write(note, problem ? this.#reason(problem) : this._note);
    const button = note.previousElementSibling;
    if (button) {
      const state = this._state;
      // An amount or currency the validation refused is not written out ("Оплатить -5 ₽"): the note says what is wrong.
      const amount =
        problem != 'amount' && problem != 'currency' && this.amount != null && this.amount !== ''
          ? formatMoney(locale, this.amount, this.currency)
          : '';
      // A paid or held order says so even on a button with the merchant's own label: it no longer offers to pay.
      write(
        button,
        state === 'paid' || state === 'held'
          ? t(locale, `${state}Button`)
          : this.label || (amount ? t(locale, 'payAmount', { amount }) : t(locale, 'pay')),
      );
      const picker = !problem && this.wantsPicker();
      const attr = (name: string, value: string | false): void => {
        if (!value) button.removeAttribute(name);
        else if (button.getAttribute(name) !== value) button.setAttribute(name, value);
      };
      button.toggleAttribute('disabled', !!problem || this.disabled);
      attr('aria-disabled', state === 'paid' && 'true');
      attr('aria-busy', String(state === 'creating' || state === 'redirecting'));
      attr('aria-haspopup', picker && 'listbox');
      attr('aria-expanded', picker && String(!!flow?.pickerOpen));
    }
  }

  protected override updated(): void {
    const problem = this.#problem;
    if (problem !== this.#reported && this.isConnected) {
      this.#reported = problem;
      if (problem) {
        const message = this.#reason(problem);
        console.warn(`[pay-checkout] ${message}`, this);
        emit(this, 'pay-error', { code: 'invalid_config', message, retryable: false });
      }
    }
  }

  protected override render() {
    const inline = !!this.#flow?.hidesButton();
    // While the inline panel is shown the element carries `panel` and is a block (`:host([panel])`), so the panel takes
    // its container's width however `mode` was set. (An attribute of its own, not a custom state: the page or a
    // subclass may want the element's ElementInternals.)
    if (inline !== this.hasAttribute('panel')) this.toggleAttribute('panel', inline);
    return inline ? STATUS : BUTTON;
  }

  /** @internal an intent on this element's button, from the page-level listeners (`INTENTS`) */
  handleIntent(event: Event): void {
    this.#readAttemptNow();
    if (event.type === 'pointerdown') this.#onPress(event as PointerEvent);
    else if (event.type === 'keydown') this.#onKeydown(event as KeyboardEvent);
    else this.#warm();
  }

  /**
   * First intent (hover, focus, touch, press): load the flow and `/config`, and render the closed dialog, so the
   * click itself is instant. Nothing of the flow is loaded before an intent or the payer's activity on the page
   * (see `armPreload`): an idle page downloads the button only.
   */
  #warm(): void {
    void this.#load().then((flow) => flow?.warm());
  }

  // Pointer down also stands for touchstart: a touch fires it at once. No touchstart listener: it would register a
  // touch-handler region with the compositor.
  #onPress(event: PointerEvent): void {
    if (!this.#flow) this.#warm();
    if (event.button === 0 && !this.disabled && !this.#problem) this.#flow?.prestart();
  }

  #onKeydown(event: KeyboardEvent): void {
    if ((event.key === 'Enter' || event.key === ' ') && !this.disabled && !this.#problem) this.#flow?.prestart();
    if ((event.key === 'ArrowDown' || event.key === 'ArrowUp') && this.wantsPicker()) {
      event.preventDefault();
      this.open();
    }
  }

  /**
   * The payer is about to act on a button whose first frame left the tab's attempts unread: read them now, so that a
   * paid or held order is shown as such before a press or a click can ask for a payment (and rewrite its record).
   */
  #readAttemptNow(): void {
    if (!this.#resume || !this.hasUpdated) return;
    readNow = true;
    this.requestUpdate();
    this.performUpdate();
  }

  #reason(problem: ConfigProblem): string {
    return t(this.currentLocale(), problem === 'order-id' ? 'configMissing' : 'configInvalid', { attr: problem });
  }

  #validate(): ConfigProblem | undefined {
    if (!this.orderId?.trim()) return 'order-id';
    const amount = this.amount == null ? '' : String(this.amount).trim();
    if (amount && !/^\d+(\.\d+)?$/.test(amount)) return 'amount';
    // A removed attribute leaves null, which the test reads as "null": refused like any other non-code.
    if (!/^[A-Za-z]{3}$/.test(this.currency)) return 'currency';
    if (!MODES.includes(this.mode)) return 'mode';
    if (this.provider && !PROVIDERS.includes(this.provider)) return 'provider';
    const methods = this.methodList();
    if (!methods.every((m) => ID.test(m))) return 'methods';
    if (this.method && (!ID.test(this.method) || (methods.length > 0 && !methods.includes(this.method)))) {
      return 'method';
    }
    if (this.locale) {
      try {
        Intl.getCanonicalLocales(this.locale);
      } catch {
        return 'locale';
      }
    }
    if (!isHttpUrl(this.sessionUrl ?? '')) return 'session-url';
    if (this.returnUrl != null && !isHttpUrl(this.returnUrl)) return 'return-url';
    return undefined;
  }

  #load(): Promise<CheckoutController | undefined> {
    if (this.#problem || this.disabled || !this.isConnected) return Promise.resolve(undefined);
    const signal = (this.#ac ??= new AbortController()).signal;
    // The dialog's strings for this element's language come as their own chunk, fetched beside the flow's.
    return (this.#loading ??= Promise.all([loadFlowModule(), loadStrings(this.currentLocale(), false)]).then(
      ([{ CheckoutController }]) => {
        if (signal.aborted) return undefined;
        this.#flow = new CheckoutController(this, signal);
        this.requestUpdate();
        return this.#flow;
      },
      (error: unknown) => {
        this.#loading = undefined;
        console.warn('[pay-checkout] Could not load the checkout', error);
        return undefined;
      },
    ));
  }
}
