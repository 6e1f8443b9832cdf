/**
 * The dashboard's build: Preact compiled by Vite into web/dist (not committed; `npm ci` builds it, see
 * scripts/build-web.mjs). Everything is bundled, nothing is loaded from elsewhere at run time, and the
 * output needs no inline script, so the server's Content-Security-Policy can forbid it.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The preload polyfill is injected as script; modern browsers preload modules themselves.
    modulePreload: { polyfill: false },
    // Files stay files: the CSP allows images and fonts from this origin, and data: only for images.
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
