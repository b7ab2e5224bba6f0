#!/usr/bin/env node
/**
 * `npm run server`: the helper and the provider sandbox on 127.0.0.1:8787 (HOST, PORT), configured from the
 * environment (and `.env` when present; see .env.example). Stops cleanly on SIGINT / SIGTERM.
 */
import { existsSync } from 'node:fs';
import { checkoutBasePath, ConfigError } from './config.js';
import { createLogger } from './logger.js';
import type { LogLevel } from './logger.js';
import { startServer } from './node-server.js';

// Variables already in the environment win over .env.
if (existsSync('.env')) process.loadEnvFile('.env');

const log = createLogger(((process.env.LOG_LEVEL ?? '').trim() || 'info') as LogLevel);

try {
  const server = await startServer();
  const sandboxed = server.config.enabledProviders.filter((id) => server.config.providers[id].sandbox);
  log.info(`helper listening on ${server.url}`, {
    api: `${server.url}${checkoutBasePath(server.config)}`,
    publicUrl: server.config.publicUrl,
    // The PostgreSQL URL may carry a password: only its host and database are logged.
    database: server.config.databaseUrl ? postgresLabel(server.config.databaseUrl) : server.config.databasePath,
    sandbox: sandboxed,
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: stopping`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('stop failed', { error });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    log.error(`configuration error: ${error.message}`);
  } else {
    log.error('could not start', { error });
  }
  process.exit(1);
}

/** `postgres://host:port/database` without credentials or parameters. */
function postgresLabel(url: string): string {
  try {
    const parsed = new URL(url);
    return `postgres://${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres';
  }
}
