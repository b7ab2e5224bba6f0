// `npm run build` (and `npm pack`, through prepack): the script-tag bundle, the npm entry, its type declarations,
// custom-elements.json, and the helper compiled to JavaScript in dist/server/ (`pay-checkout/server`).
// `npm run build:server` (`--server`) builds only the helper.
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'vite';
import { npmEntryConfig, ROOT, scriptTagBundleConfig } from './bundle.js';

const bin = (name: string) => resolve(ROOT, 'node_modules/.bin', name);
const serverOnly = process.argv.includes('--server');

/** The helper: plain ES modules and .d.ts files for Node, no bundling (its dependencies are the package's). */
function buildServer(): void {
  rmSync(resolve(ROOT, 'dist/server'), { recursive: true, force: true });
  execFileSync(bin('tsc'), ['-p', 'tsconfig.server.json'], { cwd: ROOT, stdio: 'inherit' });
  shipContract();
}

/**
 * The types shared by the element and the helper (contract/index.d.ts, a declaration file outside both rootDirs):
 * the .d.ts files in dist/types/ and dist/server/ import them from `../contract/index.js`, so they ship beside both.
 */
function shipContract(): void {
  cpSync(resolve(ROOT, 'contract/index.d.ts'), resolve(ROOT, 'dist/contract/index.d.ts'));
}

if (serverOnly) {
  buildServer();
  console.log('[pay-checkout] built dist/server/');
} else {
  rmSync(resolve(ROOT, 'dist'), { recursive: true, force: true });
  await build(scriptTagBundleConfig());
  await build(npmEntryConfig());
  execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(bin('cem'), ['analyze', '--litelement', '--globs', 'src/**/*.ts', '--outdir', '.'], { cwd: ROOT, stdio: 'inherit' });
  shipManifest(resolve(ROOT, 'custom-elements.json'));
  buildServer();
  console.log('[pay-checkout] built dist/pay-checkout.js, dist/index.js, dist/define.js, dist/types/, dist/contract/, custom-elements.json, dist/server/');
}

interface Manifest {
  schemaVersion: string;
  readme?: string;
  modules: ManifestModule[];
}
interface ManifestModule {
  kind: string;
  path: string;
  declarations?: { name: string; [key: string]: unknown }[];
  exports?: { kind: string; name: string; declaration: { name: string; module?: string } }[];
}

/**
 * The analyzer describes the sources (`src/pay-checkout.ts`); the package ships bundles. Rewrites the manifest to
 * the files users import: `dist/index.js` declares everything `src/index.ts` exports (the element class with its
 * attributes, events, parts and custom properties), `dist/define.js` and the script-tag bundle `dist/pay-checkout.js`
 * define `<pay-checkout>`. Internal modules are left out; no path points at a file the package does not ship.
 */
function shipManifest(file: string): void {
  const source = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  const byPath = new Map(source.modules.map((module) => [module.path, module]));
  const index = byPath.get('src/index.ts');
  if (!index) throw new Error('custom-elements.json: no src/index.ts module');
  const publicNames = new Set<string>();
  const declarations: NonNullable<ManifestModule['declarations']> = [];
  for (const entry of index.exports ?? []) {
    const from = entry.declaration.module?.replace(/^\.\//, 'src/').replace(/\.js$/, '.ts');
    const declaration = from ? byPath.get(from)?.declarations?.find((d) => d.name === entry.declaration.name) : undefined;
    if (!declaration) continue; // type-only exports have no declaration in the manifest
    publicNames.add(entry.name);
    declarations.push(declaration);
  }
  const element = declarations.find((d) => d.tagName === 'pay-checkout');
  if (!element) throw new Error('custom-elements.json: src/index.ts does not export the <pay-checkout> class');
  const ref = (name: string) => ({ name, module: 'dist/index.js' });
  const definition = (path: string): ManifestModule => ({
    kind: 'javascript-module',
    path,
    declarations: [],
    exports: [
      { kind: 'custom-element-definition', name: 'pay-checkout', declaration: ref(element.name) },
      { kind: 'js', name: element.name, declaration: ref(element.name) },
    ],
  });
  const shipped: Manifest = {
    ...source,
    modules: [
      {
        kind: 'javascript-module',
        path: 'dist/index.js',
        declarations,
        exports: [...publicNames].map((name) => ({ kind: 'js', name, declaration: ref(name) })),
      },
      definition('dist/define.js'),
      definition('dist/pay-checkout.js'),
    ],
  };
  // References inside declarations (types, inherited members) to source modules: public ones move to the entry,
  // internal ones lose their module (their name stays, as text).
  const rewrite = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(rewrite);
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    if (typeof record.module === 'string' && /^\/?src\//.test(record.module)) {
      if (typeof record.name === 'string' && publicNames.has(record.name)) record.module = 'dist/index.js';
      else delete record.module;
    }
    Object.values(record).forEach(rewrite);
  };
  rewrite(shipped.modules[0]!.declarations);
  writeFileSync(file, `${JSON.stringify(shipped, null, 2)}\n`);
}
