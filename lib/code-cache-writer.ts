/**
 * The build side of `code-cached-module.ts`: stamp a generated CommonJS file, and write its code
 * cache after a warm-up run. Only build steps import this (the hash costs a load at start).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import { STAMP, type LoadedModule } from './code-cached-module.js';

/** `source` with its stamp, the first line `loadWithCodeCache` matches a cache's key against. */
export function stampSource(source: string): string {
  return `${STAMP}${createHash('sha256').update(source).digest('hex').slice(0, 32)}\n${source}`;
}

/** Write `loaded`'s code cache (after its warm-up: the functions compiled by then are in it). */
export function writeCodeCache(loaded: LoadedModule, cacheFile: string): void {
  if (loaded.key === '') throw new Error(`writeCodeCache: ${cacheFile}: the file has no stamp (stampSource)`);
  writeFileSync(cacheFile, Buffer.concat([Buffer.from(`${loaded.key}\n`), loaded.script.createCachedData()]));
}
