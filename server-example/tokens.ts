/**
 * Session bearer tokens (docs/server.md, "Sessions and idempotency"): base64url("id.expiry.hmac") with hmac = hex(HMAC-SHA256(SESSION_SECRET,
 * "id.expiry")), expiry in unix seconds. Checked in constant time; a token opens exactly one session.
 */
import { constantTimeEqual, hmacSha256Hex as sign } from './providers/crypto.js';

export function createSessionToken(secret: string, sessionId: string, ttlSeconds: number, now = Date.now()): string {
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  const payload = `${sessionId}.${expiry}`;
  return Buffer.from(`${payload}.${sign(secret, payload)}`, 'utf8').toString('base64url');
}

/** True when `token` was issued for `sessionId` with this secret and has not expired. */
export function verifySessionToken(secret: string, token: string, sessionId: string, now = Date.now()): boolean {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(token)) return false;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  const parts = decoded.split('.');
  if (parts.length !== 3) return false;
  const [id, expiryText, mac] = parts as [string, string, string];
  if (!/^\d{1,12}$/.test(expiryText) || !/^[0-9a-f]{64}$/.test(mac)) return false;
  // Compare the MAC first and always, so the answer time does not depend on which check failed.
  const macOk = constantTimeEqual(mac, sign(secret, `${id}.${expiryText}`));
  const idOk = constantTimeEqual(id, sessionId);
  return macOk && idOk && Number(expiryText) * 1000 > now;
}
