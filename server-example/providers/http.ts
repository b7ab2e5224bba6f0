/**
 * The adapters' HTTP client: global fetch (so msw can stand in for providers in tests) with a timeout, JSON
 * bodies read as text first (providers answer HTML on outages), and transport failures mapped to
 * `provider_unavailable`. Creation calls are never retried here: a retried create could open a second payment.
 */
import { CheckoutError } from '../errors.js';

export interface ProviderResponse {
  status: number;
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  json: unknown;
  headers: Headers;
}

export async function providerRequest(
  providerName: string,
  url: string,
  init: RequestInit & { timeoutMs: number },
): Promise<ProviderResponse> {
  const { timeoutMs, ...rest } = init;
  let response: Response;
  try {
    response = await fetch(url, { ...rest, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    throw new CheckoutError(
      'provider_unavailable',
      timedOut ? `${providerName} did not answer in time.` : `${providerName} could not be reached.`,
      { detail: error instanceof Error ? error.message : String(error), cause: error },
    );
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new CheckoutError('provider_unavailable', `${providerName} closed the connection early.`, { cause: error });
  }
  let json: unknown;
  if (text.length > 0) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.status, text, json, headers: response.headers };
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
