/**
 * An OCI bundle on disk: a directory with config.json. The root filesystem is wherever
 * `spec.root.path` points (the agent's overlay mount, or a test's busybox tree).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Spec } from './spec.js';

/** Writes `dir/config.json` (atomically, so a runtime never reads half a file). Returns dir. */
export async function writeBundle(dir: string, spec: Spec): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'config.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(spec, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
  return dir;
}
