/**
 * The built validator's code cache must be one V8 accepts in the state the CLI loads it in (a
 * short-lived command, lib/v8-flags.ts): a cache written under other flags is silently refused
 * and the 350 KB validator compiled on every `config` and `up`, which is how it went unnoticed.
 * Reads the build (`npm run build`, which CI runs before the tests).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));

it('the built validator code cache fits the flags short-lived commands run under', () => {
  const cache = `${dist}schema/compose-spec-validate.cache`;
  expect(existsSync(cache), `${cache} is missing: run npm run build`).toBe(true);
  const script = `
    const { enterShortLivedMode } = await import(${JSON.stringify(`${dist}lib/v8-flags.js`)});
    enterShortLivedMode();
    const { loadWithCodeCache } = await import(${JSON.stringify(`${dist}schema/code-cached-module.js`)});
    const m = loadWithCodeCache(${JSON.stringify(`${dist}schema/compose-spec-validate.cjs`)}, ${JSON.stringify(cache)});
    process.stdout.write(String(m.script.cachedDataRejected));`;
  expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })).toBe('false');
});
