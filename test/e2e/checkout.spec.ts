// The whole flow as a payer and a merchant see it: the demo storefront, the script-tag element, the helper and the
// provider sandbox's hosted pages, over real HTTP in the system Chromium.
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.js';
import { buy, configReads, eventLog, expectOrderStatus, paymentPage, PROVIDERS, selectSwitches } from './storefront.js';

for (const provider of PROVIDERS) {
  test.describe(`${provider}`, () => {
    test('paying completes the order: pay-success fires and the orders page shows it paid', async ({ page }) => {
      await selectSwitches(page, { provider, mode: 'modal' });
      const product = await buy(page, 'tea');
      await paymentPage(product).locator('[data-sandbox-action="pay"]').click();

      await expect(eventLog(page, 'pay-success')).toHaveCount(1);
      await expect(product.getByRole('status')).toContainText(/paid|оплачен/i);
      const success = await eventDetail(page, 'pay-success');
      expect(success.session.status).toBe('paid');
      expect(success.session.provider).toBe(provider);
      await expectOrderStatus(page, success.session.id, 'paid');
    });

    test('a failed payment reports pay-error and never pay-success', async ({ page }) => {
      await selectSwitches(page, { provider, mode: 'modal' });
      const product = await buy(page, 'honey');
      await paymentPage(product).locator('[data-sandbox-action="fail"]').click();

      await expect(eventLog(page, 'pay-error')).toHaveCount(1);
      const error = await eventDetail(page, 'pay-error');
      expect(error.code).toBe('failed');
      await expect(eventLog(page, 'pay-success')).toHaveCount(0);
      await expectOrderStatus(page, error.session.id, 'failed');
    });

    test('cancelling on the payment page reports pay-cancel', async ({ page }) => {
      await selectSwitches(page, { provider, mode: 'modal' });
      const product = await buy(page, 'shawl');
      await paymentPage(product).locator('[data-sandbox-action="cancel"]').click();

      await expect(eventLog(page, 'pay-cancel')).toHaveCount(1);
      await expect(eventLog(page, 'pay-success')).toHaveCount(0);
      const cancel = await eventDetail(page, 'pay-cancel');
      await expectOrderStatus(page, cancel.session.id, 'cancelled');
    });

    test('paying another amount puts the order under review, never paid', async ({ page }) => {
      await selectSwitches(page, { provider, mode: 'modal' });
      const product = await buy(page, 'matryoshka');
      await paymentPage(product).locator('[data-sandbox-action="pay-other-amount"]').click();

      await expect(product.getByRole('status')).toContainText(/review|провер/i);
      const status = await lastStatus(page, 'held');
      expect(status.session.status).toBe('held');
      await expectOrderStatus(page, status.session.id, 'held');
      await expect(eventLog(page, 'pay-success')).toHaveCount(0);
    });
  });
}

test('a provider page that refuses framing opens in a popup in auto mode and completes', async ({ page, servers }) => {
  await servers.reconfigureHelper({ SANDBOX_FRAME_DENY: 'repay' });
  try {
    const configs = configReads(page);
    await selectSwitches(page, { provider: 'repay', mode: 'auto' });
    const product = page.locator('[data-product="samovar"]');
    const popupPromise = page.waitForEvent('popup');
    await product.locator('pay-checkout').hover();
    // A payer's click follows the hover's read of /config. A click before its answer cannot know that the provider
    // refuses framing: mode="auto" then shows the modal, which offers the window (docs/element.md).
    await expect.poll(configs).toBe(2);
    await product.getByRole('button', { name: /pay|оплат/i }).click();
    const popup = await popupPromise;
    await popup.locator('[data-sandbox-action="pay"]').click();

    await expect(eventLog(page, 'pay-success')).toHaveCount(1);
    const open = await eventDetail(page, 'pay-open');
    expect(open.mode).toBe('popup');
  } finally {
    await servers.reconfigureHelper({ SANDBOX_FRAME_DENY: '' });
  }
});

test('a popup that a page on the way renamed still reports back and closes', async ({ page }) => {
  await selectSwitches(page, { provider: 'repay', mode: 'popup' });
  const popupPromise = page.waitForEvent('popup');
  await page.locator('[data-product="tea"]').getByRole('button', { name: /pay|оплат/i }).click();
  const popup = await popupPromise;
  await popup.locator('[data-sandbox-action="pay"]').waitFor();
  // A provider's or bank's page may set window.name for its own use.
  await popup.evaluate(() => void (window.name = 'provider-state'));
  const closed = popup.waitForEvent('close');
  await popup.locator('[data-sandbox-action="pay"]').click();

  await closed;
  await expect(eventLog(page, 'pay-return')).toHaveCount(1);
  await expect(eventLog(page, 'pay-success')).toHaveCount(1);
});

test('redirect mode leaves for the payment page and resumes the verified outcome on return', async ({ page }) => {
  await selectSwitches(page, { provider: 'boxexchanger', mode: 'redirect' });
  const product = page.locator('[data-product="tea"]');
  await product.getByRole('button', { name: /pay|оплат/i }).click();
  await page.waitForURL(/\/sandbox\/boxexchanger\//);
  await page.locator('[data-sandbox-action="pay"]').click();

  await page.waitForURL((url) => url.pathname === '/' || url.pathname.endsWith('/index.html'));
  await expect(eventLog(page, 'pay-success')).toHaveCount(1);
  await expect(page.locator('[data-product="tea"]').getByRole('status')).toContainText(/paid|оплачен/i);
  expect(page.url()).not.toContain('#pay-checkout=');
});

test('a storefront tab that another window opened comes back to its page after a redirect payment', async ({ page }) => {
  // The shop opens its checkout with window.open(): the tab has an opener, which is not the element's popup.
  await page.goto('/');
  const opened = page.waitForEvent('popup');
  await page.evaluate(() => void window.open('/', 'checkout'));
  const tab = await opened;
  await selectSwitches(tab, { provider: 'boxexchanger', mode: 'redirect' });
  await tab.locator('[data-product="tea"]').getByRole('button', { name: /pay|оплат/i }).click();
  await tab.waitForURL(/\/sandbox\/boxexchanger\//);
  await tab.locator('[data-sandbox-action="pay"]').click();

  await tab.waitForURL((url) => url.pathname === '/' || url.pathname.endsWith('/index.html'));
  await expect(eventLog(tab, 'pay-success')).toHaveCount(1);
  expect(tab.isClosed()).toBe(false);
  expect(await tab.evaluate(() => window.opener !== null)).toBe(true);
});

test('a held order says what happens next and is not offered again after a reload', async ({ page }) => {
  await selectSwitches(page, { provider: 'repay', mode: 'modal' });
  const product = await buy(page, 'matryoshka');
  await paymentPage(product).locator('[data-sandbox-action="pay-other-amount"]').click();
  await expect(product.getByRole('status')).toContainText(/different amount|другая сумма/i);
  const status = await lastStatus(page, 'held');
  expect(status.session.heldReason).toBe('amount_mismatch');

  await page.reload();
  const again = page.locator('[data-product="matryoshka"]');
  await expect(again.locator('pay-checkout')).toHaveJSProperty('state', 'held');
  await expect(again.getByRole('button', { name: /under review|на проверке/i })).toBeVisible();
  await expect(again.getByRole('button', { name: /^(pay|оплатить)/i })).toHaveCount(0);
  await expect(again.getByRole('status')).toContainText(/different amount|другая сумма/i);
});

test('a reload during payment reuses the same session', async ({ page }) => {
  await selectSwitches(page, { provider: 'repay', mode: 'modal' });
  await buy(page, 'honey');
  const first = await eventDetail(page, 'pay-open');

  await page.reload();
  const product = await buy(page, 'honey');
  const second = await eventDetail(page, 'pay-open');
  expect(second.session.id).toBe(first.session.id);

  await paymentPage(product).locator('[data-sandbox-action="pay"]').click();
  await expect(eventLog(page, 'pay-success')).toHaveCount(1);
});

test('a payment still completes after the helper restarts mid-payment', async ({ page, servers }) => {
  await selectSwitches(page, { provider: 'agetrading', mode: 'modal' });
  const product = await buy(page, 'samovar');
  const open = await eventDetail(page, 'pay-open');
  // The payer is on the payment page when the helper restarts (a restart while the frame is still loading it would
  // kill that very request: the sandbox runs in the helper's process).
  await expect(paymentPage(product).locator('[data-sandbox-action="pay"]')).toBeVisible();

  await servers.restartHelper();
  await paymentPage(product).locator('[data-sandbox-action="pay"]').click();

  await expect(eventLog(page, 'pay-success')).toHaveCount(1);
  const success = await eventDetail(page, 'pay-success');
  expect(success.session.id).toBe(open.session.id);
  await expectOrderStatus(page, open.session.id, 'paid');
});

/** Event details as the storefront logged them (JSON). */
type Detail = any;

/** The detail of the newest logged event of that name. */
async function eventDetail(page: Page, name: string): Promise<Detail> {
  await expect(eventLog(page, name).first()).toBeVisible();
  return JSON.parse((await eventLog(page, name).first().getAttribute('data-detail')) ?? 'null');
}

async function lastStatus(page: Page, status: string): Promise<Detail> {
  const entry = page.locator(`#event-log li[data-event="pay-status"][data-status="${status}"]`).first();
  await expect(entry).toBeAttached();
  return JSON.parse((await entry.getAttribute('data-detail')) ?? 'null');
}

test.describe('sandbox pages speak the element language, not the browser one', () => {
  // An English-speaking browser (Accept-Language: en-US) on a Russian storefront: the element is in Russian.
  test.use({ locale: 'en-US' });

  for (const provider of PROVIDERS) {
    test(`${provider}: the hosted page is in Russian like the element`, async ({ page }) => {
      await selectSwitches(page, { provider, mode: 'modal' });
      const product = await buy(page, 'tea');
      await expect(paymentPage(product).locator('html')).toHaveAttribute('lang', 'ru');
    });
  }
});
