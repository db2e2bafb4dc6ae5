/**
 * The built validator's code cache must be one the CLI takes when it loads it (under
 * `useCodeCacheFlags()`, lib/code-cached-module.ts): a cache written under other flags is
 * silently refused and the 350 KB validator compiled on every `config` and `up`, which is how it
 * went unnoticed for a while. Reads the build (`npm run build`, which CI runs before the tests).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

it('the built validator code cache is taken under the flags the CLI loads it with', () => {
  const cache = `${dist}schema/compose-spec-validate.cache`;
  expect(existsSync(cache), `${cache} is missing: run npm run build`).toBe(true);
  const script = `
    const { loadWithCodeCache, useCodeCacheFlags } = await import(${JSON.stringify(`${dist}lib/code-cached-module.js`)});
    useCodeCacheFlags();
    const m = loadWithCodeCache(${JSON.stringify(`${dist}schema/compose-spec-validate.cjs`)}, { cacheFile: ${JSON.stringify(cache)} });
    process.stdout.write(String(m.cacheUsed));`;
  expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe('true');
});
