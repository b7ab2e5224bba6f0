// The environment schema (env-schema.ts): the variables it reads are exactly those .env.example documents, and each
// refusal names its variable.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ENV_VARIABLES } from '../../server-example/env-schema.js';
import { ConfigError, loadConfig, startServer } from '../../server-example/index.js';

const documented = [...readFileSync(new URL('../../.env.example', import.meta.url), 'utf8').matchAll(/^([A-Z0-9_]+)=/gm)].map((match) => match[1]!);

/** The message loadConfig() refuses `env` with. */
function refusal(env: Record<string, string>): string {
  try {
    loadConfig({ DATABASE_PATH: ':memory:', ...env }, { persistSecret: false });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('the environment schema', () => {
  it('reads every variable .env.example documents', () => {
    assert.deepEqual(documented.filter((name) => !ENV_VARIABLES.includes(name)), []);
  });

  it('reads no variable .env.example does not document', () => {
    assert.deepEqual(ENV_VARIABLES.filter((name) => !documented.includes(name)), []);
  });

  it('names the variable in each refusal', () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: '70000' }, 'PORT must be an integer between 0 and 65535.'],
      [{ PORT: 'eighty' }, 'PORT must be an integer between 0 and 65535.'],
      [{ CHECKOUT_MODE: 'Production' }, 'CHECKOUT_MODE must be "test" or "live", not "production".'],
      [{ PUBLIC_URL: 'ftp://shop.example' }, 'PUBLIC_URL must be an http(s) URL.'],
      [{ PUBLIC_URL: 'shop' }, 'PUBLIC_URL is not a valid URL: "shop".'],
      [{ ALLOWED_ORIGINS: 'not a url' }, 'ALLOWED_ORIGINS: "not a url" is not an origin such as https://shop.example.'],
      [{ TRUSTED_PROXIES: '10.0.0.1,proxy.internal' }, 'TRUSTED_PROXIES: "proxy.internal" is not an IP address or a CIDR range such as 10.0.0.0/8.'],
      [{ TRUSTED_PROXIES: '10.0.0.0/33' }, 'TRUSTED_PROXIES: "10.0.0.0/33": the prefix length must be 0 to 32.'],
      [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET must be at least 32 characters long.'],
      [{ RECONCILE_CRASH_GRACE_MS: '30000' }, 'RECONCILE_CRASH_GRACE_MS (30000) must be at least 3 × the longest provider timeout (15000 ms): a creation still waiting for its provider would be taken for a crash.'],
      [{ CHECKOUT_PROVIDERS: 'repay,paypal' }, 'CHECKOUT_PROVIDERS: unknown provider "paypal".'],
      [{ CHECKOUT_PROVIDERS: ' , ' }, 'CHECKOUT_PROVIDERS enables no provider.'],
      [{ DEFAULT_PROVIDER: 'agetrading', CHECKOUT_PROVIDERS: 'repay' }, 'DEFAULT_PROVIDER "agetrading" is not an enabled provider.'],
      [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be debug, info, warn, error or silent.'],
      [{ CHECKOUT_BASE_PATH: 'payments' }, 'basePath (CHECKOUT_BASE_PATH) must be a path such as /api/checkout, not "payments".'],
      [{ SANDBOX_FRAME_DENY: 'nobody' }, 'SANDBOX_FRAME_DENY: unknown provider "nobody" (use repay, boxexchanger, agetrading or all).'],
      [{ SANDBOX_WINDOW_MINUTES: '0' }, 'SANDBOX_WINDOW_MINUTES must be a number of minutes above 0 and at most 1440.'],
      [{ REPAY_FRAMEABLE: 'maybe' }, 'REPAY_FRAMEABLE must be 1 or 0.'],
      [{ REPAY_SECRET_WORD_1: 'x' }, 'REPAY_CASSA_ID is required when REPAY_SECRET_WORD_1 is set (Repay would otherwise run against the sandbox).'],
      [{ REPAY_CASSA_ID: 'c', REPAY_SECRET_WORD_1: 'a', REPAY_SECRET_WORD_2: 'b', REPAY_API_KEY: 'k' }, 'Repay needs at least one payment method id: REPAY_METHOD_SBP and/or REPAY_METHOD_CARD.'],
      [{ BOXEXCHANGER_BASE_URL: 'https://box.example' }, 'BoxExchanger needs at least one route id: BOXEXCHANGER_ROUTE_SBP and/or BOXEXCHANGER_ROUTE_CARD.'],
      [{ BOXEXCHANGER_BASE_URL: 'https://box.example', BOXEXCHANGER_ROUTE_SBP: 'r', BOXEXCHANGER_API_KEY: 'k' }, 'Set both BOXEXCHANGER_API_KEY and BOXEXCHANGER_API_SECRET, or neither.'],
      [{ BOXEXCHANGER_IPN_HASH_FIELD: 'a b' }, 'BOXEXCHANGER_IPN_HASH_FIELD is not a valid field name.'],
      [{ AGETRADING_METHOD_SBP: '-1' }, 'AGETRADING_METHOD_SBP must be an integer.'],
      [{ AGETRADING_STATUS_MAP: '{' }, 'AGETRADING_STATUS_MAP is not valid JSON.'],
      [{ AGETRADING_STATUS_MAP: 'SUCCESS=done' }, 'AGETRADING_STATUS_MAP: "SUCCESS" must map to one of created, pending, paid, held, refunded, failed, cancelled, expired.'],
      [{ AGETRADING_UNDERWAY_STATUSES: 'PROCESSING,SUCCESS,REVIEW' }, 'AGETRADING_UNDERWAY_STATUSES: SUCCESS, REVIEW must be pending in AGETRADING_STATUS_MAP.'],
      [{ MERCHANT_WEBHOOK_URL: 'https://shop.example/hooks' }, 'MERCHANT_WEBHOOK_URL needs MERCHANT_WEBHOOK_SECRET (whsec_…): every webhook is signed.'],
      [{ MERCHANT_API_KEY: 'short' }, 'MERCHANT_API_KEY must be at least 24 characters (a random key).'],
      [{ MERCHANT_API_KEY: 'merchant api key 0123456789abcdef' }, 'MERCHANT_API_KEY must be visible ASCII without spaces (it is sent as a Bearer token).'],
      [{ MERCHANT_API_KEY: 'ключ-магазина-0123456789abcdef' }, 'MERCHANT_API_KEY must be visible ASCII without spaces (it is sent as a Bearer token).'],
      [{ DATABASE_URL: 'mysql://db/checkout', SESSION_SECRET: 's'.repeat(32) }, 'DATABASE_URL must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite file).'],
      [{ BOXEXCHANGER_METHOD_SBP: 'r' }, 'Unknown variable BOXEXCHANGER_METHOD_SBP; see .env.example.'],
    ];
    for (const [env, message] of cases) assert.equal(refusal(env), message, JSON.stringify(env));
  });

  it('reports every problem at once', () => {
    const message = refusal({ PORT: '-1', LOG_LEVEL: 'loud', REPAY_CASSA_ID: 'c', CHECKOUT_MODE: 'test' });
    assert.equal(
      message,
      [
        '6 configuration problems:',
        '- PORT must be an integer between 0 and 65535.',
        '- LOG_LEVEL must be debug, info, warn, error or silent.',
        '- REPAY_SECRET_WORD_1 is required when REPAY_CASSA_ID is set.',
        '- REPAY_SECRET_WORD_2 is required when REPAY_CASSA_ID is set.',
        '- REPAY_API_KEY is required when REPAY_CASSA_ID is set.',
        '- Repay needs at least one payment method id: REPAY_METHOD_SBP and/or REPAY_METHOD_CARD.',
      ].join('\n'),
    );
  });

  it('reports a mistyped provider variable alone: it explains what else looks missing', () => {
    assert.equal(
      refusal({ REPAY_CASA_ID: 'c', REPAY_SECRET_WORD_1: 'a' }),
      'Unknown variable REPAY_CASA_ID (did you mean REPAY_CASSA_ID?); see .env.example.',
    );
  });

  it('keeps an empty AGETRADING_CANCEL_PATH (cancelling off) apart from an unset one', () => {
    assert.equal(loadConfig({ DATABASE_PATH: ':memory:' }, { persistSecret: false }).providers.agetrading.cancelPath, '/api/requests/{id}/cancel/');
    assert.equal(loadConfig({ DATABASE_PATH: ':memory:', AGETRADING_CANCEL_PATH: '' }, { persistSecret: false }).providers.agetrading.cancelPath, '');
  });

  it('offers live age.trading card payments only with a configured payment_method id (only 1, SBP, is documented)', () => {
    const live = { DATABASE_PATH: ':memory:', CHECKOUT_PROVIDERS: 'agetrading', AGETRADING_API_KEY: 'age-live-token-0123456789', PUBLIC_URL: 'https://shop.example' };
    assert.deepEqual(loadConfig(live, { persistSecret: false }).providers.agetrading.methods, { sbp: 1 });
    assert.deepEqual(loadConfig({ ...live, AGETRADING_METHOD_CARD: '' }, { persistSecret: false }).providers.agetrading.methods, { sbp: 1 });
    assert.deepEqual(loadConfig({ ...live, AGETRADING_METHOD_CARD: '7' }, { persistSecret: false }).providers.agetrading.methods, { sbp: 1, card: 7 });
    // The sandbox takes both of its own.
    assert.deepEqual(loadConfig({ DATABASE_PATH: ':memory:' }, { persistSecret: false }).providers.agetrading.methods, { sbp: 1, card: 2 });
  });

  it('refuses an age.trading status or cancel path without {id}: every session would read the same payment', () => {
    assert.match(refusal({ AGETRADING_STATUS_PATH: '/api/requests/12345/' }), /AGETRADING_STATUS_PATH must contain \{id\}/);
    assert.match(refusal({ AGETRADING_CANCEL_PATH: '/api/requests/cancel/' }), /AGETRADING_CANCEL_PATH must contain \{id\}/);
    const paths = loadConfig({ DATABASE_PATH: ':memory:', AGETRADING_STATUS_PATH: ' /v2/pay/{id} ' }, { persistSecret: false }).providers.agetrading;
    assert.equal(paths.statusPath, '/v2/pay/{id}');
  });

  it('refuses an age.trading path that could send the API token to another host', () => {
    // Appended to https://age.trading: "api/…" would make the host age.tradingapi, "//…" and a URL name another host.
    for (const [name, value] of [
      ['AGETRADING_CREATE_PATH', 'api/requests/create/'],
      ['AGETRADING_CREATE_PATH', '.evil.example/x'],
      ['AGETRADING_CREATE_PATH', '//evil.example/x'],
      ['AGETRADING_STATUS_PATH', 'https://evil.example/{id}'],
      ['AGETRADING_STATUS_PATH', '/\\evil.example/{id}'],
      ['AGETRADING_CANCEL_PATH', 'api/requests/{id}/cancel/'],
    ]) {
      assert.match(refusal({ [name!]: value }), new RegExp(`${name} must be a path starting with one "/"`), `${name}=${value}`);
    }
  });

  it('refuses an age.trading header name that no request could carry', () => {
    assert.match(refusal({ AGETRADING_AUTH_HEADER: 'Authorization:' }), /AGETRADING_AUTH_HEADER must be an HTTP header name/);
    assert.match(refusal({ AGETRADING_CALLBACK_SIGNATURE_HEADER: 'X Signature' }), /AGETRADING_CALLBACK_SIGNATURE_HEADER must be an HTTP header name/);
    assert.equal(loadConfig({ DATABASE_PATH: ':memory:', AGETRADING_AUTH_HEADER: 'X-Api-Key' }, { persistSecret: false }).providers.agetrading.authHeader, 'X-Api-Key');
  });

  it('gives the sandbox providers the SANDBOX_WINDOW_MINUTES window', async () => {
    assert.equal(loadConfig({ DATABASE_PATH: ':memory:' }, { persistSecret: false }).sandboxWindowMinutes, undefined);
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      reconcile: false,
      env: { DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent', SANDBOX_WINDOW_MINUTES: '0.5' },
    });
    try {
      assert.equal(server.config.sandboxWindowMinutes, 0.5);
      const sandbox = (await (await fetch(`${server.url}/sandbox/`)).json()) as { windowsMs: Record<string, number> };
      assert.deepEqual(sandbox.windowsMs, { repay: 30_000, boxexchanger: 30_000, agetrading: 30_000 });
    } finally {
      await server.close();
    }
  });
});
