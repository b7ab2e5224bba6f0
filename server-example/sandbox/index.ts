/**
 * The provider sandbox: Repay, BoxExchanger and age.trading simulated at `/sandbox/<provider>/…`, with their real
 * request formats, signatures, error codes, hosted pages, redirects and webhooks. See docs/sandbox.md.
 */
import { Hono } from 'hono';
import { SANDBOX_ACCOUNTS } from './accounts.js';

export type SandboxProviderName = 'repay' | 'boxexchanger' | 'agetrading';

export interface SandboxOptions {
  /** Origin (+ path) where browsers reach the app the sandbox is mounted in, e.g. `http://localhost:5173`. */
  publicUrl: string;
  /** Per provider: its hosted pages answer `X-Frame-Options: DENY` and `frame-ancestors 'none'`. */
  frameDeny?: Partial<Record<SandboxProviderName, boolean>>;
  /** Used for outgoing webhooks / IPNs / callbacks. */
  fetch?: typeof fetch;
  /** Clock in milliseconds (tests move it to exercise expiry and bans). */
  now?: () => number;
}

export function createSandboxApp(options: SandboxOptions): Hono {
  const app = new Hono();
  app.get('/sandbox/credentials', (c) => c.json(SANDBOX_ACCOUNTS));
  void options;
  return app;
}
