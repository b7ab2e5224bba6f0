/**
 * The element bench's web server, in the bench process on 127.0.0.1: it serves `dist/`, the floor bundle and the
 * test pages, and stands in for the helper with instant answers (`/api/checkout/config`, `/sessions`, a blank
 * payment page), so that what the browser measures is the widget's own cost, not the helper's.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface MockHelper {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The element and the floor bundle, as the page loads them. */
export interface Bundles {
  element: string;
  floor: string;
}

export function pageHtml(body: string, script = ''): string {
  return `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>pay-checkout bench</title>
<style>body{margin:0;font:16px system-ui} #host{display:flex;flex-wrap:wrap;gap:4px;padding:8px}</style>
</head><body>${body}
${script ? `<script type="module">${script}</script>` : ''}
</body></html>`;
}

/** The payment page stands in for the provider's: tiny, same origin so the bench can read its timing. */
const PAY_PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>Оплата</title></head><body><p>Оплата</p></body></html>';

/**
 * `/api/checkout/config` as the helper answers it. When the helper is importable, the bench captures its real
 * answer once (in-process, see `helperConfigBody`); this literal is the fallback with the documented shape (docs/server.md, "HTTP API").
 */
export const FALLBACK_CONFIG = {
  providers: (['repay', 'boxexchanger', 'agetrading'] as const).map((id) => ({
    id,
    name: id,
    methods: [
      { id: 'sbp', label: { ru: 'СБП', en: 'SBP (Faster Payments)' } },
      { id: 'card', label: { ru: 'Банковская карта', en: 'Bank card' } },
    ],
    minAmount: id === 'boxexchanger' ? 500 : 100,
    frameable: true,
    sandbox: true,
  })),
  defaultProvider: 'repay',
  currency: 'RUB',
  sandbox: true,
};

export async function startMockHelper(options: {
  roots: Record<string, string>;
  pages: Record<string, string>;
  configBody: unknown;
}): Promise<MockHelper> {
  const sessionsByOrder = new Map<string, Record<string, unknown>>();
  const sessionsById = new Map<string, Record<string, unknown>>();
  let origin = '';

  const readBody = (request: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (text += chunk));
      request.on('end', () => resolve(text));
    });

  // Compressed as a storefront's server or CDN sends scripts and JSON (gzip -9, the size figures' setting), so the
  // bytes the browser counts are the bytes a payer downloads. Files are compressed once.
  const gzipped = new Map<string, Buffer>();
  const send = (request: IncomingMessage, response: ServerResponse, status: number, headers: Record<string, string>, bytes: Buffer, cacheKey?: string) => {
    if (/\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      let packed = cacheKey ? gzipped.get(cacheKey) : undefined;
      if (!packed) {
        packed = gzipSync(bytes, { level: 9 });
        if (cacheKey) gzipped.set(cacheKey, packed);
      }
      response.writeHead(status, { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding', 'content-length': String(packed.length) });
      response.end(packed);
      return;
    }
    response.writeHead(status, { ...headers, 'content-length': String(bytes.length) });
    response.end(bytes);
  };

  const json = (response: ServerResponse, status: number, body: unknown) =>
    send(response.req, response, status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, Buffer.from(JSON.stringify(body)));

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', origin);
    const path = url.pathname;
    if (path === '/api/checkout/config') return json(response, 200, options.configBody);
    if (path === '/api/checkout/sessions' && request.method === 'POST') {
      const text = await readBody(request);
      let body: { orderId?: string; provider?: string; method?: string } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return json(response, 400, { error: { code: 'bad_request', message: 'invalid JSON', retryable: false } });
      }
      const orderId = body.orderId ?? 'unknown';
      const existing = sessionsByOrder.get(orderId);
      if (existing) return json(response, 200, existing);
      const id = `cs_${randomBytes(9).toString('base64url')}`;
      const session = {
        id,
        token: randomBytes(24).toString('base64url'),
        status: 'created',
        provider: body.provider ?? 'repay',
        method: body.method ?? 'sbp',
        paymentUrl: `${origin}/pay/${id}`,
        frameable: true,
        amount: '650.00',
        currency: 'RUB',
        orderId,
        expiresAt: new Date(Date.now() + 30 * 60_000).toISOString(),
      };
      sessionsByOrder.set(orderId, session);
      sessionsById.set(id, session);
      return json(response, 201, session);
    }
    const sessionMatch = /^\/api\/checkout\/sessions\/([^/]+)(\/cancel)?$/.exec(path);
    if (sessionMatch) {
      const session = sessionsById.get(sessionMatch[1]!);
      if (!session) return json(response, 404, { error: { code: 'not_found', message: 'no such session', retryable: false } });
      const { token: _token, ...view } = session;
      void _token;
      return json(response, 200, sessionMatch[2] ? { ...view, status: 'cancelled' } : { ...view, status: 'pending' });
    }
    if (path.startsWith('/pay/')) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return response.end(PAY_PAGE);
    }
    if (path.startsWith('/pages/')) {
      const page = options.pages[path.slice('/pages/'.length)];
      if (page === undefined) return json(response, 404, { error: 'no page' });
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return response.end(page);
    }
    for (const [prefix, root] of Object.entries(options.roots)) {
      if (!path.startsWith(`${prefix}/`)) continue;
      const file = normalize(join(root, decodeURIComponent(path.slice(prefix.length))));
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) break;
      return send(request, response, 200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' }, readFileSync(file), file);
    }
    if (path === '/favicon.ico') {
      response.writeHead(204);
      return response.end();
    }
    return json(response, 404, { error: { code: 'not_found', message: path, retryable: false } });
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) json(response, 500, { error: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    url: origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
