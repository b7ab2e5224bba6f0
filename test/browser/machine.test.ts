// The checkout's decisions without a DOM: src/checkout/machine.ts is pure, so these cases build states by hand.
import { expect } from '@open-wc/testing';
import { canMove, canPrestart, initialState, onActivate, transition, type CheckoutState, type Effect } from '../../src/checkout/machine.js';

const fx = (effects: Effect[]): string[] => effects.map((e) => (e[0] === 'set' ? `set:${e[1]}` : e[0]));

function state(partial: Partial<CheckoutState>): CheckoutState {
  return { ...initialState(), ...partial };
}

describe('checkout machine', () => {
  it('leaves the state it is given as it was', () => {
    const before = state({ view: 'waiting', status: 'created', surface: { kind: 'modal', page: 'frame' } });
    const copy = structuredClone(before);
    transition(before, { type: 'status', status: 'paid', previous: 'created' });
    transition(before, { type: 'close' });
    expect(before).to.deep.equal(copy);
  });

  it('begins an attempt on the chosen presenter with a new abort signal and no leftovers', () => {
    const [next, effects] = transition(state({ view: 'error', error: { code: 'timeout', retryable: true }, returned: true }), { type: 'begin', mode: 'modal' });
    expect(next.surface).to.deep.equal({ kind: 'modal', page: 'none' });
    expect(next.error).to.equal(undefined);
    expect(next.returned).to.equal(false);
    expect(fx(effects)).to.deep.equal(['new-attempt']);
  });

  it('shows a frameable session in the frame, loading, then polls', () => {
    const [next, effects] = transition(state({ view: 'creating', surface: { kind: 'modal', page: 'none' } }), {
      type: 'accepted',
      status: 'created',
      frameable: true,
      windowGone: false,
    });
    expect(next.surface).to.deep.equal({ kind: 'modal', page: 'frame' });
    expect(fx(effects)).to.deep.equal(['present', 'set:loading', 'pay-open', 'countdown', 'poll']);
  });

  it('offers a window when the session refuses framing', () => {
    const [next, effects] = transition(state({ view: 'creating', surface: { kind: 'inline', page: 'none' } }), {
      type: 'accepted',
      status: 'created',
      frameable: false,
      windowGone: false,
    });
    expect(next.surface).to.deep.equal({ kind: 'inline', page: 'offer' });
    expect(fx(effects)).to.contain('set:waiting');
  });

  it('closes instead of presenting when the popup was closed before the session arrived', () => {
    const [next, effects] = transition(state({ view: 'creating', surface: { kind: 'popup' } }), {
      type: 'accepted',
      status: 'created',
      frameable: true,
      windowGone: true,
    });
    expect(next.surface.kind).to.equal('none');
    expect(fx(effects)).to.deep.equal(['abort', 'hide', 'close-window', 'drop-window', 'pay-close', 'set:idle', 'after-dismiss']);
    expect(next.cancelReason).to.equal('dismissed');
  });

  it('redirects without polling', () => {
    const [, effects] = transition(state({ view: 'creating', surface: { kind: 'redirect' } }), { type: 'accepted', status: 'created', frameable: true, windowGone: false });
    expect(fx(effects)).to.deep.equal(['present', 'set:redirecting', 'pay-open', 'navigate']);
  });

  it('reports paid: stops syncing, remembers the order as paid, then pay-success', () => {
    const [next, effects] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'modal', page: 'frame' } }), {
      type: 'status',
      status: 'paid',
      previous: 'created',
    });
    expect(next.view).to.equal('paid');
    expect(next.surface).to.deep.equal({ kind: 'modal', page: 'none' });
    expect(fx(effects)).to.deep.equal(['pay-status', 'stop-sync', 'remember', 'set:paid', 'pay-success']);
    expect(effects.find((e) => e[0] === 'remember')).to.deep.equal(['remember', { done: true, settled: 'paid' }]);
  });

  it('closes the popup on a final status and reports a failure as a retryable error', () => {
    const [next, effects] = transition(state({ view: 'waiting', status: 'pending', surface: { kind: 'popup' } }), { type: 'status', status: 'failed', previous: 'pending' });
    expect(fx(effects)).to.deep.equal(['pay-status', 'stop-sync', 'close-window', 'remember', 'set:failed', 'report']);
    expect(next.error).to.deep.equal({ code: 'failed', retryable: true });
  });

  it('says why a cancellation happened: the payer on a cancel return, else the provider', () => {
    const [returned, returnFx] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'redirect' } }), { type: 'return', outcome: 'cancel' });
    expect(fx(returnFx)).to.deep.equal(['pay-return', 'set:confirming', 'cancel']);
    const [, payer] = transition({ ...returned, status: 'created' }, { type: 'status', status: 'cancelled', previous: 'created' });
    expect(payer.find((e) => e[0] === 'pay-cancel')).to.deep.equal(['pay-cancel', 'payer', true]);
    const [, provider] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'modal', page: 'frame' } }), { type: 'status', status: 'cancelled', previous: 'created' });
    expect(provider.find((e) => e[0] === 'pay-cancel')).to.deep.equal(['pay-cancel', 'provider', true]);
  });

  it('says a held session is held instead of showing its payment page, on every presenter, and keeps polling', () => {
    for (const surface of [{ kind: 'modal', page: 'none' }, { kind: 'popup' }, { kind: 'redirect' }] as const) {
      const [next, effects] = transition(state({ view: 'creating', surface }), { type: 'accepted', status: 'held', frameable: true, windowGone: false });
      const names = fx(effects);
      expect(names).to.include.members(['remember', 'set:held', 'poll']);
      expect(names).not.to.include.members(['present']);
      expect(names.filter((name) => ['present', 'navigate', 'pay-open', 'set:loading', 'set:waiting'].includes(name))).to.deep.equal([]);
      expect(effects.find((e) => e[0] === 'remember')).to.deep.equal(['remember', { settled: 'held' }]);
      expect(next.surface).to.deep.equal(surface.kind === 'modal' ? { kind: 'modal', page: 'none' } : { kind: 'none' });
      if (surface.kind === 'popup') expect(names).to.include.members(['close-window', 'drop-window']);
    }
  });

  it('takes the payment page away from a payment found held, as from a final one; polling goes on', () => {
    const [modal, modalFx] = transition(state({ view: 'waiting', status: 'pending', surface: { kind: 'modal', page: 'frame' } }), { type: 'status', status: 'held', previous: 'pending' });
    expect(modal.surface).to.deep.equal({ kind: 'modal', page: 'none' });
    expect(fx(modalFx)).to.deep.equal(['pay-status', 'stop-countdown', 'remember', 'set:held']);
    const [popup, popupFx] = transition(state({ view: 'waiting', status: 'pending', surface: { kind: 'popup' } }), { type: 'status', status: 'held', previous: 'pending' });
    expect(fx(popupFx)).to.include('close-window');
    // The window's closing is then reported, and a held payment is not a dismissal.
    const [closed, closedFx] = transition(popup, { type: 'window-closed' });
    expect(closed.surface.kind).to.equal('none');
    expect(fx(closedFx)).to.deep.equal(['drop-window', 'pay-close', 'render']);
    // Confirmed under the button: nothing shows the payment any more (another order may take the element).
    for (const kind of ['redirect', 'detached'] as const) {
      const [next] = transition(state({ view: 'confirming', status: 'pending', surface: { kind } }), { type: 'status', status: 'held', previous: 'pending' });
      expect(next.surface.kind).to.equal('none');
      expect(next.view).to.equal('held');
    }
  });

  it('a return after the payment was found held confirms nothing and keeps saying held', () => {
    const [next, effects] = transition(state({ view: 'held', status: 'held', surface: { kind: 'modal', page: 'none' } }), { type: 'return', outcome: 'success' });
    expect(next.view).to.equal('held');
    expect(fx(effects)).to.deep.equal(['pay-return']);
  });

  it('a successful return after an end without a payment asks the helper again; a cancel return does not', () => {
    for (const status of ['cancelled', 'failed', 'expired'] as const) {
      const [next, effects] = transition(state({ view: status, status, surface: { kind: 'redirect' } }), { type: 'return', outcome: 'success' });
      expect(next.view).to.equal('confirming');
      expect(fx(effects)).to.deep.equal(['pay-return', 'set:confirming', 'confirm']);
    }
    const [, cancelFx] = transition(state({ view: 'cancelled', status: 'cancelled', surface: { kind: 'redirect' } }), { type: 'return', outcome: 'cancel' });
    expect(fx(cancelFx)).to.deep.equal(['pay-return']);
    // The helper still says cancelled: that stands, not "waiting", and a redirect's surface is done.
    const [asked] = transition(state({ view: 'cancelled', status: 'cancelled', surface: { kind: 'modal', page: 'frame' } }), { type: 'return', outcome: 'success' });
    const [confirmed, confirmedFx] = transition(asked, { type: 'confirmed' });
    expect(confirmed.view).to.equal('cancelled');
    expect(fx(confirmedFx)).to.deep.equal(['set:cancelled']);
    const [redirected] = transition(state({ view: 'cancelled', status: 'cancelled', surface: { kind: 'redirect' } }), { type: 'return', outcome: 'success' });
    expect(transition(redirected, { type: 'confirmed' })[0].surface.kind).to.equal('none');
  });

  it('leaves a closed checkout idle when the check after the dismissal finds the payment still open', () => {
    const [next, effects] = transition(state({ view: 'idle', status: 'created', surface: { kind: 'none' } }), { type: 'status', status: 'pending', previous: 'created' });
    expect(next.view).to.equal('idle');
    expect(fx(effects)).to.deep.equal(['pay-status']);
  });

  it('reports a dismissal once: an end the later checks read is a pay-status only', () => {
    const [closed] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'modal', page: 'frame' } }), { type: 'close' });
    const [checked, checkedFx] = transition({ ...closed, view: 'idle' }, { type: 'dismiss-checked' });
    expect(checkedFx).to.deep.equal([['pay-cancel', 'dismissed', true]]);
    for (const end of ['cancelled', 'failed', 'expired'] as const) {
      const [next, effects] = transition(checked, { type: 'status', status: end, previous: 'created' });
      expect(next.view).to.equal(end);
      expect(fx(effects), end).to.deep.equal(['pay-status', 'stop-sync', 'remember', `set:${end}`]);
    }
    // Settled before the first check answered: that end (or payment) was reported as such.
    expect(transition(state({ status: 'paid' }), { type: 'dismiss-checked' })[1]).to.deep.equal([]);
    // The next attempt's end is reported again.
    const [again] = transition({ ...checked, status: 'cancelled', view: 'cancelled' }, { type: 'begin', mode: 'modal' });
    const [, ended] = transition({ ...again, status: 'created' }, { type: 'status', status: 'cancelled', previous: 'created' });
    expect(ended.find((e) => e[0] === 'pay-cancel')).to.deep.equal(['pay-cancel', 'provider', true]);
  });

  it('keeps a final status when the return page arrives after it: nothing to confirm or cancel', () => {
    for (const outcome of ['success', 'cancel'] as const) {
      const [next, effects] = transition(state({ view: 'paid', status: 'paid', surface: { kind: 'modal', page: 'window' } }), { type: 'return', outcome });
      expect(next.view).to.equal('paid');
      expect(fx(effects)).to.deep.equal(['pay-return']);
    }
  });

  it('keeps confirming under the button when the popup closes itself after the return', () => {
    const [next, effects] = transition(state({ view: 'confirming', status: 'created', surface: { kind: 'popup' }, returned: true }), { type: 'window-closed' });
    expect(next.surface.kind).to.equal('detached');
    expect(fx(effects)).to.deep.equal(['drop-window', 'pay-close']);
    // Nothing shows the payment any more, but a click must not start another one while it is confirmed.
    expect(onActivate(next)).to.equal('ignore');
    expect(canPrestart(next)).to.equal(false);
  });

  it('treats the payer closing the popup before any return as a dismissal', () => {
    const [next, effects] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'popup' } }), { type: 'window-closed' });
    expect(next.surface.kind).to.equal('none');
    expect(fx(effects)).to.deep.equal(['abort', 'hide', 'close-window', 'drop-window', 'pay-close', 'set:idle', 'after-dismiss']);
  });

  it('offers the window again when one opened from the panel is closed', () => {
    const [next, effects] = transition(state({ view: 'waiting', status: 'created', surface: { kind: 'modal', page: 'window' } }), { type: 'window-closed' });
    expect(next.surface).to.deep.equal({ kind: 'modal', page: 'offer' });
    expect(fx(effects)).to.deep.equal(['drop-window', 'render', 'refresh']);
  });

  it('refuses close requests while the payment is being confirmed, and asks otherwise', () => {
    expect(transition(state({ view: 'confirming', surface: { kind: 'modal', page: 'none' } }), { type: 'request-close', source: 'escape' })[1]).to.deep.equal([]);
    expect(transition(state({ view: 'waiting', surface: { kind: 'modal', page: 'frame' } }), { type: 'request-close', source: 'backdrop' })[1]).to.deep.equal([
      ['ask-close', 'backdrop'],
    ]);
  });

  it('reports a dismissal at once when closed before a session exists, and nothing after an error', () => {
    const [, creating] = transition(state({ view: 'creating', surface: { kind: 'modal', page: 'none' } }), { type: 'close' });
    expect(creating.at(-1)).to.deep.equal(['pay-cancel', 'dismissed', false]);
    const [, failed] = transition(state({ view: 'error', error: { code: 'timeout', retryable: true }, surface: { kind: 'modal', page: 'none' } }), { type: 'close' });
    expect(fx(failed)).to.deep.equal(['abort', 'hide', 'close-window', 'drop-window', 'pay-close', 'set:idle']);
  });

  it('keeps a settled payment said under the button when its panel closes', () => {
    const [next, effects] = transition(state({ view: 'paid', status: 'paid', surface: { kind: 'modal', page: 'none' } }), { type: 'close' });
    expect(next.view).to.equal('paid');
    expect(fx(effects)).to.deep.equal(['abort', 'hide', 'close-window', 'drop-window', 'pay-close', 'set:paid']);
  });

  it('closes nothing when nothing shows the payment', () => {
    for (const kind of ['none', 'redirect', 'detached'] as const) {
      expect(transition(state({ view: 'waiting', surface: { kind } }), { type: 'close' })[1]).to.deep.equal([]);
    }
  });

  it('closes a popup on failure and keeps a panel open to show the error', () => {
    const error = { code: 'provider_unavailable', retryable: true };
    const [popup, popupFx] = transition(state({ view: 'creating', surface: { kind: 'popup' } }), { type: 'fail', error });
    expect(popup.surface.kind).to.equal('none');
    expect(fx(popupFx)).to.deep.equal(['report', 'abort', 'hide', 'close-window', 'drop-window', 'pay-close', 'set:idle', 'set:error']);
    const [modal, modalFx] = transition(state({ view: 'creating', surface: { kind: 'modal', page: 'none' } }), { type: 'fail', error });
    expect(modal.surface.kind).to.equal('modal');
    expect(fx(modalFx)).to.deep.equal(['report', 'set:error']);
  });

  it('remembers an order the helper calls paid or held', () => {
    const [next, effects] = transition(state({ view: 'creating', surface: { kind: 'redirect' } }), {
      type: 'order-settled',
      settled: 'held',
      error: { code: 'order_held', retryable: false },
    });
    expect(next.view).to.equal('held');
    expect(next.surface.kind).to.equal('none');
    expect(effects).to.deep.equal([['report'], ['remember', { done: true, settled: 'held' }], ['set', 'held']]);
  });

  it('retries on the same panel, else starts again from the element', () => {
    const [panel, panelFx] = transition(state({ view: 'failed', surface: { kind: 'inline', page: 'none' }, error: { code: 'failed', retryable: true } }), { type: 'retry' });
    expect(panel.surface).to.deep.equal({ kind: 'inline', page: 'none' });
    expect(fx(panelFx)).to.deep.equal(['new-attempt', 'set:creating', 'create']);
    expect(fx(transition(state({ view: 'error', surface: { kind: 'none' } }), { type: 'retry' })[1])).to.deep.equal(['start']);
  });

  it('makes the button usable again when the page comes back from the back/forward cache mid-redirect', () => {
    const [next, effects] = transition(state({ view: 'redirecting', surface: { kind: 'redirect' } }), { type: 'pageshow' });
    expect([next.view, next.surface.kind]).to.deep.equal(['idle', 'none']);
    expect(fx(effects)).to.deep.equal(['set:idle']);
  });

  it('decides what a click does', () => {
    expect(onActivate(state({ view: 'waiting', surface: { kind: 'modal', page: 'frame' } }))).to.equal('focus');
    expect(onActivate(state({ view: 'confirming', surface: { kind: 'redirect' } }))).to.equal('ignore');
    expect(onActivate(state({ view: 'paid' }))).to.equal('ignore');
    expect(onActivate(state({ view: 'held', status: 'held' }))).to.equal('ignore');
    // An order the helper called held, without a session here, is asked about again.
    expect(onActivate(state({ view: 'held' }))).to.equal('start');
    expect(onActivate(state({ view: 'failed', status: 'failed' }))).to.equal('start');
  });

  it('allows the moves the helper makes, held after an ended session included, and no other', () => {
    // server-example/transitions.ts, ALLOWED: an ended session is revived by a later paid or held.
    for (const from of ['failed', 'cancelled', 'expired'] as const) {
      expect(canMove(from, 'paid'), `${from} → paid`).to.equal(true);
      expect(canMove(from, 'held'), `${from} → held`).to.equal(true);
      expect(canMove(from, 'pending'), `${from} → pending`).to.equal(false);
      expect(canMove(from, 'refunded'), `${from} → refunded`).to.equal(false);
    }
    expect(canMove('paid', 'held')).to.equal(true);
    expect(canMove('paid', 'created')).to.equal(false);
    expect(canMove('held', 'paid')).to.equal(true);
    expect(canMove('held', 'pending')).to.equal(false);
    expect(canMove('refunded', 'paid')).to.equal(false);
  });
});
