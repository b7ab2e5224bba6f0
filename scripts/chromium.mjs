// Locates the system Chromium used by every browser test and benchmark. No test tool may download a browser,
// so this is the one place that decides which binary runs.
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

/** Flags for a headless Chromium on a closed network: without the networking ones it floods it with refused connections. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** @returns {string | undefined} */
export function findChromium() {
  const fromEnv = process.env.CHROME_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((path) => existsSync(path));
}

/** @returns {string} the path, or throws with the command that installs it */
export function requireChromium() {
  const path = findChromium();
  if (!path) throw new Error(`[pay-checkout] No Chromium found (CHROME_PATH or /usr/bin/chromium). Install it with: ${INSTALL_COMMAND}`);
  return path;
}
