import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_CAPABILITIES, DEFAULT_MASKED_PATHS, defaultSpec } from './spec.js';
import { ensureBuilt } from './testing/harness.js';

describe('defaultSpec', () => {
  it("has Docker's defaults", () => {
    const s = defaultSpec({ args: ['true'], hostname: 'h', cgroupsPath: '/x' });
    expect(s.process.capabilities?.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(s.linux?.maskedPaths).toContain('/proc/kcore');
    expect(DEFAULT_MASKED_PATHS).toContain('/sys/firmware');
    expect(s.linux?.readonlyPaths).toContain('/proc/sys');
    expect(s.mounts?.map((m) => m.destination)).toEqual(['/proc', '/dev', '/dev/pts', '/sys', '/sys/fs/cgroup', '/dev/mqueue', '/dev/shm']);
    expect(s.linux?.namespaces?.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(s).toMatchObject({ hostname: 'h', linux: { cgroupsPath: '/x' }, process: { args: ['true'] } });
  });

  it('is what `tsc-runtime spec` writes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsc-rt-spec-'));
    try {
      execFileSync(ensureBuilt(), ['spec', '--bundle', dir]);
      expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'))).toEqual(defaultSpec());
      expect(() => execFileSync(ensureBuilt(), ['spec', '--bundle', dir], { stdio: 'pipe' })).toThrow(/exists/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
