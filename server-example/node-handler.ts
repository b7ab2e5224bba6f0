/**
 * `nodeHandler(app)`: the helper (or the sandbox) as a Node `(req, res, next?)` handler, for `node:http`, Express,
 * Connect and Fastify (`request.raw`, `reply.raw`). See docs/server.md, "Mounting".
 *
 * - Routes on the full path: Express and Connect strip the mount path from `req.url` (`app.use('/api/checkout', …)`),
 *   so `req.originalUrl` is used when present. The helper answers under its `basePath`; other paths go to `next()`.
 * - Webhook signatures are computed over the raw bytes the provider sent. When nothing read the body yet, the
 *   handler streams it itself. When a body parser already consumed it (a global `express.json()`), the raw bytes are
 *   taken from `req.rawBody` (`express.json({ verify: keepRawBody })`), from a Buffer or string `req.body`
 *   (`express.raw()`, `express.text()`), or, as a last resort, re-encoded from the parsed `req.body`. A re-encoded body
 *   can only make a signature fail (401, the provider retries or the reconciler polls), never make one pass, but the
 *   event log then stores the re-encoded text: give the helper its raw bytes where you can.
 */
import { getRequestListener } from '@hono/node-server';
import type { HttpBindings } from '@hono/node-server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkoutBasePath } from './config.js';
import type { CheckoutConfig } from './config.js';

/** Anything with a Web-standard `fetch(request, env)`: the helper's app, the sandbox app, a Hono app. */
export interface FetchApp {
  fetch(request: Request, env?: HttpBindings | Record<string, unknown>): Response | Promise<Response>;
}

/** What body parsers and frameworks leave on a Node request. */
export type NodeRequest = IncomingMessage & {
  /** Express / Connect: the URL before the mount path was stripped. */
  originalUrl?: string;
  /** A body parser's result: a parsed object, a string (`express.text()`) or a Buffer (`express.raw()`). */
  body?: unknown;
  /** The raw bytes, kept by `keepRawBody` or a framework. */
  rawBody?: unknown;
  /** Set by body-parser (Express's body parsers) once it consumed the stream. */
  _body?: boolean;
};

export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export interface NodeHandlerOptions {
  /**
   * Requests outside this path go to `next()` (or get the app's 404 without one). Default: the helper's `basePath`
   * for the helper's app; none (everything goes to the app) for any other app.
   */
  prefix?: string;
}

/** The Node handler of a Web-standard app. */
export function nodeHandler(app: FetchApp & { checkout?: { config: Pick<CheckoutConfig, 'basePath'> } }, options: NodeHandlerOptions = {}): NodeHandler {
  const prefix = options.prefix ?? (app.checkout ? checkoutBasePath(app.checkout.config) : undefined);
  // Unread stream: the app reads the body from the socket itself (env.incoming).
  const streaming = getRequestListener((request, env) => app.fetch(request, env));
  // Consumed stream: the bytes travel as `rawBody` in the Request; the app must not touch the spent stream, so it
  // gets no `incoming`, only the connection's address (`peer`), which the rejected-callback limit counts by.
  const buffered = getRequestListener(
    (request, env) => app.fetch(request, { outgoing: env.outgoing, peer: env.incoming.socket?.remoteAddress }),
    { autoCleanupIncoming: false },
  );

  return (incoming, res, next) => {
    const req = incoming as NodeRequest;
    const url = typeof req.originalUrl === 'string' ? req.originalUrl : req.url ?? '/';
    if (prefix !== undefined && next && !underPrefix(url, prefix)) {
      next();
      return;
    }
    req.url = url;
    const done = (promise: Promise<void>) =>
      promise.catch((error: unknown) => {
        if (next) next(error);
        else if (!res.headersSent) {
          res.statusCode = 500;
          res.end();
        } else res.destroy();
      });
    const bodyConsumed = req._body === true || req.readableEnded;
    if (!bodyConsumed || req.method === 'GET' || req.method === 'HEAD') {
      void done(Promise.resolve(streaming(req, res)));
      return;
    }
    req.rawBody = rawBytesOf(req);
    void done(Promise.resolve(buffered(req, res)));
  };
}

/**
 * `express.json({ verify: keepRawBody })` (also `express.urlencoded`, `express.text`): keeps the bytes a body parser
 * parsed on `req.rawBody`, so the helper verifies webhook signatures over exactly what the provider sent.
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, bytes: Buffer): void {
  (req as NodeRequest).rawBody = Buffer.from(bytes);
}

function underPrefix(url: string, prefix: string): boolean {
  const path = url.split('?', 1)[0]!;
  return path === prefix || path.startsWith(`${prefix}/`);
}

function rawBytesOf(req: NodeRequest): Buffer {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  if (typeof req.rawBody === 'string') return Buffer.from(req.rawBody, 'utf8');
  const body = req.body;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body === undefined || body === null) return Buffer.alloc(0);
  const type = String(req.headers['content-type'] ?? '').toLowerCase();
  if (type.startsWith('application/x-www-form-urlencoded') && typeof body === 'object') {
    const form = new URLSearchParams();
    appendForm(form, '', body);
    return Buffer.from(form.toString(), 'utf8');
  }
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** Flat (`extended: false`) and nested (`qs`, `extended: true`) parses back to `a=1&b[0][c]=2`. */
function appendForm(form: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    // A repeated flat key parses to an array of strings; a qs list to an array of objects.
    value.forEach((item, index) => appendForm(form, typeof item === 'object' && item !== null ? `${key}[${index}]` : key, item));
    return;
  }
  if (typeof value === 'object') {
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) appendForm(form, key ? `${key}[${name}]` : name, inner);
    return;
  }
  form.append(key, String(value));
}
