import type { HeldSentences } from './i18n.js';
import type { RefusalSentences } from './strings.js';

// The sentences for the helper's refusals and for each reason a payment is held, in Russian: a chunk of their own,
// loaded the first time the helper refuses something, or a payment is held, on a page showing this language (the
// dialog's texts, in strings-ru.ts, come with the checkout flow).
// Shoppers see these, never a provider's raw message. Plain data, registered by the element (see strings-ru.ts).

/**
 * Built-in Russian: a sentence for each helper error code without an alias (strings.ts), for the sentences codes share,
 * and for the element's own `invalid_config` and `bad_response`; and what happens next with a payment held for each
 * reason (`held.<reason>`).
 */
export const strings = {
  'error.unknown_order': 'Заказ не найден.',
  'error.order_paid': 'Этот заказ уже оплачен.',
  'error.order_held': 'Платёж по этому заказу на проверке. Повторно платить не нужно.',
  'error.order_lookup_failed': 'Магазин не смог проверить заказ. Попробуйте чуть позже.',
  'error.invalid_request': 'Не удалось создать платёж: неверный запрос.',
  'error.unsupported_provider': 'Эта платёжная система сейчас недоступна.',
  'error.unsupported_method': 'Этот способ оплаты не поддерживается.',
  'error.amount_too_small': 'Сумма меньше минимальной для этого способа оплаты.',
  'error.amount_too_large': 'Сумма больше максимальной для этого способа оплаты.',
  'error.amount_not_supported': 'Эту сумму нельзя оплатить этим способом. Выберите другой способ или свяжитесь с магазином.',
  'error.provider_unavailable': 'Платёжная система временно недоступна. Попробуйте чуть позже.',
  'error.provider_error': 'Платёжная система не смогла принять этот платёж. Выберите другой способ или свяжитесь с магазином.',
  'error.customer_blocked': 'Оплата временно недоступна. Обратитесь в поддержку магазина.',
  'error.merchant_disabled': 'Магазин временно не принимает оплату.',
  'error.previous_request_open': 'У вас есть незавершённый платёж. Завершите его или дождитесь отмены.',
  'error.rate_limited': 'Слишком много попыток оплатить этот заказ. Попробуйте позже или свяжитесь с магазином.',
  'error.origin_not_allowed': 'Оплата с этого сайта не разрешена.',
  'error.unauthorized': 'Сеанс оплаты устарел. Начните оплату заново.',
  'error.not_found': 'Платёж не найден. Начните оплату заново.',
  'error.invalid_config': 'Оплата на этой странице настроена неверно.',
  'error.bad_response': 'Сервер вернул неожиданный ответ. Попробуйте ещё раз.',
  'held.amount_mismatch':
    'Оплачена другая сумма, чем в заказе. Магазин проверит платёж и свяжется с вами, чтобы принять доплату или вернуть разницу. Повторно платить не нужно.',
  'held.amount_unknown': 'Платёжный сервис не подтвердил сумму. Магазин проверит платёж и сообщит вам результат. Повторно платить не нужно.',
  'held.duplicate_payment': 'Этот заказ уже был оплачен, поэтому магазин вернёт вам этот второй платёж. Повторно платить не нужно.',
  'held.order_changed': 'Заказ изменился, пока шла оплата. Магазин проверит платёж и свяжется с вами. Повторно платить не нужно.',
  'held.provider_review': 'Платёжный сервис проверяет этот платёж. Магазин сообщит вам результат. Повторно платить не нужно.',
} satisfies RefusalSentences & HeldSentences;
