/** The default `resolveOrder()` when the merchant supplies none: prices come from the demo catalogue. */
import { findDemoProduct } from './demo-catalogue.js';
import type { ResolveOrder } from './types.js';

export const demoResolveOrder: ResolveOrder = (orderId) => {
  const product = findDemoProduct(orderId);
  if (!product) return null;
  return { amount: product.price, currency: product.currency, description: product.title.ru };
};
