/** Where the CLI bundle and its code cache are, beside dist/cli/main.js (`build-bundle.ts` writes them). */
export const BUNDLE_FILE = 'main.bundle.cjs';
export const BUNDLE_CACHE = 'main.bundle.cache';

/** The package's bin, beside them: dist/cli/main.js made CommonJS (`build-bundle.ts` writes it). */
export const BIN_FILE = 'main.cjs';
