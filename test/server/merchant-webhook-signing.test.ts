// Standard Webhooks signing of what the helper sends to the merchant, checked by the independent `standardwebhooks`
// verifier (the one a Node merchant would use), and the MERCHANT_WEBHOOK_SECRET validation.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { loadConfig, ConfigError } from '../../server-example/index.js';
import {
  generateWebhookSecret,
  newWebhookId,
  signWebhook,
  validateWebhookSecret,
  WebhookSecretError,
} from '../../server-example/merchant-webhooks/signing.js';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const BODY = JSON.stringify({ id: 'evt_1', type: 'payment.paid', createdAt: '2026-12-01T10:00:00.000Z', data: { session: { orderId: 'A-1001' } } });

describe('signWebhook', () => {
  it('produces the three Standard Webhooks headers', () => {
    const headers = signWebhook(SECRET, BODY, { id: 'msg_fixed', timestamp: new Date(1_764_583_200_123) });
    assert.equal(headers['webhook-id'], 'msg_fixed');
    assert.equal(headers['webhook-timestamp'], '1764583200');
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('is accepted by the standardwebhooks verifier', () => {
    const headers = signWebhook(SECRET, BODY);
    assert.deepEqual(new Webhook(SECRET).verify(BODY, { ...headers }), JSON.parse(BODY));
  });

  it('matches the spec computed by hand: base64(HMAC-SHA256(key, "id.timestamp.body"))', () => {
    const headers = signWebhook(SECRET, BODY, { id: 'msg_x', timestamp: new Date(1_764_583_200_000) });
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`msg_x.1764583200.${BODY}`).digest('base64');
    assert.equal(headers['webhook-signature'], `v1,${expected}`);
  });

  it('fails verification when the body is tampered with', () => {
    const headers = signWebhook(SECRET, BODY);
    assert.throws(() => new Webhook(SECRET).verify(BODY.replace('payment.paid', 'payment.held'), { ...headers }), /No matching signature/);
  });

  it('fails verification when the timestamp is changed', () => {
    const headers = signWebhook(SECRET, BODY);
    const moved = String(Number(headers['webhook-timestamp']) - 1);
    assert.throws(() => new Webhook(SECRET).verify(BODY, { ...headers, 'webhook-timestamp': moved }), /No matching signature/);
  });

  it('fails verification when the id is changed', () => {
    const headers = signWebhook(SECRET, BODY);
    assert.throws(() => new Webhook(SECRET).verify(BODY, { ...headers, 'webhook-id': newWebhookId() }), /No matching signature/);
  });

  it('fails verification with another secret', () => {
    const headers = signWebhook(SECRET, BODY);
    assert.throws(() => new Webhook(generateWebhookSecret()).verify(BODY, { ...headers }), /No matching signature/);
  });

  it('is refused by the verifier when older than five minutes', () => {
    const headers = signWebhook(SECRET, BODY, { timestamp: new Date(Date.now() - 6 * 60_000) });
    assert.throws(() => new Webhook(SECRET).verify(BODY, { ...headers }), /too old/);
  });

  it('signs with every secret during a rotation, and each one verifies', () => {
    const next = generateWebhookSecret();
    const headers = signWebhook([SECRET, next], BODY);
    assert.equal(headers['webhook-signature'].split(' ').length, 2);
    new Webhook(SECRET).verify(BODY, { ...headers });
    new Webhook(next).verify(BODY, { ...headers });
  });

  it('gives a fresh id per message', () => {
    const ids = new Set(Array.from({ length: 100 }, () => signWebhook(SECRET, BODY)['webhook-id']));
    assert.equal(ids.size, 100);
    for (const id of ids) assert.match(id, /^msg_[A-Za-z0-9_-]{22}$/);
  });
});

describe('validateWebhookSecret', () => {
  it('accepts whsec_ + base64 of 24 bytes or more, and a generated secret', () => {
    assert.equal(validateWebhookSecret(`whsec_${Buffer.alloc(24, 1).toString('base64')}`), `whsec_${Buffer.alloc(24, 1).toString('base64')}`);
    assert.equal(validateWebhookSecret(` ${SECRET}\n`), SECRET);
    const generated = generateWebhookSecret();
    assert.equal(validateWebhookSecret(generated), generated);
    // The generated secret is what the reference verifier decodes to 32 bytes.
    new Webhook(generated).verify(BODY, { ...signWebhook(generated, BODY) });
  });

  for (const [name, value, pattern] of [
    ['no prefix', Buffer.alloc(32, 1).toString('base64'), /must start with "whsec_"/],
    ['an empty key', 'whsec_', /standard base64/],
    ['base64url characters', `whsec_${Buffer.alloc(32, 0xfb).toString('base64url')}`, /standard base64/],
    ['missing padding', `whsec_${Buffer.alloc(25, 1).toString('base64').replace(/=+$/, '')}`, /standard base64/],
    ['a password, not base64', 'whsec_my secret password!', /standard base64/],
    ['16 bytes', `whsec_${Buffer.alloc(16, 1).toString('base64')}`, /too short: 16 bytes, at least 24/],
  ] as const) {
    it(`refuses ${name} with a message that says how to make one`, () => {
      assert.throws(
        () => validateWebhookSecret(value),
        (error: unknown) => error instanceof WebhookSecretError && pattern.test(error.message) && /MERCHANT_WEBHOOK_SECRET/.test(error.message) && /randomBytes\(32\)/.test(error.message),
      );
    });
  }
});

describe('ORDER_RESOLVE_URL configuration', () => {
  const base = { SESSION_SECRET: 'x'.repeat(40), DATABASE_PATH: ':memory:', LOG_LEVEL: 'silent' };

  it('is off by default', () => {
    assert.equal(loadConfig(base).orderResolve, undefined);
  });

  it('reads the URL, timeout and cookie opt-in, signed with MERCHANT_WEBHOOK_SECRET', () => {
    const config = loadConfig({
      ...base,
      ORDER_RESOLVE_URL: 'https://shop.example/pay-checkout/order/?v=1',
      ORDER_RESOLVE_TIMEOUT_MS: '2500',
      ORDER_RESOLVE_FORWARD_COOKIES: '1',
      MERCHANT_WEBHOOK_SECRET: SECRET,
    });
    assert.deepEqual(config.orderResolve, { url: 'https://shop.example/pay-checkout/order/?v=1', secret: SECRET, timeoutMs: 2500, forwardCookies: true });
  });

  it('defaults to a 5 s timeout and no cookies', () => {
    const config = loadConfig({ ...base, ORDER_RESOLVE_URL: 'http://127.0.0.1:9000/order', MERCHANT_WEBHOOK_SECRET: SECRET });
    assert.equal(config.orderResolve?.timeoutMs, 5000);
    assert.equal(config.orderResolve?.forwardCookies, false);
  });

  it('signs with every secret of a comma list (a rotation), like the webhooks', () => {
    const next = generateWebhookSecret();
    const config = loadConfig({ ...base, ORDER_RESOLVE_URL: 'https://shop.example/order', MERCHANT_WEBHOOK_SECRET: `${SECRET}, ${next}` });
    assert.deepEqual(config.orderResolve?.secret, [SECRET, next]);
  });

  it('refuses a URL without MERCHANT_WEBHOOK_SECRET', () => {
    assert.throws(() => loadConfig({ ...base, ORDER_RESOLVE_URL: 'https://shop.example/order' }), (error: unknown) => error instanceof ConfigError && /MERCHANT_WEBHOOK_SECRET/.test(error.message));
  });

  it('refuses a weak secret with a ConfigError', () => {
    assert.throws(
      () => loadConfig({ ...base, ORDER_RESOLVE_URL: 'https://shop.example/order', MERCHANT_WEBHOOK_SECRET: 'whsec_c2hvcnQ=' }),
      (error: unknown) => error instanceof ConfigError && /too short/.test(error.message),
    );
  });

  it('refuses a URL that is not http(s)', () => {
    assert.throws(() => loadConfig({ ...base, ORDER_RESOLVE_URL: 'ftp://shop.example/order', MERCHANT_WEBHOOK_SECRET: SECRET }), ConfigError);
    assert.throws(() => loadConfig({ ...base, ORDER_RESOLVE_URL: 'not a url', MERCHANT_WEBHOOK_SECRET: SECRET }), ConfigError);
  });
});
