// Build-time slimming of the script-tag bundle: what a minifier does not do by itself. Used by scripts/bundle.ts.
import ts from 'typescript';
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

/**
 * ky without its progress streams. `onDownloadProgress` / `onUploadProgress` are the only callers of
 * `utils/body.js` (body size estimates, counting stream wrappers); the element passes neither, so in the
 * script-tag bundle that module is replaced by one that refuses, loudly, should a later change pass them.
 * Everything else of ky (timeout, retries with backoff, hooks, HTTPError / TimeoutError) is as published.
 */
export function kyWithoutProgressPlugin(): Plugin {
  const stub = [
    "const unsupported = () => { throw new Error('[pay-checkout] ky progress callbacks are not in this build'); };",
    'export const getBodySize = unsupported;',
    'export const streamResponse = unsupported;',
    'export const streamRequest = unsupported;',
  ].join('\n');
  return {
    name: 'pay-checkout:ky-without-progress',
    load(id) {
      return /[\\/]node_modules[\\/]ky[\\/]distribution[\\/]utils[\\/]body\.js$/.test(id) ? stub : null;
    },
  };
}
