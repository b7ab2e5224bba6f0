import { expect, fixture, html } from '@open-wc/testing';
import { formatMoney } from '../../src/index.js';
import { part, PayCheckout, startWorker } from './support.js';

/** What Intl.NumberFormat itself writes, with the element's options. */
function intl(locale: string, amount: string | number): string {
  const value = Number(amount);
  return new Intl.NumberFormat(locale, { style: 'currency', currency: 'RUB', minimumFractionDigits: Number.isInteger(value) ? 0 : 2 }).format(value);
}

/** Amounts a shop charges, and the edges of the fast path: no decimals, one, two, more; every digit count. */
function amounts(): (string | number)[] {
  const out: (string | number)[] = [0, '0', '0.00', 1, 9, 10, 99, 100, 101, 999, 1000, 1001, 1500, 9999, 10000, 12345, 99999, 100000,
    999999, 1000000, 1234567, 12345678, 123456789, 1e9, 1e12 - 1, 1e12, 9999999999999, 1e13, 1e15, 2 ** 53, 1e21,
    0.5, 0.05, 0.01, 0.1, 0.07, 0.29, 1.005, 1.015, 2.675, 1500.5, '1500.50', '1500.00', '650', '650.1', 1234.56, 99.99,
    0.001, 0.125, 1500.555, 1e-7, 123456.789, -0, -1, -1500.5];
  // A seeded pseudo-random sweep over kopeck amounts and three-decimal amounts of every size.
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 3000; i++) {
    const digits = 1 + Math.floor(next() * 13);
    const whole = Math.floor(next() * 10 ** digits);
    out.push(whole, whole + Math.floor(next() * 100) / 100, `${whole}.${String(Math.floor(next() * 100)).padStart(2, '0')}`);
    out.push(`${whole}.${String(Math.floor(next() * 1000)).padStart(3, '0')}`);
  }
  return out;
}

describe('money', () => {
  before(startWorker);
  // An order paid in an earlier file of this tab would show "Paid" instead of its amount.
  beforeEach(() => sessionStorage.clear());

  for (const locale of ['ru', 'ru-RU', 'en', 'en-US']) {
    it(`rubles in ${locale}: the fast path writes exactly what Intl.NumberFormat writes`, () => {
      const differ = amounts().filter((a) => formatMoney(locale, a, 'RUB') !== intl(locale, a));
      expect(differ.map((a) => `${a}: ${JSON.stringify(formatMoney(locale, a, 'RUB'))} vs ${JSON.stringify(intl(locale, a))}`)).to.deep.equal([]);
    });
  }

  it('uses no-break spaces and the ₽ sign as Intl does', () => {
    expect(formatMoney('ru', 1234567.5, 'RUB')).to.equal('1\u00a0234\u00a0567,50\u00a0₽');
    expect(formatMoney('en', 1234567.5, 'RUB')).to.equal('RUB\u00a01,234,567.50');
  });

  it('renders a ruble button in ru and en without building an Intl.NumberFormat', async () => {
    const Original = Intl.NumberFormat;
    let built = 0;
    // Counts constructions; formatting still works for anything that does reach Intl.
    Intl.NumberFormat = new Proxy(Original, { construct: (target, args) => (built++, Reflect.construct(target, args)) });
    try {
      const ru = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500"></pay-checkout>`);
      const en = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500.5" locale="en"></pay-checkout>`);
      expect(part(ru, 'button')!.textContent).to.equal('Оплатить 1\u00a0500\u00a0₽');
      expect(part(en, 'button')!.textContent).to.equal('Pay RUB\u00a01,500.50');
      expect(built).to.equal(0);
      const eur = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500" currency="EUR" locale="de"></pay-checkout>`);
      expect(part(eur, 'button')!.textContent).to.equal(`Оплатить ${new Original('de', { style: 'currency', currency: 'EUR', minimumFractionDigits: 0 }).format(1500)}`);
      expect(built).to.equal(1);
    } finally {
      Intl.NumberFormat = Original;
    }
  });
});
