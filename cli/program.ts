/**
 * The `tsc-compose` command line: global options as `docker compose` has them, and one
 * module per command under `commands/`. Handlers return data or throw TscError; this file
 * and `main.ts` are the only places that print errors and choose exit codes.
 */
import { Command, Option } from 'commander';

import { registerConfig } from './commands/config.js';
import { registerVersion } from './commands/version.js';

/** The options every compose command shares (`docker compose --help`, "Options"). */
export interface GlobalOptions {
  file: string[];
  projectName?: string;
  projectDirectory?: string;
  profile: string[];
  envFile: string[];
  progress?: 'auto' | 'tty' | 'plain' | 'json' | 'quiet';
  verbose: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function buildProgram(): Command {
  const program = new Command('tsc-compose')
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
    .showHelpAfterError()
    .exitOverride();
  registerConfig(program);
  registerVersion(program);
  return program;
}

/** The global options as typed values, read from any subcommand. */
export function globalOptions(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}
