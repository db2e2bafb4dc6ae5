/**
 * Files of this package (package.json, the native programs built under agent/runtime/native/):
 * found by walking up from this module to the directory that holds package.json. The answer is
 * the same from the sources (lib/), the built tree (dist/lib/) and the CLI bundle, whose modules
 * no longer sit at their own depth.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null | undefined;

/** The package's directory, or undefined when no package.json is above this module. */
export function packageRoot(): string | undefined {
  if (root === undefined) {
    root = null;
    for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json'))) {
        root = dir;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  return root ?? undefined;
}

/** `parts` (a package-relative path) in the package's directory; undefined without one. */
export function packageFile(...parts: string[]): string | undefined {
  const dir = packageRoot();
  return dir === undefined ? undefined : join(dir, ...parts);
}
