/**
 * The one place overlay/ starts programs (ip, nft, nsenter, sh). Commands that must run
 * in a container's network namespace go through `nsenter --net=PATH`, which accepts both
 * /run/netns/NAME and /proc/PID/ns/net. Programs start through lib/run-program.ts (the
 * tsc-spawn helper when built), so the agent's event loop never waits on a fork.
 */
import { ProgramNotStarted, runBuiltin, runProgram, type ProgramResult } from '../lib/run-program.js';
import { TscError } from '../lib/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Run a command, feeding `input` on stdin; a non-zero exit becomes ERR_NETWORK. */
export async function runCommand(argv: readonly string[], opts: { input?: string; netns?: string | undefined } = {}): Promise<RunResult> {
  const full = opts.netns === undefined ? [...argv] : ['nsenter', `--net=${opts.netns}`, '--', ...argv];
  let r;
  try {
    r = await runProgram(full, { input: opts.input });
  } catch (e) {
    if (e instanceof ProgramNotStarted) throw new TscError('ERR_NETWORK', e.message, { cause: e });
    throw e;
  }
  return checked(argv, opts.netns, r);
}

/**
 * An nft script (`nft -f -`) in the host's namespace: through tsc-spawn's `@nft`, one
 * libnftables context kept open for the helper's life, when it has one (a command's socket is
 * not released each time, which waits out the grace period before what it deleted is freed:
 * links.c), else the program.
 */
export async function runNftScript(script: string): Promise<RunResult> {
  return (await runBuiltinCommand(['@nft'], { input: script })) ?? runCommand(['nft', '-f', '-'], { input: script });
}

/** `nft -j ARGS` (a list, in JSON) in the host's namespace, as runNftScript runs a script. */
export async function runNftJson(args: readonly string[]): Promise<RunResult> {
  return (await runBuiltinCommand(['@nft', '-j'], { input: args.join(' ') })) ?? runCommand(['nft', '-j', ...args]);
}

/** A tsc-spawn built-in (`@links`) as runCommand runs a program; undefined when there is none to run it. */
export async function runBuiltinCommand(argv: readonly string[], opts: { input?: string } = {}): Promise<RunResult | undefined> {
  const r = await runBuiltin(argv, { input: opts.input });
  return r === undefined ? undefined : checked(argv, undefined, r);
}

function checked(argv: readonly string[], netns: string | undefined, r: ProgramResult): RunResult {
  const stdout = r.stdout.toString();
  const stderr = r.stderr.toString();
  if (r.code !== 0) {
    const where = netns === undefined ? '' : ` in ${netns}`;
    throw new TscError('ERR_NETWORK', `${argv.slice(0, 3).join(' ')}${where} failed (exit ${r.code}): ${stderr.trim()}`);
  }
  return { stdout, stderr };
}
