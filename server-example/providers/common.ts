/** Checks every adapter makes before calling its provider. */
import { CheckoutError } from '../errors.js';
import { formatAmount } from '../money.js';
import { scalarText } from './http.js';

export function checkRubAmount(providerName: string, amountMinor: number, currency: string, minAmountMinor: number, maxAmountMinor: number): void {
  if (currency !== 'RUB') {
    throw new CheckoutError('unsupported_currency', `${providerName} accepts RUB only, not ${currency}.`);
  }
  if (amountMinor < minAmountMinor) {
    throw new CheckoutError('amount_too_small', `${providerName} accepts at least ${formatAmount(minAmountMinor)} RUB.`);
  }
  if (maxAmountMinor > 0 && amountMinor > maxAmountMinor) {
    throw new CheckoutError('amount_too_large', `${providerName} accepts at most ${formatAmount(maxAmountMinor)} RUB.`);
  }
}

/**
 * A status answer that names another payment than the one asked about says nothing about ours (a routing fault at
 * the provider, a cache keyed wrongly on the way): it must not move our session, least of all to paid. An answer
 * that names no payment is taken as the one asked about.
 */
export function checkAnsweredPayment(providerName: string, asked: string, answered: unknown): void {
  const named = scalarText(answered);
  if (named !== undefined && named !== asked) {
    throw new CheckoutError('provider_error', `${providerName} answered the status query about payment ${named}, not ${asked}.`);
  }
}

/** Parses a provider time: ISO text, or a number of milliseconds (or seconds, when small enough). */
export function parseProviderTime(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string' && value.trim()) {
    if (/^\d+$/.test(value.trim())) return parseProviderTime(Number(value.trim()));
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** `{ key: value }` when value is defined, else `{}` (for exactOptionalPropertyTypes-friendly spreads). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
