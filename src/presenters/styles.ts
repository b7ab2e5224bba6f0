import { css } from 'lit';

// One rule per line; the script-tag build minifies `css` literals (scripts/slim.ts).

/**
 * Dialog and inline panel styles: loaded with the checkout flow and adopted into the element's shadow root. The first
 * rule also gives the method picker (created by the flow, so always after these) its surface, text and line colours.
 */
export const panelStyles = css`
dialog, .inline, [part~=picker] { --_surface: var(--pay-checkout-surface, Canvas); --_text: var(--pay-checkout-text, CanvasText); --_line: color-mix(in srgb, var(--_text) 14%, transparent); color: var(--_text); background: var(--_surface); font: var(--pay-checkout-font, inherit) }
dialog { box-sizing: border-box; width: min(var(--pay-checkout-dialog-width, 480px), 100vw - 2rem); height: min(var(--pay-checkout-dialog-height, 720px), 100dvh - 2rem); max-width: none; max-height: none; padding: 0; border: 0; border-radius: var(--_radius); box-shadow: 0 24px 64px #0006; overflow: hidden }
dialog[open] { animation: pay-in .18s ease-out }
dialog::backdrop { background: var(--pay-checkout-backdrop, rgb(0 0 0 / .55)) }
@keyframes pay-in { from { opacity: 0; transform: translateY(12px) } }
@media (max-width: 640px) { dialog { width: 100vw; height: 100dvh; margin: 0; border-radius: 0 } }
.sheet { display: flex; flex-direction: column; height: 100% }
.inline { box-sizing: border-box; width: 100%; height: var(--pay-checkout-frame-height, 640px); border: 1px solid var(--_line); border-radius: var(--_radius); overflow: hidden }
:host([panel]:not([hidden])) { display: block }
header { display: flex; align-items: center; gap: .75rem; padding: .625rem .625rem .625rem 1rem; border-bottom: 1px solid var(--_line) }
h2 { flex: 1; min-width: 0; margin: 0; overflow: hidden; font-size: 1rem; font-weight: 600; white-space: nowrap; text-overflow: ellipsis }
.amount { font-weight: 600; white-space: nowrap }
.new-window { color: inherit; font-size: .875rem; white-space: nowrap }
@media (max-width: 640px) { header:has(> .new-window) { flex-wrap: wrap; row-gap: 0 } header:has(> .new-window)::after { content: ''; order: 1; flex-basis: 100% } .new-window { order: 2 } }
[part~=close-button] { display: grid; place-items: center; width: 40px; height: 40px; border: 0; border-radius: 50%; background: none; color: inherit; cursor: pointer }
[part~=close-button] path { stroke: currentColor; stroke-width: 2; stroke-linecap: round }
[part~=close-button]:hover:not(:disabled) { background: var(--_line) }
[part~=close-button]:disabled { opacity: .4; cursor: not-allowed }
.body { position: relative; flex: 1; display: flex; flex-direction: column; min-height: 0 }
iframe { flex: 1; width: 100%; border: 0; background: #fff }
.state { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: .75rem; padding: 1.5rem; text-align: center }
.state:not(.over) { flex: 1 }
.state.over { padding: .5rem 1rem; border-bottom: 1px solid var(--_line); flex-flow: row wrap }
.state[hidden] { display: none }
.state p { margin: 0 }
.countdown { font-variant-numeric: tabular-nums; opacity: .8 }
.actions { display: flex; flex-wrap: wrap; justify-content: center; gap: .5rem }
.actions button { min-height: 40px; padding: .5em 1em; border: 1px solid var(--_line); border-radius: var(--_radius); background: none; color: inherit; font: inherit; cursor: pointer }
.actions .primary { border-color: transparent; background: var(--_accent); color: var(--pay-checkout-accent-text, #fff); font-weight: 600 }
.spinner { width: 28px; height: 28px; border: 3px solid var(--_line); border-top-color: var(--_accent); border-radius: 50%; animation: pay-spin .8s linear infinite }
.over .spinner { width: 16px; height: 16px; border-width: 2px }
@keyframes pay-spin { to { transform: rotate(1turn) } }
@media (prefers-reduced-motion: reduce) { dialog[open], .spinner { animation: none } }
`;
