import { html, nothing, type TemplateResult } from 'lit';
import type { CheckoutHost } from '../checkout/host.js';
import type { CloseSource } from '../events.js';
import { bodyTemplate, headerTemplate, type PanelView } from './panel.js';
import type { Presenter } from './presenter.js';

export interface ModalHandlers {
  onKeydown(event: KeyboardEvent): void;
  onCancel(event: Event): void;
  onNativeClose(): void;
  onBackdrop(event: MouseEvent): void;
}

/**
 * The modal's markup: one native `<dialog>` per element, rendered once the checkout is loaded and reused for every
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

/**
 * The modal presenter: owns the element's dialog (open or not, the page's scroll lock) and routes the payer's
 * ways of closing it (Esc, backdrop) to `requestClose`, which asks `pay-request-close` first.
 */
export class ModalPresenter implements Presenter {
  readonly mode = 'modal';
  /** A window opened from the dialog's header. */
  window?: Window | null;
  #active = false;

  constructor(
    private readonly host: CheckoutHost,
    private readonly requestClose: (source: CloseSource) => void,
  ) {}

  readonly handlers: ModalHandlers = {
    onKeydown: (event) => {
      if (event.key !== 'Escape') return;
      // Handled here rather than by the dialog's own cancel, which Chrome stops honouring preventDefault()
      // for after repeated presses without user activation.
      event.preventDefault();
      event.stopPropagation();
      this.requestClose('escape');
    },
    onCancel: (event) => {
      event.preventDefault();
      this.requestClose('escape');
    },
    onNativeClose: () => {
      // Closed by the browser although we did not agree (a non-cancelable close request): show it again.
      const dialog = this.#dialog();
      if (this.#active && dialog && !dialog.open) dialog.showModal();
    },
    onBackdrop: (event) => {
      if (event.target === event.currentTarget) this.requestClose('backdrop');
    },
  };

  #dialog(): HTMLDialogElement | null {
    return this.host.renderRoot.querySelector('dialog');
  }

  show(): void {
    this.#active = true;
    const dialog = this.#dialog();
    if (!dialog) {
      // First click before the checkout was warm: the dialog exists after this render.
      void this.host.updateComplete.then(() => this.#active && this.show());
      return;
    }
    if (!dialog.open) {
      dialog.showModal();
      lockScroll();
    }
  }

  hide(returnFocus: boolean): void {
    this.#active = false;
    const dialog = this.#dialog();
    if (dialog?.open) {
      dialog.close();
      unlockScroll();
    }
    this.host.requestUpdate();
    if (returnFocus) this.host.focusButton();
  }

  /** Put back in the page after a move, which took the dialog out of the top layer: modal again. */
  reopen(): void {
    const dialog = this.#dialog();
    if (this.#active && dialog?.open) {
      dialog.close();
      dialog.showModal();
    }
  }

  focus(): void {
    if (this.window) this.window.focus();
    else this.show();
  }
}

let scrollLocks = 0;
let savedOverflow = '';

/** Locks page scroll while any modal is open (counted: many elements share the page). CSSOM, so CSP-safe. */
function lockScroll(): void {
  if (scrollLocks++ === 0) {
    savedOverflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = 'hidden';
  }
}

function unlockScroll(): void {
  if (scrollLocks > 0 && --scrollLocks === 0) document.documentElement.style.overflow = savedOverflow;
}
