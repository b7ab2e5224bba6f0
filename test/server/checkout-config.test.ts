// loadConfig(env): defaults for a no-env run, the documented .env.example, sandbox switching and refusals.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../server-example/index.js';

const dir = mkdtempSync(join(tmpdir(), 'pay-checkout-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const db = (name: string) => join(dir, name, 'checkout.sqlite');

describe('loadConfig', () => {
  it('defaults to 127.0.0.1:8787, the Vite origins and the sandbox for every provider', () => {
    const config = loadConfig({ DATABASE_PATH: db('a') });
    assert.equal(config.publicUrl, 'http://127.0.0.1:8787');
    assert.deepEqual(config.allowedOrigins, ['http://127.0.0.1:8787', 'http://localhost:5173', 'http://127.0.0.1:5173']);
    assert.equal(config.sandboxBaseUrl, 'http://127.0.0.1:8787');
    assert.deepEqual(config.enabledProviders, ['repay', 'boxexchanger', 'agetrading']);
    assert.equal(config.defaultProvider, 'repay');
    for (const id of config.enabledProviders) {
      assert.equal(config.providers[id].sandbox, true);
      assert.equal(config.providers[id].baseUrl, null);
    }
    assert.equal(config.mode, 'test');
  });

  it('derives PUBLIC_URL from HOST and PORT, and persists one generated SESSION_SECRET', () => {
    const first = loadConfig({ DATABASE_PATH: db('b'), HOST: 'localhost', PORT: '9000' });
    assert.equal(first.publicUrl, 'http://localhost:9000');
    const second = loadConfig({ DATABASE_PATH: db('b') });
    assert.equal(second.sessionSecret, first.sessionSecret);
    assert.equal(readFileSync(join(dir, 'b', 'session-secret'), 'utf8').trim(), first.sessionSecret);
    assert.notEqual(loadConfig({ DATABASE_PATH: db('c') }).sessionSecret, first.sessionSecret);
  });

  it('accepts .env.example as it is', () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').split('\n')) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match) env[match[1]!] = match[2]!;
    }
    assert.ok(Object.keys(env).length > 50);
    const config = loadConfig({ ...env, DATABASE_PATH: db('d') });
    assert.equal(config.providers.repay.sandbox, true);
    assert.equal(config.providers.agetrading.statusPath, '/api/requests/{id}/');
  });

  it('switches a provider to the real service when its credentials are set', () => {
    const config = loadConfig({
      CHECKOUT_MODE: 'test',
      DATABASE_PATH: db('e'),
      REPAY_CASSA_ID: 'c',
      REPAY_SECRET_WORD_1: 'a',
      REPAY_SECRET_WORD_2: 'b',
      REPAY_API_KEY: 'k',
      REPAY_METHOD_CARD: 'm',
      REPAY_FRAMEABLE: '0',
      AGETRADING_API_KEY: 'tok',
      AGETRADING_TIMEOUT_MS: '5000',
      AGETRADING_STATUS_MAP: '{"OK":"paid"}',
      SANDBOX_FRAME_DENY: 'boxexchanger',
    });
    assert.equal(config.providers.repay.sandbox, false);
    assert.equal(config.providers.repay.baseUrl, 'https://repay.cx');
    assert.deepEqual(config.providers.repay.methods, { card: 'm' });
    assert.equal(config.providers.repay.frameable, false);
    assert.equal(config.providers.repay.timeoutMs, 15_000);
    assert.equal(config.providers.repay.sessionTtlSeconds, 900);
    assert.equal(config.providers.agetrading.sandbox, false);
    assert.equal(config.providers.agetrading.baseUrl, 'https://age.trading');
    assert.equal(config.providers.agetrading.frameable, true);
    assert.equal(config.providers.agetrading.timeoutMs, 5_000);
    assert.equal(config.providers.agetrading.sessionTtlSeconds, 600);
    assert.equal(config.providers.agetrading.authValue, 'Token tok');
    assert.equal(config.providers.agetrading.statusMap.OK, 'paid');
    assert.equal(config.providers.agetrading.statusMap.SUCCESS, 'paid');
    assert.equal(config.providers.agetrading.callbackSecret, '');
    assert.equal(config.providers.boxexchanger.sandbox, true);
    assert.equal(config.providers.boxexchanger.frameable, false);
  });

  it('refuses incomplete or invalid configuration with a clear message', () => {
    const bad: Record<string, string>[] = [
      { REPAY_CASSA_ID: 'c' },
      { REPAY_CASSA_ID: 'c', REPAY_SECRET_WORD_1: 'a', REPAY_SECRET_WORD_2: 'b', REPAY_API_KEY: 'k' },
      { BOXEXCHANGER_BASE_URL: 'https://box.example' },
      { BOXEXCHANGER_BASE_URL: 'https://box.example', BOXEXCHANGER_ROUTE_SBP: 'r', BOXEXCHANGER_API_KEY: 'k' },
      { SESSION_SECRET: 'short' },
      { PORT: '70000' },
      { PUBLIC_URL: 'ftp://shop.example' },
      { ALLOWED_ORIGINS: 'not a url' },
      { CHECKOUT_PROVIDERS: 'repay,paypal' },
      { DEFAULT_PROVIDER: 'agetrading', CHECKOUT_PROVIDERS: 'repay' },
      { SANDBOX_FRAME_DENY: 'nobody' },
      { AGETRADING_STATUS_MAP: 'SUCCESS=done' },
      { CHECKOUT_MODE: 'production' },
    ];
    for (const env of bad) {
      assert.throws(() => loadConfig({ DATABASE_PATH: db('f'), ...env }), ConfigError, JSON.stringify(env));
    }
  });
});
