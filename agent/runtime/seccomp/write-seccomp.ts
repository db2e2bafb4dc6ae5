/**
 * Puts a container's seccomp setting into its bundle: `unconfined` writes nothing; `default`
 * (Docker's profile) or a custom profile is compiled for the container's capabilities and
 * written as `seccomp.bpf`, named by the annotation tsc-runtime reads.
 */
import { writeFile } from 'node:fs/promises';
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

/** Compiles and writes the program; returns the spec with its annotation set. */
export async function writeSeccomp(bundleDir: string, spec: Spec, setting: SeccompSetting): Promise<Spec> {
  if (setting === 'unconfined') return spec;
  const capabilities = spec.process.capabilities?.bounding ?? [];
  const program = setting === 'default' ? defaultProgram(capabilities) : compileSeccomp(setting, { capabilities });
  await writeFile(join(bundleDir, SECCOMP_FILE), program);
  return { ...spec, annotations: { ...spec.annotations, [ANNOTATIONS.seccomp]: SECCOMP_FILE } };
}
