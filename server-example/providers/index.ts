/**
 * The providers the helper runs, built from its configuration, and what the core asks of their declared capabilities
 * (define.ts): where each one's callbacks arrive, and how a return URL a provider may have altered is read.
 */
import type { CheckoutConfig } from '../config.js';
import { providerBaseUrl } from '../config.js';
import type { Store } from '../store.js';
import type { ProviderId, ReturnOutcome } from '../types.js';
import { AgeTradingProvider } from './agetrading.js';
import { BoxExchangerProvider } from './boxexchanger.js';
import { RepayProvider } from './repay.js';
import type { PaymentProvider } from './types.js';

/**
 * One adapter per provider, enabled or not: the sessions a disabled provider already has are still read and cancelled
 * through it, and its late callbacks answered where `takesCallbacks()` allows.
 */
export function buildProviders(config: CheckoutConfig, store: Store): Map<ProviderId, PaymentProvider> {
  return new Map<ProviderId, PaymentProvider>([
    ['repay', new RepayProvider(config.providers.repay, providerBaseUrl(config, 'repay'))],
    ['boxexchanger', BoxExchangerProvider.fromConfig(config, store)],
    ['agetrading', new AgeTradingProvider(config.providers.agetrading, providerBaseUrl(config, 'agetrading'))],
  ]);
}

/**
 * Whether the helper takes `provider`'s callbacks. In live mode, not from a provider left on the sandbox account (one
 * that is not enabled: live mode refuses to start with an enabled one): that account's secrets are public, so a
 * callback signed with them proves nothing, and no route answers it. A provider with real credentials keeps its
 * route when CHECKOUT_PROVIDERS no longer lists it: the late callbacks of its payments are still the merchant's.
 */
export function takesCallbacks(config: Pick<CheckoutConfig, 'mode' | 'providers'>, provider: ProviderId): boolean {
  return config.mode === 'test' || !config.providers[provider].sandbox;
}

/**
 * The path, under the helper's base path, where `provider` sends the callbacks of session `sessionId` (which may be a
 * route parameter such as `:id`): `/webhooks/<provider>`, or `/webhooks/<provider>/<session id>` for a provider that
 * takes a callback URL per payment.
 */
export function webhookPath(provider: Pick<PaymentProvider, 'id' | 'capabilities'>, sessionId: string): string {
  return provider.capabilities.webhookPath === 'per-session' ? `/webhooks/${provider.id}/${sessionId}` : `/webhooks/${provider.id}`;
}

const RETURN_STATUSES: ReadonlySet<string> = new Set(['success', 'error']);

/**
 * Reads a visit to the return page `/return/<outcome>?session=<id>`: the session id it names, and a `status` that a
 * provider may have appended (with `&`, or with a second `?` glued to our `session` parameter). The return URL has
 * the same shape for every provider, so the status is only read here; whether it counts depends on the session's
 * provider (`returnStatusOf`).
 */
export function readReturnQuery(query: (name: string) => string | undefined): { sessionId?: string; appendedStatus?: string } {
  const match = /^(cs_[A-Za-z0-9]{22})(?:\?status=([^&]*))?/.exec(query('session') ?? '');
  const appendedStatus = query('status') ?? match?.[2];
  return { ...(match ? { sessionId: match[1]! } : {}), ...(appendedStatus !== undefined ? { appendedStatus } : {}) };
}

/**
 * The outcome a provider appended to the return URL, when the session's provider appends one (`returnStatusParam`):
 * it overrides the path's outcome. Anyone can edit the URL, so it is a hint like the path: the status shown is
 * always re-checked with the provider.
 */
export function returnStatusOf(
  provider: Pick<PaymentProvider, 'capabilities'> | undefined,
  appendedStatus: string | undefined,
): Extract<ReturnOutcome, 'success' | 'error'> | undefined {
  if (!provider?.capabilities.returnStatusParam || appendedStatus === undefined || !RETURN_STATUSES.has(appendedStatus)) return undefined;
  return appendedStatus as 'success' | 'error';
}
