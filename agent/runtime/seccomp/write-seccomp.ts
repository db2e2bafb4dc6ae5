/**
 * Puts a container's seccomp setting into its bundle: `unconfined` writes nothing; `default`
 * (Docker's profile) or a custom profile is compiled for the container's capabilities and
 * written as `seccomp.bpf`, named by the annotation tsc-runtime reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ANNOTATIONS } from '../spec.js';
import type { Spec } from '../spec.js';
import { compileSeccomp } from './compile-seccomp.js';
import { dockerDefaultProfile } from './default-profile.js';
import type { SeccompProfile } from './profile.js';

export type SeccompSetting = 'default' | 'unconfined' | SeccompProfile;

export const SECCOMP_FILE = 'seccomp.bpf';

/**
 * Docker's default profile compiled, by the capabilities it was compiled for: most containers
 * of a host run it with the same set, and compiling it is most of what writing a bundle costs.
 */
const compiledDefault = new Map<string, Buffer>();

function defaultProgram(capabilities: readonly string[]): Buffer {
  const key = [...capabilities].sort().join(',');
  let program = compiledDefault.get(key);
  if (program === undefined) {
    program = Buffer.from(compileSeccomp(dockerDefaultProfile(), { capabilities: [...capabilities] }));
    if (compiledDefault.size >= 64) compiledDefault.clear();
    compiledDefault.set(key, program);
  }
  return program;
}

/** Shared program files known to be on disk (written by this process or found there). */
const sharedWritten = new Set<string>();

/** `dir/default-<hash>.bpf`, written once (atomically) and then only named. */
async function sharedProgram(dir: string, program: Buffer): Promise<string> {
  const file = join(dir, `default-${createHash('sha256').update(program).digest('hex').slice(0, 24)}.bpf`);
  if (sharedWritten.has(file) || existsSync(file)) {
    sharedWritten.add(file);
    return file;
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, program);
  await rename(tmp, file);
  sharedWritten.add(file);
  return file;
}

/**
 * Compiles and writes the program; returns the spec with its annotation set. With `sharedDir`,
 * Docker's default profile is one file there per capability set, named by its content and
 * shared by the containers that run it (a file fewer to create per container); a custom
 * profile is still written into the bundle.
 */
export async function writeSeccomp(bundleDir: string, spec: Spec, setting: SeccompSetting, o: { sharedDir?: string } = {}): Promise<Spec> {
  if (setting === 'unconfined') return spec;
  const capabilities = spec.process.capabilities?.bounding ?? [];
  let file = SECCOMP_FILE;
  if (setting === 'default' && o.sharedDir !== undefined) {
    file = await sharedProgram(o.sharedDir, defaultProgram(capabilities));
  } else {
    const program = setting === 'default' ? defaultProgram(capabilities) : compileSeccomp(setting, { capabilities });
    await writeFile(join(bundleDir, SECCOMP_FILE), program);
  }
  return { ...spec, annotations: { ...spec.annotations, [ANNOTATIONS.seccomp]: file } };
}
