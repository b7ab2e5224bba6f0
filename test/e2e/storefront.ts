// How a payer drives the demo storefront: its switches, a product's pay button, the provider page in the modal,
// the live event log and the orders page. Selectors are the storefront's documented test hooks (demo/shop.ts).
import { expect, type Locator, type Page } from '@playwright/test';

export const PROVIDERS = ['repay', 'boxexchanger', 'agetrading'] as const;
export type ProviderId = (typeof PROVIDERS)[number];
export type Mode = 'auto' | 'modal' | 'inline' | 'popup' | 'redirect';

export async function selectSwitches(page: Page, options: { provider: ProviderId; mode: Mode; method?: string }) {
  await page.goto('/');
  await expect(page.locator('#provider-switch option')).not.toHaveCount(0);
  await page.locator('#provider-switch').selectOption(options.provider);
  await page.locator('#mode-switch').selectOption(options.mode);
  await page.locator('#method-switch').selectOption(options.method ?? 'sbp');
}

/** How many `/config` reads the page has had answered from now on: the storefront's own and the element's. */
export function configReads(page: Page): () => number {
  let reads = 0;
  page.on('response', (response) => {
    if (response.ok() && new URL(response.url()).pathname.endsWith('/config')) reads++;
  });
  return () => reads;
}

/** Clicks the product's pay button and waits for the payment page to be shown; returns the product card. */
export async function buy(page: Page, sku: string): Promise<Locator> {
  const product = page.locator(`[data-product="${sku}"]`);
  await product.getByRole('button', { name: /pay|оплат/i }).click();
  await expect(eventLog(page, 'pay-open').first()).toBeAttached();
  return product;
}

/** The provider's hosted page inside the element's modal. */
export function paymentPage(product: Locator) {
  return product.locator('iframe[part="frame"]').contentFrame();
}

export function eventLog(page: Page, name: string): Locator {
  return page.locator(`#event-log li[data-event="${name}"]`);
}

/** The orders page (in a second tab) shows the session with that status. */
export async function expectOrderStatus(page: Page, sessionId: string, status: string) {
  const orders = await page.context().newPage();
  try {
    await orders.goto('/orders.html');
    await expect(orders.locator(`[data-session-id="${sessionId}"] [data-status]`)).toHaveAttribute('data-status', status);
  } finally {
    await orders.close();
  }
}
