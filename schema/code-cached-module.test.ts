import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadWithCodeCache } from './code-cached-module.js';

describe('loadWithCodeCache', () => {
  it('loads a CommonJS file as require does, then from the code cache written after a run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsc-code-cache-'));
    try {
      const file = join(dir, 'm.cjs');
      writeFileSync(file, '"use strict"; const path = require("node:path"); module.exports = (x) => path.basename(x) + __filename.length; module.exports.default = module.exports;');
      const first = loadWithCodeCache(file, join(dir, 'none.cache'));
      const fn = first.exports as (x: string) => string;
      expect(fn('/a/b')).toBe(`b${file.length}`);
      const cache = join(dir, 'm.cache');
      writeFileSync(cache, first.script.createCachedData());
      const second = loadWithCodeCache(file, cache);
      expect(second.script.cachedDataRejected).toBe(false);
      expect((second.exports as (x: string) => string)('/c/d')).toBe(`d${file.length}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compiles as usual when the cache is not one V8 accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsc-code-cache-'));
    try {
      const file = join(dir, 'm.cjs');
      writeFileSync(file, 'module.exports = 42;');
      const cache = join(dir, 'bad.cache');
      writeFileSync(cache, 'not a code cache');
      const loaded = loadWithCodeCache(file, cache);
      expect(loaded.script.cachedDataRejected).toBe(true);
      expect(loaded.exports).toBe(42);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
