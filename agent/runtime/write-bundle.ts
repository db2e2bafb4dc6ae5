/**
 * An OCI bundle on disk: a directory with config.json. The root filesystem is wherever
 * `spec.root.path` points (the agent's overlay mount, or a test's busybox tree).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Spec } from './spec.js';

/**
 * Writes `dir/config.json`. Returns dir. In place, not through a temporary file and a rename:
 * a runtime reads it only when started on it, after this returns, and the agent writes it
 * again before every start (a file create and a rename fewer per container start).
 */
export async function writeBundle(dir: string, spec: Spec): Promise<string> {
  const file = join(dir, 'config.json');
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  try {
    await writeFile(file, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // The directory first, only when missing (the agent has made it already).
    await mkdir(dir, { recursive: true });
    await writeFile(file, text);
  }
  return dir;
}
