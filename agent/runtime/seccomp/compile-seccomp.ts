/**
 * Compiles a seccomp profile (Docker's format) to a classic BPF program for x86_64, the bytes
 * the runtime installs with seccomp(SECCOMP_SET_MODE_FILTER): no libseccomp needed. The program
 * checks the architecture, refuses the x32 ABI, then tests each rule in order (first match
 * wins: rules for one call are OR'ed, a rule's argument conditions AND'ed) and ends with the
 * default action. 64-bit arguments are compared as two 32-bit halves, high half first.
 */
import { release } from 'node:os';

import { TscError } from '../../../lib/errors.js';
import type { SeccompAction, SeccompArg, SeccompProfile, SeccompRule } from './profile.js';
import { SYSCALLS_X86_64 } from './syscalls-x86_64.js';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const BPF_MAXINSNS = 4096;

// classic BPF opcodes
const LD_W_ABS = 0x20;
const JEQ = 0x15;
const JGT = 0x25;
const JGE = 0x35;
const JSET = 0x45;
const AND = 0x54;
const RET = 0x06;

/** struct seccomp_data: nr at 0, arch at 4, args[i] at 16 + 8i (little endian: low half first). */
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number): number => 16 + 8 * i;
const argHi = (i: number): number => 16 + 8 * i + 4;

type Target = number | string; // relative 0, or a label
interface Insn {
  code: number;
  jt: Target;
  jf: Target;
  k: number;
}

export interface CompileOptions {
  /** The container's bounding capabilities: rules with includes/excludes.caps depend on them. */
  capabilities?: readonly string[];
  /** Kernel version for `minKernel` (default: this machine's). */
  kernel?: string;
}

export function actionValue(action: SeccompAction, errno: number): number {
  switch (action) {
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
    case 'SCMP_ACT_ERRNO':
      return (0x00050000 | (errno & 0xffff)) >>> 0;
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_TRACE':
      return (0x7ff00000 | (errno & 0xffff)) >>> 0;
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    default:
      throw new TscError('ERR_UNSUPPORTED', `seccomp: unknown action ${String(action)}`);
  }
}

function kernelAtLeast(have: string, want: string): boolean {
  const h = have.split(/[.-]/).map(Number);
  const w = want.split(/[.-]/).map(Number);
  for (let i = 0; i < w.length; i++) {
    const a = h[i] ?? 0;
    const b = w[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

function applies(rule: SeccompRule, caps: ReadonlySet<string>, kernel: string): boolean {
  const arch = 'amd64';
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.caps && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.arches && !inc.arches.includes(arch)) return false;
  if (inc.minKernel && !kernelAtLeast(kernel, inc.minKernel)) return false;
  if (exc.caps && exc.caps.some((c) => caps.has(c))) return false;
  if (exc.arches && exc.arches.includes(arch)) return false;
  if (exc.minKernel && kernelAtLeast(kernel, exc.minKernel)) return false;
  return true;
}

function halves(v: number | bigint): [number, number] {
  const b = BigInt.asUintN(64, BigInt(v));
  return [Number(b >> 32n), Number(b & 0xffffffffn)];
}

let labelSeq = 0;

/** Code for one argument condition; jumps to `fail` when it does not hold. */
function argCondition(a: SeccompArg, fail: string): Insn[] {
  if (a.index < 0 || a.index > 5) throw new TscError('ERR_UNSUPPORTED', `seccomp: argument index ${a.index} is out of range 0-5`);
  const pass = `pass${++labelSeq}`;
  const [hi, lo] = halves(a.value);
  const ld = (off: number): Insn => ({ code: LD_W_ABS, jt: 0, jf: 0, k: off });
  const j = (code: number, k: number, jt: Target, jf: Target): Insn => ({ code, jt, jf, k });
  const out: Insn[] = [];
  switch (a.op) {
    case 'SCMP_CMP_EQ':
      out.push(ld(argHi(a.index)), j(JEQ, hi, 0, fail), ld(argLo(a.index)), j(JEQ, lo, 0, fail));
      break;
    case 'SCMP_CMP_NE':
      out.push(ld(argHi(a.index)), j(JEQ, hi, 0, pass), ld(argLo(a.index)), j(JEQ, lo, fail, 0));
      break;
    case 'SCMP_CMP_MASKED_EQ': {
      const [whi, wlo] = halves(a.valueTwo ?? 0);
      out.push(
        ld(argHi(a.index)), { code: AND, jt: 0, jf: 0, k: hi }, j(JEQ, whi, 0, fail),
        ld(argLo(a.index)), { code: AND, jt: 0, jf: 0, k: lo }, j(JEQ, wlo, 0, fail),
      );
      break;
    }
    case 'SCMP_CMP_GT':
      out.push(ld(argHi(a.index)), j(JGT, hi, pass, 0), j(JEQ, hi, 0, fail), ld(argLo(a.index)), j(JGT, lo, 0, fail));
      break;
    case 'SCMP_CMP_GE':
      out.push(ld(argHi(a.index)), j(JGT, hi, pass, 0), j(JEQ, hi, 0, fail), ld(argLo(a.index)), j(JGE, lo, 0, fail));
      break;
    case 'SCMP_CMP_LT':
      out.push(ld(argHi(a.index)), j(JGT, hi, fail, 0), j(JEQ, hi, 0, pass), ld(argLo(a.index)), j(JGE, lo, fail, 0));
      break;
    case 'SCMP_CMP_LE':
      out.push(ld(argHi(a.index)), j(JGT, hi, fail, 0), j(JEQ, hi, 0, pass), ld(argLo(a.index)), j(JGT, lo, fail, 0));
      break;
    default:
      throw new TscError('ERR_UNSUPPORTED', `seccomp: unknown comparison ${String(a.op)}`);
  }
  out.push({ code: -1, jt: pass, jf: 0, k: 0 }); // label marker
  return out;
}

function assemble(insns: Insn[]): Buffer {
  const labels = new Map<string, number>();
  const real: Insn[] = [];
  for (const i of insns) {
    if (i.code === -1) labels.set(i.jt as string, real.length);
    else real.push(i);
  }
  if (real.length > BPF_MAXINSNS) throw new TscError('ERR_UNSUPPORTED', `seccomp: the profile needs ${real.length} BPF instructions, more than ${BPF_MAXINSNS}`);
  const buf = Buffer.alloc(real.length * 8);
  real.forEach((ins, pc) => {
    const off = (t: Target): number => {
      if (typeof t === 'number') return t;
      const at = labels.get(t);
      if (at === undefined) throw new Error(`seccomp assembler: label ${t} not placed`);
      const d = at - pc - 1;
      if (d < 0 || d > 255) throw new Error(`seccomp assembler: jump from ${pc} to ${at} out of range`);
      return d;
    };
    buf.writeUInt16LE(ins.code, pc * 8);
    buf.writeUInt8(off(ins.jt), pc * 8 + 2);
    buf.writeUInt8(off(ins.jf), pc * 8 + 3);
    buf.writeUInt32LE(ins.k >>> 0, pc * 8 + 4);
  });
  return buf;
}

/**
 * The profile with Docker's conditions decided: only the rules that apply to these capabilities,
 * this architecture and kernel, without includes/excludes. This is also the OCI `linux.seccomp`
 * to hand another runtime (runc) for the same effect.
 */
export function resolveProfile(profile: SeccompProfile, opts: CompileOptions = {}): SeccompProfile {
  const caps = new Set(opts.capabilities ?? []);
  const kernel = opts.kernel ?? release();
  const syscalls = (profile.syscalls ?? [])
    .filter((r) => applies(r, caps, kernel))
    .map(({ includes: _i, excludes: _e, comment: _c, ...rule }) => rule);
  const { archMap: _a, ...rest } = profile;
  return { ...rest, architectures: ['SCMP_ARCH_X86_64'], syscalls };
}

export function compileSeccomp(input: SeccompProfile, opts: CompileOptions = {}): Buffer {
  const profile = resolveProfile(input, opts);
  const defaultErrno = profile.defaultErrnoRet ?? EPERM;
  const ret = (k: number): Insn => ({ code: RET, jt: 0, jf: 0, k });
  const code: Insn[] = [
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFF_ARCH },
    { code: JEQ, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
    ret(actionValue('SCMP_ACT_ERRNO', EPERM)), // other ABIs (i386 via int 0x80) are refused
    { code: LD_W_ABS, jt: 0, jf: 0, k: OFF_NR },
    { code: JSET, jt: 0, jf: 1, k: X32_SYSCALL_BIT },
    ret(actionValue('SCMP_ACT_ERRNO', EPERM)),
  ];
  let aHoldsNr = true;
  for (const rule of profile.syscalls ?? []) {
    const action = actionValue(rule.action, rule.errnoRet ?? defaultErrno);
    for (const name of rule.names) {
      const nr = SYSCALLS_X86_64[name];
      if (nr === undefined) continue; // another architecture's call, or one this table predates
      const next = `next${++labelSeq}`;
      if (!aHoldsNr) code.push({ code: LD_W_ABS, jt: 0, jf: 0, k: OFF_NR });
      code.push({ code: JEQ, jt: 0, jf: next, k: nr });
      for (const a of rule.args ?? []) code.push(...argCondition(a, next));
      code.push(ret(action), { code: -1, jt: next, jf: 0, k: 0 });
      aHoldsNr = (rule.args ?? []).length === 0;
    }
  }
  code.push(ret(actionValue(profile.defaultAction, defaultErrno)));
  return assemble(code);
}
