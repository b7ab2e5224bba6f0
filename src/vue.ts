/**
 * `<pay-checkout>` in Vue 3 templates, checked by vue-tsc / Volar: its attributes as props (`order-id` or
 * `orderId`) and its events for `@pay-success` and the others, each typed with its `detail`. This is Vue's own
 * recipe for typing custom elements (GlobalComponents with `$props` and `$emit`).
 *
 * Type-only: `import type {} from 'pay-checkout/vue';` once in the project (e.g. in `env.d.ts`). Vue must also
 * be told that the tag is a custom element: `compilerOptions.isCustomElement` (see docs/element.md).
 */
import type { EmitFn, HTMLAttributes, PublicProps } from 'vue';
import type { PayCheckoutEventDetails, PayCheckoutMode, ProviderId } from './events.js';
import type { PayCheckout } from './pay-checkout.js';

/** The element's attributes as Vue props (camelCase here; templates may write them kebab-case). */
export interface PayCheckoutVueProps {
  orderId: string;
  sessionUrl?: string;
  amount?: string | number;
  currency?: string;
  provider?: ProviderId;
  methods?: string;
  method?: string;
  mode?: PayCheckoutMode;
  locale?: string;
  label?: string;
  disabled?: boolean;
  returnUrl?: string;
}

type PayCheckoutEmits = { [K in keyof PayCheckoutEventDetails]: (event: CustomEvent<PayCheckoutEventDetails[K]>) => void };

/** What a template sees: the element, its props and its events. */
export type PayCheckoutVueComponent = new () => PayCheckout & {
  /** @deprecated For template type-checking only; not a property of the element. */
  $props: HTMLAttributes & PayCheckoutVueProps & PublicProps;
  /** @deprecated For template type-checking only; not a method of the element. */
  $emit: EmitFn<PayCheckoutEmits>;
};

declare module 'vue' {
  interface GlobalComponents {
    'pay-checkout': PayCheckoutVueComponent;
  }
}
