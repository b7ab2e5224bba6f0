import { html, type TemplateResult } from 'lit';
import { bodyTemplate, headerTemplate, type PanelView } from './panel.js';

/** The inline presenter: the payment page in place of the button, with the same header and status as the modal. */
export function inlineTemplate(view: PanelView): TemplateResult {
  return html`<section class="inline sheet" aria-labelledby="title">${headerTemplate(view)}${bodyTemplate(view)}</section>`;
}
