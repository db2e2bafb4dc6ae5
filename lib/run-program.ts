/**
 * Run a program to completion (stdin given, stdout/stderr collected) through tsc-spawn, the
 * small long-lived starter process built beside the bundled runtime
 * (agent/runtime/native/spawn/tsc-spawn.c), or through Node's spawn when it is not built.
 *
 * Why: Node's `spawn` forks the whole (large) process and then blocks the event loop until
 * the child has exec'd. An agent bringing up 50 containers runs hundreds of `ip`, `nft`,
 * `mount` and runtime commands, and under load each of those stalled the loop for ~10 ms.
 * Through the helper a program start costs the agent one pipe write.
 *
 * `TSC_COMPOSE_SPAWN_HELPER=0` turns the helper off (Node's spawn then).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';

import { packageFile } from './package-file.js';
import { traced, tracing } from './trace.js';

export interface ProgramResult {
  /** Exit status, or 128 + signal number. */
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunProgramOptions {
  input?: string | Buffer | undefined;
  cwd?: string | undefined;
  /**
   * stdin, stdout and stderr on /dev/null (input ignored, nothing collected): for a program
   * that leaves a process behind holding them, which pipes would wait on.
   */
  ignoreStdio?: boolean | undefined;
}

/** Thrown when the program cannot be started at all (not found, not executable). */
export class ProgramNotStarted extends Error {
  constructor(
    readonly program: string,
    message: string,
  ) {
    super(message);
  }
}

function helperPath(): string | undefined {
  if (process.env['TSC_COMPOSE_SPAWN_HELPER'] === '0') return undefined;
  const bin = packageFile('agent', 'runtime', 'native', 'build', 'tsc-spawn');
  return bin !== undefined && existsSync(bin) ? bin : undefined;
}

interface Pending {
  resolve(r: ProgramResult): void;
  reject(e: Error): void;
  program: string;
}

interface Helper {
  child: ChildProcess;
  pending: Map<number, Pending>;
  nextId: number;
}

let helper: Helper | undefined;
/** undefined: not looked for yet; null: not available (not built, turned off, or it died). */
let helperBin: string | null | undefined;

function frame(id: number, argv: readonly string[], input: Buffer, cwd: string, flags: number): Buffer {
  const strings = Buffer.from([cwd, ...argv].map((s) => `${s}\0`).join(''));
  const head = Buffer.alloc(20);
  head.writeUInt32LE(16 + strings.length + input.length, 0);
  head.writeUInt32LE(id, 4);
  head.writeUInt32LE(argv.length, 8);
  head.writeUInt32LE(input.length, 12);
  head.writeUInt32LE(flags, 16);
  return Buffer.concat([head, strings, input]);
}

function startHelper(bin: string): Helper {
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const h: Helper = { child, pending: new Map(), nextId: 1 };
  let acc: Buffer = Buffer.alloc(0);
  const fail = (why: string) => {
    if (helper === h) helper = undefined;
    helperBin = null;
    for (const p of h.pending.values()) p.reject(new Error(`tsc-spawn ${why} while running ${p.program}`));
    h.pending.clear();
  };
  child.on('error', (e) => fail(`failed: ${e.message}`));
  child.on('exit', (code, signal) => fail(`exited (${signal ?? code})`));
  child.stdin?.on('error', () => undefined);
  child.stdout?.on('data', (chunk: Buffer) => {
    acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
    while (acc.length >= 4) {
      const len = acc.readUInt32LE(0);
      if (acc.length < 4 + len) break;
      const id = acc.readUInt32LE(4);
      const code = acc.readInt32LE(8);
      const outLen = acc.readUInt32LE(12);
      const errLen = acc.readUInt32LE(16);
      const stdout = Buffer.from(acc.subarray(20, 20 + outLen));
      const stderr = Buffer.from(acc.subarray(20 + outLen, 20 + outLen + errLen));
      acc = acc.subarray(4 + len);
      const p = h.pending.get(id);
      h.pending.delete(id);
      if (h.pending.size === 0) idle(h);
      p?.resolve({ code, stdout, stderr });
    }
  });
  idle(h);
  return h;
}

/** The helper must not keep a CLI alive once nothing waits on it. */
function idle(h: Helper): void {
  h.child.unref();
  (h.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (h.child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
}

function busy(h: Helper): void {
  h.child.ref();
  (h.child.stdout as unknown as { ref?: () => void } | null)?.ref?.();
}

function viaHelper(h: Helper, argv: readonly string[], opts: RunProgramOptions): Promise<ProgramResult> {
  const id = h.nextId;
  h.nextId = h.nextId >= 0xffffffff ? 1 : h.nextId + 1;
  const program = argv[0] ?? '';
  return new Promise<ProgramResult>((resolve, reject) => {
    h.pending.set(id, { resolve, reject, program });
    busy(h);
    const input = opts.ignoreStdio === true ? Buffer.alloc(0) : typeof opts.input === 'string' ? Buffer.from(opts.input) : (opts.input ?? Buffer.alloc(0));
    h.child.stdin?.write(frame(id, argv, input, opts.cwd ?? '', opts.ignoreStdio === true ? 1 : 0));
  }).then((r) => {
    // The helper's child reports a failed exec as 127 with this line (see tsc-spawn.c).
    const msg = r.stderr.toString();
    if (r.code === 127 && msg.startsWith(`cannot run ${program}: `)) throw new ProgramNotStarted(program, msg.trim());
    return r;
  });
}

function viaNode(argv: readonly string[], opts: RunProgramOptions): Promise<ProgramResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('runProgram: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: opts.ignoreStdio === true ? 'ignore' : 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new ProgramNotStarted(cmd, `cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) => {
      resolve({ code: code ?? 128 + (signal === null ? 0 : constants.signals[signal]), stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** Whether programs start through tsc-spawn (built and not turned off). */
export function usesSpawnHelper(): boolean {
  if (helperBin === undefined) helperBin = helperPath() ?? null;
  return helperBin !== null;
}

/** Run `argv` (looked up in PATH) to completion; never rejects for a non-zero exit. */
export function runProgram(argv: readonly string[], opts: RunProgramOptions = {}): Promise<ProgramResult> {
  if (argv.length === 0) return Promise.reject(new Error('runProgram: empty argv'));
  if (helperBin === undefined) helperBin = helperPath() ?? null;
  if (!tracing()) {
    if (helperBin === null) return viaNode(argv, opts);
    helper ??= startHelper(helperBin);
    return viaHelper(helper, argv, opts);
  }
  const h = helperBin;
  return traced('prog', argv.slice(0, 3).join(' ').replace(/\s+/g, ' ').slice(0, 60), () => (h === null ? viaNode(argv, opts) : viaHelper((helper ??= startHelper(h)), argv, opts)));
}

/** Built-ins the running tsc-spawn did not know (an older build answered "cannot run"). */
const absentBuiltins = new Set<string>();

/**
 * Run one of tsc-spawn's built-ins (`@links`, `@mount`, `@umount`: done in its forked child
 * without a program); undefined when there is no helper or the running one does not know it
 * (then not asked again), and the caller runs its program instead.
 */
export async function runBuiltin(argv: readonly string[], opts: RunProgramOptions = {}): Promise<ProgramResult | undefined> {
  const name = argv[0] ?? '';
  if (!name.startsWith('@')) throw new Error(`runBuiltin: ${name} is not a built-in`);
  if (absentBuiltins.has(name) || !usesSpawnHelper()) return undefined;
  try {
    return await runProgram(argv, opts);
  } catch (e) {
    if (!(e instanceof ProgramNotStarted)) throw e;
    absentBuiltins.add(name);
    return undefined;
  }
}
