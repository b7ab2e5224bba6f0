import { html, nothing, type TemplateResult } from 'lit';
import { bodyTemplate, headerTemplate, type PanelView } from './panel.js';

export interface ModalHandlers {
  onKeydown(event: KeyboardEvent): void;
  onCancel(event: Event): void;
  onNativeClose(): void;
  onBackdrop(event: MouseEvent): void;
}

/**
 * The modal presenter: one native `<dialog>` per element, rendered once the flow is loaded and reused for every
 * opening, so the click can call `showModal()` synchronously. Focus containment, the inert page and Esc come
 * from the platform. Full-screen sheet at ≤ 640 px (styles).
 */
export function modalTemplate(view: PanelView | undefined, h: ModalHandlers): TemplateResult {
  return html`<dialog
    part="dialog"
    aria-labelledby="title"
    @keydown=${h.onKeydown}
    @cancel=${h.onCancel}
    @close=${h.onNativeClose}
    @click=${h.onBackdrop}
  >
    ${view ? html`<div class="sheet">${headerTemplate(view)}${bodyTemplate(view)}</div>` : nothing}
  </dialog>`;
}

let scrollLocks = 0;
let savedOverflow = '';

/** Locks page scroll while any modal is open (counted: many elements share the page). CSSOM, so CSP-safe. */
export function lockScroll(): void {
  if (scrollLocks++ === 0) {
    savedOverflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = 'hidden';
  }
}

export function unlockScroll(): void {
  if (scrollLocks > 0 && --scrollLocks === 0) document.documentElement.style.overflow = savedOverflow;
}
