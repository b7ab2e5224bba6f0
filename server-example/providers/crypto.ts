/**
 * Hashing helpers shared by the adapters (and the sandbox): hex digests, and the helper's one constant-time
 * comparison (`bytesEqual`), which every other comparison of secrets goes through, always received value first.
 */
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
 * Compares a received byte buffer with the expected one in constant time. Buffers of different lengths are unequal
 * (only the length can be learnt from the time taken; `timingSafeEqual` would throw).
 */
export function bytesEqual(received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

/**
 * Compares two secrets in constant time, as UTF-8 bytes: comparing string lengths first is not enough, because a
 * multi-byte character makes the byte buffers differ in length.
 */
export function constantTimeEqual(received: string, expected: string): boolean {
  return bytesEqual(Buffer.from(received, 'utf8'), Buffer.from(expected, 'utf8'));
}

/** Compares a received hex signature with the expected one: lower-cased hex of equal length, in constant time. */
export function hexEquals(received: unknown, expected: string): boolean {
  if (typeof received !== 'string') return false;
  const text = received.trim().toLowerCase();
  return /^[0-9a-f]+$/.test(text) && constantTimeEqual(text, expected.toLowerCase());
}
