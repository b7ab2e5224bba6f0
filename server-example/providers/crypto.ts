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

/**
 * Compares two secrets in constant time. Both sides are compared as UTF-8 bytes of equal length: comparing string
 * lengths first is not enough, because a multi-byte character makes the byte buffers differ in length and
 * `timingSafeEqual` throw.
 */
export function constantTimeEqual(received: string, expected: string): boolean {
  const a = Buffer.from(received, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Compares a received hex signature with the expected one: lower-cased hex of equal length, in constant time. */
export function hexEquals(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  const text = received.trim().toLowerCase();
  return /^[0-9a-f]+$/.test(text) && constantTimeEqual(text, expected.toLowerCase());
}
