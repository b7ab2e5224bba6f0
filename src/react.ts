/**
 * `<pay-checkout>` in React 19 TSX: attributes as in HTML (kebab-case) and one `onpay-*` prop per event.
 * React 19 passes a prop to a custom element as a property when the element has one (`amount`, `disabled`…),
 * else as an attribute (`order-id`), and turns `onpay-success={fn}` into `addEventListener('pay-success', fn)`.
 *
 * Type-only: `import type {} from 'pay-checkout/react';` once in the project (or list it in `compilerOptions.types`).
 * @example <pay-checkout order-id="A-1001" amount={1500} onpay-success={(e) => navigate(`/thanks/${e.detail.session.orderId}`)} />
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { PayCheckoutEventDetails, PayCheckoutMode, ProviderId } from './events.js';
import type { PayCheckout } from './pay-checkout.js';

/** The element's attributes, kebab-case as in HTML. Only `order-id` is required. */
export interface PayCheckoutAttributes {
  'order-id': string;
  'session-url'?: string;
  amount?: string | number;
  currency?: string;
  provider?: ProviderId;
  methods?: string;
  method?: string;
  mode?: PayCheckoutMode;
  locale?: string;
  label?: string;
  disabled?: boolean;
  'return-url'?: string;
}

/** `onpay-open`, `onpay-success`, … each typed with its event's `detail`. */
export type PayCheckoutEventProps = {
  [K in keyof PayCheckoutEventDetails as `on${K}`]?: (event: CustomEvent<PayCheckoutEventDetails[K]>) => void;
};

/** Every prop `<pay-checkout>` takes in TSX: the usual HTML ones (`className`, `style`, `ref`…), its attributes and events. */
export type PayCheckoutProps = Omit<DetailedHTMLProps<HTMLAttributes<PayCheckout>, PayCheckout>, keyof PayCheckoutAttributes> &
  PayCheckoutAttributes &
  PayCheckoutEventProps;

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- React 19 reads intrinsic elements from React.JSX
  namespace JSX {
    interface IntrinsicElements {
      'pay-checkout': PayCheckoutProps;
    }
  }
}
