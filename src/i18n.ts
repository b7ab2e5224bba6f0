/**
 * Strings and number formatting. This module is part of the initial bundle, so it only carries the button's
 * strings; the dialog's and the error messages live in `strings-ru.ts` / `strings-en.ts`, one chunk per language,
 * loaded with the checkout flow (`loadStrings`) for the languages the page shows. Merchant overrides (`defineStrings`) take precedence over both.
 */

import type { HeldReason } from '../contract/index.js';

/** Every translatable string. `{name}` placeholders are filled in at render time. */
export interface PayCheckoutStrings {
  pay: string;
  payAmount: string;
  paidButton: string;
  /** The button's text while a payment for the order is `held`. */
  heldButton: string;
  configMissing: string;
  configInvalid: string;
  title: string;
  close: string;
  newWindow: string;
  frameTitle: string;
  creating: string;
  loading: string;
  waiting: string;
  waitingWindow: string;
  notFrameable: string;
  openPage: string;
  confirming: string;
  redirecting: string;
  paid: string;
  /** What happens next with a `held` payment; `held.<reason>` (see `PaySession.heldReason`) says it for one reason. */
  held: string;
  refunded: string;
  failed: string;
  expired: string;
  cancelled: string;
  timeLeft: string;
  retry: string;
  done: string;
  showWindow: string;
  chooseMethod: string;
  /** Error messages are keyed `error.<code>`; `error.generic` is the fallback. */
  [errorKey: `error.${string}`]: string;
  [heldKey: `held.${string}`]: string;
}

/**
 * @internal a sentence for every held reason, in a built-in language's refusals chunk (errors-ru.ts, errors-en.ts):
 * a held payment is as rare as a refusal, so the checkout loads them before it shows one
 */
export type HeldSentences = Record<`held.${HeldReason}`, string>;

export type StringKey = Exclude<keyof PayCheckoutStrings, `error.${string}` | `held.${string}`> | `error.${string}` | `held.${string}`;
type Dictionary = Partial<PayCheckoutStrings>;

const builtins: Record<string, Dictionary> = {
  ru: {
    pay: 'Оплатить',
    payAmount: 'Оплатить {amount}',
    paidButton: 'Оплачено',
    heldButton: 'На проверке',
    configMissing: 'Оплата недоступна: не задан атрибут {attr}.',
    configInvalid: 'Оплата недоступна: неверное значение атрибута {attr}.',
  },
  en: {
    pay: 'Pay',
    payAmount: 'Pay {amount}',
    paidButton: 'Paid',
    heldButton: 'Under review',
    configMissing: 'Payment unavailable: the {attr} attribute is missing.',
    configInvalid: 'Payment unavailable: the {attr} attribute is invalid.',
  },
};
const overrides: Record<string, Dictionary> = {};
const subscribers = new Set<() => void>();

/** The default locale when neither the `locale` attribute nor an ancestor's `lang` says otherwise. */
export const DEFAULT_LOCALE = 'ru';

/**
 * Overrides strings for a locale (`'ru'`, `'en'`, or any other language tag such as `'de'`). Partial: keys not
 * given keep their built-in text. Elements already on the page re-render.
 * @example defineStrings('en', { pay: 'Checkout', 'error.order_paid': 'Already paid, thank you!' })
 */
export function defineStrings(locale: string, strings: Partial<PayCheckoutStrings>): void {
  const key = locale.toLowerCase();
  overrides[key] = { ...overrides[key], ...strings };
  subscribers.forEach((notify) => notify());
}

/** @internal used by the lazily loaded dictionary */
export function registerBuiltins(locale: string, strings: Dictionary): void {
  builtins[locale] = { ...builtins[locale], ...strings };
}

/** A built-in language's chunk: the dialog's strings, and a loader for the sentences of the helper's refusals. */
interface Dictionaries {
  strings: Dictionary;
  errors(): Promise<{ strings: Dictionary }>;
}

/**
 * The dialog's texts (with the sentences for what needs no helper: no network, a timeout, a blocked popup, a failed
 * or expired payment), one chunk per built-in language, loaded with the checkout flow. The sentences for the
 * helper's refusals are one more chunk per language, loaded the first time the helper refuses something.
 */
const DICTIONARIES: Record<string, () => Promise<Dictionaries>> = {
  ru: () => import('./strings-ru.js'),
  en: () => import('./strings-en.js'),
};
const dictionaries = new Map<string, Promise<void>>();
const loadedLanguages = new Set<string>();

/** The built-in language whose texts a locale shows (and falls back to): its own, else Russian. */
function builtinLanguage(locale: string): string {
  const lang = locale.toLowerCase().split('-')[0]!;
  return lang in DICTIONARIES ? lang : DEFAULT_LOCALE;
}

/**
 * @internal loads a locale's built-in strings (once; a failed load is retried on the next call): the dialog's, and
 * unless `errors` is false the sentences for the helper's refusals too (the module loader keeps that chunk)
 */
export function loadStrings(locale: string, errors = true): Promise<void> {
  const lang = builtinLanguage(locale);
  let loading = dictionaries.get(lang);
  if (!loading) {
    loading = DICTIONARIES[lang]!().then(
      ({ strings }) => {
        registerBuiltins(lang, strings);
        loadedLanguages.add(lang);
      },
      (error: unknown) => {
        dictionaries.delete(lang);
        throw error;
      },
    );
    dictionaries.set(lang, loading);
  }
  return errors
    ? loading.then(() => DICTIONARIES[lang]!().then((m) => m.errors()).then(({ strings }) => registerBuiltins(lang, strings)))
    : loading;
}

/** @internal whether the dialog's strings for the locale (`loadStrings(locale, false)`) have loaded */
export function stringsLoaded(locale: string): boolean {
  return loadedLanguages.has(builtinLanguage(locale));
}

/** @internal re-render hook for elements (one for the page, never removed) */
export function onStringsChange(notify: () => void): void {
  subscribers.add(notify);
}

// Caches: a page with a hundred buttons should not build a hundred identical Intl objects on every render.
// Already canonical: the common tags skip Intl.getCanonicalLocales, whose first call loads ICU data.
const canonical = new Map<string, string>(['ru', 'ru-RU', 'en', 'en-US'].map((tag) => [tag, tag]));
const formats = new Map<string, Intl.NumberFormat | null>();

/** The locale for an element: its `locale` attribute, else the nearest `lang`, else `ru`. */
export function resolveLocale(el: Element, explicit?: string | null): string {
  const tag = explicit || el.closest('[lang]')?.getAttribute('lang') || DEFAULT_LOCALE;
  let locale = canonical.get(tag);
  if (!locale) {
    try {
      locale = Intl.getCanonicalLocales(tag)[0] ?? DEFAULT_LOCALE;
    } catch {
      locale = DEFAULT_LOCALE;
    }
    canonical.set(tag, locale);
  }
  return locale;
}

/** Looks a string up: exact-locale override, language override, built-in language, built-in `ru`. */
export function t(locale: string, key: StringKey, vars?: Record<string, string | number>): string {
  const exact = locale.toLowerCase();
  const lang = exact.split('-')[0]!;
  const text =
    overrides[exact]?.[key] ?? overrides[lang]?.[key] ?? builtins[lang]?.[key] ?? builtins[DEFAULT_LOCALE]![key] ?? '';
  return vars ? text.replace(/\{(\w+)\}/g, (m, name: string) => String(vars[name] ?? m)) : text;
}

/**
 * Rubles in `ru` / `ru-RU` and `en` / `en-US`, written out exactly as Intl.NumberFormat writes them
 * (`1 500 ₽` and `RUB 1,500.50`, both with U+00A0 no-break spaces). The first NumberFormat of a page loads ICU's
 * locale data, about 12 ms: a page of buttons should not wait for that. Only amounts with at most two decimals
 * take this path, so there is no rounding to reproduce; anything else goes to Intl. A browser test compares the
 * two over many amounts.
 */
const FAST_RUB: Record<string, [group: string, decimal: string, before: string, after: string]> = {
  ru: ['\u00a0', ',', '', '\u00a0₽'],
  'ru-RU': ['\u00a0', ',', '', '\u00a0₽'],
  en: [',', '.', 'RUB\u00a0', ''],
  'en-US': [',', '.', 'RUB\u00a0', ''],
};

function fastRubles(locale: string, value: number, whole: boolean): string | undefined {
  const f = FAST_RUB[locale];
  // Below 1e13 the amount in kopecks is an exact integer; -0 is written "-0" by Intl, so it is left to Intl.
  if (!f || !(value >= 0) || value >= 1e13 || Object.is(value, -0)) return undefined;
  const kopecks = Math.round(value * 100);
  // More than two decimals: Intl would round, and its rounding is not reproduced here.
  if (kopecks / 100 !== value) return undefined;
  const rest = kopecks % 100;
  const digits = String((kopecks - rest) / 100).replace(/\B(?=(\d{3})+$)/g, f[0]);
  return f[2] + digits + (whole ? '' : f[1] + String(rest).padStart(2, '0')) + f[3];
}

/** Money in the locale's format: `1 500 ₽` in ru, `RUB 1,500.00` in en. Whole amounts drop the kopecks. */
export function formatMoney(locale: string, amount: string | number, currency: string): string {
  const value = Number(amount);
  const whole = Number.isInteger(value);
  const fast = currency === 'RUB' ? fastRubles(locale, value, whole) : undefined;
  if (fast !== undefined) return fast;
  const key = `${locale}|${currency}|${whole}`;
  let format = formats.get(key);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: whole ? 0 : 2 });
    } catch {
      format = null;
    }
    formats.set(key, format);
  }
  return format ? format.format(value) : `${amount} ${currency}`;
}
