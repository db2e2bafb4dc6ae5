/**
 * Load a CommonJS file with a V8 code cache beside it. Generated code that every start needs
 * (the precompiled schema validator, 350 KB; the CLI bundle, 1 MB) costs more to compile than to
 * run: `npm run build` writes the cache after a warm-up run, so it holds the functions that run
 * compiled too, and loading it skips their compiling.
 *
 * A cache is used only when it fits, and otherwise the file compiles as usual:
 * - V8 itself rejects a cache another Node version or other V8 flags wrote. Caches are written
 *   and loaded under `useCodeCacheFlags()` (what the CLI runs short commands with).
 * - V8 checks only the source's length, so a cache of an older file of the same length would be
 *   taken and run the old code. The build therefore stamps the file (`stampSource`: a first line
 *   with a hash of the rest) and writes the same key at the head of the cache; a cache whose key
 *   is not the file's is not used, nor is any cache of a file without a stamp.
 *
 * Writing stamps and caches is in `code-cache-writer.ts` (build steps only: it loads a hash).
 */
import type * as BufferModule from 'node:buffer';
import type * as Fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Path from 'node:path';
import type * as V8 from 'node:v8';
import type * as Vm from 'node:vm';

// Built-ins through require: each ES import of one makes a module facade (~0.2 ms), and this
// module is on the way of every CLI start (dist/cli/main.js).
const require = createRequire(import.meta.url);
const { isAscii } = require('node:buffer') as typeof BufferModule;
const { readFileSync } = require('node:fs') as typeof Fs;
const { dirname } = require('node:path') as typeof Path;
const { setFlagsFromString } = require('node:v8') as typeof V8;
const { Script } = require('node:vm') as typeof Vm;

export interface LoadedModule {
  exports: unknown;
  /** For `writeCodeCache` after a warm-up run. */
  script: Vm.Script;
  /** The cache key of the file's stamp ('' without one). */
  key: string;
  /** Whether a cache was used: false when there was none, it did not fit, or V8 rejected it. */
  cacheUsed: boolean;
}

export interface LoadOptions {
  /** The code cache written by `writeCodeCache`; a missing or unfitting one is skipped. */
  cacheFile?: string | undefined;
  /**
   * Handed to the file as `importModule`, its way to ES modules (ESM-only packages). The file
   * cannot use `import()` itself: a script compiled from a code cache loses vm's dynamic import
   * callback on Node 20 (and vm's default-loader option prints an ExperimentalWarning).
   */
  importModule?: ((specifier: string) => Promise<unknown>) | undefined;
}

/** The first line of a stamped file, before its key. */
export const STAMP = '// code-cache-key ';

function stampOf(source: string): string {
  if (!source.startsWith(STAMP)) return '';
  const end = source.indexOf('\n');
  return end < 0 ? '' : source.slice(STAMP.length, end);
}

function readCache(cacheFile: string | undefined, key: string): Buffer | undefined {
  if (cacheFile === undefined || key === '') return undefined;
  let data: Buffer;
  try {
    data = readFileSync(cacheFile);
  } catch {
    return undefined; // no cache: compile as usual
  }
  const head = Buffer.from(`${key}\n`);
  return data.length > head.length && data.subarray(0, head.length).equals(head) ? data.subarray(head.length) : undefined;
}

/** `require(file)`, compiled with its code cache (`options.cacheFile`) when it has one that fits. */
export function loadWithCodeCache(file: string, options: LoadOptions = {}): LoadedModule {
  const bytes = readFileSync(file);
  // ASCII (as esbuild writes) is also Latin-1, whose decoding is a copy: ~1.5 ms less on 1 MB
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const key = stampOf(source);
  const cachedData = readCache(options.cacheFile, key);
  const script = new Script(`(function (exports, require, module, __filename, __dirname, importModule) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} as unknown };
  const init = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: { exports: unknown },
    filename: string,
    dir: string,
    importModule: LoadOptions['importModule'],
  ) => void;
  init(module.exports, createRequire(file), module, file, dirname(file), options.importModule);
  return { exports: module.exports, script, key, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/**
 * The V8 flags code caches are written and loaded under: TurboFan off, as short CLI commands run
 * (a flag change after V8 started changes the flag hash a cache is checked against). A
 * long-running process turns it back on once its code is loaded (`restoreDefaultFlags`).
 */
export function useCodeCacheFlags(): void {
  setFlagsFromString('--no-opt');
}

export function restoreDefaultFlags(): void {
  setFlagsFromString('--opt');
}
