/**
 * The compiled program, run by a small classic-BPF interpreter written here from the opcode
 * definitions: each comparison against a direct evaluation on random 64-bit values, and the
 * default profile's decisions for calls a user would try.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { actionValue, compileSeccomp } from './compile-seccomp.js';
import { dockerDefaultProfile } from './default-profile.js';
import type { SeccompOp, SeccompProfile } from './profile.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

const X86_64 = 0xc000003e;

function run(prog: Buffer, nr: number, args: bigint[] = [], arch = X86_64): number {
  const data = Buffer.alloc(64);
  data.writeUInt32LE(nr >>> 0, 0);
  data.writeUInt32LE(arch >>> 0, 4);
  args.forEach((a, i) => data.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    pc++;
    switch (code) {
      case 0x20: acc = data.readUInt32LE(k); break;
      case 0x54: acc = (acc & k) >>> 0; break;
      case 0x15: pc += acc === k ? jt : jf; break;
      case 0x25: pc += acc > k ? jt : jf; break;
      case 0x35: pc += acc >= k ? jt : jf; break;
      case 0x45: pc += (acc & k) !== 0 ? jt : jf; break;
      case 0x06: return k;
      default: throw new Error(`opcode ${code.toString(16)}`);
    }
  }
  throw new Error('fell off the end');
}

const ALLOW = actionValue('SCMP_ACT_ALLOW', 0);
const EPERM = actionValue('SCMP_ACT_ERRNO', 1);
const nr = (name: string): number => SYSCALLS_X86_64[name] ?? -1;

describe('compileSeccomp', () => {
  const ops: [SeccompOp, (a: bigint, v: bigint) => boolean][] = [
    ['SCMP_CMP_EQ', (a, v) => a === v],
    ['SCMP_CMP_NE', (a, v) => a !== v],
    ['SCMP_CMP_LT', (a, v) => a < v],
    ['SCMP_CMP_LE', (a, v) => a <= v],
    ['SCMP_CMP_GT', (a, v) => a > v],
    ['SCMP_CMP_GE', (a, v) => a >= v],
  ];
  const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n));

  for (const [op, holds] of ops) {
    it(`compares 64-bit arguments with ${op}`, () => {
      fc.assert(
        fc.property(u64, u64, fc.boolean(), (a, v, same) => {
          const arg = same ? v : a;
          const prog = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 2, value: v, op }] }] });
          const want = holds(arg, v) ? actionValue('SCMP_ACT_ERRNO', 13) : ALLOW;
          expect(run(prog, nr('write'), [0n, 0n, arg])).toBe(want);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('compares masked arguments and ANDs the conditions of a rule', () => {
    const profile: SeccompProfile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['clone'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' },
            { index: 1, value: 5, op: 'SCMP_CMP_LT' },
          ],
        },
      ],
    };
    const prog = compileSeccomp(profile);
    expect(run(prog, nr('clone'), [0x11n, 1n])).toBe(ALLOW);
    expect(run(prog, nr('clone'), [0x10000000n, 1n])).toBe(EPERM); // CLONE_NEWUSER
    expect(run(prog, nr('clone'), [0x11n, 7n])).toBe(EPERM);
  });

  it('refuses other architectures and the x32 ABI', () => {
    const prog = compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW' });
    expect(run(prog, nr('getpid'))).toBe(ALLOW);
    expect(run(prog, 20, [], 0x40000003)).toBe(EPERM); // i386
    expect(run(prog, 0x40000000 + nr('getpid'))).toBe(EPERM);
  });

  it("follows Docker's default profile", () => {
    const docker = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE'];
    const prog = compileSeccomp(dockerDefaultProfile(), { capabilities: docker, kernel: '6.1.0' });
    for (const ok of ['read', 'write', 'openat', 'execve', 'clock_gettime', 'chroot', 'ptrace']) expect(run(prog, nr(ok)), ok).toBe(ALLOW);
    for (const no of ['mount', 'unshare', 'setns', 'reboot', 'init_module', 'kexec_load', 'keyctl', 'add_key', 'io_uring_setup'])
      expect(run(prog, nr(no)), no).toBe(EPERM);
    expect(run(prog, nr('clone'), [0x11n])).toBe(ALLOW);
    expect(run(prog, nr('clone'), [0x20000n])).toBe(EPERM); // CLONE_NEWNS
    expect(run(prog, nr('clone3'))).toBe(actionValue('SCMP_ACT_ERRNO', 38));
    expect(run(prog, nr('personality'), [0n])).toBe(ALLOW);
    expect(run(prog, nr('personality'), [0x400000n])).toBe(EPERM);
    expect(run(prog, nr('socket'), [2n])).toBe(ALLOW);
    expect(run(prog, nr('socket'), [40n])).toBe(EPERM);
    const admin = compileSeccomp(dockerDefaultProfile(), { capabilities: [...docker, 'CAP_SYS_ADMIN'] });
    expect(run(admin, nr('mount'))).toBe(ALLOW);
    expect(run(admin, nr('clone'), [0x20000n])).toBe(ALLOW);
  });
});
