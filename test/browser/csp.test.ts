import { expect, fixture, html, oneEvent } from '@open-wc/testing';
import { dialogOf, part, PayCheckout, resetHelper, startWorker, worker, waitUntil } from './support.js';

// This file runs in its own page: the policy added here stays for the page's lifetime.
describe('strict Content-Security-Policy', () => {
  const violations: SecurityPolicyViolationEvent[] = [];

  before(async () => {
    await startWorker();
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e));
    const meta = document.createElement('meta');
    meta.httpEquiv = 'Content-Security-Policy';
    meta.content = "style-src 'self'; object-src 'none'; base-uri 'none'";
    document.head.append(meta);
    resetHelper();
    worker.resetHandlers();
    sessionStorage.clear();
  });

  it('renders, opens the dialog and the picker without injecting inline styles', async () => {
    // A probe proves the policy is active: an inline style attribute is refused.
    const probe = document.createElement('div');
    probe.setAttribute('style', 'color: red');
    document.body.append(probe);
    await waitUntil(() => violations.length > 0, 'the policy is enforced');
    violations.length = 0;
    probe.remove();

    const el = await fixture<PayCheckout>(html`<pay-checkout order-id="A-1" amount="1500" methods="sbp,card" mode="modal"></pay-checkout>`);
    expect(getComputedStyle(part(el, 'button')!).minHeight).to.equal('44px');
    part<HTMLButtonElement>(el, 'button')!.click();
    await waitUntil(() => part(el, 'picker')?.matches(':popover-open'));
    // Placed below the button: by CSS anchor positioning here, by @floating-ui's CSSOM writes elsewhere.
    await waitUntil(() => part(el, 'picker')!.getBoundingClientRect().top > part(el, 'button')!.getBoundingClientRect().bottom);
    part<HTMLElement>(el, 'picker')!.querySelector<HTMLElement>('[role="option"]')!.click();
    await oneEvent(el, 'pay-open');
    expect(getComputedStyle(dialogOf(el)).paddingTop).to.equal('0px');
    el.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(violations.map((v) => `${v.violatedDirective} ${v.sourceFile}`)).to.deep.equal([]);
  });
});
