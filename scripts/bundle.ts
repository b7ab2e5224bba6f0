// The two builds of the element, shared by `npm run build`, the `npm start` launcher and the benchmarks.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { InlineConfig } from 'vite';
import { finalMinifyPlugin, kySlimPlugin, literalsPlugin } from './slim.js';
import { litSlimPlugin } from './slim-lit.js';

export const ROOT = resolve(import.meta.dirname, '..');

/** The npm entry leaves the package's own dependencies to the consumer's bundler. */
const dependencies = Object.keys(
  (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
);

/**
 * The script-tag bundle: `dist/pay-checkout.js`, an ES module that registers `<pay-checkout>` and carries lit,
 * ky and @floating-ui/dom with it. The lazily loaded parts (session client, dialog, picker) land as chunks beside it.
 */
export function scriptTagBundleConfig(options: { outDir?: string; watch?: boolean } = {}): InlineConfig {
  return {
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    // What the minifier leaves: the templates' and style sheets' whitespace, and the ky and lit code the element never runs.
    plugins: [literalsPlugin(), kySlimPlugin(), litSlimPlugin(), finalMinifyPlugin()],
    build: {
      outDir: options.outDir ?? resolve(ROOT, 'dist'),
      emptyOutDir: false,
      target: 'es2022',
      minify: true,
      sourcemap: false,
      copyPublicDir: false,
      watch: options.watch ? {} : null,
      lib: {
        entry: resolve(ROOT, 'src/define.ts'),
        formats: ['es'],
        fileName: () => 'pay-checkout.js',
      },
      rollupOptions: {
        // Let the entry carry the shared code (lit, the element) itself, so the first paint needs one request
        // instead of a chain of three; the lazy chunks import it back from `../pay-checkout.js`.
        preserveEntrySignatures: 'allow-extension',
        // Vite keeps whitespace in ES library builds; this bundle is served as is, so minify it completely.
        output: { chunkFileNames: 'chunks/[name]-[hash].js', minify: true },
      },
    },
  };
}

/** The npm entry: `dist/index.js` (side-effect free) and `dist/define.js`, with the dependencies left external. */
export function npmEntryConfig(): InlineConfig {
  return {
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: resolve(ROOT, 'dist'),
      emptyOutDir: false,
      target: 'es2022',
      minify: false,
      sourcemap: true,
      copyPublicDir: false,
      lib: {
        entry: { index: resolve(ROOT, 'src/index.ts'), define: resolve(ROOT, 'src/define.ts') },
        formats: ['es'],
        fileName: (_format, name) => `${name}.js`,
      },
      rollupOptions: {
        external: (id) => dependencies.some((dep) => id === dep || id.startsWith(`${dep}/`)),
        output: { chunkFileNames: 'lib/[name]-[hash].js' },
      },
    },
  };
}
