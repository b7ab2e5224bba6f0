/**
 * A bounded per-key counter over fixed time windows: after `limit` hits in a window the key is refused until the
 * window ends. Used to stop one address from flooding the webhook routes with callbacks that fail verification.
 */
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    /** Keys tracked at most; the oldest windows are forgotten first (a Map iterates in insertion order). */
    private readonly maxKeys = 10_000,
  ) {}

  /** True while `key` is under the limit in its current window. */
  allows(key: string, now = Date.now()): boolean {
    const window = this.windows.get(key);
    return !window || now - window.start >= this.windowMs || window.count < this.limit;
  }

  hit(key: string, now = Date.now()): void {
    const window = this.windows.get(key);
    if (window && now - window.start < this.windowMs) {
      window.count++;
      return;
    }
    this.windows.delete(key);
    this.windows.set(key, { start: now, count: 1 });
    if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
  }
}
