import { expect, fixture, html } from '@open-wc/testing';
import { helper, part, PayCheckout, record, resetHelper, startWorker, worker, hover, focusIntent } from './support.js';

/** Creates the element with a listener attached before it connects, so the very first report is seen. */
async function mount(attrs: Record<string, string>) {
  const el = document.createElement('pay-checkout');
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  const errors = record(el, ['pay-error']);
  const warnings: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    document.body.append(el);
    await el.updateComplete;
    hover(el);
    focusIntent(el);
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    console.warn = warn;
  }
  return { el, errors, warnings };
}

const BAD: [string, Record<string, string>, string][] = [
  ['a missing order-id', {}, 'order-id'],
  ['an empty order-id', { 'order-id': '  ' }, 'order-id'],
  ['an unparsable amount', { 'order-id': 'A-1', amount: '15 руб' }, 'amount'],
  ['a negative amount', { 'order-id': 'A-1', amount: '-5' }, 'amount'],
  ['an unknown mode', { 'order-id': 'A-1', mode: 'fullscreen' }, 'mode'],
  ['an unknown provider', { 'order-id': 'A-1', provider: 'paypal' }, 'provider'],
  ['a bad currency', { 'order-id': 'A-1', currency: 'rubles' }, 'currency'],
  ['bad methods', { 'order-id': 'A-1', methods: 'sbp,<card>' }, 'methods'],
  ['a method outside methods', { 'order-id': 'A-1', methods: 'sbp,card', method: 'crypto' }, 'method'],
  ['an invalid locale', { 'order-id': 'A-1', locale: 'not a locale!' }, 'locale'],
  ['a session-url that is not a URL', { 'order-id': 'A-1', 'session-url': 'http://' }, 'session-url'],
  ['a javascript: session-url', { 'order-id': 'A-1', 'session-url': 'javascript:alert(1)' }, 'session-url'],
  ['a return-url that is not a URL', { 'order-id': 'A-1', 'return-url': 'https://shop .example/' }, 'return-url'],
];

describe('bad configuration', () => {
  before(startWorker);
  beforeEach(() => {
    resetHelper();
    worker.resetHandlers();
  });
  afterEach(() => document.querySelectorAll('pay-checkout').forEach((el) => el.remove()));

  for (const [what, attrs, attr] of BAD) {
    it(`${what}: disabled button with the reason, one invalid_config, one warning, no request`, async () => {
      const { el, errors, warnings } = await mount(attrs);
      const button = part<HTMLButtonElement>(el, 'button')!;
      expect(button.disabled).to.equal(true);
      const reason = part(el, 'status')!.textContent!;
      expect(reason).to.contain(attr);
      expect(button.getAttribute('aria-describedby')).to.equal(part(el, 'status')!.id);
      expect(errors).to.have.length(1);
      expect(errors[0]!.detail).to.deep.equal({ code: 'invalid_config', message: reason, retryable: false });
      expect(warnings).to.have.length(1);
      expect(String(warnings[0]![0])).to.match(/^\[pay-checkout\] /);
      expect(el.state).to.equal('invalid');
      el.open();
      button.click();
      await new Promise((r) => setTimeout(r, 50));
      expect(helper.configs + helper.creates.length + helper.gets).to.equal(0);
      expect(el.shadowRoot!.querySelector('dialog')).to.equal(null);
    });
  }

  for (const [what, attrs] of [
    ['an unparsable amount', { amount: '15 руб' }],
    ['a negative amount', { amount: '-5' }],
    ['an infinite amount', { amount: 'Infinity' }],
    ['a bad currency', { amount: '1500', currency: 'RUBX' }],
  ] as const) {
    it(`${what}: the disabled button says "Pay" without the amount`, async () => {
      const { el } = await mount({ 'order-id': 'A-1', ...attrs });
      expect(el.state).to.equal('invalid');
      expect(part(el, 'button')!.textContent).to.equal('Оплатить');
    });
  }

  it('another bad attribute leaves a valid amount on the disabled button', async () => {
    const { el } = await mount({ 'order-id': 'A-1', amount: '1500', mode: 'fullscreen' });
    expect(part(el, 'button')!.textContent).to.equal('Оплатить 1\u00a0500\u00a0₽');
  });

  it('recovers when the attribute is fixed', async () => {
    const { el, errors } = await mount({ mode: 'modal' });
    el.setAttribute('order-id', 'A-1');
    await el.updateComplete;
    expect(part<HTMLButtonElement>(el, 'button')!.disabled).to.equal(false);
    expect(part(el, 'status')!.textContent).to.equal('');
    expect(el.state).to.equal('idle');
    expect(errors).to.have.length(1);
  });

  it('does not report the same problem twice on re-render', async () => {
    const { el, errors } = await mount({ amount: '12' });
    el.setAttribute('amount', '13');
    el.requestUpdate();
    await el.updateComplete;
    expect(errors).to.have.length(1);
  });

  it('the disabled attribute disables the button without an error', async () => {
    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" disabled></pay-checkout>`);
    expect(part<HTMLButtonElement>(el, 'button')!.disabled).to.equal(true);
    hover(el);
    el.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(helper.configs + helper.creates.length).to.equal(0);
  });

  it('accepts a valid configuration without a report', async () => {
    const { el, errors, warnings } = await mount({ 'order-id': 'A-1', amount: '1500.50', methods: 'sbp,card', method: 'sbp', provider: 'repay', mode: 'popup', 'return-url': '/thanks' });
    expect(errors).to.have.length(0);
    expect(warnings).to.have.length(0);
    expect(el.state).to.equal('idle');
  });
});
