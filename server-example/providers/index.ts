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

/** One adapter per provider (enabled or not: a disabled provider's late callbacks are still answered). */
export function buildProviders(config: CheckoutConfig, store: Store): Map<ProviderId, PaymentProvider> {
  return new Map<ProviderId, PaymentProvider>([
    ['repay', new RepayProvider(config.providers.repay, providerBaseUrl(config, 'repay'))],
    ['boxexchanger', BoxExchangerProvider.fromConfig(config, store)],
    ['agetrading', new AgeTradingProvider(config.providers.agetrading, providerBaseUrl(config, 'agetrading'))],
  ]);
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
 * Reads a visit to the return page `/return/<outcome>?session=<id>`: the session id it names and the status a
 * provider appended (`returnStatusParam`), which overrides the path's outcome. Such a provider appends with `&`, or
 * with a second `?` glued to our `session` parameter. The return URL is the same for every provider, so the parameter
 * is read whichever session the URL names.
 */
export function readReturnQuery(
  providers: Iterable<PaymentProvider>,
  query: (name: string) => string | undefined,
): { sessionId?: string; status?: Extract<ReturnOutcome, 'success' | 'error'> } {
  const match = /^(cs_[A-Za-z0-9]{22})(?:\?status=(success|error))?/.exec(query('session') ?? '');
  let appendsStatus = false;
  for (const provider of providers) appendsStatus ||= provider.capabilities.returnStatusParam;
  const status = appendsStatus ? (query('status') ?? match?.[2]) : undefined;
  return {
    ...(match ? { sessionId: match[1]! } : {}),
    ...(status !== undefined && RETURN_STATUSES.has(status) ? { status: status as 'success' | 'error' } : {}),
  };
}
