// Keeping a session's status current while the payer pays: polling with backoff and the countdown to expiry.
import { timing } from '../timing.js';

/** Time left until `expiresAt` (ISO 8601, epoch seconds or milliseconds), or undefined when there is none. */
export function remaining(expiresAt: string | number | null | undefined): number | undefined {
  if (expiresAt == null || expiresAt === '') return undefined;
  const at = typeof expiresAt === 'number' && expiresAt < 1e12 ? expiresAt * 1000 : new Date(expiresAt).getTime();
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** `mm:ss`, or `h:mm:ss` from an hour on. */
export function clock(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}` : `${two(Math.floor(s / 60))}:${two(s % 60)}`;
}

/**
 * Polls the helper for the status (from `timing.poll`, backing off by 1.5× up to `timing.pollMax`) and ticks the
 * countdown once a second. Both stop with `stop()`; each start takes the attempt's signal, whose abort stops them.
 */
export class StatusSync {
  #poll?: ReturnType<typeof setTimeout>;
  #tick?: ReturnType<typeof setInterval>;
  /**
   * Which polling is current: `poll()` and `stop()` move it on, so a poll whose check was under way meanwhile
   * (a refused token stopped it, or polling started again) does not arm another one when its check answers.
   */
  #round = 0;

  constructor(
    /**
     * Asks the helper once; the sync goes on while `pending(left)` says the status may still change (`left`: how
     * many of the checks asked for by `poll()` remain, `Infinity` when it asked for no limit).
     */
    private readonly refresh: () => Promise<void>,
    private readonly pending: (left: number) => boolean,
  ) {}

  /** Polls from `delay` on; `checks` limits how many checks are made (for as long as `pending` agrees). */
  poll(signal: AbortSignal, delay = timing.poll, checks = Infinity): void {
    clearTimeout(this.#poll);
    const round = ++this.#round;
    this.#poll = setTimeout(async () => {
      await this.refresh();
      const left = checks - 1;
      if (round === this.#round && !signal.aborted && this.pending(left)) {
        this.poll(signal, Math.min(delay * 1.5, timing.pollMax), left);
      }
    }, delay);
  }

  /** Calls `onTick` each second while the session has an expiry; at zero asks the helper at once instead of waiting for the next poll. */
  countdown(expiresAt: () => string | number | null | undefined, onTick: () => void): void {
    clearInterval(this.#tick);
    if (remaining(expiresAt()) === undefined) return;
    let asked = false;
    this.#tick = setInterval(() => {
      onTick();
      if (!asked && remaining(expiresAt()) === 0) {
        asked = true;
        void this.refresh();
      }
    }, 1000);
  }

  /** Stops the countdown only (a held payment: nothing to pay, still polled). */
  stopCountdown(): void {
    clearInterval(this.#tick);
  }

  stop(): void {
    this.#round++;
    clearTimeout(this.#poll);
    clearInterval(this.#tick);
  }
}
