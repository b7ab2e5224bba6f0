import { computePosition, flip, offset, shift } from '@floating-ui/dom';
import { html, nothing, type TemplateResult } from 'lit';
import type { PayCheckout } from './pay-checkout.js';

export interface PickerItem {
  id: string;
  label: string;
}

/**
 * The method picker: a listbox popover anchored to the button. Top layer (`popover="manual"`) so no
 * `overflow: hidden` ancestor clips it; positioned by @floating-ui (flip / shift) and repositioned on any scroll
 * or resize. (Scroll and resize listeners instead of `autoUpdate`: a fixed top-layer list only moves when the
 * anchor does, and it saves a kilobyte of the bundle.)
 * Keyboard: arrows, Home / End, Enter / Space to choose, Esc and Tab to dismiss; a click outside dismisses.
 */
export class MethodPicker {
  open = false;
  #items: PickerItem[] = [];
  #active = 0;
  #ac?: AbortController;

  constructor(
    private readonly host: PayCheckout,
    private readonly onPick: (id: string) => void,
  ) {}

  async show(items: PickerItem[], selected?: string): Promise<void> {
    if (this.open) return;
    this.#items = items;
    this.#active = Math.max(0, items.findIndex((item) => item.id === selected));
    this.open = true;
    this.host.requestUpdate();
    await this.host.updateComplete;
    const list = this.#list();
    const anchor = this.host.renderRoot.querySelector<HTMLElement>('[part~="button"]');
    if (!this.open || !list || !anchor) return;
    list.showPopover();
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
    const signal = (this.#ac = new AbortController()).signal;
    // Capture: scrolling any ancestor of the anchor moves it.
    window.addEventListener('scroll', place, { capture: true, passive: true, signal });
    window.addEventListener('resize', place, { passive: true, signal });
    document.addEventListener(
      'pointerdown',
      (event) => {
        const path = event.composedPath();
        if (!path.includes(list) && !path.includes(anchor)) this.hide(false);
      },
      { capture: true, signal },
    );
    this.#focus();
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
    return html`<div part="picker" role="listbox" popover="manual" aria-label=${label} @keydown=${this.#onKeydown}>
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
