/**
 * Run a helper command (mount, mknod, setfattr), feeding stdin, failing with its stderr.
 * Started through lib/run-program.ts (the tsc-spawn helper when built): no fork of the agent.
 */
import { runBuiltin, runProgram } from '../../lib/run-program.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string | Buffer } = {}): Promise<RunResult> {
  const r = await runProgram([cmd, ...args], { cwd: opts.cwd, input: opts.input });
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

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
  const r = await runBuiltin(builtin, { cwd: opts.cwd });
  if (r === undefined) return runCommand(program[0] as string, program.slice(1), opts);
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
