/**
 * Seccomp inside the container: the same profile given to runc as linux.seccomp and to
 * tsc-runtime compiled by compileSeccomp gives the same results inside.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../../../test/support/privileged.js';
import { DEFAULT_CAPABILITIES } from '../spec.js';
import type { Spec } from '../spec.js';
import { RUNC, runScript, setupHarness } from '../testing/harness.js';
import type { Harness, Runtime } from '../testing/harness.js';
import { compileSeccomp, resolveProfile } from './compile-seccomp.js';
import { dockerDefaultProfile } from './default-profile.js';
import type { SeccompProfile } from './profile.js';

describePrivileged('seccomp in the container', [root, command(RUNC), command('cc'), command('make')], () => {
  let h: Harness;
  beforeAll(async () => {
    h = await setupHarness();
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  /** runc gets the resolved profile in config.json; ours the compiled program in the bundle. */
  function withProfile(rt: Runtime, profile: SeccompProfile, nnp: boolean): (s: Spec) => void {
    return (s) => {
      s.process.noNewPrivileges = nnp;
      const caps = s.process.capabilities?.bounding ?? [];
      if (rt.name === 'runc') {
        (s.linux as Record<string, unknown>)['seccomp'] = JSON.parse(JSON.stringify(resolveProfile(profile, { capabilities: caps }), (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)));
      } else {
        s.annotations = { ...s.annotations, 'io.tsc-compose.seccomp': 'seccomp.bpf' };
        bundleFiles.set('seccomp.bpf', compileSeccomp(profile, { capabilities: caps }));
      }
    };
  }
  const bundleFiles = new Map<string, Buffer>();

  async function both(script: string, profile: SeccompProfile, nnp: boolean): Promise<[string, string]> {
    const r = await runScript(h, h.runc, script, withProfile(h.runc, profile, nnp));
    const t = await runScript(h, h.ours, script, withProfile(h.ours, profile, nnp), bundleFiles);
    return [r.out, t.out];
  }

  it('applies a custom profile with argument rules the same way', async () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 0o777, op: 'SCMP_CMP_EQ' }] },
        { names: ['fchmodat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 2, value: 0o777, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const script = 'grep Seccomp: /proc/self/status; mkdir /out/d; echo mkdir=$?; touch /out/f; chmod 755 /out/f; echo chmod755=$?; chmod 777 /out/f; echo chmod777=$?';
    const [r, t] = await both(script, profile, true);
    expect(t).toContain('Seccomp:\t2');
    expect(t).toContain('mkdir=1');
    expect(t).toContain('chmod755=0');
    expect(t).toContain('chmod777=1');
    expect(t).toBe(r);
  });

  it("applies Docker's default profile the same way, without no_new_privileges", async () => {
    const script = 'grep Seccomp: /proc/self/status; unshare -U true 2>/dev/null; echo unshare=$?; ls / >/dev/null; echo ls=$?';
    const [r, t] = await both(script, dockerDefaultProfile(), false);
    expect(t).toBe('Seccomp:\t2\nunshare=1\nls=0\n');
    expect(t).toBe(r);
    // and unconfined: the same call is allowed
    const free = await runScript(h, h.ours, 'unshare -U true; echo unshare=$?');
    expect(free.out).toBe('unshare=0\n');
  });

  it('gives Docker default capabilities the expected calls', () => {
    expect(resolveProfile(dockerDefaultProfile(), { capabilities: DEFAULT_CAPABILITIES }).syscalls?.some((r) => r.names.includes('chroot'))).toBe(true);
  });
});
