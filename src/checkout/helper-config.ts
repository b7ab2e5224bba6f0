// The helper's `/config`: read once per helper for the page and shared by every element, and what the element
// derives from it (the provider, the presenter `mode="auto"` resolves to, provider names, sandbox page URLs).
import type { PayCheckoutMode, PresentedMode, ProviderId } from '../events.js';
import { helperBase, resolveSessionUrl } from '../helper-url.js';
import { SessionClient, type HelperConfig, type ProviderConfig } from '../session-client.js';
import { timing } from '../timing.js';

export type { HelperConfig, ProviderConfig };

/** One `/config` request per helper, shared by every element on the page. */
const configs = new Map<string, Promise<HelperConfig | undefined>>();

/** A client is only made (or `http` used) when this helper's `/config` was not asked for yet. */
export function sharedConfig(sessionUrl: string, http?: SessionClient): Promise<HelperConfig | undefined> {
  const base = helperBase(resolveSessionUrl(sessionUrl));
  let shared = configs.get(base);
  if (!shared) {
    // Not tied to one element's lifetime: others on the page wait for the same answer. A failure is
    // forgotten so that a later intent tries again.
    shared = (http ?? new SessionClient(sessionUrl, timing.timeout)).config().catch(() => {
      configs.delete(base);
      return undefined;
    });
    configs.set(base, shared);
  }
  return shared;
}

/**
 * Fetches a helper's `/config` once for the page (the element calls this when the payer becomes active).
 * @internal
 */
export function warmHelper(sessionUrl: string): void {
  void sharedConfig(sessionUrl);
}

/** @internal tests start each case with a helper whose `/config` was never read */
export function forgetConfigs(): void {
  configs.clear();
}

/** Frame titles before `/config` has named the providers. */
const PROVIDER_NAMES: Record<ProviderId, string> = { repay: 'Repay', boxexchanger: 'BoxExchanger', agetrading: 'age.trading' };

/** The provider the element pays with: its `provider` attribute (unless blank), else the helper's default, else the helper's first. */
export function providerOf(cfg: HelperConfig | undefined, provider: string | null): ProviderConfig | undefined {
  const id = provider || cfg?.defaultProvider;
  return cfg?.providers.find((p) => p.id === id) ?? (id ? undefined : cfg?.providers[0]);
}

/** `mode="auto"`: a modal unless the provider may not be framed (unknown before `/config`: a modal, which then offers a window). */
export function resolveMode(mode: PayCheckoutMode, provider: ProviderConfig | undefined): PresentedMode {
  if (mode !== 'auto') return mode;
  return provider?.frameable === false ? 'popup' : 'modal';
}

export function providerName(cfg: HelperConfig | undefined, id?: string): string {
  return cfg?.providers.find((p) => p.id === id)?.name ?? PROVIDER_NAMES[id as ProviderId] ?? '';
}

/**
 * The sandbox stands in for providers whose APIs carry no language (Repay, age.trading), so its hosted pages
 * take the element's language from the page URL (`lang`). The helper already puts the session's language there;
 * this follows the element's current one should it have changed since. Only for providers `/config` marks as
 * sandbox: a real provider's URL is never changed.
 */
export function pageUrl(cfg: HelperConfig | undefined, url: string, provider: string, locale: string): string {
  if (!url || !cfg?.providers.find((p) => p.id === provider)?.sandbox) return url;
  const page = new URL(url);
  page.searchParams.set('lang', locale.split('-')[0]!);
  return page.href;
}
