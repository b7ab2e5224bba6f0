/** `session-url` resolved against the document, without trailing slashes: a client's `url`. */
export function resolveSessionUrl(sessionUrl: string): string {
  return new URL(sessionUrl, document.baseURI).href.replace(/\/+$/, '');
}

/** The directory of a resolved `session-url`: where the helper's `/config` lives. */
export function helperBase(url: string): string {
  return url.replace(/\/[^/]*$/, '');
}
