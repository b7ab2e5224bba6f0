import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** Where the helper (with the provider sandbox) listens; scripts/launch.ts overrides the proxy with the port it chose. */
const helperUrl = process.env.HELPER_URL ?? 'http://127.0.0.1:8787';
/** The demo shop's own backend (demo/merchant-backend.ts): its orders, built from the helper's webhooks. */
const shopUrl = process.env.SHOP_URL ?? 'http://127.0.0.1:8788';

// The demo storefront served by `npm start`. The element itself is built by scripts/build.ts and loaded by the
// pages as the script-tag bundle (/dist/pay-checkout.js), exactly as a merchant's page loads it.
export default defineConfig({
  root: import.meta.dirname,
  clearScreen: false,
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      // changeOrigin stays false: the helper checks the browser's Origin against ALLOWED_ORIGINS.
      '/api': { target: helperUrl },
      '/sandbox': { target: helperUrl },
      '/shop': { target: shopUrl },
    },
  },
  build: {
    outDir: 'dist/storefront',
    rollupOptions: {
      input: {
        shop: resolve(import.meta.dirname, 'index.html'),
        orders: resolve(import.meta.dirname, 'orders.html'),
      },
    },
  },
});
