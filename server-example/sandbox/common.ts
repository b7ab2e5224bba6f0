/**
 * Shared machinery of the provider sandbox: bounded in-memory state, the outgoing-notification client, locales,
 * money and requisites formatting, hosted-page security headers and the signed page state that lets a hosted page
 * outlive a restart of the process it is served from.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { isHttpUrl as isAbsoluteHttpUrl } from '../providers/common.js';
import { constantTimeEqual, sha256Hex } from '../providers/crypto.js';
import { isRecord } from '../providers/http.js';

export type SandboxProviderName = 'repay' | 'boxexchanger' | 'agetrading';
export const SANDBOX_PROVIDERS: readonly SandboxProviderName[] = ['repay', 'boxexchanger', 'agetrading'];

export type Locale = 'ru' | 'en';

/** One outgoing webhook / IPN / callback, as recorded in the notification log (`GET /sandbox/_log`). */
export interface NotificationRecord {
  provider: SandboxProviderName;
  reference: string;
  url: string;
  contentType: string;
  body: string;
  headers: Record<string, string>;
  at: string;
  attempt: number;
  /** HTTP status of the answer, or 0 when nothing answered. */
  status: number;
  delivered: boolean;
  error?: string;
}

export interface Notification {
  provider: SandboxProviderName;
  /** The provider's id of the payment the notification is about (for the log). */
  reference: string;
  url: string;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
  /** Whether the answer counts as delivered (Repay: HTTP 200 with body `OK`). Default: any 2xx. */
  accept?: (status: number, body: string) => boolean;
  /** Delays (ms) of further attempts after an undelivered one. Default none: sent once. */
  retryDelaysMs?: readonly number[];
}

export interface SandboxContext {
  publicUrl: string;
  now: () => number;
  frameDeny: (provider: SandboxProviderName) => boolean;
  /** Delay before the sandbox acts on its own (magic amounts, ban cancellations), in ms. */
  autoDelayMs: number;
  /** Payment windows in ms. */
  windows: Record<SandboxProviderName, number>;
  maxEntries: number;
  notify: (notification: Notification) => Promise<NotificationRecord>;
  /** Runs `task` later (unref'd timer); errors are logged, never thrown. */
  later: (delayMs: number, task: () => unknown) => void;
  /** Key for the signed page state (`sealState` / `openState`). */
  stateKey: string;
}

/** One simulated provider: its routes (mounted at `/sandbox/<provider>`) and its expiry sweep. */
export interface ProviderSandbox {
  app: Hono;
  /** Expires what is past its window (and sends what the provider sends then). */
  sweep(): void;
}

/**
 * A Map that keeps at most `max` entries, evicting the oldest inserted first, so that a long benchmark cannot grow
 * the sandbox's memory without bound. `onEvict` lets owners drop their secondary indexes.
 */
export class BoundedMap<K, V> {
  readonly #map = new Map<K, V>();
  readonly #max: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  constructor(max: number, onEvict?: (key: K, value: V) => void) {
    this.#max = Math.max(1, max);
    this.#onEvict = onEvict;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    if (!this.#map.has(key)) {
      while (this.#map.size >= this.#max) {
        const oldest = this.#map.keys().next();
        if (oldest.done) break;
        const evicted = this.#map.get(oldest.value) as V;
        this.#map.delete(oldest.value);
        this.#onEvict?.(oldest.value, evicted);
      }
    }
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }
}

/**
 * One expiry sweep over a provider's open payments: `refresh` applies the passage of time to each (and moves what
 * is past its window to its final status); ids whose payment was already evicted are dropped.
 */
export function sweepOpen<K, V>(open: Set<K>, entries: BoundedMap<K, V>, refresh: (entry: V) => unknown): void {
  for (const key of open) {
    const entry = entries.get(key);
    if (!entry) open.delete(key);
    else refresh(entry);
  }
}

/**
 * Case-insensitive comparison of a secret a client sent with the one the sandbox holds (received first, like the
 * adapters' comparisons): signatures, API keys, tokens, order secrets. Constant-time through providers/crypto.ts.
 */
export function secretEquals(received: unknown, expected: string): boolean {
  return typeof received === 'string' && constantTimeEqual(received.toLowerCase(), expected.toLowerCase());
}

export const uuid = (): string => randomUUID();

/** A 24-hex-digit MongoDB-like ObjectId: 4 bytes of seconds, then random bytes. */
export function objectId(nowMs: number): string {
  const seconds = Math.floor(nowMs / 1000).toString(16).padStart(8, '0').slice(-8);
  return seconds + randomBytes(8).toString('hex');
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function randomToken(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
  return out;
}

/** Both `/path` and `/path/`: providers document trailing slashes, clients drop them. */
export const withAndWithoutSlash = (path: string): string[] =>
  path.endsWith('/') ? [path, path.slice(0, -1)] : [path, `${path}/`];

/** An absolute http(s) URL a merchant sent, of a sane length. */
export const isHttpUrl = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 2048 && isAbsoluteHttpUrl(value);

/** The locale of a hosted page: the provider's `lang` if any, else the browser's first preference, else ru. */
export function pickLocale(lang: string | undefined | null, acceptLanguage: string | undefined | null): Locale {
  const explicit = (lang ?? '').toLowerCase();
  if (explicit === 'en' || explicit === 'eng') return 'en';
  if (explicit === 'ru' || explicit === 'rus') return 'ru';
  const preferences = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { tag: tag.toLowerCase(), q: q ? Number(q.slice(2)) || 0 : 1 };
    })
    .filter((p) => p.tag && p.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { tag } of preferences) {
    if (tag.startsWith('ru')) return 'ru';
    if (tag.startsWith('en')) return 'en';
  }
  return 'ru';
}

export function formatMoney(amount: number, locale: Locale, currency = 'RUB'): string {
  return new Intl.NumberFormat(locale === 'ru' ? 'ru-RU' : 'en-US', {
    style: 'currency',
    currency,
    minimumFractionDigits: Number.isInteger(amount) ? 0 : 2,
    maximumFractionDigits: 2,
  }).format(amount);
}

/** Decimal string of a number with at most `digits` decimals and no trailing zeros: 15.7 → "15.7", 3 → "3". */
export function decimalString(value: number, digits = 2): string {
  return String(Number(value.toFixed(digits)));
}

/** Fake bank requisites to transfer to, stable per payment. Never a real card: 2200 00… numbers are test BINs. */
export interface Requisites {
  kind: 'card' | 'phone';
  bank: { ru: string; en: string };
  number: string;
  holder: { ru: string; en: string };
}

const BANKS = [
  { ru: 'Сбербанк', en: 'Sberbank' },
  { ru: 'Т-Банк', en: 'T-Bank' },
  { ru: 'Альфа-Банк', en: 'Alfa-Bank' },
  { ru: 'ВТБ', en: 'VTB' },
  { ru: 'Райффайзенбанк', en: 'Raiffeisenbank' },
] as const;
const HOLDERS = [
  { ru: 'Иван Петрович С.', en: 'Ivan Petrovich S.' },
  { ru: 'Мария Андреевна К.', en: 'Maria Andreevna K.' },
  { ru: 'Алексей Викторович Н.', en: 'Alexey Viktorovich N.' },
  { ru: 'Ольга Сергеевна Л.', en: 'Olga Sergeevna L.' },
] as const;

export function requisitesFor(seed: string, kind: 'card' | 'phone'): Requisites {
  const digits = BigInt(`0x${sha256Hex(seed).slice(0, 15)}`).toString().padStart(18, '0');
  const bank = BANKS[Number(digits.slice(0, 2)) % BANKS.length] ?? BANKS[0];
  const holder = HOLDERS[Number(digits.slice(2, 4)) % HOLDERS.length] ?? HOLDERS[0];
  if (kind === 'phone') {
    const d = `9${digits.slice(4, 13)}`;
    return { kind, bank, holder, number: `+7 ${d.slice(0, 3)} ${d.slice(3, 6)}-${d.slice(6, 8)}-${d.slice(8, 10)}` };
  }
  const body = `220000${digits.slice(4, 13)}`;
  const card = body + luhnDigit(body);
  return { kind, bank, holder, number: card.replace(/(\d{4})(?=\d)/g, '$1 ') };
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/**
 * Parses `a[0][key]=x&a[0][value]=y&b=z` (qs / PHP bracket syntax, as Express parses form bodies) into
 * `{ a: [{ key: 'x', value: 'y' }], b: 'z' }`.
 */
export function parseBracketForm(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [fullKey, value] of params) {
    const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(fullKey);
    if (!match) {
      root[fullKey] = value;
      continue;
    }
    const segments = [match[1] as string, ...[...(match[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1] as string)];
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] as string;
      const last = i === segments.length - 1;
      const key: string | number = Array.isArray(node) ? (segment === '' ? node.length : Number(segment)) : segment;
      if (Array.isArray(node) && (!Number.isInteger(key) || (key as number) < 0 || (key as number) > 1000)) break;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[key] = value;
      } else {
        const nextIsIndex = /^\d*$/.test(segments[i + 1] as string);
        if (typeof container[key] !== 'object' || container[key] === null) container[key] = nextIsIndex ? [] : {};
        node = container[key] as Record<string, unknown> | unknown[];
      }
    }
  }
  return root;
}

/** Security headers of every hosted page; `frameDeny` adds both framing refusals. */
export function pageHeaders(c: Context, nonce: string, frameDeny: boolean): void {
  const csp = [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    'img-src data:',
    "base-uri 'none'",
    // No form-action: the action's 303 goes to the merchant's URLs, which Chromium would check against it.
    ...(frameDeny ? ["frame-ancestors 'none'"] : []),
  ].join('; ');
  c.header('Content-Security-Policy', csp);
  if (frameDeny) c.header('X-Frame-Options', 'DENY');
  c.header('Cache-Control', 'no-store');
  // Payment URLs carry bearer secrets (BoxExchanger's order secret): never leak them in a Referer.
  c.header('Referrer-Policy', 'no-referrer');
  c.header('X-Content-Type-Options', 'nosniff');
}

export const newNonce = (): string => randomBytes(16).toString('base64');

/**
 * A hosted page's answer for a payment the sandbox does not know (a mistyped link, or one evicted from memory).
 * `noReferrer` where the page URL itself is a secret (BoxExchanger's order secret).
 */
export function notFoundPage(c: Context, options: { text?: string; noReferrer?: boolean } = {}): Response {
  c.header('Cache-Control', 'no-store');
  if (options.noReferrer) c.header('Referrer-Policy', 'no-referrer');
  const text = options.text ?? 'Платёж не найден · Payment not found';
  return c.html(`<!doctype html><html lang="ru"><meta charset="utf-8"><title>404</title><p>${text}</p></html>`, 404);
}

/**
 * Sealed (AES-256-GCM) snapshot of a payment embedded in its hosted page's form, so that a page loaded before the
 * process restarted (its memory gone) still works: the action restores the payment from it. Encrypted, not only
 * signed, because a snapshot holds values the payer must not read (BoxExchanger's ipnSecret).
 */
export function sealState(key: string, value: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', stateCipherKey(key), iv);
  const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
}

export function openState<T>(key: string, sealed: unknown): T | undefined {
  if (typeof sealed !== 'string' || sealed.length > 65_536) return undefined;
  const [iv, tag, data] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !data || iv.length !== 12 || tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', stateCipherKey(key), iv);
    decipher.setAuthTag(tag);
    return JSON.parse(Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

const stateCipherKey = (key: string): Buffer => createHash('sha256').update(`sandbox-page-state:${key}`).digest();

/** Form fields of a hosted-page action (urlencoded or multipart). */
export async function readActionForm(c: Context): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  try {
    const body = await c.req.parseBody();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') out[key] = value;
  } catch {
    // an empty or unreadable body is an unknown action
  }
  return out;
}

/** The request body as a JSON object; undefined when it is unreadable, not JSON, or not an object. */
export async function readJsonObject(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const parsed: unknown = JSON.parse(await c.req.text());
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** A redirect target with `status` set in its query (BoxExchanger's clientCallbackUrl). */
export function withQuery(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [key, value] of Object.entries(params)) target.searchParams.set(key, value);
  return target.toString();
}

/**
 * "Pay another amount": the amount the payer typed, or, when the field is empty or invalid, 90 % of the expected
 * amount rounded to whole rubles (never equal to it).
 */
export function otherAmount(expected: number, typed: string | undefined): number {
  const parsed = Number((typed ?? '').replace(',', '.').replace(/\s/g, ''));
  if (Number.isFinite(parsed) && parsed > 0 && parsed !== expected && parsed < 1e9) return Math.round(parsed * 100) / 100;
  const fallback = Math.floor(expected * 0.9);
  return fallback > 0 && fallback !== expected ? fallback : expected + 1;
}

/**
 * Parses `SANDBOX_FRAME_DENY`: a comma list of providers (`repay,agetrading`), `all`/`*`, `1`/`true` for all, empty
 * for none. The one parser of the variable: the helper's configuration (env-schema.ts) passes `onUnknown` and
 * refuses an unknown name; without it (the sandbox on its own) an unknown name is skipped.
 */
export function parseFrameDeny(
  value: string | undefined | null,
  onUnknown?: (item: string) => void,
): Partial<Record<SandboxProviderName, boolean>> {
  const out: Partial<Record<SandboxProviderName, boolean>> = {};
  const items = (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const item of items) {
    if (item === 'all' || item === '*' || item === '1' || item === 'true') {
      for (const provider of SANDBOX_PROVIDERS) out[provider] = true;
    } else if ((SANDBOX_PROVIDERS as readonly string[]).includes(item)) {
      out[item as SandboxProviderName] = true;
    } else {
      onUnknown?.(item);
    }
  }
  return out;
}
