// Every code the helper can answer with (the contract's HelperErrorCode) reaches the payer as a sentence in each
// built-in language: its own (errors-ru.ts / errors-en.ts) or the one it shares (ERROR_ALIASES in strings.ts).
// The list below must name every code exactly once, or the type check fails; so a code added to the contract fails
// here until it has a sentence.
import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import type { HelperErrorCode } from '../../src/errors.js';
import { helperError, http, part, PayCheckout, useFakeHelper, worker } from './support.js';

const EVERY_HELPER_CODE: Record<HelperErrorCode, true> = {
  invalid_json: true,
  invalid_request: true,
  missing_field: true,
  invalid_field: true,
  unsupported_media_type: true,
  payload_too_large: true,
  unknown_provider: true,
  unknown_method: true,
  invalid_idempotency_key: true,
  idempotency_key_reused: true,
  origin_not_allowed: true,
  return_url_not_allowed: true,
  not_found: true,
  method_not_allowed: true,
  rate_limited: true,
  unknown_order: true,
  order_paid: true,
  order_held: true,
  invalid_order: true,
  order_lookup_failed: true,
  unsupported_currency: true,
  amount_too_small: true,
  amount_too_large: true,
  amount_not_supported: true,
  unauthorized: true,
  unknown_session: true,
  session_not_cancellable: true,
  session_creating: true,
  session_not_held: true,
  session_changed: true,
  delivery_superseded: true,
  delivery_in_flight: true,
  invalid_signature: true,
  stale_notification: true,
  invalid_webhook: true,
  provider_unavailable: true,
  provider_rate_limited: true,
  provider_auth_failed: true,
  provider_not_found: true,
  provider_rejected: true,
  provider_error: true,
  unsupported_payment_method: true,
  invalid_payment_field: true,
  insufficient_reserve: true,
  route_unavailable: true,
  customer_blocked: true,
  merchant_disabled: true,
  previous_request_open: true,
  duplicate_request: true,
  interrupted: true,
  internal_error: true,
};

describe('sentences for the helper\'s codes', () => {
  useFakeHelper();

  it('gives every helper code a sentence in ru and en: its own, or the one its alias names', async () => {
    const { loadStrings, t } = await import('../../src/i18n.js');
    const { ERROR_ALIASES } = await import('../../src/strings.js');
    const aliases: Record<string, string> = ERROR_ALIASES;
    await Promise.all([loadStrings('ru'), loadStrings('en')]);
    for (const locale of ['ru', 'en']) {
      const generic = t(locale, 'error.generic');
      for (const code of Object.keys(EVERY_HELPER_CODE)) {
        const own = t(locale, `error.${code}`);
        const alias = aliases[code];
        expect(!own || !alias, `${code} has a sentence of its own and an alias`).to.equal(true);
        const text = own || (alias ? t(locale, `error.${alias}`) : '');
        expect(text, `${locale} ${code}`).to.not.equal('');
        // Only a code aliased to the generic sentence on purpose shows it.
        if (alias !== 'generic') expect(text, `${locale} ${code}`).to.not.equal(generic);
      }
    }
    // Aliases name helper codes only, and lead to a sentence in one step.
    for (const [code, alias] of Object.entries(aliases)) {
      expect(code in EVERY_HELPER_CODE, code).to.equal(true);
      expect(aliases[alias], `${code} → ${alias}`).to.equal(undefined);
    }
  });

  it('never tells the payer something of a shop-side or provider-side refusal that is not so', async () => {
    const { loadStrings, t } = await import('../../src/i18n.js');
    const { ERROR_ALIASES } = await import('../../src/strings.js');
    const aliases: Record<string, string> = ERROR_ALIASES;
    await loadStrings('en');
    const sentence = (code: string) => t('en', `error.${aliases[code] ?? code}`);
    // The shop's credentials or account: retrying cannot help.
    for (const code of ['provider_auth_failed', 'provider_not_found']) expect(sentence(code), code).to.not.match(/try again/i);
    // The provider's flood limit: the payer made no extra attempts.
    expect(sentence('provider_rate_limited')).to.not.match(/too many attempts/i);
    // A reference the provider saw before: not the payer's unfinished payment.
    expect(sentence('duplicate_request')).to.not.match(/unfinished payment/i);
    // A field the shop sends: not the payment method.
    expect(sentence('invalid_payment_field')).to.not.match(/payment method/i);
  });

  it('says the shared sentence for a code that has none of its own (session_creating)', async () => {
    worker.use(http.post('/api/checkout/sessions', helperError(409, 'session_creating')));
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" mode="modal" locale="en"></pay-checkout>`);
    part<HTMLButtonElement>(el, 'button')!.click();
    const { detail } = await oneEvent(el, 'pay-error');
    expect(detail.code).to.equal('session_creating');
    expect(detail.message).to.equal('You have an unfinished payment. Complete it or wait until it is cancelled.');
    el.close();
  });
});
