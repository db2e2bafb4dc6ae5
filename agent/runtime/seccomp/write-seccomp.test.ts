import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ANNOTATIONS, defaultSpec } from '../spec.js';
import { compileSeccomp } from './compile-seccomp.js';
import { dockerDefaultProfile } from './default-profile.js';
import { SECCOMP_FILE, writeSeccomp } from './write-seccomp.js';

describe('writeSeccomp', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsc-rt-sc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the default profile compiled for the spec capabilities and names it', async () => {
    const spec = defaultSpec();
    const out = await writeSeccomp(dir, spec, 'default');
    expect(out.annotations?.[ANNOTATIONS.seccomp]).toBe(SECCOMP_FILE);
    const bytes = await readFile(join(dir, SECCOMP_FILE));
    expect(bytes.equals(compileSeccomp(dockerDefaultProfile(), { capabilities: spec.process.capabilities?.bounding ?? [] }))).toBe(true);
    expect(spec.annotations).toBeUndefined(); // the input is not changed
  });

  it('shares one file of the default program among bundles, named by its content', async () => {
    const shared = join(dir, 'shared');
    const spec = defaultSpec();
    const a = await writeSeccomp(join(dir, 'a'), spec, 'default', { sharedDir: shared });
    const b = await writeSeccomp(join(dir, 'b'), spec, 'default', { sharedDir: shared });
    const file = a.annotations?.[ANNOTATIONS.seccomp] ?? '';
    expect(file.startsWith(`${shared}/default-`)).toBe(true);
    expect(b.annotations?.[ANNOTATIONS.seccomp]).toBe(file);
    const bytes = await readFile(file);
    expect(bytes.equals(compileSeccomp(dockerDefaultProfile(), { capabilities: spec.process.capabilities?.bounding ?? [] }))).toBe(true);
    expect(existsSync(join(dir, 'a', SECCOMP_FILE))).toBe(false);
  });

  it('writes nothing for unconfined', async () => {
    const other = await mkdtemp(join(tmpdir(), 'tsc-rt-sc-'));
    try {
      const spec = defaultSpec();
      expect(await writeSeccomp(other, spec, 'unconfined')).toBe(spec);
      expect(existsSync(join(other, SECCOMP_FILE))).toBe(false);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
