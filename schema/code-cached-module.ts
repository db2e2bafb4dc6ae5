/**
 * Load a CommonJS file with a V8 code cache beside it: the precompiled schema validator is
 * 350 KB of generated code, and compiling it (up front, then each function on first call) was
 * ~10% of a `config` run. `npm run build` writes the cache after a warm-up run, so it holds
 * the compiled functions too. A missing cache, or one another Node version or V8 flags wrote,
 * is simply not used (V8 checks it; the file then compiles as usual).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export interface LoadedModule {
  exports: unknown;
  /** For `createCachedData()` after a warm-up run. */
  script: Script;
}

/** `require(file)`, compiled with `cacheFile`'s code cache when it has one that fits. */
export function loadWithCodeCache(file: string, cacheFile?: string): LoadedModule {
  const source = readFileSync(file, 'utf8');
  let cachedData: Buffer | undefined;
  if (cacheFile !== undefined) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined; // no cache: compile as usual
    }
  }
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} as unknown };
  const init = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dir: string) => void;
  init(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script };
}
