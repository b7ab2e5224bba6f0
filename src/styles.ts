import { css } from 'lit';

// Written one rule per line (the script-tag build minifies `css` literals: scripts/slim.ts); this part ships in the
// initial download.

/** The button and the status line: everything the page shows before the payer interacts. */
export const hostStyles = css`
:host { --_accent: var(--pay-checkout-accent, #1f5bd6); --_radius: var(--pay-checkout-radius, 10px); display: inline-block; font: var(--pay-checkout-font, inherit); color-scheme: light dark }
:host([hidden]) { display: none }
[part~=button] { display: inline-flex; align-items: center; justify-content: center; gap: .5em; min-height: 44px; padding: .625em 1.25em; border: 0; border-radius: var(--_radius); background: var(--_accent); color: var(--pay-checkout-accent-text, #fff); font: inherit; font-weight: 600; cursor: pointer }
[part~=button]:hover:not(:disabled) { filter: brightness(1.1) }
:focus-visible { outline: 3px solid var(--pay-checkout-focus-ring, color-mix(in srgb, var(--_accent) 50%, transparent)); outline-offset: 2px }
[part~=button]:disabled { cursor: not-allowed; opacity: .6 }
[aria-busy=true] { cursor: progress }
.note { margin: .5em 0 0; font-size: .875em }
.note:empty { display: none }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important } }
`;

/**
 * The button's hover transition, added to the shared sheet of `hostStyles` (so to every element at once, and to those
 * added later) once the payer is active on the page: the first pointer move, scroll or key, before the pointer
 * reaches a button. A transition makes every style recalculation of its element look for transitions to start: on a
 * page of a hundred buttons that was about a tenth of the first render, when nobody can hover yet. (The sheet is a
 * constructed one: the README requires constructable style sheets.)
 */
export const HOVER_TRANSITION = '[part~=button]{transition:filter .15s}';
