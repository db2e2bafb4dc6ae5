/**
 * An OCI bundle on disk: a directory with config.json. The root filesystem is wherever
 * `spec.root.path` points (the agent's overlay mount, or a test's busybox tree).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Spec } from './spec.js';

/** Writes `dir/config.json` (atomically, so a runtime never reads half a file). Returns dir. */
export async function writeBundle(dir: string, spec: Spec): Promise<string> {
  const file = join(dir, 'config.json');
  const text = `${JSON.stringify(spec, null, 2)}\n`;
  try {
    await writeFile(`${file}.tmp`, text);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // The directory first, only when missing (the agent has made it already).
    await mkdir(dir, { recursive: true });
    await writeFile(`${file}.tmp`, text);
  }
  await rename(`${file}.tmp`, file);
  return dir;
}
