/** The default `resolveOrder()` when the merchant supplies none: prices come from the demo catalogue. */
import { findDemoProduct } from './demo-catalogue.js';
import type { ResolveOrder } from './types.js';

export const demoResolveOrder: ResolveOrder = (orderId, { locale } = {}) => {
  const product = findDemoProduct(orderId);
  if (!product) return null;
  // In the element's language: the dialog's header shows it. (A session reused after a switch keeps its first one.)
  return { amount: product.price, currency: product.currency, description: product.title[locale?.toLowerCase().startsWith('en') ? 'en' : 'ru'] };
};
