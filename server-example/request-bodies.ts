/**
 * The helper's request bodies as valibot schemas, and their refusals as the helper's errors: a required field that
 * is absent, null or empty is `missing_field` ("orderId is required."), any other refusal is the field's own code
 * (`unknown_provider`, `unknown_method`) or `invalid_field`, with the schema's message. The first problem, in field
 * order, is the answer. Codes and messages are listed in docs/server.md.
 */
import * as v from 'valibot';
import { CheckoutError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { METHOD_IDS } from './types.js';

/** What an order id may be: in `POST /sessions`, and wherever the merchant API takes one. */
export const ORDER_ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
import type { ProviderId } from './types.js';

/** Fields refused with a code of their own rather than `invalid_field`. */
const FIELD_CODES: Readonly<Record<string, ErrorCode>> = { provider: 'unknown_provider', method: 'unknown_method' };

/** A string field that must be present, not null and not empty, and match `pattern` (the message says what is `expected`). */
const requiredText = (field: string, pattern: RegExp, expected: string) => {
  const message = `${field} must be ${expected}.`;
  return v.nonNullish(v.pipe(v.string(message), v.nonEmpty(), v.regex(pattern, message)));
};

/** A string field that may be absent or null; when given, it must match `pattern` (an empty one does not). */
const optionalText = (field: string, pattern: RegExp, expected: string) => {
  const message = `${field} must be ${expected}.`;
  return v.nullish(v.pipe(v.string(message), v.regex(pattern, message)));
};

/** `POST /sessions`. `returnUrl` is checked apart (RETURN_URL), after the storefront origin it is resolved against. */
export function sessionRequestSchema(enabledProviders: readonly ProviderId[]) {
  return v.object({
    orderId: requiredText('orderId', ORDER_ID_PATTERN, 'letters, digits and . _ : - (at most 100)'),
    provider: v.nullish(v.picklist(enabledProviders, (issue) => `Unknown or disabled provider "${String(issue.input).slice(0, 40)}".`)),
    method: v.nullish(v.picklist(METHOD_IDS, (issue) => `Unknown payment method "${String(issue.input).slice(0, 40)}".`)),
    locale: optionalText('locale', /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/, 'a language tag such as "ru" or "en"'),
    customerId: optionalText('customerId', /^[\x20-\x7e]{1,200}$/, 'printable text of at most 200 characters'),
  });
}

export const RETURN_URL = v.object({ returnUrl: optionalText('returnUrl', /^[^\s]{1,2048}$/, 'an absolute URL') });

/** The body as `schema` outputs it, or the helper's error for its first problem. */
export function parseBody<T extends v.GenericSchema>(schema: T, body: Record<string, unknown>): v.InferOutput<T> {
  const result = v.safeParse(schema, body, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const pathItem = issue.path?.[0] as { key?: unknown; origin?: string } | undefined;
  const field = String(pathItem?.key ?? '');
  // Absent (valibot reports a missing key), null, or empty.
  if (pathItem?.origin === 'key' || issue.type === 'non_nullish' || issue.type === 'non_empty') {
    throw new CheckoutError('missing_field', `${field} is required.`);
  }
  throw new CheckoutError(FIELD_CODES[field] ?? 'invalid_field', issue.message);
}
