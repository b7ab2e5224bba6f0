// The package as a merchant gets it: `npm pack` (prepack builds), the tarball installed into an empty project, then
// plain Node (no tsx) running the helper from `pay-checkout/server` — in node:http, in Express behind global body
// parsers and under app.use('/api/checkout', …), and as the `pay-checkout-server` command — each taking real
// sandbox payments over real HTTP. The installed .d.ts files are type-checked as a TypeScript merchant uses them.
//
// Speed: dependencies come from the npm cache (--prefer-offline); install scripts are skipped and better-sqlite3's
// native module is copied from this repository's own build when the versions match (it builds from source
// otherwise, ~1 min).
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { pressButton } from '../../server-example/sandbox/testing.js';

const ROOT = resolve(import.meta.dirname, '../..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const rootPackage = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

let work: string;
let shop: string;
let tarball: string;
let packed: { files: { path: string }[] };
const children = new Set<ChildProcess>();

before(
  async () => {
    work = mkdtempSync(join(tmpdir(), 'pay-checkout-pack-'));
    // --json: the tarball's name and file list; prepack runs `npm run build` first (its output goes to stderr).
    const output = execFileSync(npm, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    // The build's own output comes first on stdout; the JSON starts at a line that is just "[".
    const [info] = JSON.parse(output.slice(output.search(/^\[$/m))) as { filename: string; files: { path: string }[] }[];
    packed = info!;
    tarball = join(work, info!.filename);

    shop = join(work, 'shop');
    mkdirSync(shop);
    writeFileSync(
      join(shop, 'package.json'),
      JSON.stringify({ name: 'shop', private: true, type: 'module', dependencies: { 'pay-checkout': `file:${tarball}`, express: rootPackage.devDependencies.express } }, null, 2),
    );
    execFileSync(npm, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: shop, stdio: ['ignore', 'ignore', 'inherit'] });
    provideNativeSqlite(shop);
    cpSync(join(import.meta.dirname, 'consumer'), shop, { recursive: true });
  },
  { timeout: 600_000 },
);

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

/** better-sqlite3's compiled module: this repository's own build when the installed version is the same. */
function provideNativeSqlite(project: string): void {
  const installed = join(project, 'node_modules/better-sqlite3');
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const ours = join(ROOT, 'node_modules/better-sqlite3');
  const built = join(ours, 'build/Release/better_sqlite3.node');
  if (existsSync(built) && version(installed) === version(ours)) {
    mkdirSync(join(installed, 'build/Release'), { recursive: true });
    copyFileSync(built, join(installed, 'build/Release/better_sqlite3.node'));
  } else {
    execFileSync(npm, ['rebuild', 'better-sqlite3', '--foreground-scripts'], { cwd: project, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

interface Running {
  url: string;
  stop(): Promise<void>;
}

/** Runs a command in the shop project with plain Node (no tsx anywhere) until it prints `{"ready":{"url"}}` or a URL. */
async function run(args: string[], env: Record<string, string>, ready: (line: string) => string | undefined): Promise<Running> {
  const dataDir = mkdtempSync(join(work, 'data-'));
  const child = spawn(process.execPath, args, {
    cwd: shop,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_PATH: join(dataDir, 'checkout.sqlite'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 20 s: ${stderr}`)), 20_000);
    const onLine = (line: string) => {
      const found = ready(line);
      if (found) {
        clearTimeout(timer);
        resolveUrl(found);
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

const readyLine = (line: string) => (line.startsWith('{"ready"') ? (JSON.parse(line) as { ready: { url: string } }).ready.url : undefined);

/** Creates a session as a storefront on the helper's own origin, pays it on the sandbox page, waits for `paid`. */
async function payThroughSandbox(base: string, provider: string, orderId: string): Promise<void> {
  const created = await fetch(`${base}/api/checkout/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, 'idempotency-key': `key-${orderId}` },
    body: JSON.stringify({ orderId, provider, method: 'sbp' }),
  });
  const session = (await created.json()) as { id: string; token: string; paymentUrl: string; status: string };
  assert.equal(created.status, 201, JSON.stringify(session));
  assert.ok(session.paymentUrl.startsWith(`${base}/sandbox/${provider}/`), session.paymentUrl);

  const paid = await pressButton(session.paymentUrl, 'pay');
  assert.ok([302, 303].includes(paid.status), `the sandbox answered ${paid.status} to pay`);
  const returnPage = await fetch(paid.headers.get('location')!);
  assert.equal(returnPage.status, 200, 'the return page is served');

  // The provider's callback reached the helper through the merchant's server and verified: it is in the event log as
  // an accepted webhook, and the session is paid.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const view = (await (await fetch(`${base}/api/checkout/sessions/${session.id}`, { headers: { authorization: `Bearer ${session.token}` } })).json()) as { status: string };
    const log = (await (await fetch(`${base}/api/checkout/demo/sessions/${session.id}/events`)).json()) as { events: { kind: string; source: string; to: string | null }[] };
    const webhookPaid = log.events.some((event) => event.source === 'webhook' && event.to === 'paid');
    if (view.status === 'paid' && webhookPaid) return;
    if (Date.now() > deadline) assert.fail(`${provider}: session ${view.status}, events ${JSON.stringify(log.events)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

describe('the packed tarball', () => {
  it('ships the element, the compiled helper with its declarations, the license and the manifest, and no sources', () => {
    const files = new Set(packed.files.map((file) => file.path));
    for (const file of [
      'package.json',
      'README.md',
      'LICENSE',
      'custom-elements.json',
      'dist/pay-checkout.js',
      'dist/index.js',
      'dist/define.js',
      'dist/types/index.d.ts',
      'dist/types/define.d.ts',
      'dist/contract/index.d.ts',
      'dist/server/index.js',
      'dist/server/index.d.ts',
      'dist/server/server.js',
      'dist/server/node-handler.js',
      'dist/server/sandbox/index.js',
    ]) {
      assert.ok(files.has(file), `${file} is in the tarball`);
    }
    for (const file of files) assert.ok(!/^(src|server-example|test|bench|scripts|demo)\//.test(file) && !file.endsWith('.ts') || file.endsWith('.d.ts'), `${file} should not ship`);
    assert.match(readFileSync(join(shop, 'node_modules/pay-checkout/LICENSE'), 'utf8'), /^MIT License/);
  });

  it('ships the reference a merchant installing from npm reads: docs/, .env.example, the Python example', () => {
    const files = new Set(packed.files.map((file) => file.path));
    for (const file of [
      'docs/server.md',
      'docs/element.md',
      'docs/sandbox.md',
      '.env.example',
      'examples/python-merchant/README.md',
      'examples/python-merchant/merchant.py',
    ]) {
      assert.ok(files.has(file), `${file} is in the tarball`);
    }
    const installed = join(shop, 'node_modules/pay-checkout');
    // The helper's start-up errors send the merchant to .env.example: it is there, with the variables.
    assert.match(readFileSync(join(installed, '.env.example'), 'utf8'), /^#?\s*MERCHANT_WEBHOOK_SECRET=/m);
    // Every relative link of the README, and docs/server.md's links out of docs/, lead to a shipped file.
    const links = (file: string) =>
      [...readFileSync(join(installed, file), 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((match) => match[1]!)
        .filter((target) => !/^[a-z]+:/i.test(target));
    const targets = [...links('README.md'), ...links('docs/server.md').map((target) => join('docs', target))];
    assert.ok(targets.includes('docs/server.md') && targets.includes('.env.example'), 'the README links the references');
    for (const target of targets) assert.ok(existsSync(join(installed, target)), `${target}, linked from the docs, is installed`);
  });

  it('declares the helper\'s runtime dependencies, with better-sqlite3 on major 12 (13 does not run on Node 20)', () => {
    const manifest = JSON.parse(readFileSync(join(shop, 'node_modules/pay-checkout/package.json'), 'utf8')) as { dependencies: Record<string, string>; license: string };
    assert.equal(manifest.license, 'MIT');
    for (const name of ['hono', '@hono/node-server', 'better-sqlite3']) assert.ok(manifest.dependencies[name], `${name} is a dependency`);
    assert.match(manifest.dependencies['better-sqlite3']!, /^\^12\./);
    // Every package the compiled helper imports is declared (the install above has nothing else to offer it).
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const name of execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
        const path = join(dir, name);
        if (name.endsWith('.js')) {
          for (const match of readFileSync(path, 'utf8').matchAll(/\bfrom '([^'.][^']*)'/g)) {
            const spec = match[1]!;
            if (spec.startsWith('node:')) continue;
            imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
          }
        } else if (!name.includes('.')) walk(path);
      }
    };
    walk(join(shop, 'node_modules/pay-checkout/dist/server'));
    for (const name of imported) assert.ok(manifest.dependencies[name], `dist/server imports ${name}, which must be a dependency`);
  });

  it('resolves every entry point, and custom-elements.json points only at shipped files', () => {
    const script = `
      for (const spec of ['pay-checkout', 'pay-checkout/define', 'pay-checkout/pay-checkout.js', 'pay-checkout/server', 'pay-checkout/server/testing', 'pay-checkout/custom-elements.json'])
        console.log(spec, import.meta.resolve(spec));`;
    const lines = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: shop, encoding: 'utf8' }).trim().split('\n');
    for (const line of lines) {
      const url = line.split(' ')[1]!;
      assert.ok(existsSync(new URL(url)), line);
    }
    // Every declared entry's declarations ship too (the type-only `pay-checkout/react` and `pay-checkout/vue` among them).
    const pkg = JSON.parse(readFileSync(join(shop, 'node_modules/pay-checkout/package.json'), 'utf8')) as { exports: Record<string, string | { types?: string }> };
    const declared = Object.entries(pkg.exports).flatMap(([spec, target]) => (typeof target === 'object' && target.types ? [[spec, target.types] as const] : []));
    assert.ok(declared.some(([spec]) => spec === './react') && declared.some(([spec]) => spec === './vue'));
    for (const [spec, types] of declared) assert.ok(existsSync(join(shop, 'node_modules/pay-checkout', types)), `${spec} declares ${types}`);
    const manifest = JSON.parse(readFileSync(join(shop, 'node_modules/pay-checkout/custom-elements.json'), 'utf8')) as unknown;
    const paths = [...JSON.stringify(manifest).matchAll(/"(?:path|module)":"([^"]+)"/g)].map((match) => match[1]!);
    assert.ok(paths.includes('dist/index.js'));
    for (const path of paths) assert.ok(existsSync(join(shop, 'node_modules/pay-checkout', path)), `custom-elements.json names ${path}`);
    const text = JSON.stringify(manifest);
    assert.ok(text.includes('"tagName":"pay-checkout"') && text.includes('"name":"order-id"') && text.includes('"name":"pay-success"'));
  });

  it('type-checks a TypeScript merchant\'s use of the helper and the element against the shipped declarations', () => {
    writeFileSync(
      join(shop, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023', 'DOM', 'DOM.Iterable'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        files: ['typed.ts'],
      }),
    );
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: shop, stdio: ['ignore', 'inherit', 'inherit'] });
  });
});

describe('the helper from the package, in plain Node', () => {
  it('mounts in node:http with nodeHandler() and takes Repay, BoxExchanger and age.trading payments through the sandbox', async () => {
    const server = await run(['node-http.mjs'], {}, readyLine);
    try {
      const config = (await (await fetch(`${server.url}/api/checkout/config`)).json()) as { sandbox: boolean };
      assert.equal(config.sandbox, true);
      for (const provider of ['repay', 'boxexchanger', 'agetrading']) await payThroughSandbox(server.url, provider, `tea-node${provider.slice(0, 3)}1`);
    } finally {
      await server.stop();
    }
  });

  it('mounts in Express under app.use(\'/api/checkout\') behind global express.json() and express.urlencoded()', async () => {
    const server = await run(['express.mjs'], {}, readyLine);
    try {
      // The shop's own JSON routes still get their parsed bodies.
      const echo = await fetch(`${server.url}/shop/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
      assert.deepEqual(await echo.json(), { youSent: { a: 1 } });
      // Unknown helper paths answer the helper's own 404, not Express's.
      const missing = await fetch(`${server.url}/api/checkout/nothing`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'not_found');
      for (const provider of ['repay', 'boxexchanger', 'agetrading']) await payThroughSandbox(server.url, provider, `tea-expr${provider.slice(0, 3)}1`);
    } finally {
      await server.stop();
    }
  });

  it('prunes the event log as the pay-checkout-prune command', () => {
    const bin = join(shop, 'node_modules/.bin/pay-checkout-prune');
    const env = { ...process.env, DATABASE_PATH: join(shop, 'prune-test.sqlite'), LOG_LEVEL: 'silent' };
    const output = execFileSync(bin, ['--older-than', '180d'], { cwd: shop, env, encoding: 'utf8' });
    assert.match(output, /pruned 0 events, 0 merchant deliveries and 0 rejected-callback digests/);
  });

  it('runs as the pay-checkout-server command: helper and sandbox in test mode', async () => {
    const bin = join(shop, 'node_modules/.bin/pay-checkout-server');
    const server = await run([bin], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }, (line) => /helper listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1]);
    try {
      await payThroughSandbox(server.url, 'repay', 'tea-binrep1');
    } finally {
      await server.stop();
    }
  });
});
