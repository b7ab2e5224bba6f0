// Type-check fixture (npm run typecheck:frameworks): what a React 19 storefront writes, and what must not compile.
import type {} from '../../../src/react.js';
import type { PayCheckout } from '../../../src/pay-checkout.js';
import { useRef } from 'react';

export function Checkout({ orderId, onPaid }: { orderId: string; onPaid: (orderId: string) => void }) {
  const ref = useRef<PayCheckout>(null);
  return (
    <>
      <pay-checkout
        ref={ref}
        order-id={orderId}
        amount={1500}
        currency="RUB"
        provider="repay"
        methods="sbp,card"
        mode="modal"
        locale="en"
        session-url="/api/checkout/sessions"
        return-url="https://shop.example/cart"
        className="buy"
        style={{ width: '100%' }}
        onpay-success={(event) => onPaid(event.detail.session.orderId)}
        onpay-error={(event) => console.warn(event.detail.code, event.detail.retryable)}
        onpay-status={(event) => console.log(event.detail.previous, '→', event.detail.status)}
        onpay-request-close={(event) => event.detail.source === 'backdrop' && event.preventDefault()}
        onpay-close={(event) => console.log(event.detail.status)}
      />
      <pay-checkout order-id="A-1" disabled label="Оплатить заказ" />

      {/* @ts-expect-error order-id is required */}
      <pay-checkout amount="1500" />
      {/* @ts-expect-error not a mode */}
      <pay-checkout order-id="A-1" mode="sideways" />
      {/* @ts-expect-error not a provider */}
      <pay-checkout order-id="A-1" provider="paypal" />
      <pay-checkout
        order-id="A-1"
        // @ts-expect-error pay-success carries { session }, which has no `amountPaid`
        onpay-success={(event) => console.log(event.detail.session.amountPaid)}
      />
      <pay-checkout
        order-id="A-1"
        // @ts-expect-error the close source is 'escape' | 'close-button' | 'backdrop'
        onpay-request-close={(event) => event.detail.source === 'swipe'}
      />
    </>
  );
}
