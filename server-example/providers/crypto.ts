/** Hashing helpers shared by the adapters: hex digests and constant-time comparison of hex strings. */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function hmacSha256Hex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** Compares a received hex signature with the expected one: lower-cased, equal length, constant time. */
export function hexEquals(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  const a = Buffer.from(received.trim().toLowerCase(), 'utf8');
  const b = Buffer.from(expected.toLowerCase(), 'utf8');
  if (a.length !== b.length || !/^[0-9a-f]+$/.test(received.trim().toLowerCase())) return false;
  return timingSafeEqual(a, b);
}
