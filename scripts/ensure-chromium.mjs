// Makes sure a system Chromium exists before browser tests run. As root on Debian it installs the `chromium`
// package; anywhere else it stops with the exact command to run.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium, INSTALL_COMMAND } from './chromium.mjs';

let found = findChromium();
if (!found) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || !existsSync('/usr/bin/apt-get')) {
    console.error(`[pay-checkout] Browser tests need Chromium and none was found.\nInstall it with:\n\n  sudo ${INSTALL_COMMAND}\n\nor point CHROME_PATH at a Chromium binary.`);
    process.exit(1);
  }
  console.log(`[pay-checkout] Installing Chromium: ${INSTALL_COMMAND}`);
  execSync(INSTALL_COMMAND, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  found = findChromium();
  if (!found) {
    console.error('[pay-checkout] apt-get finished but no Chromium binary appeared at /usr/bin/chromium.');
    process.exit(1);
  }
}
console.log(`[pay-checkout] Chromium: ${found}`);
