/**
 * The `tsc-compose` command line: global options as `docker compose` has them, and one
 * module per command under `commands/`. Handlers return data or throw TscError; this file
 * and `main.ts` are the only places that print errors and choose exit codes.
 */
import { Command, Option } from 'commander';

import { registerAgent } from './commands/agent.js';
import { registerBuild } from './commands/build.js';
import { registerConfig } from './commands/config.js';
import { registerImage } from './commands/image.js';
import { registerLogin } from './commands/login.js';
import { registerLogout } from './commands/logout.js';
import { registerResources } from './commands/resources.js';
import { registerExecRun } from './commands/compose/exec-run.js';
import { registerRun } from './commands/compose/run.js';
import { registerLifecycle } from './commands/compose/lifecycle.js';
import { registerPsLogs } from './commands/compose/ps.js';
import { registerPullImages } from './commands/compose/pull.js';
import { registerPush } from './commands/compose/push.js';
import { registerScale } from './commands/compose/scale.js';
import { registerAttach } from './commands/compose/attach.js';
import { registerUpDown } from './commands/compose/up.js';
import { registerWatch } from './commands/compose/watch.js';
import { registerCp } from './commands/compose/cp.js';
import { registerStats } from './commands/compose/stats.js';
import { registerTop } from './commands/compose/top.js';
import { registerVersion } from './commands/version.js';
import { composeContext } from './context.js';

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

export function buildProgram(): Program {
  let exitCode = 0;
  const setExit = (code: number) => {
    exitCode = code;
  };
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
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  registerConfig(program);
  registerUpDown(program, composeContext, setExit);
  registerWatch(program, composeContext, setExit);
  registerPsLogs(program, composeContext, setExit);
  registerLifecycle(program, composeContext, setExit);
  registerExecRun(program, composeContext, setExit);
  registerRun(program, composeContext, setExit);
  registerPullImages(program, composeContext, setExit);
  registerPush(program, composeContext, setExit);
  registerScale(program, composeContext, setExit);
  registerAttach(program, composeContext, setExit);
  registerBuild(program, composeContext, setExit);
  registerCp(program, composeContext, setExit);
  registerTop(program, composeContext, setExit);
  registerStats(program, composeContext, setExit);
  registerImage(program, composeContext, setExit);
  registerResources(program, composeContext, setExit);
  registerLogin(program, setExit);
  registerLogout(program, setExit);
  registerAgent(program);
  registerVersion(program);
  return { command: program, exitCode: () => exitCode };
}
