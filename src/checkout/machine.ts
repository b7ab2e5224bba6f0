// The checkout's decisions, without a DOM: what a click, a verified status, a return, a closed window or a close
// request means for what the payer sees. `transition(state, event)` answers with the next state and the effects the
// controller (./controller.ts) carries out in order: requests, timers, presenters and events stay there.
import type { Attempt } from '../attempts.js';
import type { CancelReason, CloseSource, PayCheckoutState, PresentedMode, ReturnOutcome, SessionStatus } from '../events.js';

/** Statuses after which nothing changes without a person. */
export const FINAL: readonly SessionStatus[] = ['paid', 'refunded', 'failed', 'cancelled', 'expired'];
/** Statuses that leave the payer nothing to do: final, or `held` (a person reviews it). Closing then is no cancellation. */
export const SETTLED: readonly SessionStatus[] = [...FINAL, 'held'];
/** Statuses that end an attempt: the next click starts a new one with a new Idempotency-Key. */
export const RESTART: readonly SessionStatus[] = ['failed', 'cancelled', 'expired'];

/**
 * Whether a session may move from `from` to `to`, as the helper's own state machine allows (docs/server.md, "Nothing
 * moves backwards"): `pending` never returns to `created`; `paid` only moves to `held` or `refunded`; `held` to `paid`,
 * `refunded` or `failed`; a later `paid` or `held` revives `failed` / `cancelled` / `expired` (server-example/transitions.ts);
 * `refunded` stays. An answer that says otherwise is older than what the element has shown, and is dropped.
 */
export function canMove(from: SessionStatus, to: SessionStatus): boolean {
  if (from === to || from === 'created') return true;
  switch (from) {
    case 'pending':
      return to !== 'created';
    case 'paid':
      return to === 'held' || to === 'refunded';
    case 'held':
      return to === 'paid' || to === 'refunded' || to === 'failed';
    case 'failed':
    case 'cancelled':
    case 'expired':
      return to === 'paid' || to === 'held';
    default:
      return false;
  }
}

/** What the payment page is in, inside a panel (modal or inline): its frame, a window opened from the header, an offer to open one, or nothing. */
export type PanelPage = 'none' | 'frame' | 'window' | 'offer';

/** Where the payment is shown. */
export type Surface =
  /** Nothing: the button, perhaps with a status under it. */
  | { kind: 'none' }
  /** The dialog or the inline panel, and what it shows of the payment page. */
  | { kind: 'modal' | 'inline'; page: PanelPage }
  /** A popup window shows the payment page. */
  | { kind: 'popup' }
  /** The page navigated to the provider, or came back from it: the status is confirmed under the button. */
  | { kind: 'redirect' }
  /** The popup went away after the return (the return page closes itself): the status is confirmed under the button. */
  | { kind: 'detached' };

/** An error the payer is told about; the sentence for `code` is looked up when shown. */
export interface FlowError {
  code: string;
  retryable: boolean;
}

export interface CheckoutState {
  /** What the payer sees: the element's `state`. */
  view: PayCheckoutState;
  /** The current session's verified status, if there is a session. */
  status?: SessionStatus;
  surface: Surface;
  /** The payer came back through the return page (a hint: the status is being confirmed). */
  returned: boolean;
  error?: FlowError;
  /** Why a cancellation that arrives now happened. */
  cancelReason?: CancelReason;
  /**
   * The attempt's end was reported: `pay-cancel` after a dismissal. The merchant was told once; a later end the checks
   * read (the provider cancelling or expiring the payment left open) is a `pay-status` only.
   */
  told?: boolean;
}

export type CheckoutEvent =
  /** A new attempt starts on `mode`. */
  | { type: 'begin'; mode: PresentedMode }
  /** Its session is being asked for. */
  | { type: 'creating' }
  /** The helper answered with a session; `windowGone`: the popup meant for it was closed meanwhile. */
  | { type: 'accepted'; status: SessionStatus; frameable: boolean; windowGone: boolean }
  /** A verified status different from the previous one. */
  | { type: 'status'; status: SessionStatus; previous: SessionStatus }
  | { type: 'return'; outcome: ReturnOutcome }
  /** The status check after a return (or a cancel request) answered. */
  | { type: 'confirmed' }
  /** The first check after a dismissal answered (or failed) for the dismissed session. */
  | { type: 'dismiss-checked' }
  /** The window showing the payment page (the popup, or one opened from a panel's header) was closed. */
  | { type: 'window-closed' }
  /** A window was opened from the panel's header. */
  | { type: 'window-opened' }
  | { type: 'frame-loaded' }
  /** The payer asked to close (Esc, close button, backdrop). */
  | { type: 'request-close'; source: CloseSource }
  /** Closed: by the merchant, or the payer's request was not prevented. */
  | { type: 'close' }
  | { type: 'fail'; error: FlowError }
  /** The helper refused a new payment: the order is paid, or a payment for it is held. */
  | { type: 'order-settled'; settled: 'paid' | 'held'; error: FlowError }
  /** A reload of a tab where the order was paid or is held; `error` when no session of it is known. */
  | { type: 'restored'; settled: 'paid' | 'held'; error?: FlowError }
  /** The page came back from the back/forward cache. */
  | { type: 'pageshow' }
  | { type: 'retry' };

/**
 * What the controller does, in order: `[what, ...arguments]`. `set` shows a view on the element (and its sentence
 * under the button when no panel is open); `pay-*` dispatch that event about the current session; `report` is
 * `pay-error` for `state.error`; `ask-close` asks `pay-request-close` (cancelable), then closes; `new-attempt` /
 * `abort` start and stop an attempt's signal (its requests, polling and countdown); `hide` hides the presenter;
 * `close-window` / `drop-window` close and forget the window showing the payment page; `stop-sync`, `stop-countdown`, `poll`,
 * `refresh` and `countdown` drive ./status-sync.ts; `present` listens for the return page and shows the payment
 * page on the presenter; `navigate` sends the page itself there (redirect); `remember` updates the stored
 * attempt; `after-dismiss` checks the status, reports a cancellation unless the payment settled (`dismiss-checked`), and
 * checks a few times more in the background (a later `paid` is still reported); `keep-polling` goes on polling a held session
 * after what showed it closed;
 * `confirm` / `cancel` ask the helper after a return; `create` asks for a session again on the same panel;
 * `start` starts again from the element (resolving the mode, opening a popup inside the click).
 */
export type Effect =
  | ['set', PayCheckoutState]
  | [
      | 'render'
      | 'pay-open'
      | 'pay-success'
      | 'pay-close'
      | 'report'
      | 'new-attempt'
      | 'abort'
      | 'hide'
      | 'close-window'
      | 'drop-window'
      | 'stop-sync'
      | 'poll'
      | 'refresh'
      | 'present'
      | 'navigate'
      | 'countdown'
      | 'after-dismiss'
      | 'keep-polling'
      | 'stop-countdown'
      | 'confirm'
      | 'cancel'
      | 'create'
      | 'start',
    ]
  | ['pay-status', status: SessionStatus, previous: SessionStatus]
  | ['pay-return', ReturnOutcome]
  | ['pay-cancel', CancelReason, withSession: boolean]
  | ['ask-close', CloseSource]
  | ['remember', Partial<Attempt>];

/** The controller's handler for each effect. */
export type EffectHandlers = { [E in Effect as E[0]]: (...args: E extends [string, ...infer A] ? A : never) => void };

export type Transition = [CheckoutState, Effect[]];

export const initialState = (view: PayCheckoutState = 'idle'): CheckoutState => ({ view, surface: { kind: 'none' }, returned: false });

const isPanel = (s: Surface): s is { kind: 'modal' | 'inline'; page: PanelPage } => s.kind === 'modal' || s.kind === 'inline';
const isFinal = (status: SessionStatus | undefined): boolean => !!status && FINAL.includes(status);
const isSettled = (status: SessionStatus | undefined): boolean => !!status && SETTLED.includes(status);

/**
 * The outcome is known and confirmed under the button, after a redirect or once the popup went: nothing shows the
 * payment any more, and another order may take the element (a surface other than `none` keeps the session, see the
 * controller's `busy`).
 */
function release(s: CheckoutState): void {
  if (s.surface.kind === 'detached' || s.surface.kind === 'redirect') s.surface = { kind: 'none' };
}

/** The surface shows the payment (focus it on a click), as opposed to nothing or a confirmation under the button. */
function isShowing(state: CheckoutState): boolean {
  const kind = state.surface.kind;
  return kind === 'modal' || kind === 'inline' || kind === 'popup';
}

/**
 * What a click (or `open()`) does: focus what shows the payment, nothing while busy, confirming or with nothing left
 * to pay (a held session waits for a person and is being polled; an order the helper called held, without a session
 * here, is asked about again), else start.
 */
export function onActivate(state: CheckoutState): 'focus' | 'ignore' | 'start' {
  if (isShowing(state)) return 'focus';
  const view = state.view;
  if (['creating', 'redirecting', 'confirming', 'paid'].includes(view) || (view === 'held' && state.status === 'held')) return 'ignore';
  return 'start';
}

/** Whether a press may ask for the session ahead of the click. */
export function canPrestart(state: CheckoutState): boolean {
  return state.surface.kind === 'none' && (state.view === 'idle' || state.view === 'error');
}

export function transition(state: CheckoutState, event: CheckoutEvent): Transition {
  const s: CheckoutState = { ...state };
  const fx: Effect[] = [];
  const set = (view: PayCheckoutState): void => {
    s.view = view;
    fx.push(['set', view]);
  };
  const page = (p: PanelPage): void => {
    if (isPanel(s.surface)) s.surface = { kind: s.surface.kind, page: p };
  };

  switch (event.type) {
    case 'begin': {
      const mode = event.mode;
      s.surface = mode === 'modal' || mode === 'inline' ? { kind: mode, page: 'none' } : { kind: mode };
      s.returned = false;
      s.error = s.cancelReason = s.told = undefined;
      fx.push(['new-attempt']);
      break;
    }
    case 'creating':
      set('creating');
      break;
    case 'accepted': {
      s.status = event.status;
      if (isFinal(event.status)) {
        react(s, fx, event.status);
        break;
      }
      if (event.status === 'held') {
        // The attempt's payment is held for review (its hold never reached this tab: the key brought the session
        // back): say so, and show no payment page. Nothing is to be paid; polling brings the shop's decision.
        if (s.surface.kind === 'popup') fx.push(['close-window'], ['drop-window']);
        if (!isPanel(s.surface)) s.surface = { kind: 'none' };
        page('none');
        react(s, fx, 'held');
        fx.push(['poll']);
        break;
      }
      const kind = s.surface.kind;
      if (kind === 'redirect') {
        fx.push(['present']);
        set('redirecting');
        fx.push(['pay-open'], ['navigate']);
        break;
      }
      if (kind === 'popup' && event.windowGone) {
        close(s, fx);
        break;
      }
      // A provider that refuses framing: a new window needs a fresh click, so the panel offers one.
      page(event.frameable ? 'frame' : 'offer');
      fx.push(['present']);
      set(kind !== 'popup' && event.frameable ? 'loading' : 'waiting');
      fx.push(['pay-open'], ['countdown'], ['poll']);
      break;
    }
    case 'status':
      s.status = event.status;
      fx.push(['pay-status', event.status, event.previous]);
      react(s, fx, event.status);
      break;
    case 'return':
      // The return page replaced the provider page: show our own status instead of "you can close this window".
      s.returned = true;
      if (!isPanel(s.surface) || s.surface.page !== 'window') page('none');
      fx.push(['pay-return', event.outcome]);
      // The helper has already said how it ended (paid, or held, before the provider sent its window back, say): that
      // stands, with nothing left to confirm or cancel. A success after an end without a payment is asked about: the
      // payer may have paid that payment since (the helper revives it).
      if (isSettled(s.status) && !(event.outcome === 'success' && RESTART.includes(s.status!))) break;
      set('confirming');
      if (event.outcome === 'cancel') {
        s.cancelReason = 'payer';
        fx.push(['cancel']);
      } else {
        fx.push(['confirm']);
      }
      break;
    case 'confirmed':
      if (s.view === 'confirming' && RESTART.includes(s.status!)) {
        // Asked again after an end without a payment (see 'return'), and the helper still says so: that end stands,
        // and nothing shows the payment any more (as react() leaves it, without telling the end again).
        set(s.status as PayCheckoutState);
        release(s);
      } else if (s.view === 'confirming') set('waiting');
      if (!isFinal(s.status)) fx.push(['poll']);
      break;
    case 'dismiss-checked':
      // Unless the payment settled meanwhile (and was reported as such), the payer gave up on it: the attempt's one
      // pay-cancel.
      if (!isSettled(s.status)) {
        s.told = true;
        fx.push(['pay-cancel', 'dismissed', true]);
      }
      break;
    case 'window-closed':
      if (s.surface.kind === 'popup') {
        if (s.returned || isSettled(s.status)) {
          // The return page closes itself (or the element closed the popup of a settled payment): the popup is gone,
          // the confirmation goes on under the button; with the outcome known there is nothing left to confirm (and
          // the element may turn to another order: render). A held payment is still polled.
          const settled = isSettled(s.status);
          s.surface = settled ? { kind: 'none' } : { kind: 'detached' };
          fx.push(['drop-window'], ['pay-close']);
          if (settled) fx.push(['render']);
        } else {
          close(s, fx);
        }
      } else if (isPanel(s.surface) && s.surface.page === 'window' && !s.returned && s.status && !isSettled(s.status)) {
        // A window opened from the panel's header was closed: offer it again and check the status now.
        page('offer');
        fx.push(['drop-window'], ['render'], ['refresh']);
      }
      break;
    case 'window-opened':
      page('window');
      if (s.view === 'loading') set('waiting');
      else fx.push(['render']);
      break;
    case 'frame-loaded':
      if (s.view === 'loading') set('waiting');
      break;
    case 'request-close':
      // Locked while the payment is being confirmed: closing now would hide the outcome.
      if (s.view !== 'confirming') fx.push(['ask-close', event.source]);
      break;
    case 'close':
      close(s, fx);
      break;
    case 'fail':
    case 'order-settled':
      s.error = event.error;
      fx.push(['report']);
      // The blank window opened for the click is useless now.
      if (s.surface.kind === 'popup') close(s, fx);
      // Its token refused, or its session unknown: nothing paid on the page shown could be confirmed here, so the
      // panel no longer offers it (the helper still records a payment made there).
      if (event.type === 'fail' && (event.error.code === 'unauthorized' || event.error.code === 'unknown_session')) page('none');
      if (!isPanel(s.surface)) s.surface = { kind: 'none' };
      if (event.type === 'fail') set('error');
      else {
        fx.push(['remember', { done: true, settled: event.settled }]);
        set(event.settled);
      }
      break;
    case 'restored':
      s.error = event.error;
      set(event.settled);
      break;
    case 'pageshow':
      if (s.view === 'redirecting') {
        s.surface = { kind: 'none' };
        set('idle');
      }
      break;
    case 'retry': {
      const kind = s.surface.kind;
      s.error = undefined;
      if (kind === 'modal' || kind === 'inline') {
        const [next, more] = transition(s, { type: 'begin', mode: kind });
        Object.assign(s, next);
        fx.push(...more);
        set('creating');
        fx.push(['create']);
      } else {
        fx.push(['start']);
      }
      break;
    }
  }
  return [s, fx];
}

/** What a verified status means for the payer (`s` and `fx` are the transition's own). */
function react(s: CheckoutState, fx: Effect[], status: SessionStatus): void {
  const set = (view: PayCheckoutState): void => {
    s.view = view;
    fx.push(['set', view]);
  };
  if (isSettled(status)) {
    // Nothing is left to pay: the provider page goes (a held payment is still polled, for the shop's decision).
    if (status !== 'held') fx.push(['stop-sync']);
    if (isPanel(s.surface)) {
      // A window opened from the panel's header goes like a popup.
      if (s.surface.page === 'window') fx.push(['close-window'], ['drop-window']);
      s.surface = { kind: s.surface.kind, page: 'none' };
    }
    release(s);
    if (s.surface.kind === 'popup') fx.push(['close-window']);
  }
  if (status === 'paid') {
    s.error = undefined;
    fx.push(['remember', { done: true, settled: 'paid' }]);
    set('paid');
    fx.push(['pay-success']);
  } else if (status === 'failed' || status === 'expired' || status === 'cancelled') {
    fx.push(['remember', { done: true, settled: undefined }]);
    set(status);
    // After a dismissal's pay-cancel the merchant knows the attempt ended: its pay-status says how.
    if (s.told) return;
    if (status === 'cancelled') fx.push(['pay-cancel', s.cancelReason ?? 'provider', true]);
    else {
      s.error = { code: status, retryable: true };
      fx.push(['report']);
    }
  } else if (status === 'held' || status === 'refunded') {
    s.error = undefined;
    // Nothing is to be paid any more: no time left to count down (polling goes on for a held payment).
    if (status === 'held') fx.push(['stop-countdown']);
    fx.push(['remember', { settled: status === 'held' ? 'held' : undefined }]);
    set(status);
  } else if (s.surface.kind === 'none') {
    // Closed before this answer came (the check after a dismissal): nothing shows the payment or waits for it.
  } else if (s.view !== 'loading' && s.view !== 'creating') {
    set('waiting');
  }
}

/** Closes whatever shows the payment; nothing to do when nothing does (or the payment went elsewhere). */
function close(s: CheckoutState, fx: Effect[]): void {
  const kind = s.surface.kind;
  if (kind === 'none' || kind === 'redirect' || kind === 'detached') return;
  fx.push(['abort'], ['hide'], ['close-window'], ['drop-window'], ['pay-close']);
  s.surface = { kind: 'none' };
  const view = s.view;
  // A settled payment stays said under the button (held: what happens next); anything else is idle again.
  s.view = view !== 'paid' && view !== 'held' && view !== 'refunded' ? 'idle' : view;
  fx.push(['set', s.view]);
  // A held payment waits for a person: its outcome still reaches the page, under the button.
  if (s.status === 'held') fx.push(['keep-polling']);
  if (s.error) {
    // Closed because of an error (or after one): that was already reported as pay-error.
  } else if (s.status && !SETTLED.includes(s.status)) {
    // The payer may have paid and closed the page before the confirmation arrived: check before reporting, and a
    // few times after (the helper reads the provider every few seconds at most).
    s.cancelReason = 'dismissed';
    fx.push(['after-dismiss']);
  } else if (!s.status && view === 'creating') {
    fx.push(['pay-cancel', 'dismissed', false]);
  }
}
