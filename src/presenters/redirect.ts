import type { ReturnOutcome } from '../events.js';
import type { Presenter } from './presenter.js';

/**
 * Full-page navigation, behind an object so tests can observe it: `location.assign` itself cannot be stubbed.
 * @internal
 */
export const navigation = {
  assign(url: string): void {
    location.assign(url);
  },
};

/** The redirect presenter: the page itself goes to the provider; the payer comes back through `returnUrl`. */
export const redirectPresenter: Presenter = {
  mode: 'redirect',
  show(url?: string): void {
    navigation.assign(url!);
  },
  hide(): void {},
  focus(): void {},
};

const HASH = /^#pay-checkout=([^:]+):(success|error|cancel)$/;

/** The helper sends the payer back to `returnUrl#pay-checkout=<sessionId>:<outcome>`. */
export function readReturnHash(): { sessionId: string; outcome: ReturnOutcome } | undefined {
  const match = HASH.exec(location.hash);
  try {
    return match ? { sessionId: decodeURIComponent(match[1]!), outcome: match[2] as ReturnOutcome } : undefined;
  } catch {
    // A malformed escape (`%E0`) names no session: ignored, like a hash for another order.
    return undefined;
  }
}

/** Removes the hash without a navigation or a history entry, so a reload does not replay the return. */
export function clearReturnHash(): void {
  history.replaceState(history.state, '', location.pathname + location.search);
}

/** The page to come back to: the `return-url` attribute, else this page without its hash. */
export function returnUrlFor(explicit: string | null): string {
  const url = new URL(explicit ?? location.href, document.baseURI);
  url.hash = '';
  return url.href;
}
