import type { PayCheckoutStrings } from './i18n.js';

// The dialog's texts and the sentences for errors that need no helper (no network, a timeout, a blocked popup, a
// failed or expired payment), in Russian; loaded with the checkout flow only on pages that show this language (each
// language is its own chunk; the helper's refusals and the held reasons' sentences are in errors-ru.ts). Shoppers see these, never a provider's raw message.
// Plain data, registered by the element: the package is marked free of side effects, so a module that only
// registered itself on import would be dropped by bundlers.

/** Built-in Russian: the dialog and its states (the button's strings are in i18n.ts, the helper's refusals in errors-ru.ts). */
export const strings = {
  title: 'Заказ {order}',
  close: 'Закрыть',
  newWindow: 'Открыть в новом окне',
  frameTitle: 'Платёжная страница {provider}',
  creating: 'Создаём платёж…',
  loading: 'Загружаем платёжную страницу…',
  waiting: 'Ожидаем подтверждения оплаты.',
  waitingWindow: 'Завершите оплату в открывшемся окне. Мы ждём подтверждения.',
  notFrameable: 'Страница оплаты открывается в отдельном окне.',
  openPage: 'Перейти к оплате',
  confirming: 'Проверяем оплату…',
  redirecting: 'Переходим на страницу оплаты…',
  paid: 'Заказ оплачен. Спасибо!',
  held: 'Платёж на проверке: магазин проверит его и сообщит вам результат. Повторно платить не нужно.',
  refunded: 'Платёж возвращён.',
  failed: 'Платёж не прошёл.',
  expired: 'Время на оплату истекло.',
  cancelled: 'Платёж отменён.',
  timeLeft: 'Осталось {time}',
  retry: 'Попробовать снова',
  done: 'Готово',
  showWindow: 'Показать окно оплаты',
  chooseMethod: 'Способ оплаты',
  'error.network_error': 'Нет связи с сервером. Проверьте подключение к интернету.',
  'error.timeout': 'Сервер не ответил вовремя. Попробуйте ещё раз.',
  'error.popup_blocked': 'Браузер не открыл окно оплаты, переходим на страницу оплаты.',
  'error.failed': 'Платёж не прошёл. Попробуйте ещё раз.',
  'error.expired': 'Время на оплату истекло. Начните оплату заново.',
  'error.generic': 'Что-то пошло не так. Попробуйте ещё раз.',
} satisfies Partial<PayCheckoutStrings>;

/** The sentences for the helper's refusals in this language: a chunk of their own, loaded with the first refusal. */
export const errors = () => import('./errors-ru.js');
