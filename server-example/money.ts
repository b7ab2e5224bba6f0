/**
 * Money as integer minor units (kopecks) inside the helper, decimal strings at the edges. No floats are used for
 * arithmetic: provider amounts that arrive as JSON numbers are converted through their decimal text.
 */
const DECIMAL = /^(0|[1-9]\d{0,12})(?:\.(\d{1,2}))?$/;

/** "1500", "1500.5", "1500.50" → 150050 kopecks; undefined when the text is not a plain non-negative amount. */
export function parseAmount(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    // A JSON number from a provider: its shortest decimal text is what the provider meant.
    const text = String(value);
    if (/e/i.test(text)) return undefined;
    return parseAmount(text);
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  // Providers write "300.0" or "300.000" too; accept trailing zeros beyond kopecks only.
  const normalised = trimmed.replace(/^(\d+\.\d{2})0+$/, '$1').replace(/^(\d+)\.0+$/, '$1');
  const match = DECIMAL.exec(normalised);
  if (!match) return undefined;
  const rubles = Number(match[1]);
  const kopecks = Number((match[2] ?? '').padEnd(2, '0'));
  const minor = rubles * 100 + kopecks;
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/**
 * A merchant's order amount (`resolveOrder()`): a whole number of rubles as a number, or a decimal string; undefined
 * when it is neither, or not positive.
 */
export function orderAmountMinor(amount: unknown): number | undefined {
  const minor = typeof amount === 'number' ? (Number.isSafeInteger(amount) && amount > 0 ? amount * 100 : undefined) : parseAmount(amount);
  return minor !== undefined && minor > 0 ? minor : undefined;
}

/** 150050 → "1500.50" (the helper's public amount format: always two decimals). */
export function formatAmount(minor: number): string {
  const rubles = Math.trunc(minor / 100);
  const kopecks = Math.abs(minor % 100);
  return `${rubles}.${String(kopecks).padStart(2, '0')}`;
}

/** 150000 → "1500" (Repay takes whole rubles only); undefined when there are kopecks. */
export function wholeRubles(minor: number): string | undefined {
  return minor % 100 === 0 ? String(minor / 100) : undefined;
}
