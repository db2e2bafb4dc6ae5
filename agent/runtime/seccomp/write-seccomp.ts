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

/** Compiles and writes the program; returns the spec with its annotation set. */
export async function writeSeccomp(bundleDir: string, spec: Spec, setting: SeccompSetting): Promise<Spec> {
  if (setting === 'unconfined') return spec;
  const profile = setting === 'default' ? dockerDefaultProfile() : setting;
  const program = compileSeccomp(profile, { capabilities: spec.process.capabilities?.bounding ?? [] });
  await writeFile(join(bundleDir, SECCOMP_FILE), program);
  return { ...spec, annotations: { ...spec.annotations, [ANNOTATIONS.seccomp]: SECCOMP_FILE } };
}
