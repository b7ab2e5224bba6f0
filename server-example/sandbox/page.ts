/**
 * The hosted payment page shared by the three simulated providers: what a payer sees on a real P2P page (provider,
 * amount, requisites to transfer to, countdown), in Russian or English, plus the buttons tests drive:
 * `[data-sandbox-action="pay" | "fail" | "cancel" | "pay-other-amount"]`. The buttons submit a plain form; the only
 * script is the countdown, allowed by the page's CSP nonce.
 */
import { formatMoney, type Locale, type Requisites, type SandboxProviderName } from './common.js';

export type SandboxAction = 'pay' | 'fail' | 'cancel' | 'pay-other-amount';
export const SANDBOX_ACTIONS: readonly SandboxAction[] = ['pay', 'fail', 'cancel', 'pay-other-amount'];

/** The button a hosted-page form was submitted with; undefined for anything else. */
export const pageAction = (value: string | undefined): SandboxAction | undefined =>
  SANDBOX_ACTIONS.find((action) => action === value);

export type PageState = 'searching' | 'open' | 'checking' | 'paid' | 'failed' | 'cancelled' | 'expired' | 'banned' | 'review';

export interface PageModel {
  provider: SandboxProviderName;
  locale: Locale;
  nonce: string;
  amount: number;
  /** What was actually paid, when it differs from `amount`. */
  paidAmount?: number;
  currency?: string;
  /** Payment reference shown to the payer (order / deal / request number). */
  reference: string;
  requisites: Requisites | null;
  expiresAt: number;
  now: number;
  state: PageState;
  /** Raw provider status, shown small for the curious. */
  providerStatus: string;
  actions: readonly SandboxAction[];
  actionUrl: string;
  hidden: Record<string, string>;
  /** "Back to the shop" link on a finished page. */
  returnUrl?: string;
  note?: string;
}

const BRAND: Record<SandboxProviderName, { name: string; color: string }> = {
  repay: { name: 'Repay', color: '#4f46e5' },
  boxexchanger: { name: 'BoxExchanger', color: '#0e9f6e' },
  agetrading: { name: 'age.trading', color: '#e8590c' },
};

const TEXT = {
  ru: {
    title: 'Оплата',
    sandbox: 'Тестовый режим',
    toPay: 'К оплате',
    order: 'Платёж № ',
    instructions: 'Переведите точную сумму одним платежом по реквизитам ниже. Комиссию банка оплачивает отправитель.',
    searching: 'Подбираем реквизиты для перевода…',
    card: 'Номер карты',
    phone: 'Номер телефона (СБП)',
    bank: 'Банк получателя',
    holder: 'Получатель',
    timeLeft: 'Оплатите в течение',
    expiredNow: 'Время на оплату истекло',
    pay: 'Я оплатил',
    payOther: 'Оплатил другую сумму',
    otherLabel: 'Сумма, которую вы перевели, ₽',
    fail: 'Платёж не прошёл',
    cancel: 'Отменить платёж',
    checking: 'Проверяем ваш платёж. Обычно это занимает несколько минут.',
    paid: 'Платёж получен. Спасибо!',
    review: 'Платёж на проверке: переведённая сумма отличается от суммы заказа.',
    failed: 'Платёж не прошёл.',
    cancelled: 'Платёж отменён.',
    expired: 'Время на оплату истекло, платёж отменён.',
    banned: 'Платёж отменён: слишком много отменённых платежей подряд. Попробуйте позже.',
    paidAmount: 'Оплачено',
    back: 'Вернуться в магазин',
    status: 'Статус у провайдера',
  },
  en: {
    title: 'Payment',
    sandbox: 'Test mode',
    toPay: 'Amount due',
    order: 'Payment #',
    instructions: 'Transfer the exact amount in one payment to the details below. Bank fees are paid by the sender.',
    searching: 'Finding payment details for your transfer…',
    card: 'Card number',
    phone: 'Phone number (SBP)',
    bank: 'Recipient bank',
    holder: 'Recipient',
    timeLeft: 'Pay within',
    expiredNow: 'The time to pay has run out',
    pay: 'I have paid',
    payOther: 'I paid another amount',
    otherLabel: 'Amount you transferred, RUB',
    fail: 'Payment failed',
    cancel: 'Cancel payment',
    checking: 'We are checking your payment. This usually takes a few minutes.',
    paid: 'Payment received. Thank you!',
    review: 'Payment under review: the amount transferred differs from the order amount.',
    failed: 'The payment failed.',
    cancelled: 'The payment was cancelled.',
    expired: 'The time to pay ran out; the payment was cancelled.',
    banned: 'Payment cancelled: too many cancelled payments in a row. Please try again later.',
    paidAmount: 'Paid',
    back: 'Back to the shop',
    status: 'Provider status',
  },
} as const;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function countdownText(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}

export function renderPaymentPage(model: PageModel): string {
  const t = TEXT[model.locale];
  const brand = BRAND[model.provider];
  const currency = model.currency ?? 'RUB';
  const money = formatMoney(model.amount, model.locale, currency);
  const open = model.state === 'open' || model.state === 'searching' || model.state === 'checking';
  const remaining = model.expiresAt - model.now;

  const statusText: Partial<Record<PageState, string>> = {
    checking: t.checking,
    paid: t.paid,
    review: t.review,
    failed: t.failed,
    cancelled: t.cancelled,
    expired: t.expired,
    banned: t.banned,
  };
  const message = statusText[model.state];
  const tone =
    model.state === 'paid' ? 'ok' : model.state === 'checking' || model.state === 'review' ? 'info' : 'bad';

  const requisites =
    model.state === 'searching'
      ? `<p class="searching" role="status">${escapeHtml(t.searching)}</p>`
      : model.requisites && open
        ? `<dl class="requisites">
        <div><dt>${escapeHtml(model.requisites.kind === 'card' ? t.card : t.phone)}</dt>
          <dd class="number" data-sandbox-requisites>${escapeHtml(model.requisites.number)}</dd></div>
        <div><dt>${escapeHtml(t.bank)}</dt><dd data-sandbox-bank>${escapeHtml(model.requisites.bank[model.locale])}</dd></div>
        <div><dt>${escapeHtml(t.holder)}</dt><dd>${escapeHtml(model.requisites.holder[model.locale])}</dd></div>
      </dl>`
        : '';

  const hidden = Object.entries(model.hidden)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('');
  const has = (action: SandboxAction) => open && model.actions.includes(action);
  const otherDefault = Math.max(1, Math.floor(model.amount * 0.9));
  const buttons = open && model.actions.length
    ? `<form method="post" action="${escapeHtml(model.actionUrl)}" class="actions">${hidden}
        ${has('pay') ? `<button type="submit" name="action" value="pay" class="primary" data-sandbox-action="pay">${escapeHtml(t.pay)}</button>` : ''}
        ${has('pay-other-amount') ? `<div class="other"><label for="other-amount">${escapeHtml(t.otherLabel)}</label>
          <input id="other-amount" name="other_amount" inputmode="decimal" value="${otherDefault}">
          <button type="submit" name="action" value="pay-other-amount" data-sandbox-action="pay-other-amount">${escapeHtml(t.payOther)}</button></div>` : ''}
        <div class="row">
        ${has('fail') ? `<button type="submit" name="action" value="fail" data-sandbox-action="fail">${escapeHtml(t.fail)}</button>` : ''}
        ${has('cancel') ? `<button type="submit" name="action" value="cancel" class="link" data-sandbox-action="cancel">${escapeHtml(t.cancel)}</button>` : ''}
        </div>
      </form>`
    : '';

  const countdown = open && model.state !== 'checking'
    ? `<p class="timer">${escapeHtml(t.timeLeft)} <time data-countdown data-expires-in="${Math.max(0, remaining)}" data-expired-text="${escapeHtml(t.expiredNow)}" datetime="${new Date(model.expiresAt).toISOString()}">${countdownText(remaining)}</time></p>`
    : '';

  return `<!doctype html>
<html lang="${model.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(`${t.title} · ${brand.name}`)}</title>
<style nonce="${model.nonce}">
  :root { --brand: ${brand.color}; color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #f3f4f6; color: #111827; }
  @media (prefers-color-scheme: dark) { body { background: #111318; color: #e5e7eb; } .card { background: #1b1e25 !important; } dd.number { background: #262a33 !important; } }
  main { max-width: 440px; margin: 0 auto; padding: 16px; }
  .card { background: #fff; border-radius: 14px; padding: 20px; box-shadow: 0 1px 3px rgb(0 0 0 / .08); }
  header { display: flex; align-items: center; justify-content: space-between; margin-bottom: 12px; }
  .brand { font-weight: 700; font-size: 1.15rem; color: var(--brand); }
  .badge { font-size: .75rem; border: 1px solid currentColor; border-radius: 999px; padding: 2px 8px; opacity: .7; }
  .amount { font-size: 2rem; font-weight: 700; margin: 4px 0 2px; }
  .muted { opacity: .7; font-size: .875rem; margin: 0; }
  .requisites { margin: 16px 0; display: grid; gap: 10px; }
  .requisites div { display: grid; gap: 2px; }
  dt { font-size: .8rem; opacity: .7; } dd { margin: 0; font-weight: 600; }
  dd.number { font-family: ui-monospace, monospace; font-size: 1.2rem; letter-spacing: .04em; background: #f3f4f6; border-radius: 8px; padding: 8px 10px; }
  .timer { font-size: .95rem; } time { font-variant-numeric: tabular-nums; font-weight: 700; }
  .notice { border-radius: 10px; padding: 12px; margin: 12px 0; }
  .notice.ok { background: #dcfce7; color: #14532d; } .notice.bad { background: #fee2e2; color: #7f1d1d; } .notice.info { background: #e0e7ff; color: #1e1b4b; }
  .actions { display: grid; gap: 10px; margin-top: 16px; }
  .other { display: grid; gap: 6px; border-top: 1px solid rgb(0 0 0 / .08); padding-top: 10px; }
  .other input { font: inherit; padding: 8px; border-radius: 8px; border: 1px solid #9ca3af; }
  .row { display: flex; gap: 10px; flex-wrap: wrap; }
  button { font: inherit; padding: 10px 14px; border-radius: 10px; border: 1px solid #9ca3af; background: transparent; color: inherit; cursor: pointer; }
  button.primary { background: var(--brand); color: #fff; border-color: var(--brand); font-weight: 600; }
  button.link { border-color: transparent; text-decoration: underline; }
  button:focus-visible, a:focus-visible { outline: 3px solid var(--brand); outline-offset: 2px; }
  .status { font-size: .75rem; opacity: .6; margin-top: 16px; }
  a.back { display: inline-block; margin-top: 8px; color: var(--brand); font-weight: 600; }
</style>
</head>
<body>
<main>
  <div class="card" data-sandbox-provider="${model.provider}" data-sandbox-state="${model.state}">
    <header><span class="brand">${escapeHtml(brand.name)}</span><span class="badge">${escapeHtml(t.sandbox)}</span></header>
    <p class="muted">${escapeHtml(t.toPay)}</p>
    <p class="amount" data-sandbox-amount="${model.amount}">${escapeHtml(money)}</p>
    <p class="muted">${escapeHtml(t.order)}${escapeHtml(model.reference)}</p>
    ${model.paidAmount !== undefined && model.paidAmount !== model.amount ? `<p class="muted">${escapeHtml(t.paidAmount)}: <strong data-sandbox-paid-amount="${model.paidAmount}">${escapeHtml(formatMoney(model.paidAmount, model.locale, currency))}</strong></p>` : ''}
    ${message ? `<div class="notice ${tone}" role="status">${escapeHtml(message)}</div>` : ''}
    ${open && model.state !== 'checking' && model.state !== 'searching' ? `<p>${escapeHtml(t.instructions)}</p>` : ''}
    ${requisites}
    ${countdown}
    ${model.note ? `<p class="muted">${escapeHtml(model.note)}</p>` : ''}
    ${buttons}
    ${!open && model.returnUrl ? `<a class="back" href="${escapeHtml(model.returnUrl)}">${escapeHtml(t.back)}</a>` : ''}
    <p class="status">${escapeHtml(t.status)}: <code data-sandbox-status>${escapeHtml(model.providerStatus)}</code></p>
  </div>
</main>
${countdown ? `<script nonce="${model.nonce}">
(() => {
  const el = document.querySelector('[data-countdown]');
  if (!el) return;
  const end = Date.now() + Number(el.getAttribute('data-expires-in'));
  const pad = (n) => String(n).padStart(2, '0');
  const tick = () => {
    const left = Math.max(0, Math.floor((end - Date.now()) / 1000));
    el.textContent = pad(Math.floor(left / 60)) + ':' + pad(left % 60);
    if (left === 0) {
      clearInterval(timer);
      el.textContent = el.getAttribute('data-expired-text');
      setTimeout(() => location.reload(), 1500);
    }
  };
  const timer = setInterval(tick, 1000);
})();
</script>` : ''}
</body>
</html>`;
}
