/**
 * The session state machine (DESIGN §5), as pure functions so every rule is testable on its own:
 *   created → pending → paid; held (needs a person); refunded; failed, cancelled, expired.
 * - Nothing moves backwards (pending never returns to created; paid never becomes pending, failed, …).
 * - Only verified sources (a verified webhook or a provider status query) set `paid`.
 * - A paid amount different from the order's, or unknown, gives `held`, never `paid`.
 * - A later verified `paid` revives a failed / cancelled / expired session (and is logged as such).
 */
import type { EventSource, SessionStatus } from './types.js';

export interface Observation {
  status: SessionStatus;
  paidAmountMinor?: number;
}

export interface Decision {
  to: SessionStatus;
  reason: 'provider_status' | 'amount_mismatch' | 'amount_unknown' | 'revived';
}

const ALLOWED: Readonly<Record<SessionStatus, readonly SessionStatus[]>> = {
  created: ['pending', 'paid', 'held', 'refunded', 'failed', 'cancelled', 'expired'],
  pending: ['paid', 'held', 'refunded', 'failed', 'cancelled', 'expired'],
  paid: ['held', 'refunded'],
  held: ['paid', 'refunded', 'failed'],
  failed: ['paid', 'held'],
  cancelled: ['paid', 'held'],
  expired: ['paid', 'held'],
  refunded: [],
};

export function isOpen(status: SessionStatus): boolean {
  return status === 'created' || status === 'pending';
}

export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** What an observation does to a session in `current` status with `amountMinor`; undefined = no change. */
export function decide(current: SessionStatus, amountMinor: number, observed: Observation, source: EventSource): Decision | undefined {
  let to = observed.status;
  let reason: Decision['reason'] = 'provider_status';
  if (to === 'paid') {
    if (source !== 'webhook' && source !== 'poll') return undefined;
    if (observed.paidAmountMinor === undefined) {
      to = 'held';
      reason = 'amount_unknown';
    } else if (observed.paidAmountMinor !== amountMinor) {
      to = 'held';
      reason = 'amount_mismatch';
    }
  }
  if (to === current || !canTransition(current, to)) return undefined;
  if (to === 'paid' && (current === 'failed' || current === 'cancelled' || current === 'expired')) reason = 'revived';
  return { to, reason };
}
