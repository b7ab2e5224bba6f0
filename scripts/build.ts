// `npm run build`: the script-tag bundle, the npm entry, its type declarations and custom-elements.json.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build } from 'vite';
import { npmEntryConfig, ROOT, scriptTagBundleConfig } from './bundle.js';

const bin = (name: string) => resolve(ROOT, 'node_modules/.bin', name);

rmSync(resolve(ROOT, 'dist'), { recursive: true, force: true });
await build(scriptTagBundleConfig());
await build(npmEntryConfig());
execFileSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
execFileSync(bin('cem'), ['analyze', '--litelement', '--globs', 'src/**/*.ts', '--outdir', '.'], {
  cwd: ROOT,
  stdio: 'inherit',
});
console.log('[pay-checkout] built dist/pay-checkout.js, dist/index.js, dist/define.js, dist/types/, custom-elements.json');
