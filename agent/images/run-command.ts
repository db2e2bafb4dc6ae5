/**
 * Run a helper command (mount, mknod, setfattr), feeding stdin, failing with its stderr.
 * Started through lib/run-program.ts (the tsc-spawn helper when built): no fork of the agent.
 */
import { runProgram } from '../../lib/run-program.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(cmd: string, args: readonly string[], opts: { cwd?: string; input?: string | Buffer } = {}): Promise<RunResult> {
  const r = await runProgram([cmd, ...args], { cwd: opts.cwd, input: opts.input });
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
