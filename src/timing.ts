/**
 * Network and polling tuning shared by all elements (`PayCheckout.timing` is this object): request timeout, first
 * poll delay and poll cap (ms). Status polling starts at `poll` and backs off by 1.5× up to `pollMax`. A module of
 * its own so that the lazily loaded checkout reads it without importing the element.
 */
export const timing = { timeout: 15_000, poll: 2_000, pollMax: 15_000 };
