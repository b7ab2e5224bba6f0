/**
 * CORS for the routes that scripts on the storefront's pages call (`/config`, `/sessions…`, the demo's log): the
 * allowed storefront origins only, by exact match (never `*`), always with `Vary: Origin`. A preflight is answered
 * here (204) for any origin; one from an origin not allowed gets no `Access-Control-Allow-Origin`, which the browser
 * refuses.
 *
 * Why not Hono's `cors()`: it sets its headers on a placeholder answer before the route runs, so Hono copies the
 * route's answer into a new `Response` to carry them, and the Node adapter then streams the copy's body instead of
 * writing the route's text at once. Setting the headers on the route's own answer afterwards keeps that fast path.
 */
import type { MiddlewareHandler } from 'hono';

const PREFLIGHT: Readonly<Record<string, string>> = {
  'access-control-allow-methods': 'GET,POST,OPTIONS',
  // The element's requests: JSON bodies, the attempt's Idempotency-Key and the session's bearer token.
  'access-control-allow-headers': 'Content-Type,Idempotency-Key,Authorization',
  'access-control-max-age': '600',
  vary: 'Origin, Access-Control-Request-Headers',
};

export function storefrontCors(allowedOrigins: readonly string[]): MiddlewareHandler {
  const allowed = new Set(allowedOrigins);
  return async (c, next) => {
    const origin = c.req.header('origin');
    const allowOrigin = origin !== undefined && allowed.has(origin) ? origin : undefined;
    if (c.req.method === 'OPTIONS') {
      const headers = new Headers(PREFLIGHT);
      if (allowOrigin) headers.set('access-control-allow-origin', allowOrigin);
      return new Response(null, { status: 204, headers });
    }
    await next();
    // On the route's answer, its error answer included (Hono's onError has set it by now).
    if (allowOrigin) c.res.headers.set('access-control-allow-origin', allowOrigin);
    c.res.headers.append('vary', 'Origin');
    return undefined;
  };
}
