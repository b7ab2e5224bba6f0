/**
 * The storefront's switches, kept in `localStorage` so a reload (or the return from a redirect-mode payment)
 * finds them as the payer left them. Shared by the shop and the orders page (the language).
 */
import { isLocale, type Locale } from './i18n.js';

export const MODES = ['auto', 'modal', 'inline', 'popup', 'redirect'] as const;
export type Mode = (typeof MODES)[number];

/** `choose` = let the payer choose: the element gets every method of the provider and shows its picker. */
type MethodChoice = 'choose' | (string & {});

export interface DemoSettings {
  /** A provider id from `/config`; empty until one is known. */
  provider: string;
  method: MethodChoice;
  mode: Mode;
  locale: Locale;
}

const STORAGE_KEY = 'pay-checkout-demo:settings';

const DEFAULT_SETTINGS: DemoSettings = { provider: '', method: 'choose', mode: 'auto', locale: 'ru' };

function isMode(value: unknown): value is Mode {
  return typeof value === 'string' && (MODES as readonly string[]).includes(value);
}

export function loadSettings(): DemoSettings {
  let stored: Partial<Record<keyof DemoSettings, unknown>> = {};
  try {
    stored = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as typeof stored;
  } catch {
    // Storage disabled or a hand-edited value: fall back to the defaults.
  }
  return {
    provider: typeof stored.provider === 'string' ? stored.provider : DEFAULT_SETTINGS.provider,
    method: typeof stored.method === 'string' && stored.method ? stored.method : DEFAULT_SETTINGS.method,
    mode: isMode(stored.mode) ? stored.mode : DEFAULT_SETTINGS.mode,
    locale: isLocale(stored.locale) ? stored.locale : DEFAULT_SETTINGS.locale,
  };
}

export function saveSettings(settings: DemoSettings): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(settings));
  } catch {
    // Private mode with storage off: the switches still work for this visit.
  }
}

/** The document language is what the element falls back to, and what screen readers read with. */
export function applyDocumentLocale(locale: Locale): void {
  document.documentElement.lang = locale;
}
