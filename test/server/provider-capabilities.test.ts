// The pure parts of the provider layer: what each adapter declares through defineProvider(), what a verified
// callback may do to a session (callbackPolicy), where callbacks arrive, how a return URL is read, and the one
// constant-time comparison.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../server-example/config.js';
import { AgeTradingProvider } from '../../server-example/providers/agetrading.js';
import { bytesEqual, constantTimeEqual } from '../../server-example/providers/crypto.js';
import { buildProviders, readReturnQuery, returnStatusOf, webhookPath } from '../../server-example/providers/index.js';
import type { PaymentProvider, VerifiedClaim } from '../../server-example/providers/types.js';
import { secretEquals } from '../../server-example/sandbox/common.js';
import type { SessionRecord } from '../../server-example/store.js';
import { SqliteStore } from '../../server-example/store.js';
import { callbackPolicy } from '../../server-example/transitions.js';
import type { CallbackFacts } from '../../server-example/transitions.js';

const AGE = 'https://age.test';

function withProviders(run: (providers: Map<string, PaymentProvider>) => void): void {
  const store = new SqliteStore(':memory:');
  try {
    run(buildProviders(loadConfig({ DATABASE_PATH: ':memory:' }), store));
  } finally {
    void store.close();
  }
}

describe('provider descriptors', () => {
  it('declares cancel, webhook path and return quirks per provider', () => {
    withProviders((providers) => {
      assert.deepEqual({ ...providers.get('repay')!.capabilities }, { cancel: false, webhookPath: 'shared', returnStatusParam: false });
      assert.deepEqual({ ...providers.get('boxexchanger')!.capabilities }, { cancel: true, webhookPath: 'per-session', returnStatusParam: true });
      assert.equal(providers.get('agetrading')!.capabilities.webhookPath, 'shared');
      assert.equal(providers.get('agetrading')!.capabilities.returnStatusParam, false);
    });
  });

  it('lets age.trading cancel only when a cancel path is configured', () => {
    const config = loadConfig({ DATABASE_PATH: ':memory:' }).providers.agetrading;
    assert.equal(new AgeTradingProvider({ ...config, cancelPath: '' }, AGE).capabilities.cancel, false);
    assert.equal(new AgeTradingProvider({ ...config, cancelPath: '/api/requests/{id}/cancel/' }, AGE).capabilities.cancel, true);
  });

  it('re-reads BoxExchanger only with the order credentials, the others once the payment is known', () => {
    withProviders((providers) => {
      const base = { providerPaymentId: 'p1', providerData: {} } as unknown as SessionRecord;
      assert.equal(providers.get('repay')!.canFetchStatus(base), true);
      assert.equal(providers.get('repay')!.canFetchStatus({ ...base, providerPaymentId: null }), false);
      assert.equal(providers.get('boxexchanger')!.canFetchStatus(base), false);
      assert.equal(providers.get('boxexchanger')!.canFetchStatus({ ...base, providerData: { uid: 'u', secret: 's' } }), true);
    });
  });

  it('puts a per-session provider\'s callbacks under the session id, the others under one path', () => {
    withProviders((providers) => {
      assert.equal(webhookPath(providers.get('repay')!, 'cs_x'), '/webhooks/repay');
      assert.equal(webhookPath(providers.get('agetrading')!, 'cs_x'), '/webhooks/agetrading');
      assert.equal(webhookPath(providers.get('boxexchanger')!, 'cs_x'), '/webhooks/boxexchanger/cs_x');
    });
  });

  it('reads the session and an appended status from a return URL, glued or separate', () => {
    const id = 'cs_aaaaaaaaaaaaaaaaaaaaaa';
    const read = (query: Record<string, string>) => readReturnQuery((name) => query[name]);
    assert.deepEqual(read({ session: id }), { sessionId: id });
    assert.deepEqual(read({ session: `${id}?status=error` }), { sessionId: id, appendedStatus: 'error' });
    assert.deepEqual(read({ session: id, status: 'success' }), { sessionId: id, appendedStatus: 'success' });
    assert.deepEqual(read({ session: 'nope' }), {});
  });

  it('lets an appended status count only for a provider that appends one', () => {
    withProviders((providers) => {
      assert.equal(returnStatusOf(providers.get('boxexchanger'), 'error'), 'error');
      assert.equal(returnStatusOf(providers.get('boxexchanger'), 'success'), 'success');
      assert.equal(returnStatusOf(providers.get('boxexchanger'), 'paid'), undefined);
      assert.equal(returnStatusOf(providers.get('boxexchanger'), undefined), undefined);
      assert.equal(returnStatusOf(providers.get('repay'), 'error'), undefined);
      assert.equal(returnStatusOf(providers.get('agetrading'), 'error'), undefined);
    });
  });
});

describe('callbackPolicy', () => {
  const claim = (over: Partial<VerifiedClaim> = {}): VerifiedClaim => ({
    authenticated: true,
    covers: 'd1:1500',
    providerPaymentId: 'd1',
    paidAmountMinor: 150_000,
    status: { raw: 'completed', unified: 'paid' },
    reread: true,
    fields: {},
    ...over,
  });
  const facts = (over: Partial<CallbackFacts> = {}): CallbackFacts => ({ providerPaymentId: 'd1', amountMinor: 150_000, canReread: true, ...over });

  it('re-reads the provider before anything moves, signed or not', () => {
    assert.deepEqual(callbackPolicy(claim(), facts()), { action: 'accept', then: 'reread' });
    assert.deepEqual(callbackPolicy(claim({ authenticated: false }), facts()), { action: 'accept', then: 'reread' });
  });

  it('holds an authenticated payment it cannot re-read, and only records anything else it cannot re-read', () => {
    assert.deepEqual(callbackPolicy(claim(), facts({ canReread: false })), { action: 'accept', then: 'hold' });
    assert.deepEqual(callbackPolicy(claim({ authenticated: false }), facts({ canReread: false })), { action: 'accept', then: 'record' });
    assert.deepEqual(callbackPolicy(claim({ status: { raw: 'waitPayment', unified: 'pending' } }), facts({ canReread: false })), { action: 'accept', then: 'record' });
    // Received, being checked or paid out: nothing would follow it up, and the session would end with its window.
    const underway = claim({ status: { raw: 'inProgressPayout', unified: 'pending' } });
    assert.deepEqual(callbackPolicy(underway, facts({ canReread: false, underway: true })), { action: 'accept', then: 'hold' });
    assert.deepEqual(callbackPolicy({ ...underway, authenticated: false }, facts({ canReread: false, underway: true })), { action: 'accept', then: 'record' });
  });

  it('adopts the payment for a session left without one only from an authenticated claim of exactly its amount', () => {
    assert.deepEqual(callbackPolicy(claim(), facts({ providerPaymentId: null })), { action: 'accept', adopt: 'd1', then: 'reread' });
    assert.equal(callbackPolicy(claim({ authenticated: false }), facts({ providerPaymentId: null })).action, 'reject');
    assert.equal(callbackPolicy(claim({ paidAmountMinor: 149_900 }), facts({ providerPaymentId: null })).action, 'reject');
    const { paidAmountMinor: _omitted, ...noAmount } = claim();
    assert.equal(callbackPolicy(noAmount, facts({ providerPaymentId: null })).action, 'reject');
  });

  it('applies a claim as it stands only when it needs no re-read and is authenticated', () => {
    assert.deepEqual(callbackPolicy(claim({ reread: false }), facts()), { action: 'accept', then: 'apply' });
    assert.deepEqual(callbackPolicy(claim({ reread: false, authenticated: false }), facts()), { action: 'accept', then: 'reread' });
  });
});

describe('constant-time comparison', () => {
  it('compares equal-length byte buffers, received first, and refuses other lengths', () => {
    assert.equal(bytesEqual(Buffer.from('abc'), Buffer.from('abc')), true);
    assert.equal(bytesEqual(Buffer.from('abc'), Buffer.from('abd')), false);
    assert.equal(bytesEqual(Buffer.from('ab'), Buffer.from('abc')), false);
    assert.equal(constantTimeEqual('é', 'ee'), false);
  });

  it('lets the sandbox compare any secret case-insensitively through the same comparison', () => {
    assert.equal(secretEquals('SANDBOX-Key', 'sandbox-key'), true);
    assert.equal(secretEquals('sandbox-key2', 'sandbox-key'), false);
    assert.equal(secretEquals(undefined, 'sandbox-key'), false);
  });
});
