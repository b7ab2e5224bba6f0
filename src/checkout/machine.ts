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

export type Effect =
  /** Show `view` on the element (and its sentence under the button when no panel is open). */
  | { fx: 'set'; view: PayCheckoutState }
  | { fx: 'render' }
  | { fx: 'emit'; event: 'pay-open' | 'pay-success' | 'pay-close' }
  | { fx: 'emit'; event: 'pay-status'; status: SessionStatus; previous: SessionStatus }
  | { fx: 'emit'; event: 'pay-return'; outcome: ReturnOutcome }
  | { fx: 'emit'; event: 'pay-cancel'; reason: CancelReason; withSession: boolean }
  /** `pay-error` for `state.error`. */
  | { fx: 'report' }
  /** Ask `pay-request-close` (cancelable), then close. */
  | { fx: 'ask-close'; source: CloseSource }
  /** A new attempt: a new abort signal for its requests, polling and countdown. */
  | { fx: 'new-attempt' }
  /** Abort the attempt: its requests, polling and countdown. */
  | { fx: 'abort' }
  /** Hide the presenter that showed the payment. */
  | { fx: 'hide'; mode: PresentedMode }
  | { fx: 'close-window' }
  /** Forget the window that was closed. */
  | { fx: 'drop-window' }
  | { fx: 'stop-sync' }
  | { fx: 'poll' }
  | { fx: 'refresh' }
  /** Listen for the return page, show the payment page on the surface, start the countdown and polling as it needs. */
  | { fx: 'present' }
  | { fx: 'navigate' }
  | { fx: 'countdown' }
  | { fx: 'remember'; change: Partial<Attempt> }
  /** Check the status once, then report a cancellation unless the payment settled. */
  | { fx: 'after-dismiss' }
  | { fx: 'confirm' }
  | { fx: 'cancel' }
  /** Ask for a session again on the same panel. */
  | { fx: 'create' }
  /** Start again from the element (resolves the mode, opens a popup inside the click). */
  | { fx: 'start' };

export type Transition = [CheckoutState, Effect[]];

export const initialState = (view: PayCheckoutState = 'idle'): CheckoutState => ({ view, surface: { kind: 'none' }, returned: false });

const isPanel = (s: Surface): s is { kind: 'modal' | 'inline'; page: PanelPage } => s.kind === 'modal' || s.kind === 'inline';
const isFinal = (status: SessionStatus | undefined): boolean => !!status && FINAL.includes(status);

/** The surface shows the payment (focus it on a click), as opposed to nothing or a confirmation under the button. */
export function isShowing(state: CheckoutState): boolean {
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
  const fx: Effect[] = [];
  let s: CheckoutState = state;
  const set = (view: PayCheckoutState): void => {
    s = { ...s, view };
    fx.push({ fx: 'set', view });
  };
  const page = (p: PanelPage): void => {
    if (isPanel(s.surface)) s = { ...s, surface: { ...s.surface, page: p } };
  };
  const apply = ([next, more]: Transition): void => {
    s = next;
    fx.push(...more);
  };

  switch (event.type) {
    case 'begin': {
      const mode = event.mode;
      s = {
        view: s.view,
        status: s.status,
        surface: mode === 'modal' || mode === 'inline' ? { kind: mode, page: 'none' } : { kind: mode },
        returned: false,
      };
      fx.push({ fx: 'new-attempt' });
      break;
    }
    case 'creating':
      set('creating');
      break;
    case 'accepted': {
      s = { ...s, status: event.status };
      if (isFinal(event.status)) {
        apply(react(s, event.status));
        break;
      }
      const kind = s.surface.kind;
      if (kind === 'redirect') {
        fx.push({ fx: 'present' });
        set('redirecting');
        fx.push({ fx: 'emit', event: 'pay-open' }, { fx: 'navigate' });
        break;
      }
      if (kind === 'popup') {
        if (event.windowGone) {
          apply(close(s));
          break;
        }
        fx.push({ fx: 'present' });
        set('waiting');
      } else if (!event.frameable) {
        // The provider refuses framing: a new window needs a fresh click, so offer one.
        page('offer');
        fx.push({ fx: 'present' });
        set('waiting');
      } else {
        page('frame');
        fx.push({ fx: 'present' });
        set('loading');
      }
      fx.push({ fx: 'emit', event: 'pay-open' }, { fx: 'countdown' }, { fx: 'poll' });
      break;
    }
    case 'status':
      s = { ...s, status: event.status };
      fx.push({ fx: 'emit', event: 'pay-status', status: event.status, previous: event.previous });
      apply(react(s, event.status));
      break;
    case 'return':
      // The return page replaced the provider page: show our own status instead of "you can close this window".
      s = { ...s, returned: true };
      if (isPanel(s.surface) && s.surface.page !== 'window') page('none');
      fx.push({ fx: 'emit', event: 'pay-return', outcome: event.outcome });
      set('confirming');
      if (event.outcome === 'cancel') {
        s = { ...s, cancelReason: 'payer' };
        fx.push({ fx: 'cancel' });
      } else {
        fx.push({ fx: 'confirm' });
      }
      break;
    case 'confirmed':
      if (s.view === 'confirming') set('waiting');
      if (!isFinal(s.status)) fx.push({ fx: 'poll' });
      break;
    case 'window-closed':
      if (s.surface.kind === 'popup') {
        if (s.returned || isFinal(s.status)) {
          // The return page closes itself: the popup is gone, the confirmation goes on under the button.
          s = { ...s, surface: { kind: 'detached' } };
          fx.push({ fx: 'drop-window' }, { fx: 'emit', event: 'pay-close' });
        } else {
          apply(close(s));
        }
      } else if (isPanel(s.surface) && s.surface.page === 'window' && !s.returned && s.status && !isFinal(s.status)) {
        // A window opened from the panel's header was closed: offer it again and check the status now.
        page('offer');
        fx.push({ fx: 'drop-window' }, { fx: 'render' }, { fx: 'refresh' });
      }
      break;
    case 'window-opened':
      page('window');
      if (s.view === 'loading') set('waiting');
      else fx.push({ fx: 'render' });
      break;
    case 'frame-loaded':
      if (s.view === 'loading') set('waiting');
      break;
    case 'request-close':
      // Locked while the payment is being confirmed: closing now would hide the outcome.
      if (s.view !== 'confirming') fx.push({ fx: 'ask-close', source: event.source });
      break;
    case 'close':
      apply(close(s));
      break;
    case 'fail':
    case 'order-settled': {
      s = { ...s, error: event.error };
      fx.push({ fx: 'report' });
      // The blank window opened for the click is useless now.
      if (s.surface.kind === 'popup') apply(close(s));
      if (!isPanel(s.surface)) s = { ...s, surface: { kind: 'none' } };
      if (event.type === 'fail') set('error');
      else {
        fx.push({ fx: 'remember', change: { done: true, settled: event.settled } });
        set(event.settled);
      }
      break;
    }
    case 'restored':
      s = { ...s, error: event.error };
      set(event.settled);
      break;
    case 'pageshow':
      if (s.view === 'redirecting') {
        s = { ...s, surface: { kind: 'none' } };
        set('idle');
      }
      break;
    case 'retry': {
      s = { ...s, error: undefined };
      const kind = s.surface.kind;
      if (kind === 'modal' || kind === 'inline') {
        apply(transition(s, { type: 'begin', mode: kind }));
        set('creating');
        fx.push({ fx: 'create' });
      } else {
        fx.push({ fx: 'start' });
      }
      break;
    }
  }
  return [s, fx];
}

/** What a verified status means for the payer. */
function react(state: CheckoutState, status: SessionStatus): Transition {
  const fx: Effect[] = [];
  let s = state;
  const set = (view: PayCheckoutState): void => {
    s = { ...s, view };
    fx.push({ fx: 'set', view });
  };
  if (isFinal(status)) {
    fx.push({ fx: 'stop-sync' });
    if (isPanel(s.surface) && s.surface.page !== 'window') s = { ...s, surface: { ...s.surface, page: 'none' } };
    if (s.surface.kind === 'popup') fx.push({ fx: 'close-window' });
  }
  if (status === 'paid') {
    s = { ...s, error: undefined };
    fx.push({ fx: 'remember', change: { done: true, settled: 'paid' } });
    set('paid');
    fx.push({ fx: 'emit', event: 'pay-success' });
  } else if (status === 'failed' || status === 'expired') {
    fx.push({ fx: 'remember', change: { done: true, settled: undefined } });
    set(status);
    s = { ...s, error: { code: status, retryable: true } };
    fx.push({ fx: 'report' });
  } else if (status === 'cancelled') {
    fx.push({ fx: 'remember', change: { done: true, settled: undefined } });
    set('cancelled');
    fx.push({ fx: 'emit', event: 'pay-cancel', reason: s.cancelReason ?? 'provider', withSession: true });
  } else if (status === 'held' || status === 'refunded') {
    s = { ...s, error: undefined };
    fx.push({ fx: 'remember', change: { settled: status === 'held' ? 'held' : undefined } });
    set(status);
  } else if (s.view !== 'loading' && s.view !== 'creating') {
    set('waiting');
  }
  return [s, fx];
}

/** Closes whatever shows the payment; nothing to do when nothing does (or the payment went elsewhere). */
function close(state: CheckoutState): Transition {
  const kind = state.surface.kind;
  if (kind === 'none' || kind === 'redirect' || kind === 'detached') return [state, []];
  const fx: Effect[] = [{ fx: 'abort' }, { fx: 'hide', mode: kind }, { fx: 'close-window' }, { fx: 'drop-window' }, { fx: 'emit', event: 'pay-close' }];
  let s: CheckoutState = { ...state, surface: { kind: 'none' } };
  const view = s.view;
  // A settled payment stays said under the button (held: what happens next); anything else is idle again.
  const next = view !== 'paid' && view !== 'held' && view !== 'refunded' ? 'idle' : view;
  s = { ...s, view: next };
  fx.push({ fx: 'set', view: next });
  if (s.error) {
    // Closed because of an error (or after one): that was already reported as pay-error.
  } else if (s.status && !SETTLED.includes(s.status)) {
    // The payer may have paid and closed the page before the confirmation arrived: check once before reporting.
    s = { ...s, cancelReason: 'dismissed' };
    fx.push({ fx: 'after-dismiss' });
  } else if (!s.status && view === 'creating') {
    fx.push({ fx: 'emit', event: 'pay-cancel', reason: 'dismissed', withSession: false });
  }
  return [s, fx];
}
