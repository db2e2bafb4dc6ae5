/**
 * The `tsc-compose` command line: global options as `docker compose` has them, and one
 * module per command under `commands/`. Handlers return data or throw TscError; this file
 * and `main.ts` are the only places that print errors and choose exit codes.
 *
 * Command modules are imported lazily: each line of COMMANDS names the top-level commands a
 * module registers and imports it only when one of them runs (or for help and errors, which
 * list them all). Importing every command module up front cost ~85 ms on each start.
 */
import { Command, Option } from 'commander';

import type { ComposeContext } from './compose-context.js';

export type { GlobalOptions } from './global-options.js';
export { globalOptions } from './global-options.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The program, and the exit status its command chose (docker compose's codes). */
export interface Program {
  command: Command;
  exitCode(): number;
}

/** What a registration line gets besides the program. */
export interface Registrar {
  /** The ComposeContext factory of a real command line (imported on first use). */
  context(): Promise<(cmd: Command) => ComposeContext>;
  setExit(code: number): void;
}

/** One line of COMMANDS: the top-level command names (and aliases) a module registers. */
export type CommandLine = readonly [names: readonly string[], register: (program: Command, r: Registrar) => Promise<void>];

/** Every command, in `--help` order; one line per module. */
export const COMMANDS: readonly CommandLine[] = [
  [['config'], async (p) => (await import('./commands/config.js')).registerConfig(p)],
  [['up', 'down'], async (p, r) => (await import('./commands/compose/up.js')).registerUpDown(p, await r.context(), r.setExit)],
  [['watch'], async (p, r) => (await import('./commands/compose/watch.js')).registerWatch(p, await r.context(), r.setExit)],
  [['ps', 'logs'], async (p, r) => (await import('./commands/compose/ps.js')).registerPsLogs(p, await r.context(), r.setExit)],
  [['start', 'stop', 'restart', 'kill', 'pause', 'unpause', 'rm', 'wait', 'port'], async (p, r) => (await import('./commands/compose/lifecycle.js')).registerLifecycle(p, await r.context(), r.setExit)],
  [['exec', 'events', 'ls'], async (p, r) => (await import('./commands/compose/exec-run.js')).registerExecRun(p, await r.context(), r.setExit)],
  [['run'], async (p, r) => (await import('./commands/compose/run.js')).registerRun(p, await r.context(), r.setExit)],
  [['pull', 'images', 'create'], async (p, r) => (await import('./commands/compose/pull.js')).registerPullImages(p, await r.context(), r.setExit)],
  [['push'], async (p, r) => (await import('./commands/compose/push.js')).registerPush(p, await r.context(), r.setExit)],
  [['scale'], async (p, r) => (await import('./commands/compose/scale.js')).registerScale(p, await r.context(), r.setExit)],
  [['attach'], async (p, r) => (await import('./commands/compose/attach.js')).registerAttach(p, await r.context(), r.setExit)],
  [['build'], async (p, r) => (await import('./commands/build.js')).registerBuild(p, await r.context(), r.setExit)],
  [['cp'], async (p, r) => (await import('./commands/compose/cp.js')).registerCp(p, await r.context(), r.setExit)],
  [['top'], async (p, r) => (await import('./commands/compose/top.js')).registerTop(p, await r.context(), r.setExit)],
  [['stats'], async (p, r) => (await import('./commands/compose/stats.js')).registerStats(p, await r.context(), r.setExit)],
  [['image'], async (p, r) => (await import('./commands/image.js')).registerImage(p, await r.context(), r.setExit)],
  [['network', 'volume'], async (p, r) => (await import('./commands/resources.js')).registerResources(p, await r.context(), r.setExit)],
  [['login'], async (p, r) => (await import('./commands/login.js')).registerLogin(p, r.setExit)],
  [['logout'], async (p, r) => (await import('./commands/logout.js')).registerLogout(p, r.setExit)],
  [['agent'], async (p) => (await import('./commands/agent.js')).registerAgent(p)],
  [['version'], async (p) => (await import('./commands/version.js')).registerVersion(p)],
];

/** The program with its global options and no command yet. */
function globalProgram(): Command {
  return new Command('tsc-compose')
    .description('Docker Compose on one host, a lite Docker Swarm across many; no Docker daemon needed.')
    .option('-f, --file <FILE>', 'Compose configuration files (repeatable, - for stdin)', collect, [])
    .option('-p, --project-name <NAME>', 'Project name')
    .option('--project-directory <DIR>', 'Alternate working directory (default: the first compose file\'s directory)')
    .option('--profile <PROFILE>', 'Enable a profile (repeatable)', collect, [])
    .option('--env-file <FILE>', 'Alternate environment file (repeatable)', collect, [])
    .addOption(
      new Option('--progress <TYPE>', 'Type of progress output').choices(['auto', 'tty', 'plain', 'json', 'quiet']),
    )
    .option('--verbose', 'Print stack traces of errors', false)
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
}

/**
 * The program for `argv` (the arguments after the binary): only the module of the command
 * `argv` names is imported; every module when it names none, an unknown one, or asks for help
 * before the command (help and usage errors list every command).
 */
export async function buildProgram(argv: readonly string[]): Promise<Program> {
  let exitCode = 0;
  const registrar: Registrar = {
    context: async () => (await import('./context.js')).composeContext,
    setExit: (code) => {
      exitCode = code;
    },
  };
  const program = globalProgram();
  const word = commandWord(program, argv);
  const line = word === undefined ? undefined : COMMANDS.find(([names]) => names.includes(word));
  for (const [, register] of line === undefined ? COMMANDS : [line]) await register(program, registrar);
  return { command: program, exitCode: () => exitCode };
}

/** Commands that may run for long (a daemon, followers of logs and events), and an attached `up`: see `shortLived`. */
const LONG_RUNNING: ReadonlySet<string> = new Set(['agent', 'logs', 'events', 'stats', 'watch', 'attach']);

/**
 * Whether `argv` names a command that is done in well under a second (`config`, `up -d`, `ps`):
 * the binary then turns V8's optimizing compiler off (`main.ts`).
 */
export function shortLived(argv: readonly string[]): boolean {
  const at = commandIndex(globalProgram(), argv);
  const word = at < 0 ? undefined : argv[at];
  if (word === 'up') {
    // an attached `up` follows its containers' logs for as long as they run
    const rest = argv.slice(at + 1);
    return !rest.includes('--watch') && !rest.includes('-w') && rest.some((a) => a === '-d' || a === '--detach' || a === '--wait');
  }
  return word === undefined || !LONG_RUNNING.has(word);
}

/**
 * The command `argv` names: the first operand after the global options, read with the
 * program's own option table; undefined on anything else (help, `--`, an unknown option).
 */
export function commandWord(program: Command, argv: readonly string[]): string | undefined {
  const at = commandIndex(program, argv);
  return at < 0 ? undefined : argv[at];
}

/** Where in `argv` the command word is (see `commandWord`), or -1. */
function commandIndex(program: Command, argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith('-') || arg === '-') return i;
    if (arg === '--') return -1;
    const long = arg.startsWith('--');
    const flag = long ? arg.split('=', 1)[0] : arg.slice(0, 2);
    const option = program.options.find((o) => (long ? o.long === flag : o.short === flag));
    if (option === undefined) return -1;
    const inlineValue = long ? arg.includes('=') : arg.length > 2;
    if (option.required && !inlineValue) i++;
    else if (!option.required && !option.optional && inlineValue) return -1; // `-xyz` groups, `--flag=v`
  }
  return -1;
}
