import { css, html, nothing, type TemplateResult } from 'lit';
import type { CheckoutHost } from './checkout/host.js';

export interface PickerItem {
  id: string;
  label: string;
}

// Loaded with the picker only. Its colours and font come from the panel styles' first rule (./presenters/styles.ts),
// which the checkout flow adopts before it creates a picker.
const pickerStyles = css`
[part~=picker] { position: fixed; inset: auto; z-index: var(--pay-checkout-z-index, 1000); box-sizing: border-box; min-width: 12rem; margin: 0; padding: .25rem; border: 1px solid var(--_line); border-radius: var(--_radius); box-shadow: 0 12px 32px #0003 }
[role=option] { padding: .625rem .75rem; border-radius: calc(var(--_radius) - 4px); cursor: pointer }
[role=option]:is(:hover, :focus) { outline: none; background: color-mix(in srgb, var(--_accent) 14%, transparent) }
[role=option]:focus-visible { outline: 2px solid var(--_accent); outline-offset: -2px }
[role=option][aria-selected=true] { font-weight: 600 }
[part~=button] { anchor-name: --pay-checkout-button }
[part~=picker].anchored { position-anchor: --pay-checkout-button; position-area: block-end span-inline-end; margin-block-start: 6px; position-try-fallbacks: flip-block, flip-inline, flip-block flip-inline }
`;

/**
 * The method picker: a listbox popover anchored to the button. Top layer (`popover="manual"`) so no
 * `overflow: hidden` ancestor clips it. Where the browser has CSS anchor positioning, the browser itself keeps
 * it below the button (flipping above or leftwards when there is no room) through scrolls and resizes, and
 * no positioning code is loaded. Elsewhere @floating-ui/dom (flip / shift) positions it, loaded only then, and
 * it is repositioned on any scroll or resize. (Scroll and resize listeners instead of `autoUpdate`: a fixed
 * top-layer list only moves when the anchor does, and it saves a kilobyte.)
 * Keyboard: arrows, Home / End, Enter / Space to choose, Esc and Tab to dismiss; a click outside dismisses.
 */
export class MethodPicker {
  /** @internal whether CSS anchor positioning is used; tests turn it off to exercise the fallback */
  static cssAnchors = typeof CSS !== 'undefined' && CSS.supports('anchor-name: --x');

  open = false;
  #items: PickerItem[] = [];
  #active = 0;
  #ac?: AbortController;
  #anchored = false;

  constructor(
    private readonly host: CheckoutHost,
    private readonly onPick: (id: string) => void,
  ) {
    const root = host.shadowRoot;
    const sheet = pickerStyles.styleSheet;
    if (root && sheet && !root.adoptedStyleSheets.includes(sheet)) {
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    }
  }

  async show(items: PickerItem[], selected?: string): Promise<void> {
    if (this.open) return;
    this.#items = items;
    this.#active = Math.max(0, items.findIndex((item) => item.id === selected));
    this.#anchored = MethodPicker.cssAnchors;
    this.open = true;
    this.host.requestUpdate();
    await this.host.updateComplete;
    const list = this.#list();
    const anchor = this.host.renderRoot.querySelector<HTMLElement>('[part~="button"]');
    if (!this.open || !list || !anchor) return;
    const signal = (this.#ac = new AbortController()).signal;
    list.showPopover();
    document.addEventListener(
      'pointerdown',
      (event) => {
        const path = event.composedPath();
        if (!path.includes(list) && !path.includes(anchor)) this.hide(false);
      },
      { capture: true, signal },
    );
    this.#focus();
    if (!this.#anchored) await this.#float(anchor, list, signal);
  }

  /** Positions the list with @floating-ui/dom, loaded here: browsers without CSS anchor positioning only. */
  async #float(anchor: HTMLElement, list: HTMLElement, signal: AbortSignal): Promise<void> {
    const { computePosition, flip, offset, shift } = await import('@floating-ui/dom');
    if (signal.aborted) return;
    const place = (): void =>
      void computePosition(anchor, list, {
        strategy: 'fixed',
        placement: 'bottom-start',
        middleware: [offset(6), flip(), shift({ padding: 8 })],
      }).then(({ x, y }) => {
        // CSSOM property writes, not a style attribute: allowed under a strict CSP
        list.style.left = `${x}px`;
        list.style.top = `${y}px`;
      });
    place();
    // Capture: scrolling any ancestor of the anchor moves it.
    window.addEventListener('scroll', place, { capture: true, passive: true, signal });
    window.addEventListener('resize', place, { passive: true, signal });
  }

  hide(returnFocus = true): void {
    if (!this.open) return;
    this.open = false;
    this.#ac?.abort();
    const list = this.#list();
    if (list?.matches(':popover-open')) list.hidePopover();
    this.host.requestUpdate();
    if (returnFocus) this.host.focusButton();
  }

  render(label: string): TemplateResult | typeof nothing {
    if (!this.open) return nothing;
    return html`<div part="picker" class=${this.#anchored ? 'anchored' : ''} role="listbox" popover="manual" aria-label=${label} @keydown=${this.#onKeydown}>
      ${this.#items.map(
        (item, i) =>
          html`<div
            role="option"
            id=${`option-${item.id}`}
            tabindex="-1"
            aria-selected=${i === this.#active}
            @click=${() => this.#pick(item.id)}
          >${item.label}</div>`,
      )}
    </div>`;
  }

  #list(): HTMLElement | null {
    return this.host.renderRoot.querySelector<HTMLElement>('[part~="picker"]');
  }

  #focus(): void {
    this.#list()?.querySelectorAll<HTMLElement>('[role="option"]')[this.#active]?.focus();
  }

  #pick(id: string): void {
    this.hide();
    this.onPick(id);
  }

  #onKeydown = (event: KeyboardEvent): void => {
    const count = this.#items.length;
    const moves: Record<string, number> = { ArrowDown: this.#active + 1, ArrowUp: this.#active - 1, Home: 0, End: count - 1 };
    if (event.key in moves) {
      this.#active = (moves[event.key]! + count) % count;
      this.host.requestUpdate();
      this.#focus();
    } else if (event.key === 'Enter' || event.key === ' ') {
      this.#pick(this.#items[this.#active]!.id);
    } else if (event.key === 'Escape') {
      this.hide();
    } else if (event.key === 'Tab') {
      this.hide(false);
      return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  };
}
