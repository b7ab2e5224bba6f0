/**
 * The return bridge (docs/server.md, "Return page"): the page the provider's success / error / cancel redirects land on.
 * - In a frame it posts { type: 'pay-checkout:return', v: 1, sessionId, outcome } to the storefront origin recorded
 *   when the session was created (never '*'), then says the window can be closed.
 * - In a window with an opener it posts the same to the opener; when the element answers it says the window can be
 *   closed and closes it; unanswered, the element's own window stays with a link back to the shop and any other window
 *   goes on as at the top level (see `renderReturnPage`).
 * - At the top level it asks the helper for the 303 back to the session's return URL with
 *   `#pay-checkout=<sessionId>:<outcome>`.
 * The page never changes a session's status: the helper only re-checks it with the provider.
 * Its one inline script and style carry a per-response nonce under a strict CSP.
 */
import { randomBytes } from 'node:crypto';
import type { ReturnOutcome } from './types.js';

const RETURN_OUTCOMES: readonly ReturnOutcome[] = ['success', 'error', 'cancel'];

export function isReturnOutcome(value: unknown): value is ReturnOutcome {
  return typeof value === 'string' && (RETURN_OUTCOMES as readonly string[]).includes(value);
}

const TEXT = {
  ru: {
    title: 'Возврат в магазин',
    working: 'Возвращаемся в магазин…',
    close: 'Оплата обработана. Это окно можно закрыть.',
    link: 'Вернуться в магазин',
    unknown: 'Платёжная сессия не найдена.',
  },
  en: {
    title: 'Back to the shop',
    working: 'Returning to the shop…',
    close: 'Payment processed. You can close this window.',
    link: 'Back to the shop',
    unknown: 'Payment session not found.',
  },
} as const;

export interface ReturnPage {
  html: string;
  headers: Record<string, string>;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function securityHeaders(nonce: string | undefined, frameAncestors: readonly string[]): Record<string, string> {
  const ancestors = frameAncestors.length > 0 ? `'self' ${frameAncestors.join(' ')}` : "'self'";
  const csp = [
    "default-src 'none'",
    nonce ? `script-src 'nonce-${nonce}'` : "script-src 'none'",
    nonce ? `style-src 'nonce-${nonce}'` : "style-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}

/**
 * How long the return page in a window with an opener waits for the element's answer before it goes back to the return
 * URL instead (or, in the element's own window, offers the way back): the answer comes within milliseconds from a live
 * element, which answers before anything else runs; a storefront tab never gets one.
 */
const OPENER_ANSWER_MS = 2_000;

const STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; }
  main { padding: 24px; text-align: center; max-width: 32rem; }
  a { color: inherit; }
`;

export function renderReturnPage(options: {
  sessionId: string;
  outcome: ReturnOutcome;
  storefrontOrigin: string;
  /** Same-origin URL that answers the 303 back to the storefront. */
  topLevelUrl: string;
  locale: 'ru' | 'en';
  frameAncestors: readonly string[];
}): ReturnPage {
  const nonce = randomBytes(16).toString('base64');
  const text = TEXT[options.locale];
  const data = {
    message: { type: 'pay-checkout:return', v: 1, sessionId: options.sessionId, outcome: options.outcome },
    origin: options.storefrontOrigin,
    top: options.topLevelUrl,
    closeText: text.close,
  };
  // In a window with an opener the page reports to it and closes itself only once the element answers
  // (src/return-listener.ts): a window name or the opener alone do not tell the element's popup from a storefront tab
  // that the shop or another site opened with window.open() (any page on the way may rename a window). Unanswered, a
  // window named by the element (`pay-checkout-…`, open-window.ts) is its popup whose page is busy, frozen in the
  // background or gone: it stays, says it can be closed and links back to the shop (its own copy of the tab's storage
  // has no session, so the shop there would offer to pay again). Any other window goes back to the return URL: in
  // redirect mode that is the storefront tab's own way back.
  const script = `
(function () {
  var d = ${scriptJson(data)};
  var status = document.getElementById('status');
  function done() { status.textContent = d.closeText; }
  var opener = null;
  try { opener = window.opener && window.opener !== window ? window.opener : null; } catch (e) { opener = null; }
  if (opener) {
    var answered = false;
    window.addEventListener('message', function (e) {
      var a = e.data;
      if (answered || e.source !== opener || e.origin !== d.origin || !a || a.type !== 'pay-checkout:return-ack' || a.v !== 1 || a.sessionId !== d.message.sessionId) return;
      answered = true;
      done();
      setTimeout(function () { window.close(); }, 100);
    });
    try { opener.postMessage(d.message, d.origin); } catch (e) {}
    setTimeout(function () {
      if (answered) return;
      if (!/^pay-checkout-/.test(window.name)) return window.location.replace(d.top);
      done();
      // The shop the link loads here must not take this window for the element's again.
      window.name = '';
      document.getElementById('back').hidden = false;
    }, ${OPENER_ANSWER_MS});
    return;
  }
  if (window.parent && window.parent !== window) {
    try { window.parent.postMessage(d.message, d.origin); } catch (e) {}
    done();
    return;
  }
  window.location.replace(d.top);
})();
`;
  const html = `<!doctype html>
<html lang="${options.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(text.title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
<p id="status" role="status" aria-live="polite">${escapeHtml(text.working)}</p>
<p id="back" hidden><a href="${escapeHtml(options.topLevelUrl)}">${escapeHtml(text.link)}</a></p>
<noscript><p><a href="${escapeHtml(options.topLevelUrl)}">${escapeHtml(text.link)}</a></p></noscript>
</main>
<script nonce="${nonce}">${script}</script>
</body>
</html>
`;
  return { html, headers: securityHeaders(nonce, options.frameAncestors) };
}

export function renderUnknownSessionPage(locale: 'ru' | 'en'): ReturnPage {
  const text = TEXT[locale];
  const html = `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(text.title)}</title></head>
<body><main><p role="alert">${escapeHtml(text.unknown)}</p></main></body></html>
`;
  return { html, headers: securityHeaders(undefined, []) };
}

/** `#pay-checkout=<sessionId>:<outcome>` appended to the storefront's return URL (replacing any hash). */
export function returnRedirectUrl(returnUrl: string, sessionId: string, outcome: ReturnOutcome): string {
  const url = new URL(returnUrl);
  url.hash = `pay-checkout=${sessionId}:${outcome}`;
  return url.toString();
}
