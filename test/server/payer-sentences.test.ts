// What the element tells a payer of each helper refusal must agree with what the helper says of it: a refusal the
// helper marks as not retryable gets no "try again" button, so its sentence must not send the payer to one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckoutError, ERROR_CODES, type ErrorCode } from '../../server-example/errors.js';
import { strings as en } from '../../src/errors-en.js';
import { strings as ru } from '../../src/errors-ru.js';
import { ERROR_ALIASES } from '../../src/strings.js';

const aliases: Partial<Record<string, string>> = ERROR_ALIASES;
const sentences: Record<string, Record<string, string>> = { en, ru };
const TRY_AGAIN: Record<string, RegExp> = { en: /try again/i, ru: /попробуйте/i };

describe('the payer\'s sentence for each helper refusal', () => {
  it('never asks to try again when the helper says trying again will not help', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    let checked = 0;
    for (const code of codes) {
      const sentence = aliases[code] ?? code;
      // The generic fallback speaks of no refusal in particular.
      if (sentence === 'generic' || new CheckoutError(code, '').retryable) continue;
      for (const locale of ['en', 'ru']) {
        const text = sentences[locale]![`error.${sentence}`];
        assert.ok(text, `${locale}: ${code} has a sentence`);
        assert.doesNotMatch(text, TRY_AGAIN[locale]!, `${locale}: ${code} (${sentence})`);
        checked++;
      }
    }
    assert.ok(checked > 40, `${checked} sentences checked`);
  });

  it('tells a payer whose amount the provider refuses that it is the amount, not the method', () => {
    for (const locale of ['en', 'ru']) {
      assert.equal(aliases.amount_not_supported, undefined);
      assert.match(sentences[locale]!['error.amount_not_supported']!, locale === 'en' ? /amount/ : /сумм/i);
    }
  });
});
