/**
 * Run a helper command (mount, mknod, setfattr), feeding stdin, failing with its stderr.
 * Started through lib/run-program.ts (the tsc-spawn helper when built): no fork of the agent.
 */
import { ProgramNotStarted, runProgram, usesSpawnHelper } from '../../lib/run-program.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string | Buffer } = {}): Promise<RunResult> {
  const r = await runProgram([cmd, ...args], { cwd: opts.cwd, input: opts.input });
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Set once a tsc-spawn without the mount built-ins (an older build) answered "cannot run". */
let noMountBuiltin = false;

/**
 * `mount -t TYPE SOURCE -o OPTIONS TARGET` (`cwd` for relative paths): mount(2) in tsc-spawn's
 * forked child (`@mount`) when the helper runs, mount(8) otherwise. A container start saves a
 * program, and its dynamic loading, this way.
 */
export function mount(type: string, source: string, options: string, target: string, opts: { cwd?: string } = {}): Promise<RunResult> {
  return viaBuiltin(['@mount', type, source, options, target], ['mount', '-t', type, source, '-o', options, target], opts);
}

/** `umount TARGET`, as `mount` is done. */
export function umount(target: string): Promise<RunResult> {
  return viaBuiltin(['@umount', target], ['umount', target], {});
}

async function viaBuiltin(builtin: readonly string[], program: readonly string[], opts: { cwd?: string }): Promise<RunResult> {
  if (!noMountBuiltin && usesSpawnHelper()) {
    try {
      const [cmd, ...args] = builtin as [string, ...string[]];
      return await runCommand(cmd, args, opts);
    } catch (e) {
      if (!(e instanceof ProgramNotStarted)) throw e;
      noMountBuiltin = true;
    }
  }
  const [cmd, ...args] = program as [string, ...string[]];
  return runCommand(cmd, args, opts);
}
