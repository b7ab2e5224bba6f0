/**
 * The adapters' HTTP client: `node:http` / `node:https` with one keep-alive agent per protocol, a timeout, JSON
 * bodies read as text first (providers answer HTML on outages), and transport failures mapped to
 * `provider_unavailable`. Creation calls are never retried here: a retried create could open a second payment.
 *
 * Why not global `fetch`: undici's fetch builds a Web Request, Response, Headers and body streams per call, and
 * `AbortSignal.timeout()` a transferable timer; under load that garbage was a measurable share of the helper's CPU
 * and most of its peak heap (docs/performance.md). Tests still stand in for providers with msw: its node
 * interceptor wraps `http.request` / `https.request`, which is why they are called through the module objects.
 */
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { CheckoutError } from '../errors.js';

export interface ProviderResponse {
  status: number;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  headers: IncomingHttpHeaders;
}

export interface ProviderRequestInit {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

/**
 * Idle sockets are closed after this long, before the 5 s keep-alive timeout most servers (Node, nginx's 75 s is
 * longer) use, so a request rarely meets a socket the provider is closing; a server's `Keep-Alive: timeout=n` hint
 * shortens it further (Node's agent honours it).
 */
const IDLE_SOCKET_MS = 4_000;
const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxFreeSockets: 64, scheduling: 'lifo' }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS, maxFreeSockets: 64, scheduling: 'lifo' }),
};

/** Provider answers above this are cut off: no legitimate one comes near it. */
const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export async function providerRequest(providerName: string, url: string, init: ProviderRequestInit): Promise<ProviderResponse> {
  try {
    return await send(url, init);
  } catch (error) {
    // A kept-alive socket the provider closed just as we reused it: the request never reached it. Only reads are
    // sent again; a create might have arrived, and sending it twice could open a second payment.
    if (isResetOfReusedSocket(error) && init.method === 'GET') {
      try {
        return await send(url, init);
      } catch (retryError) {
        throw transportError(providerName, retryError);
      }
    }
    throw transportError(providerName, error);
  }
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}

class ResponseTooLargeError extends Error {}

interface SendError extends Error {
  code?: string;
  reusedSocket?: boolean;
}

interface Origin {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number;
}

/** Provider origins, parsed once: a helper talks to a handful of them. */
const origins = new Map<string, Origin>();

/**
 * Where a request goes, without a `URL` object and Node's conversion of it per call. The path is passed as written,
 * so it must be plain printable ASCII (the adapters encode ids and queries); anything else — credentials in the
 * origin, a fragment, a character to escape — goes through `URL` as before.
 */
function targetOf(url: string): { origin: Origin; path: string } {
  const slash = url.indexOf('/', url.indexOf('://') + 3);
  const originText = slash === -1 ? url : url.slice(0, slash);
  const path = slash === -1 ? '/' : url.slice(slash);
  let origin = origins.get(originText);
  if (!origin || !/^\/[\x21-\x22\x24-\x7e]*$/.test(path)) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`Unsupported protocol ${parsed.protocol}`);
    if (parsed.username || parsed.password) throw new Error('Credentials in a provider URL are not supported');
    origin = { protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port) || (parsed.protocol === 'https:' ? 443 : 80) };
    if (origins.size < 32) origins.set(`${parsed.protocol}//${parsed.host}`, origin);
    return { origin, path: `${parsed.pathname}${parsed.search}` };
  }
  return { origin, path };
}

function send(url: string, init: ProviderRequestInit): Promise<ProviderResponse> {
  let target: { origin: Origin; path: string };
  try {
    target = targetOf(url);
  } catch (error) {
    return Promise.reject(error as Error);
  }
  const { protocol, hostname, port } = target.origin;
  const agent = agents[protocol];
  const client = protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { 'user-agent': 'pay-checkout', ...init.headers };
  if (init.body !== undefined) headers['content-length'] = Buffer.byteLength(init.body);

  return new Promise<ProviderResponse>((resolve, reject) => {
    let settled = false;
    let timedOut = false;
    const fail = (error: SendError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(timedOut ? new TimeoutError('timed out') : error);
    };
    const request = client.request({ protocol, hostname, port, path: target.path, method: init.method, headers, agent }, (response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size > MAX_RESPONSE_BYTES) {
          request.destroy(new ResponseTooLargeError(`The answer is larger than ${MAX_RESPONSE_BYTES} bytes.`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', fail);
      response.on('aborted', () => fail(new Error('The connection closed before the answer was complete.')));
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        let text: string;
        try {
          text = decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), response.headers['content-encoding']);
        } catch (error) {
          reject(error as Error);
          return;
        }
        let json: unknown;
        if (text.length > 0) {
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
        }
        resolve({ status: response.statusCode ?? 0, text, json, headers: response.headers });
      });
    });
    // One timer for the whole exchange (connect, send, answer), like fetch with AbortSignal.timeout().
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new TimeoutError('timed out'));
    }, init.timeoutMs);
    request.on('error', (error: SendError) => {
      error.reusedSocket = request.reusedSocket;
      fail(error);
    });
    request.end(init.body);
  });
}

function decode(bytes: Buffer, encoding: string | undefined): string {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return bytes.toString('utf8');
    case 'gzip':
    case 'x-gzip':
      return gunzipSync(bytes).toString('utf8');
    case 'deflate':
      return inflateSync(bytes).toString('utf8');
    case 'br':
      return brotliDecompressSync(bytes).toString('utf8');
    default:
      throw new Error(`Unsupported content-encoding ${encoding}`);
  }
}

function isResetOfReusedSocket(error: unknown): boolean {
  const e = error as SendError;
  return Boolean(e?.reusedSocket) && (e.code === 'ECONNRESET' || e.code === 'EPIPE');
}

/**
 * The provider gave no answer that could be read (a timeout, a lost connection, an answer too large): whether it acted
 * on the request is unknown — a payment may exist there that the helper never learnt of.
 */
export class NoAnswerError extends CheckoutError {}

function transportError(providerName: string, error: unknown): NoAnswerError {
  const timedOut = error instanceof TimeoutError;
  const message = timedOut
    ? `${providerName} did not answer in time.`
    : error instanceof ResponseTooLargeError
      ? `${providerName} sent an answer that is too large.`
      : `${providerName} could not be reached.`;
  return new NoAnswerError('provider_unavailable', message, {
    detail: error instanceof Error ? error.message : String(error),
    cause: error,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A JSON callback body as an object: `invalid_json` when it does not parse, `invalid_webhook` when it is not an object. */
export function parseJsonCallback(providerName: string, rawBody: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    throw new CheckoutError('invalid_json', `The ${providerName} callback is not valid JSON.`);
  }
  if (!isRecord(body)) throw new CheckoutError('invalid_webhook', `The ${providerName} callback is not a JSON object.`);
  return body;
}

/** A provider string or number field as text; undefined for anything else. */
export function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** The first 200 characters of a provider body, for logs. */
export function snippet(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
