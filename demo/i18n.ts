/**
 * The storefront's own strings (the element has its own dictionary). Russian first; English built in.
 * Static text in the HTML carries `data-i18n="<key>"` (text) or `data-i18n-attr="<attr>:<key>;…"` (attributes)
 * and is rewritten by `applyStaticTexts()` whenever the language switch changes.
 */
import type { EventSource, HeldResolution, SessionStatus } from '../contract/index.js';
import type { ShopOrderStatus } from './merchant-backend.js';

export type Locale = 'ru' | 'en';

/** Keys built at run time from the helper's statuses and event sources, the shop's order statuses and resolutions. */
type ContractKey =
  | `status.${SessionStatus}`
  | `source.${EventSource}`
  | `order.status.${ShopOrderStatus}`
  | `resolve.${HeldResolution}`;

const ru = {
  'brand.name': 'Лавка',
  'brand.tagline': 'Русские вещи с доставкой',
  'skip.products': 'К товарам',
  'skip.orders': 'К заказам',
  'nav.shop': 'Магазин',
  'nav.orders': 'Заказы',
  'nav.label': 'Разделы',
  'badge.sandbox': 'песочница',
  'badge.live': 'боевой',
  'hero.title': 'Подарки с характером',
  'hero.text':
    'Демонстрационная витрина pay-checkout: выберите товар и оплатите его через СБП или картой. Все платежи идут в песочницу провайдеров — деньги не списываются.',
  'switches.title': 'Настройки оплаты',
  'switches.provider': 'Провайдер',
  'switches.method': 'Способ оплаты',
  'switches.mode': 'Режим окна',
  'switches.locale': 'Язык',
  'switches.methodChoose': 'На выбор покупателя',
  'switches.loading': 'загрузка…',
  'switches.configError': 'Не удалось получить настройки помощника (/api/checkout/config). Показаны значения по умолчанию.',
  'mode.auto': 'Авто',
  'mode.modal': 'Модальное окно',
  'mode.inline': 'На странице',
  'mode.popup': 'Всплывающее окно',
  'mode.redirect': 'Переход на страницу оплаты',
  'method.sbp': 'СБП',
  'method.card': 'Банковская карта',
  'products.title': 'Товары',
  'product.order': 'Заказ',
  'product.again': 'Купить ещё раз',
  'product.status': 'Оплата:',
  'product.paidNote': 'Заказ {order} оплачен',
  'product.minAmount': '{provider}: минимальная сумма {amount}',
  'product.frameDeny': '{provider} не разрешает показ во фрейме — откроется новое окно',
  'element.missing':
    'Компонент <pay-checkout> ещё не загружен. Он собирается командой npm start (dist/pay-checkout.js) — страница подхватит его сама.',
  'log.title': 'Журнал событий',
  'log.hint': 'Все DOM-события pay-* со страницы, новые сверху.',
  'log.clear': 'Очистить',
  'log.empty': 'Событий пока нет. Нажмите «Оплатить» у любого товара.',
  'log.count': 'Событий: {n}',
  'log.product': 'Товар',
  'toast.paid': 'Оплата подтверждена: {title}',
  'toast.ordersLink': 'Открыть заказ',
  'toast.error': 'Ошибка оплаты: {title}',
  'toast.cancel': 'Оплата отменена: {title}',
  'toast.dismissed': 'Окно оплаты закрыто, оплату можно продолжить: {title}',
  'footer.text': 'Демо-магазин pay-checkout. Платежи проходят через песочницу провайдеров.',
  'footer.docs': 'Как устроено демо',
  'orders.title': 'Заказы',
  'orders.intro':
    'Каждый заказ дважды. Слева — как его видит магазин: его собственный заказ, который меняют только подписанные вебхуки помощника (бэкенд магазина проверяет их библиотекой standardwebhooks). Справа — журнал помощника: платёжные сессии заказа, вебхуки и IPN провайдеров, опросы статуса, возвраты покупателя.',
  'orders.shopView': 'Магазин · по вебхукам',
  'orders.shopHint': 'Заказ в бэкенде магазина и полученные им вебхуки (webhook-id). «Оплачен» — можно отгружать.',
  'orders.helperView': 'Помощник · журнал платежей',
  'orders.helperHint': 'Платёжные сессии заказа и их журнал событий.',
  'orders.shopUnknown': 'Магазин ещё не знает об этом заказе.',
  'orders.shopNoWebhooks': 'Вебхуков пока не было.',
  'orders.shopError': 'Бэкенд магазина (/shop) недоступен: {error}',
  'orders.paidTwice': 'Заказ оплачен дважды: один из платежей нужно вернуть.',
  'orders.orderAfter': 'заказ после',
  'orders.createdBy.storefront': 'создан витриной при начале покупки',
  'orders.createdBy.webhook': 'создан первым вебхуком',
  'orders.noSessions': 'Платёжных сессий нет.',
  'order.status.new': 'новый, не оплачен',
  'order.status.paid': 'оплачен — отгружаем',
  'order.status.held': 'на проверке — не отгружаем',
  'order.status.failed': 'не оплачен (ошибка)',
  'order.status.cancelled': 'не оплачен (отменён)',
  'order.status.expired': 'не оплачен (истёк)',
  'order.status.refunded': 'деньги возвращены',
  'resolve.title': 'Платёж на проверке: решите его',
  'resolve.status': 'Итог',
  'resolve.paid': 'оплачен',
  'resolve.refunded': 'деньги возвращены',
  'resolve.failed': 'не оплачен',
  'resolve.note': 'Комментарий',
  'resolve.notePlaceholder': 'почему так (обязательно)',
  'resolve.submit': 'Решить',
  'resolve.hint': 'Через бэкенд магазина в API помощника (/merchant/sessions/…/resolve); ключ MERCHANT_API_KEY остаётся на сервере.',
  'resolve.sending': 'Отправляем…',
  'resolve.done': 'Помощник принял решение «{status}»; магазин узнает о нём из вебхука.',
  'resolve.error': 'Не удалось: {error}',
  'resolve.changed': 'Платёж изменился, пока вы его смотрели (или его уже решили): список обновлён, решите заново.',
  'orders.refreshing': 'Обновляется каждые 2 секунды',
  'orders.updatedAt': 'обновлено в {time}',
  'orders.pause': 'Пауза',
  'orders.resume': 'Продолжить',
  'orders.loadError': 'Не удалось загрузить сессии: {error}',
  'orders.empty': 'Заказов пока нет. Купите что-нибудь в магазине — заказ появится здесь.',
  'orders.col.created': 'Создана',
  'orders.col.order': 'Заказ',
  'orders.col.provider': 'Провайдер',
  'orders.col.amount': 'Сумма',
  'orders.col.status': 'Статус',
  'orders.col.events': 'Журнал',
  'orders.paidAmount': 'оплачено {amount}',
  'orders.events': 'Событий: {n}',
  'orders.eventsLoading': 'загрузка журнала…',
  'orders.eventsEmpty': 'Журнал пуст.',
  'orders.eventsError': 'Журнал недоступен: {error}',
  'orders.raw': 'Исходные данные',
  'orders.session': 'Сессия целиком',
  'orders.sessionId': 'Сессия',
  'orders.newEvent': 'новое',
  'sandbox.title': 'Тестовые аккаунты песочницы',
  'sandbox.intro':
    'Как тестовый кабинет провайдера: идентификаторы кассы, секретные слова и ключи API песочницы (GET /sandbox/credentials). Это не секреты — ими можно подписывать запросы к песочнице вручную.',
  'sandbox.error': 'Не удалось получить аккаунты песочницы: {error}',
  'sandbox.copy': 'Копировать',
  'sandbox.copied': 'Скопировано',
  'status.created': 'создана',
  'status.pending': 'ожидает оплаты',
  'status.paid': 'оплачена',
  'status.held': 'на проверке',
  'status.refunded': 'возвращена',
  'status.failed': 'ошибка',
  'status.cancelled': 'отменена',
  'status.expired': 'истекла',
  'source.webhook': 'вебхук',
  'source.poll': 'опрос',
  'source.return': 'редирект',
  'source.manual': 'вручную',
} satisfies Record<ContractKey, string> & Record<string, string>;

export type MessageKey = keyof typeof ru;

const en: Record<MessageKey, string> = {
  'brand.name': 'Lavka',
  'brand.tagline': 'Russian goods, delivered',
  'skip.products': 'Skip to products',
  'skip.orders': 'Skip to orders',
  'nav.shop': 'Shop',
  'nav.orders': 'Orders',
  'nav.label': 'Sections',
  'badge.sandbox': 'sandbox',
  'badge.live': 'live',
  'hero.title': 'Gifts with character',
  'hero.text':
    'The pay-checkout demo storefront: pick a product and pay for it by SBP or card. Every payment goes to the providers’ sandbox — no money moves.',
  'switches.title': 'Payment settings',
  'switches.provider': 'Provider',
  'switches.method': 'Payment method',
  'switches.mode': 'Window mode',
  'switches.locale': 'Language',
  'switches.methodChoose': 'Let the payer choose',
  'switches.loading': 'loading…',
  'switches.configError': 'Could not load the helper settings (/api/checkout/config). Showing defaults.',
  'mode.auto': 'Auto',
  'mode.modal': 'Modal dialog',
  'mode.inline': 'Inline on the page',
  'mode.popup': 'Popup window',
  'mode.redirect': 'Redirect to the payment page',
  'method.sbp': 'SBP (Faster Payments)',
  'method.card': 'Bank card',
  'products.title': 'Products',
  'product.order': 'Order',
  'product.again': 'Buy again',
  'product.status': 'Payment:',
  'product.paidNote': 'Order {order} is paid',
  'product.minAmount': '{provider}: minimum amount {amount}',
  'product.frameDeny': '{provider} refuses framing — a new window will open',
  'element.missing':
    'The <pay-checkout> element is not loaded yet. npm start builds it (dist/pay-checkout.js); this page picks it up by itself.',
  'log.title': 'Event log',
  'log.hint': 'Every pay-* DOM event on this page, newest first.',
  'log.clear': 'Clear',
  'log.empty': 'No events yet. Press “Pay” on any product.',
  'log.count': 'Events: {n}',
  'log.product': 'Product',
  'toast.paid': 'Payment confirmed: {title}',
  'toast.ordersLink': 'View order',
  'toast.error': 'Payment error: {title}',
  'toast.cancel': 'Payment cancelled: {title}',
  'toast.dismissed': 'Payment window closed, the payment can be continued: {title}',
  'footer.text': 'The pay-checkout demo shop. Payments go through the providers’ sandbox.',
  'footer.docs': 'How the demo works',
  'orders.title': 'Orders',
  'orders.intro':
    'Every order twice. Left: how the shop sees it — its own order, changed only by the helper’s signed webhooks (the shop’s backend verifies them with the standardwebhooks library). Right: the helper’s log — the order’s payment sessions, provider webhooks and IPNs, status polls, payer returns.',
  'orders.shopView': 'The shop · from webhooks',
  'orders.shopHint': 'The order in the shop’s backend and the webhooks it received (webhook-id). “Paid” means ship it.',
  'orders.helperView': 'The helper · payment log',
  'orders.helperHint': 'The order’s payment sessions and their event logs.',
  'orders.shopUnknown': 'The shop has not heard of this order yet.',
  'orders.shopNoWebhooks': 'No webhooks yet.',
  'orders.shopError': 'The shop’s backend (/shop) is unavailable: {error}',
  'orders.paidTwice': 'The order was paid twice: one of the payments must be refunded.',
  'orders.orderAfter': 'order after',
  'orders.createdBy.storefront': 'created by the storefront when the purchase started',
  'orders.createdBy.webhook': 'created by its first webhook',
  'orders.noSessions': 'No payment sessions.',
  'order.status.new': 'new, not paid',
  'order.status.paid': 'paid — ship it',
  'order.status.held': 'under review — do not ship',
  'order.status.failed': 'not paid (failed)',
  'order.status.cancelled': 'not paid (cancelled)',
  'order.status.expired': 'not paid (expired)',
  'order.status.refunded': 'refunded',
  'resolve.title': 'Payment under review: settle it',
  'resolve.status': 'Outcome',
  'resolve.paid': 'paid',
  'resolve.refunded': 'refunded',
  'resolve.failed': 'not paid',
  'resolve.note': 'Note',
  'resolve.notePlaceholder': 'why (required)',
  'resolve.submit': 'Resolve',
  'resolve.hint': 'Through the shop’s backend to the helper’s API (/merchant/sessions/…/resolve); the MERCHANT_API_KEY stays on the server.',
  'resolve.sending': 'Sending…',
  'resolve.done': 'The helper took “{status}”; the shop learns of it from the webhook.',
  'resolve.error': 'Failed: {error}',
  'resolve.changed': 'The payment changed while you were looking (or was settled already): the list is updated, decide again.',
  'orders.refreshing': 'Refreshes every 2 seconds',
  'orders.updatedAt': 'updated at {time}',
  'orders.pause': 'Pause',
  'orders.resume': 'Resume',
  'orders.loadError': 'Could not load sessions: {error}',
  'orders.empty': 'No orders yet. Buy something in the shop and the order shows up here.',
  'orders.col.created': 'Created',
  'orders.col.order': 'Order',
  'orders.col.provider': 'Provider',
  'orders.col.amount': 'Amount',
  'orders.col.status': 'Status',
  'orders.col.events': 'Log',
  'orders.paidAmount': 'paid {amount}',
  'orders.events': 'Events: {n}',
  'orders.eventsLoading': 'loading the log…',
  'orders.eventsEmpty': 'The log is empty.',
  'orders.eventsError': 'Log unavailable: {error}',
  'orders.raw': 'Raw data',
  'orders.session': 'Whole session',
  'orders.sessionId': 'Session',
  'orders.newEvent': 'new',
  'sandbox.title': 'Sandbox accounts',
  'sandbox.intro':
    'Like a provider’s test cabinet: the sandbox cashier ids, secret words and API keys (GET /sandbox/credentials). None of this is secret — use it to sign requests to the sandbox by hand.',
  'sandbox.error': 'Could not load the sandbox accounts: {error}',
  'sandbox.copy': 'Copy',
  'sandbox.copied': 'Copied',
  'status.created': 'created',
  'status.pending': 'awaiting payment',
  'status.paid': 'paid',
  'status.held': 'under review',
  'status.refunded': 'refunded',
  'status.failed': 'failed',
  'status.cancelled': 'cancelled',
  'status.expired': 'expired',
  'source.webhook': 'webhook',
  'source.poll': 'poll',
  'source.return': 'return',
  'source.manual': 'manual',
};

const DICTIONARIES: Record<Locale, Record<MessageKey, string>> = { ru, en };

export function isLocale(value: unknown): value is Locale {
  return value === 'ru' || value === 'en';
}

/** The translated message, with `{name}` placeholders filled from `params`. */
export function t(locale: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = DICTIONARIES[locale][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A translation for keys built at run time (statuses, sources); undefined when there is none. */
export function tryT(locale: Locale, key: string): string | undefined {
  return (DICTIONARIES[locale] as Record<string, string>)[key];
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

/** Money the Russian way: `8 900 ₽`; kopecks only when there are some. */
export function formatMoney(locale: Locale, amount: number, currency = 'RUB'): string {
  const whole = Number.isInteger(amount);
  const key = `${locale}|${currency}|${whole}`;
  let format = moneyFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
      style: 'currency',
      currency,
      minimumFractionDigits: whole ? 0 : 2,
      maximumFractionDigits: 2,
    });
    moneyFormats.set(key, format);
  }
  return format.format(amount);
}

export function formatTime(locale: Locale, date: Date, withDate = false): string {
  return new Intl.DateTimeFormat(locale === 'ru' ? 'ru-RU' : 'en-GB', {
    ...(withDate ? { day: '2-digit', month: 'short' } : {}),
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(date);
}

/** Rewrites every `[data-i18n]` text and `[data-i18n-attr]` attribute under `root`. */
export function applyStaticTexts(locale: Locale, root: ParentNode = document): void {
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = node.dataset.i18n as MessageKey;
    if (key in ru) node.textContent = t(locale, key);
  }
  for (const node of root.querySelectorAll<HTMLElement>('[data-i18n-attr]')) {
    for (const pair of (node.dataset.i18nAttr ?? '').split(';')) {
      const [attr, key] = pair.split(':').map((part) => part.trim());
      if (attr && key && key in ru) node.setAttribute(attr, t(locale, key as MessageKey));
    }
  }
}
