/** Where the CLI bundle and its code cache are, beside dist/cli/main.js (`build-bundle.ts` writes them). */
export const BUNDLE_FILE = 'main.bundle.cjs';
export const BUNDLE_CACHE = 'main.bundle.cache';
