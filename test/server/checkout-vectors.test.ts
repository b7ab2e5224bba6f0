// Test vectors from the providers' documentation (summed up in docs/server.md, "Providers"), and the pure building
// blocks: signatures, tokens, money, the state machine and the logger's redaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, redact } from '../../server-example/logger.js';
import { formatAmount, parseAmount, wholeRubles } from '../../server-example/money.js';
import { ageTradingClientId } from '../../server-example/providers/agetrading.js';
import { boxApiHash, boxIpnHash } from '../../server-example/providers/boxexchanger.js';
import { hexEquals } from '../../server-example/providers/crypto.js';
import { rawJsonField, repayCallbackSignature, repayCreateSignature } from '../../server-example/providers/repay.js';
import { createSessionToken, verifySessionToken } from '../../server-example/tokens.js';
import { canTransition, decide } from '../../server-example/transitions.js';

describe('provider test vectors', () => {
  it('signs a Repay deal exactly like the seed cURL recipe (md5 of cassa_id:amount:secret_word_1)', () => {
    // echo -n "836a9869-0598-4b75-81bc-f7a600b83a72:300:9c41b016-c8c6-4f30-b3de-c1fb9c9ec01d" | md5sum
    assert.equal(
      repayCreateSignature('836a9869-0598-4b75-81bc-f7a600b83a72', '300', '9c41b016-c8c6-4f30-b3de-c1fb9c9ec01d'),
      '24892d9017cab54ce5d2dd3fdc8bec1e',
    );
  });

  it('computes the Repay callback signature md5(deal_id:amount:secret_word_2)', () => {
    // echo -n "7a2ab81c-b041-4638-be6e-437049e7a8eb:300:sw2" | md5sum
    assert.equal(repayCallbackSignature('7a2ab81c-b041-4638-be6e-437049e7a8eb', '300', 'sw2'), '949036b21134aefc3d1692128c142d3f');
  });

  it('reproduces the BoxExchanger API hash vector', () => {
    assert.equal(
      boxApiHash({ time: 123456789, param1: 'val1' }, '97aab8410868ba7c1824f490999607c0ce46a3de'),
      'ac876c6314ffcca01b0e65571cc136cedfb2c3d8e2194aaaf364ca7123568fc7',
    );
  });

  it('reproduces the BoxExchanger IPN hash vector', () => {
    assert.equal(
      boxIpnHash(
        { orderId: '5d8e6002b80b7b4cd75a6424', newStatus: 'inProgress', inAmount: '2', outAmount: '317.42', xml_from: 'ETH', xml_to: 'WMZ', timestamp: '1571328406072' },
        'SECRET123',
      ),
      'af3acf947e6f0e0f2c267e300b8582e504dba12d1f2d058652b7414163c09f48',
    );
  });

  it('keeps the raw text of a JSON amount, so "300.0" is signed as "300.0"', () => {
    assert.equal(rawJsonField('{"deal_id":"d","amount":300.0,"amount_usdt_income":"3"}', 'amount'), '300.0');
    assert.equal(rawJsonField('{"amount_usdt_income":"3","amount":"300"}', 'amount'), '300');
    assert.equal(rawJsonField('{"amount_usdt_income":"3"}', 'amount'), undefined);
  });

  it('compares hex signatures case-insensitively, rejecting other lengths and non-hex', () => {
    assert.equal(hexEquals('ABCDEF', 'abcdef'), true);
    assert.equal(hexEquals('abcde', 'abcdef'), false);
    assert.equal(hexEquals('zzzzzz', 'abcdef'), false);
    assert.equal(hexEquals(undefined, 'abcdef'), false);
  });

  it('derives an age.trading client id of at most 36 characters that does not contain the customer id', () => {
    const id = ageTradingClientId('customer-with-a-rather-long-identifier-0123456789@example.com');
    assert.ok(id.length <= 36);
    assert.match(id, /^[0-9a-f]+$/);
    assert.equal(ageTradingClientId('a'), ageTradingClientId('a'));
    assert.notEqual(ageTradingClientId('a'), ageTradingClientId('b'));
  });
});

describe('session tokens', () => {
  const secret = 'x'.repeat(40);

  it('accepts a token for its own session only, until it expires', () => {
    const now = 1_700_000_000_000;
    const token = createSessionToken(secret, 'cs_aaaaaaaaaaaaaaaaaaaaaa', 60, now);
    assert.equal(verifySessionToken(secret, token, 'cs_aaaaaaaaaaaaaaaaaaaaaa', now), true);
    assert.equal(verifySessionToken(secret, token, 'cs_bbbbbbbbbbbbbbbbbbbbbb', now), false);
    assert.equal(verifySessionToken(secret, token, 'cs_aaaaaaaaaaaaaaaaaaaaaa', now + 61_000), false);
    assert.equal(verifySessionToken('y'.repeat(40), token, 'cs_aaaaaaaaaaaaaaaaaaaaaa', now), false);
  });

  it('has the documented shape base64url(id.expiry.hmac) and rejects a tampered expiry', () => {
    const token = createSessionToken(secret, 'cs_aaaaaaaaaaaaaaaaaaaaaa', 60, 1_700_000_000_000);
    const [id, expiry, mac] = Buffer.from(token, 'base64url').toString().split('.');
    assert.equal(id, 'cs_aaaaaaaaaaaaaaaaaaaaaa');
    assert.equal(expiry, String(1_700_000_060));
    assert.match(mac!, /^[0-9a-f]{64}$/);
    const forged = Buffer.from(`${id}.${Number(expiry) + 100000}.${mac}`).toString('base64url');
    assert.equal(verifySessionToken(secret, forged, 'cs_aaaaaaaaaaaaaaaaaaaaaa', 1_700_000_000_000), false);
  });
});

describe('money', () => {
  it('parses decimal strings and provider numbers into kopecks without floats', () => {
    assert.equal(parseAmount('1500'), 150000);
    assert.equal(parseAmount('1500.5'), 150050);
    assert.equal(parseAmount('1500.50'), 150050);
    assert.equal(parseAmount('300.0'), 30000);
    assert.equal(parseAmount(317.42), 31742);
    assert.equal(parseAmount(0.1 + 0.2), undefined);
    assert.equal(parseAmount('-1'), undefined);
    assert.equal(parseAmount('1,5'), undefined);
    assert.equal(parseAmount('1e3'), undefined);
    assert.equal(formatAmount(150050), '1500.50');
    assert.equal(formatAmount(5), '0.05');
    assert.equal(wholeRubles(150000), '1500');
    assert.equal(wholeRubles(150050), undefined);
  });
});

describe('state machine', () => {
  it('never moves a session backwards', () => {
    assert.equal(canTransition('pending', 'created'), false);
    assert.equal(canTransition('paid', 'pending'), false);
    assert.equal(canTransition('paid', 'failed'), false);
    assert.equal(canTransition('paid', 'expired'), false);
    assert.equal(canTransition('refunded', 'paid'), false);
    assert.equal(decide('pending', 100, { status: 'created' }, 'poll'), undefined);
  });

  it('sets paid only from verified sources and only with the order amount', () => {
    assert.deepEqual(decide('pending', 100, { status: 'paid', paidAmountMinor: 100 }, 'poll'), { to: 'paid', reason: 'provider_status' });
    assert.deepEqual(decide('pending', 100, { status: 'paid', paidAmountMinor: 100 }, 'webhook'), { to: 'paid', reason: 'provider_status' });
    assert.equal(decide('pending', 100, { status: 'paid', paidAmountMinor: 100 }, 'return'), undefined);
    assert.equal(decide('pending', 100, { status: 'paid', paidAmountMinor: 100 }, 'manual'), undefined);
    assert.deepEqual(decide('pending', 100, { status: 'paid', paidAmountMinor: 90 }, 'webhook'), { to: 'held', reason: 'amount_mismatch' });
    assert.deepEqual(decide('pending', 100, { status: 'paid' }, 'poll'), { to: 'held', reason: 'amount_unknown' });
  });

  it('revives a failed, cancelled or expired session on a later verified payment', () => {
    for (const from of ['failed', 'cancelled', 'expired'] as const) {
      assert.deepEqual(decide(from, 100, { status: 'paid', paidAmountMinor: 100 }, 'poll'), { to: 'paid', reason: 'revived' });
      assert.equal(decide(from, 100, { status: 'pending' }, 'poll'), undefined);
    }
  });
});

describe('logger', () => {
  it('redacts secret fields at any depth and shortens BoxExchanger order secrets in URLs', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (line) => lines.push(line));
    log.info('config', {
      repay: { secretWord1: 'S1', apiKey: 'K', cassaId: 'public' },
      headers: { authorization: 'Token T', hash: 'H' },
      url: 'https://box.example/en/payment/1409/dGqwF2M2eBPaSN1G5ljMS1cb',
    });
    const line = lines.join('\n');
    assert.match(line, /^\[pay-checkout\] info config/);
    for (const secret of ['S1', '"K"', 'Token T', '"H"', 'dGqwF2M2eBPaSN1G5ljMS1cb']) assert.ok(!line.includes(secret), `${secret} leaked: ${line}`);
    assert.ok(line.includes('public'));
    assert.deepEqual(redact({ nested: [{ ipnSecret: 'x' }] }), { nested: [{ ipnSecret: '[redacted]' }] });
  });

  it('writes nothing when silent', () => {
    const lines: string[] = [];
    createLogger('silent', (line) => lines.push(line)).error('x');
    assert.equal(lines.length, 0);
  });
});

describe('status maps', () => {
  it('maps every Repay state of the provider\'s documentation', async () => {
    const { mapRepayState } = await import('../../server-example/providers/repay.js');
    const expected: Record<string, string> = {
      created: 'created',
      card_search: 'created',
      choosing_amount: 'pending',
      waiting_payment: 'pending',
      completed: 'paid',
      proceedings: 'held',
      proceedings1: 'held',
      proceedings12: 'held',
      rejected_timeout: 'expired',
      reject_manual_by_client: 'cancelled',
      rejected_by_new_deal: 'cancelled',
      rejected_by_system: 'failed',
      reject_by_office: 'failed',
    };
    for (const [state, status] of Object.entries(expected)) assert.equal(mapRepayState(state), status, state);
    assert.equal(mapRepayState('something_else'), undefined);
    assert.equal(mapRepayState('proceedingsX'), undefined);
  });

  it('maps every BoxExchanger status, with deleted past expiry as expired and a configurable payout queue', async () => {
    const { BoxExchangerProvider } = await import('../../server-example/providers/boxexchanger.js');
    const { loadConfig } = await import('../../server-example/config.js');
    const base = loadConfig({ DATABASE_PATH: ':memory:' }).providers.boxexchanger;
    const { SqliteStore } = await import('../../server-example/store.js');
    const store = new SqliteStore(':memory:');
    const box = new BoxExchangerProvider(base, 'https://box.test', 'https://box.test', store);
    const expected: Record<string, string> = {
      new: 'created',
      waitPayment: 'pending',
      inProgress: 'pending',
      inProgressPayout: 'pending',
      done: 'paid',
      errorPayment: 'failed',
      errorPayout: 'held',
      hold: 'held',
      returned: 'refunded',
      deleted: 'cancelled',
    };
    for (const [status, unified] of Object.entries(expected)) assert.equal(box.mapStatus(status, undefined, Date.now() + 60_000), unified, status);
    assert.equal(box.mapStatus('deleted', undefined, Date.now() - 1), 'expired');
    assert.equal(box.mapStatus('unknown'), undefined);
    const payoutIsPaid = new BoxExchangerProvider({ ...base, payoutQueuedIsPaid: true }, 'https://box.test', 'https://box.test', store);
    assert.equal(payoutIsPaid.mapStatus('inProgressPayout'), 'paid');
    // An IPN's claimed status goes through the same mapping, the configuration included; a name off the list is none.
    const ipnClaim = (provider: InstanceType<typeof BoxExchangerProvider>, newStatus: string) => {
      const body = new URLSearchParams({ orderId: 'o-1', newStatus, inAmount: '1500', outAmount: '1500', timestamp: String(Date.now()), hash: 'x' });
      return provider.parseCallback({ rawBody: body.toString(), contentType: 'application/x-www-form-urlencoded', headers: new Headers(), sessionIdFromUrl: 'cs_x' }).claim?.status;
    };
    assert.equal(ipnClaim(payoutIsPaid, 'inProgressPayout'), 'paid');
    assert.equal(ipnClaim(box, 'inProgressPayout'), 'pending');
    assert.equal(ipnClaim(box, 'constructor'), undefined);
    await store.close();
  });
});
