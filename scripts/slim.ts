// Build-time slimming of the script-tag bundle: what a minifier does not do by itself. Used by scripts/bundle.ts.
import ts from 'typescript';
import { minify } from 'terser';
import type { Plugin } from 'vite';

/**
 * CSS in a `css` literal: comments and the whitespace that carries no meaning (around `{ } ; ,` and after `:`).
 * A space before `:` is kept, since in a selector it is a descendant combinator (`.a :hover`).
 */
export function minifyCss(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,])\s*/g, '$1')
    .replace(/:\s+/g, ':')
    .replace(/;}/g, '}')
    .trim();
}

/**
 * A static part of an `html` literal: the line breaks and indentation of the source. Next to a tag they go (the
 * templates' containers are flex or block boxes, where whitespace between tags renders nothing); elsewhere
 * (between attributes, between two bindings) they become one space.
 */
export function minifyHtml(text: string): string {
  return text
    .replace(/>\s*\n\s*/g, '>')
    .replace(/\s*\n\s*</g, '<')
    .replace(/\s*\n\s*/g, ' ');
}

/** Rewrites the static text of every `html` and `css` tagged template in a TypeScript module. */
export function minifyLiterals(code: string, fileName: string): string {
  const source = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edits: { start: number; end: number; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && (node.tag.text === 'html' || node.tag.text === 'css')) {
      const minify = node.tag.text === 'css' ? minifyCss : minifyHtml;
      const template = node.template;
      const parts: ts.Node[] = ts.isNoSubstitutionTemplateLiteral(template)
        ? [template]
        : [template.head, ...template.templateSpans.map((span) => span.literal)];
      if (node.tag.text === 'css' && parts.length > 1) throw new Error(`${fileName}: a css literal with bindings is not minified`);
      for (const part of parts) {
        // The raw text between the delimiters: ` or } before, ` or ${ after.
        const start = part.getStart(source) + 1;
        const end = part.getEnd() - (ts.isTemplateHead(part) || ts.isTemplateMiddle(part) ? 2 : 1);
        const raw = code.slice(start, end);
        const text = minify(raw);
        if (text !== raw) edits.push({ start, end, text });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let out = code;
  for (const edit of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

/** The element's `html` / `css` literals, minified before TypeScript is compiled (the minifier leaves them as written). */
export function literalsPlugin(): Plugin {
  return {
    name: 'pay-checkout:minify-literals',
    enforce: 'pre',
    transform(code, id) {
      if (!/\/src\/[^?]*\.ts$/.test(id) || !/\b(html|css)`/.test(code)) return null;
      return { code: minifyLiterals(code, id), map: null };
    },
  };
}

/** One edit of a published file: the text from `from` through `to` (both must occur, once, in that order) becomes `with`. */
export interface Cut {
  from: string;
  to?: string;
  with?: string;
}

/**
 * Applies `cuts` to a published file's `code` in order; a text that is missing, or occurs twice, throws naming the
 * file and the text (`what`: which slimming, for the message), so a different version fails the build.
 */
export function applyCuts(code: string, file: string, cuts: readonly Cut[], what = 'ky slimming'): string {
  for (const cut of cuts) {
    const start = code.indexOf(cut.from);
    if (start < 0 || code.indexOf(cut.from, start + 1) >= 0) throw new Error(`[pay-checkout] ${what}: ${file} has changed (${JSON.stringify(cut.from)})`);
    const toAt = cut.to === undefined ? start : code.indexOf(cut.to, start);
    if (toAt < 0) throw new Error(`[pay-checkout] ${what}: ${file} has changed (${JSON.stringify(cut.to)})`);
    const end = toAt + (cut.to ?? cut.from).length;
    code = code.slice(0, start) + (cut.with ?? '') + code.slice(end);
  }
  return code;
}

/** ky options whose code is left out of the script-tag bundle; passing one throws instead of being ignored. */
export const KY_OPTIONS_LEFT_OUT = ['hooks', 'prefixUrl', 'searchParams', 'parseJson', 'stringifyJson', 'onDownloadProgress', 'onUploadProgress', 'context'];

/**
 * What of ky (1.x, as published) the element uses: `ky.create()` with `timeout`, `retry` (limit, methods, status
 * codes, backoff limit, Retry-After), `headers`, `credentials`; `get` / `post` with `json`, `headers`, `signal`;
 * `.json()` (the only shortcut of the response promise kept); `HTTPError` and `TimeoutError`. The script-tag bundle
 * leaves out the code of everything else: hooks, `prefixUrl`, `searchParams`, the progress streams, `parseJson` /
 * `stringifyJson`, `context`, `retry.shouldRetry` / `retry.jitter`, forced retries (`ky.retry()`, `ForceRetryError`),
 * `ky.stop`, `ky.extend`, and fetch-only options (`priority`…), which are no longer passed on. The ky options among
 * them throw at the request, loudly, should a later change pass one. Each edit names the exact published text it
 * removes, so a different ky version fails the build instead of being cut blindly. The npm entry and the tests use
 * ky as published; the end-to-end tests run this build.
 */
export function kySlimPlugin(): Plugin {
  const edits: Record<string, Cut[]> = {
    'core/Ky.js': [
      { from: "import { streamRequest, streamResponse } from '../utils/body.js';\n" },
      // afterResponse hooks (and the forced retries they return), parseJson's response decoration
      { from: '            for (const hook of ky.#options.hooks.afterResponse) {', to: '                response = nextResponse;\n            }\n' },
      { from: '            ky.#decorateResponse(response);\n' },
      { from: '                for (const hook of ky.#options.hooks.beforeError) {', to: '                }\n' },
      { from: '            if (ky.#options.onDownloadProgress) {', to: 'streamResponse(progressResponse, ky.#options.onDownloadProgress);\n            }\n' },
      { from: '                    if (options.parseJson) {', to: '                    }\n' },
      { from: '    static #normalizeSearchParams(searchParams) {', to: '        return searchParams;\n    }\n' },
      {
        from: '    constructor(input, options = {}) {\n',
        with: `    constructor(input, options = {}) {\n        if (${JSON.stringify(KY_OPTIONS_LEFT_OUT)}.some((key) => options[key] !== undefined) || options.retry?.shouldRetry || options.retry?.jitter) {\n            throw new TypeError('[pay-checkout] this ky option is not in this build');\n        }\n`,
      },
      { from: '            hooks: mergeHooks({', to: '            }, options.hooks),\n' },
      { from: "            prefixUrl: String(options.prefixUrl || ''),\n" },
      { from: '            context: options.context ?? {},\n' },
      { from: '        if (this.#options.prefixUrl && typeof this.#input === \'string\') {', to: '            this.#input = this.#options.prefixUrl + this.#input;\n        }\n' },
      { from: '        if (supportsRequestStreams) {', to: "            this.#options.duplex = 'half';\n        }\n" },
      { from: 'this.#options.stringifyJson?.(this.#options.json) ?? ' },
      { from: '        const userProvidedContentType = ', to: "            this.#options.headers.delete('content-type');\n        }\n" },
      { from: '        if (hasSearchParameters(this.#options.searchParams)) {', to: '            this.request = new globalThis.Request(url, this.#options);\n        }\n' },
      { from: '        if (this.#options.onUploadProgress) {', to: 'this.#options.body ?? undefined);\n        }\n' },
      { from: '        let jitteredDelay = retryDelay;', to: '                jitteredDelay = retryDelay;\n            }\n        }\n', with: '        const jitteredDelay = retryDelay;\n' },
      { from: '        const errorObject = error instanceof Error ? error : new NonError(error);', to: 'return errorObject.customDelay ?? this.#calculateDelay();\n        }\n' },
      { from: '        if (this.#options.retry.shouldRetry !== undefined) {', to: 'fall through to default behavior\n        }\n' },
      { from: '    #decorateResponse(response) {', to: '        return response;\n    }\n' },
      { from: '            if (error instanceof ForceRetryError && error.customRequest) {', to: '                if (hookResult === stop) {\n                    return;\n                }\n            }\n' },
      { from: '        for (const hook of this.#options.hooks.beforeRequest) {', to: '                break;\n            }\n        }\n' },
      { from: '    #assignRequest(request) {', to: 'originalBody ?? this.#options.body ?? undefined);\n    }\n' },
      // Options only fetch() knows (`priority`, `dispatcher`…) are passed to it apart; the element passes none.
      { from: 'findUnknownOptions(this.request, this.#options);', with: '{};' },
    ],
    'core/constants.js': [
      // Only streamed bodies (the progress callbacks) need to know these.
      { from: 'export const supportsRequestStreams = (() => {', to: '    return duplexAccessed && !hasContentType;\n})();\n', with: 'export const supportsRequestStreams = false;\n' },
      { from: 'export const usualFormBoundarySize = ', to: "'------WebKitFormBoundaryaxpyiPgbbPti10Rw').length;\n" },
      // The response promise's shortcuts: the element reads every answer with `.json()`.
      { from: "    text: 'text/*',", to: "    bytes: '*/*',\n" },
    ],
    'utils/merge.js': [
      { from: "                if (key === 'context') {", to: '{ ...returnValue.context, ...value },\n                    };\n                    continue;\n                }\n' },
      { from: "                if (key === 'searchParams') {", to: '                    continue;\n                }\n' },
      { from: '            if (isObject(source.hooks)) {', to: '                returnValue.hooks = hooks;\n            }\n' },
      { from: '    if (searchParameters !== undefined) {', to: '        returnValue.searchParams = searchParameters;\n    }\n' },
    ],
    'index.js': [
      { from: '    ky.extend = (newDefaults) => {', to: '    ky.retry = retry;\n' },
      { from: "export { ForceRetryError } from './errors/ForceRetryError.js';", to: "from './utils/type-guards.js';" },
    ],
  };
  return {
    name: 'pay-checkout:ky-slim',
    transform(code, id) {
      const match = /[\\/]node_modules[\\/]ky[\\/]distribution[\\/](.+\.js)$/.exec(id);
      const file = match?.[1]?.replace(/\\/g, '/');
      const cuts = file ? edits[file] : undefined;
      return cuts ? { code: applyCuts(code, file!, cuts), map: null } : null;
    },
  };
}

/**
 * A last pass of terser over the minified chunks: three compress passes find what one pass of the bundler's
 * minifier leaves (≈ 0.2 kB gzip over the click path).
 */
export function finalMinifyPlugin(): Plugin {
  return {
    name: 'pay-checkout:final-minify',
    async generateBundle(_options, bundle) {
      for (const file of Object.values(bundle)) {
        if (file.type !== 'chunk') continue;
        const out = await minify(file.code, { module: true, ecma: 2020, compress: { passes: 3 }, format: { comments: false } });
        if (out.code === undefined) throw new Error(`[pay-checkout] terser returned nothing for ${file.fileName}`);
        file.code = out.code;
      }
    },
  };
}
