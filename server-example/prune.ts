#!/usr/bin/env node
/**
 * `npm run prune -- --older-than 180d` (`npx pay-checkout-prune --older-than 180d` from the package): retention for the event log. Deletes the events of sessions that ended
 * before the cutoff and are no longer watched by the reconciler, events that name no session, rejected-callback
 * digests last seen before it, and merchant deliveries: an order's deliveries all together, once none
 * is pending or changed since the cutoff and their sessions' history goes too. Open and held sessions keep their whole
 * history: the database's append-only triggers refuse anything else.
 */
import { existsSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { openStore } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import type { PruneReport } from './store.js';

const UNITS_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000 };
/**
 * Shorter retention is refused: a webhook is retried for about 68 hours, and until its delivery is pruned the shop may
 * be sent it again (a retry), so what it keeps to recognise a delivery must outlive this.
 */
export const MIN_RETENTION_MS = 3 * 86_400_000;

/** `180d` / `36h` → milliseconds; undefined for anything else. */
export function parseRetention(text: string): number | undefined {
  const match = /^(\d{1,5})([dh])$/.exec(text.trim());
  return match ? Number(match[1]) * UNITS_MS[match[2]!]! : undefined;
}

/** Prunes the configured store; `args` are the command's arguments. */
export async function prune(args: readonly string[], env: Record<string, string | undefined> = process.env): Promise<PruneReport> {
  const index = args.indexOf('--older-than');
  const age = index >= 0 ? parseRetention(args[index + 1] ?? '') : undefined;
  if (age === undefined) throw new ConfigError('Usage: npm run prune -- --older-than <days>d (or <hours>h), e.g. --older-than 180d');
  if (age < MIN_RETENTION_MS) throw new ConfigError('--older-than must be at least 3d (72h): a merchant webhook may still be retried until then.');
  const store = openStore(loadConfig(env, { persistSecret: false }));
  try {
    return await store.pruneEvents(Date.now() - age);
  } finally {
    await store.close();
  }
}

// Run as a command, also through the package's bin link (node_modules/.bin/pay-checkout-prune, a symlink).
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  if (existsSync('.env')) process.loadEnvFile('.env');
  prune(process.argv.slice(2)).then(
    (report) =>
      console.log(`[pay-checkout] pruned ${report.events} events, ${report.deliveries} merchant deliveries and ${report.rejectedCallbacks} rejected-callback digests`),
    (error: unknown) => {
      console.error(`[pay-checkout] ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
