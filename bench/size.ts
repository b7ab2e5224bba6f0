/**
 * Bundle size: what `<script type="module" src=".../pay-checkout.js">` downloads before any interaction (the entry
 * and everything it imports statically) and in total (adding every chunk reachable through dynamic `import()`),
 * raw / gzip -9 / brotli q11, each file compressed on its own as a server would send it. The floor is a minimal
 * LitElement bundled with the same Vite / rolldown settings in the same run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { build, parseAst } from 'vite';
import { ROOT, scriptTagBundleConfig } from '../scripts/bundle.js';
import { atExit } from './lib/proc.js';
import { row, type Row } from './lib/report.js';


interface Sizes {
  /** Relative to the project root, for display. */
  files: string[];
  /** Absolute. */
  paths: string[];
  raw: number;
  gzip: number;
  brotli: number;
}

interface Graph {
  initial: Sizes;
  total: Sizes;
}

function sizesOf(files: readonly string[]): Sizes {
  let raw = 0;
  let gzip = 0;
  let brotli = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
    brotli += brotliCompressSync(bytes, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length;
  }
  return { files: files.map((f) => relative(ROOT, f)), paths: [...files], raw, gzip, brotli };
}

/** Module specifiers a chunk imports, split into static (import / export … from) and dynamic (`import("…")`). */
function importsOf(code: string): { static: string[]; dynamic: string[] } {
  const ast = parseAst(code) as unknown as { body: Node[] };
  const found = { static: [] as string[], dynamic: [] as string[] };
  interface Node {
    type: string;
    source?: { type: string; value?: unknown } | null;
    [key: string]: unknown;
  }
  for (const node of ast.body) {
    if (
      (node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration' || node.type === 'ExportNamedDeclaration') &&
      node.source &&
      typeof node.source.value === 'string'
    ) {
      found.static.push(node.source.value);
    }
  }
  const walk = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item);
      return;
    }
    const node = value as Node;
    if (node.type === 'ImportExpression') {
      const source = node.source as (Node & { quasis?: { value: { cooked: string | null } }[]; expressions?: unknown[] }) | null | undefined;
      if (source && source.type === 'Literal' && typeof source.value === 'string') found.dynamic.push(source.value);
      // Minifiers may print the specifier as a template literal without expressions: import(`./chunk.js`).
      else if (source && source.type === 'TemplateLiteral' && source.expressions?.length === 0 && source.quasis?.[0]?.value.cooked) {
        found.dynamic.push(source.quasis[0].value.cooked);
      } else found.dynamic.push('<computed>');
    }
    for (const key of Object.keys(node)) if (key !== 'type') walk(node[key]);
  };
  walk(ast.body);
  return found;
}

/** Follows relative imports from an entry file on disk: initial = static closure, total = static + dynamic closure. */
export function chunkGraph(entry: string): Graph & { unresolved: string[]; depth: number } {
  const unresolved: string[] = [];
  const visit = (withDynamic: boolean): string[] => {
    const seen = new Set<string>();
    const stack = [entry];
    while (stack.length) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const imports = importsOf(readFileSync(file, 'utf8'));
      for (const spec of withDynamic ? [...imports.static, ...imports.dynamic] : imports.static) {
        if (!spec.startsWith('.') && !spec.startsWith('/')) {
          // A bare or computed specifier cannot be followed: reported, never silently dropped.
          if (!unresolved.includes(spec)) unresolved.push(spec);
          continue;
        }
        const target = spec.startsWith('/') ? join(dirname(entry), spec) : resolve(dirname(file), spec);
        if (!existsSync(target)) {
          if (!unresolved.includes(spec)) unresolved.push(spec);
          continue;
        }
        stack.push(target);
      }
    }
    return [...seen];
  };
  // Requests in sequence before the entry can run: each static import is only discovered once its importer arrived.
  const depthOf = (file: string, trail: Set<string>): number => {
    if (trail.has(file)) return 0;
    const next = new Set(trail).add(file);
    const children = importsOf(readFileSync(file, 'utf8'))
      .static.filter((spec) => spec.startsWith('.') || spec.startsWith('/'))
      .map((spec) => (spec.startsWith('/') ? join(dirname(entry), spec) : resolve(dirname(file), spec)))
      .filter((target) => existsSync(target));
    return 1 + Math.max(0, ...children.map((child) => depthOf(child, next)));
  };
  return { initial: sizesOf(visit(false)), total: sizesOf(visit(true)), unresolved, depth: depthOf(entry, new Set()) };
}

export interface Bundle {
  /** Directory holding pay-checkout.js and its chunks, served as /dist by the element bench. */
  dir: string;
  entry: string;
  cleanup: () => void;
}

/**
 * Builds with the script-tag bundle's own Vite configuration (scripts/bundle.ts: ES module, es2022, minify,
 * dependencies bundled) into a private temporary directory, removed at exit; `entry` replaces only the entry.
 */
async function buildScriptTag(name: string, entry?: { file: string; fileName: string }): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), `pay-checkout-bench-${name}-`));
  const cleanup = atExit(() => rmSync(dir, { recursive: true, force: true }));
  const config = scriptTagBundleConfig({ outDir: dir });
  const lib = config.build?.lib;
  if (!config.build || !lib) throw new Error('scripts/bundle.ts: the script-tag config is no longer a library build');
  config.logLevel = 'silent';
  if (entry) config.build.lib = { ...lib, entry: entry.file, fileName: () => entry.fileName };
  await build(config);
  const file = join(dir, entry?.fileName ?? 'pay-checkout.js');
  if (!existsSync(file)) throw new Error(`the ${name} build produced no ${posix.basename(file)}`);
  return { dir, entry: file, cleanup };
}

/**
 * The script-tag bundle, built for this run: dist/ is shared with the build and the tests, which may rewrite it
 * while the bench runs. BENCH_DIST=<dir> measures an existing build instead.
 */
export async function buildElement(log: (line: string) => void): Promise<Bundle> {
  if (process.env.BENCH_DIST) {
    const dir = resolve(process.env.BENCH_DIST);
    const entry = join(dir, 'pay-checkout.js');
    if (!existsSync(entry)) throw new Error(`BENCH_DIST: no ${entry}`);
    log(`measuring ${entry} (BENCH_DIST)`);
    return { dir, entry, cleanup: () => {} };
  }
  log('building the script-tag bundle (scripts/bundle.ts configuration) into a temporary directory…');
  return buildScriptTag('dist');
}

/** The minimal LitElement, bundled exactly like the element. */
export function buildFloor(): Promise<Bundle> {
  return buildScriptTag('floor', { file: join(ROOT, 'bench/fixtures/minimal-lit.ts'), fileName: 'minimal-lit.js' });
}

const KB = 1000;

export async function measureSize(log: (line: string) => void, element: Bundle, floorEntry: string): Promise<Row[]> {
  const floor = chunkGraph(floorEntry);
  const graph = chunkGraph(element.entry);
  const rows: Row[] = [];
  const note = (g: Sizes) => `${g.files.length} file(s): ${g.files.map((f) => posix.basename(f)).join(', ')}`;
  log(`size: initial ${graph.initial.gzip} B gzip in ${graph.initial.files.length} file(s), total ${graph.total.gzip} B gzip`);
  const detail = (g: Sizes) => ({ files: g.files, raw: g.raw, gzip: g.gzip, brotli: g.brotli });
  const unresolvedNote = graph.unresolved.length ? ` Unresolved imports: ${graph.unresolved.join(', ')}.` : '';

  // The total is every chunk there is — both languages' strings, the @floating-ui fallback that Chromium never
  // loads — which no payer downloads all of: it is information. What a payer downloads on each path is measured in
  // the browser (bench/element-bytes.ts), with the targets.
  for (const [kind, sizes, floorSizes, limit] of [
    ['initial download', graph.initial, floor.initial, 10 * KB],
    ['total (all lazy chunks)', graph.total, floor.total, 0],
  ] as const) {
    rows.push(
      row({
        group: 'size',
        metric: `${kind}, raw`,
        value: sizes.raw,
        unit: 'B',
        baseline: floorSizes.raw,
        baselineLabel: 'minimal Lit',
        target: '',
        verdict: 'info',
        note: '',
        detail: detail(sizes),
      }),
    );
    const over = sizes.gzip - limit;
    rows.push(
      row({
        group: 'size',
        metric: `${kind}, gzip -9`,
        value: sizes.gzip,
        unit: 'B',
        baseline: floorSizes.gzip,
        baselineLabel: 'minimal Lit',
        target: limit ? `≤ ${limit / KB} kB` : '',
        verdict: !limit ? 'info' : over <= 0 ? 'pass' : 'miss',
        note:
          (limit && over > 0 ? `Over by ${(over / KB).toFixed(2)} kB (${((over / limit) * 100).toFixed(0)} %). ` : '') +
          note(sizes) +
          (kind === 'initial download' ? `; ${graph.depth} request(s) in sequence (static import chain; floor: ${floor.depth}).` : '.') +
          unresolvedNote,
      }),
    );
    rows.push(
      row({
        group: 'size',
        metric: `${kind}, brotli q11`,
        value: sizes.brotli,
        unit: 'B',
        baseline: floorSizes.brotli,
        baselineLabel: 'minimal Lit',
        target: '',
        verdict: 'info',
        note: '',
      }),
    );
  }
  return rows;
}
