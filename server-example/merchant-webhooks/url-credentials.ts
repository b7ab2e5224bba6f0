/**
 * URLs with a user name or password (`http://user:pw@shop/hook`). Node's fetch refuses them outright ("Request cannot
 * be constructed from a URL that includes credentials: <the URL>"), so such a MERCHANT_WEBHOOK_URL or
 * ORDER_RESOLVE_URL is refused when it is configured; and whatever the helper stores or logs about a failed request is
 * passed through `redactUrlCredentials()` first, so a password never reaches a log line, an outbox row's `last_error`
 * or the merchant API.
 */

/** Whether an absolute URL carries a user name or a password. False for anything that does not parse. */
export function hasUrlCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false;
  }
}

/**
 * Why a URL with credentials is refused, naming it (`label`) without them; undefined for a URL without. The requests
 * (`what`) are signed, and a token can go in the URL instead.
 */
export function credentialsRefusal(label: string, url: string, what: 'webhook' | 'lookup'): string | undefined {
  if (!hasUrlCredentials(url)) return undefined;
  return (
    `${label} "${withoutUrlCredentials(url)}" has a user name or password in it, which the helper cannot send ` +
    `(fetch refuses URLs with credentials). Remove them: every ${what} is signed with MERCHANT_WEBHOOK_SECRET, so check ` +
    `its webhook-signature header instead, or put a secret token in the URL's path or query (over https).`
  );
}

/** The URL with its user name and password replaced by `***` (for messages); other text unchanged. */
export function withoutUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    return `${parsed.protocol}//***@${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`;
  } catch {
    return redactUrlCredentials(url);
  }
}

/**
 * Any `scheme://user:password@` in a text (an error message) becomes `scheme://***@`. The user information runs to the
 * last `@` before the host's end (`/`, `?`, `#` or whitespace), as URL parsers read it, so a password with an `@` in it
 * is cut whole. `known` URLs are replaced as written and as parsed, in case a message quotes one in some other form.
 */
export function redactUrlCredentials(text: string, known: readonly string[] = []): string {
  let result = text;
  for (const url of known) {
    if (!hasUrlCredentials(url)) continue;
    const safe = withoutUrlCredentials(url);
    for (const form of new Set([url, new URL(url).href])) result = result.split(form).join(safe);
  }
  return result.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi, '$1***@');
}
