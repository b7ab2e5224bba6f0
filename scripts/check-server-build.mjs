// `npm run server` runs the compiled helper (dist/server/). Before it starts: say how to build it when it is missing,
// and warn when the TypeScript sources are newer than the build. Plain Node: production installs have no tsx.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const entry = join(root, 'dist/server/server.js');
if (!existsSync(entry)) {
  console.error('[pay-checkout] dist/server/ is missing: run `npm run build` (or `npm run build:server`) first, or `npm run dev:server` to run the TypeScript sources with tsx.');
  process.exit(1);
}
const sources = join(root, 'server-example');
if (existsSync(sources)) {
  const built = statSync(entry).mtimeMs;
  const newest = (dir) =>
    readdirSync(dir, { withFileTypes: true }).reduce((max, item) => {
      const path = join(dir, item.name);
      return Math.max(max, item.isDirectory() ? newest(path) : item.name.endsWith('.ts') ? statSync(path).mtimeMs : 0);
    }, 0);
  if (newest(sources) > built) console.warn('[pay-checkout] server-example/ changed since dist/server/ was built: `npm run build:server` to pick the changes up.');
}
