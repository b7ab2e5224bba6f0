/**
 * The demo shop's catalogue: the source of truth for prices when the helper runs without a merchant
 * `resolveOrder()` hook (`npm start`, `npm run server`). The storefront shows the same data, but the helper never
 * takes a price from the browser: it resolves the amount from the product code inside the order id.
 *
 * Demo order ids are `<sku>-<suffix>` (e.g. `samovar-7f3k2q`): the storefront makes a fresh suffix per visit,
 * so every purchase is its own order and a paid order is never sold twice.
 */
export interface DemoProduct {
  sku: string;
  /** Whole rubles: Repay takes whole rubles only. */
  price: number;
  currency: 'RUB';
  title: { ru: string; en: string };
  description: { ru: string; en: string };
}

export const DEMO_PRODUCTS: readonly DemoProduct[] = [
  {
    sku: 'samovar',
    price: 8900,
    currency: 'RUB',
    title: { ru: 'Самовар «Тульский»', en: 'Tula samovar' },
    description: { ru: 'Электрический, 3 литра, латунь', en: 'Electric, 3 litres, brass' },
  },
  {
    sku: 'tea',
    price: 650,
    currency: 'RUB',
    title: { ru: 'Иван-чай, 200 г', en: 'Ivan-chai, 200 g' },
    description: { ru: 'Ферментированный, с чабрецом', en: 'Fermented, with thyme' },
  },
  {
    sku: 'shawl',
    price: 3400,
    currency: 'RUB',
    title: { ru: 'Павлопосадский платок', en: 'Pavlovo Posad shawl' },
    description: { ru: 'Шерсть, 125 × 125 см', en: 'Wool, 125 × 125 cm' },
  },
  {
    sku: 'matryoshka',
    price: 1250,
    currency: 'RUB',
    title: { ru: 'Матрёшка, 5 мест', en: 'Matryoshka, 5 pieces' },
    description: { ru: 'Ручная роспись, Семёнов', en: 'Hand-painted, Semyonov' },
  },
  {
    sku: 'honey',
    price: 990,
    currency: 'RUB',
    title: { ru: 'Алтайский мёд, 500 г', en: 'Altai honey, 500 g' },
    description: { ru: 'Горное разнотравье', en: 'Mountain wildflowers' },
  },
];

const ORDER_ID = /^([a-z][a-z0-9]*)-([A-Za-z0-9]{4,32})$/;

/** The product a demo order id refers to, or undefined when the id is not a demo order. */
export function findDemoProduct(orderId: string): DemoProduct | undefined {
  const match = ORDER_ID.exec(orderId);
  if (!match) return undefined;
  return DEMO_PRODUCTS.find((product) => product.sku === match[1]);
}
