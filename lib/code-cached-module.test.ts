import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { stampSource, writeCodeCache } from './code-cache-writer.js';
import { loadWithCodeCache } from './code-cached-module.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsc-code-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const call = (exports: unknown, x: string): string => (exports as (x: string) => string)(x);

describe('loadWithCodeCache', () => {
  it('loads a CommonJS file as require does, then from the code cache written after a run', () => {
    const file = join(dir, 'm.cjs');
    writeFileSync(file, stampSource('"use strict"; const path = require("node:path"); module.exports = (x) => path.basename(x) + __filename.length;'));
    const cache = join(dir, 'm.cache');
    const first = loadWithCodeCache(file, { cacheFile: cache });
    expect(first.cacheUsed).toBe(false); // none yet
    expect(call(first.exports, '/a/b')).toBe(`b${file.length}`);
    writeCodeCache(first, cache);
    const second = loadWithCodeCache(file, { cacheFile: cache });
    expect(second.cacheUsed).toBe(true);
    expect(call(second.exports, '/c/d')).toBe(`d${file.length}`);
  });

  it('does not use the cache of an older file of the same length (V8 alone would run the old code)', () => {
    const file = join(dir, 'm.cjs');
    const cache = join(dir, 'm.cache');
    writeFileSync(file, stampSource('module.exports = (x) => "old:" + x;'));
    const old = loadWithCodeCache(file);
    expect(call(old.exports, 'a')).toBe('old:a');
    writeCodeCache(old, cache);
    writeFileSync(file, stampSource('module.exports = (x) => "new:" + x;'));
    const now = loadWithCodeCache(file, { cacheFile: cache });
    expect(now.cacheUsed).toBe(false);
    expect(call(now.exports, 'a')).toBe('new:a');
  });

  it('compiles as usual when the cache is not one V8 accepts, or the file has no stamp', () => {
    const file = join(dir, 'm.cjs');
    const stamped = stampSource('module.exports = 42;');
    writeFileSync(file, stamped);
    const cache = join(dir, 'bad.cache');
    writeFileSync(cache, `${stamped.slice('// code-cache-key '.length, stamped.indexOf('\n'))}\nnot a code cache`);
    const loaded = loadWithCodeCache(file, { cacheFile: cache });
    expect(loaded.cacheUsed).toBe(false);
    expect(loaded.exports).toBe(42);

    const plain = join(dir, 'plain.cjs');
    writeFileSync(plain, 'module.exports = 43;');
    const unstamped = loadWithCodeCache(plain, { cacheFile: cache });
    expect(unstamped.key).toBe('');
    expect(unstamped.cacheUsed).toBe(false);
    expect(unstamped.exports).toBe(43);
    expect(() => writeCodeCache(unstamped, join(dir, 'plain.cache'))).toThrow(/no stamp/);
  });

  it('hands the file its way to ES modules, also when compiled from the cache', async () => {
    const file = join(dir, 'm.cjs');
    const esm = join(dir, 'esm.mjs');
    writeFileSync(esm, 'export const answer = 41 + 1;');
    writeFileSync(file, stampSource('module.exports = (f) => importModule(f).then((ns) => ns.answer);'));
    const cache = join(dir, 'm.cache');
    const importModule = (s: string): Promise<unknown> => import(s);
    const first = loadWithCodeCache(file, { importModule });
    expect(await (first.exports as (f: string) => Promise<number>)(esm)).toBe(42);
    writeCodeCache(first, cache);
    const second = loadWithCodeCache(file, { cacheFile: cache, importModule });
    expect(await (second.exports as (f: string) => Promise<number>)(esm)).toBe(42);
  });
});
