import { html, type TemplateResult } from 'lit';
import type { CheckoutHost } from '../checkout/host.js';
import { bodyTemplate, headerTemplate, type PanelView } from './panel.js';
import type { Presenter } from './presenter.js';

/** The inline presenter: the payment page in place of the button, with the same header and status as the modal. */
export function inlineTemplate(view: PanelView): TemplateResult {
  return html`<section class="inline sheet" aria-labelledby="title">${headerTemplate(view)}${bodyTemplate(view)}</section>`;
}

/** The panel is rendered in place of the button while this presenter is the element's; hiding brings the button back. */
export class InlinePresenter implements Presenter {
  readonly mode = 'inline';
  window?: Window | null;

  constructor(private readonly host: CheckoutHost) {}

  show(): void {
    this.host.requestUpdate();
    // The panel replaces the button (or the picker) that had the focus, which would fall to the page's body: the
    // panel's title takes it.
    const root = this.host.renderRoot as ShadowRoot;
    if (root.activeElement) void this.host.updateComplete.then(() => root.getElementById('title')?.focus());
  }

  hide(returnFocus: boolean): void {
    // The button is back after the next render.
    this.host.requestUpdate();
    if (returnFocus) void this.host.updateComplete.then(() => this.host.focusButton());
  }

  focus(): void {
    this.window?.focus();
  }
}
