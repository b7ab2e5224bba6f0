import { html, nothing, type TemplateResult } from 'lit';

/** What the modal and the inline panel show; built by the checkout flow on each render. */
export interface PanelView {
  title: string;
  amount: string;
  message: string;
  busy: boolean;
  countdown: string;
  frameUrl?: string;
  frameTitle: string;
  /** Shown as "open in a new window" while a payment page exists. */
  paymentUrl?: string;
  newWindowLabel: string;
  closeLabel: string;
  locked: boolean;
  actions: { label: string; run: () => void; primary?: boolean }[];
  onFrameLoad(): void;
  onOpenWindow(event: Event): void;
  onClose(): void;
}

export function headerTemplate(v: PanelView): TemplateResult {
  return html`<header part="header">
    <h2 id="title" tabindex="-1" title=${v.title}>${v.title}</h2>
    ${v.amount ? html`<span class="amount">${v.amount}</span>` : nothing}
    ${v.paymentUrl
      ? html`<a class="new-window" href=${v.paymentUrl} target="_blank" rel="opener" @click=${v.onOpenWindow}>${v.newWindowLabel}</a>`
      : nothing}
    <button part="close-button" type="button" aria-label=${v.closeLabel} ?disabled=${v.locked} @click=${v.onClose}>
      <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true"><path d="M3 3l10 10M13 3L3 13" /></svg>
    </button>
  </header>`;
}

export function bodyTemplate(v: PanelView): TemplateResult {
  return html`<div class="body">
    <div class="state ${v.frameUrl ? 'over' : ''}" ?hidden=${!v.message && !v.actions.length && !v.countdown}>
      ${v.busy ? html`<span class="spinner" aria-hidden="true"></span>` : nothing}
      <p part="status" role="status">${v.message}</p>
      ${v.countdown ? html`<p class="countdown" role="timer" aria-live="off">${v.countdown}</p>` : nothing}
      ${v.actions.length
        ? html`<div class="actions">
            ${v.actions.map(
              (a) => html`<button type="button" class=${a.primary ? 'primary' : ''} @click=${a.run}>${a.label}</button>`,
            )}
          </div>`
        : nothing}
    </div>
    ${v.frameUrl
      ? html`<iframe
          part="frame"
          title=${v.frameTitle}
          src=${v.frameUrl}
          allow="payment; clipboard-write"
          referrerpolicy="origin"
          @load=${v.onFrameLoad}
        ></iframe>`
      : nothing}
  </div>`;
}
