/**
 * A pass that runs now and again in the background (the reconciler's provider polling, the outbox sender): one
 * pass at a time, a timer that never keeps the process alive on its own, a stop that waits for the pass in progress,
 * and a wake-up for work that just arrived.
 */
export class BackgroundLoop<Report> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Report> | undefined;
  private stopped = true;
  private woken = false;

  /**
   * @param pass one pass over what is due
   * @param nextDelay how long to wait after a pass: its report, or undefined when it threw; `woken` when work
   *   arrived while it ran
   */
  constructor(
    private readonly pass: (now: number) => Promise<Report>,
    private readonly nextDelay: (report: Report | undefined, woken: boolean) => number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Work arrived: run a pass now rather than at the next interval (after the one in progress, if any). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.woken = true;
    else this.schedule(0);
  }

  /** One pass now, or the one in progress (also callable directly, e.g. from a cron job or a test). */
  tick(now = Date.now()): Promise<Report> {
    if (this.running) return this.running;
    this.woken = false;
    const task = this.pass(now).finally(() => {
      this.running = undefined;
    });
    this.running = task;
    return task;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick().then(
        (report) => this.schedule(this.nextDelay(report, this.woken)),
        () => this.schedule(this.nextDelay(undefined, this.woken)),
      );
    }, delay);
    this.timer.unref();
  }
}
