/**
 * `npm run bench`: size, element and helper figures, each beside a baseline measured in the same run, printed as
 * one table and written to bench/results.json. `npm run bench -- --only=size,element,helper,stores,notifications` runs a subset;
 * `--write-docs` also refreshes the latest figures in docs/performance.md.
 * See docs/performance.md for what each figure measures and the environment variables.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { measureElement } from './element.js';
import { measureHelper } from './helper.js';
import { measureNotifications } from './notifications.js';
import { measureStores } from './postgres.js';
import { requireChromium } from '../scripts/chromium.mjs';
import { errorRow, renderTable, type Row } from './lib/report.js';
import { ROOT } from '../scripts/bundle.js';
import { buildElement, buildFloor, measureSize, type Bundle } from './size.js';

const onlyArg = process.argv.find((arg) => arg.startsWith('--only='));
const only = new Set((onlyArg ? onlyArg.slice('--only='.length) : 'size,element,helper,stores,notifications').split(','));
const started = Date.now();
const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

function safe(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

const rows: Row[] = [];
const floor = await buildFloor();
let element: Bundle | undefined;
try {
  if (only.has('size') || only.has('element')) {
    try {
      element = await buildElement(log);
    } catch (error) {
      if (only.has('size')) rows.push(errorRow('size', 'script-tag bundle', error));
      if (only.has('element')) rows.push(errorRow('element', 'element', error));
    }
  }
  if (only.has('size') && element) {
    try {
      rows.push(...(await measureSize(log, element, floor.entry)));
    } catch (error) {
      rows.push(errorRow('size', 'script-tag bundle', error));
    }
  }
  if (only.has('element') && element) {
    try {
      rows.push(...(await measureElement(log, element, floor)));
    } catch (error) {
      log(`element failed: ${(error as Error).stack ?? String(error)}`);
      rows.push(errorRow('element', 'element', error));
    }
  }
  if (only.has('helper')) {
    try {
      rows.push(...(await measureHelper(log)));
    } catch (error) {
      log(`helper failed: ${(error as Error).stack ?? String(error)}`);
      rows.push(errorRow('helper', 'helper', error));
    }
  }
  if (only.has('stores')) {
    try {
      rows.push(...(await measureStores(log)));
    } catch (error) {
      log(`stores failed: ${(error as Error).stack ?? String(error)}`);
      rows.push(errorRow('helper', 'stores (SQLite / PostgreSQL)', error));
    }
  }
  if (only.has('notifications')) {
    try {
      rows.push(...(await measureNotifications(log)));
    } catch (error) {
      log(`notifications failed: ${(error as Error).stack ?? String(error)}`);
      rows.push(errorRow('helper', 'merchant notifications', error));
    }
  }
} finally {
  floor.cleanup();
  element?.cleanup();
}

const extra = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const command = `npm run bench${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
const meta = {
  command,
  date: new Date().toISOString(),
  durationSeconds: Math.round((Date.now() - started) / 1000),
  commit: safe('git', ['rev-parse', '--short', 'HEAD']),
  node: process.version,
  chromium: safe(requireChromium(), ['--version']).replace(/ built on .*/s, ''),
  cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
  loadavgAtEnd: loadavg().map((n) => Number(n.toFixed(2))),
};
writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify({ meta, rows }, null, 2)}\n`);

if (process.argv.includes('--write-docs')) {
  // Refreshes the "Latest figures" block of docs/performance.md with this run.
  const docs = join(ROOT, 'docs/performance.md');
  const text = readFileSync(docs, 'utf8');
  const start = '<!-- bench:latest -->';
  const end = '<!-- /bench:latest -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`docs/performance.md lacks ${start} … ${end}`);
  const block = [
    start,
    '',
    `\`${command}\` on ${meta.date.slice(0, 16).replace('T', ' ')} UTC, commit ${meta.commit}, Node ${meta.node}, ${meta.chromium}, ${meta.cpu}, ${meta.durationSeconds} s:`,
    '',
    renderTable(rows, { markdown: true }),
    '',
  ].join('\n');
  writeFileSync(docs, text.slice(0, from) + block + text.slice(to));
}

const passed = rows.filter((r) => r.verdict === 'pass').length;
const targets = rows.filter((r) => r.verdict === 'pass' || r.verdict === 'miss').length;
process.stdout.write(`\n${command} — ${meta.date}, commit ${meta.commit}, node ${meta.node}, ${meta.cpu}, ${meta.durationSeconds} s\n\n`);
process.stdout.write(`${renderTable(rows)}\n\n`);
process.stdout.write(`${passed}/${targets} targets met${rows.some((r) => r.verdict === 'error') ? '; some measurements failed (ERROR rows)' : ''}. Results: bench/results.json\n`);
process.exit(0);
