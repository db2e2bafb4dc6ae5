/**
 * The program behind the `tsc-compose` binary: run it on the arguments, map errors to exit
 * codes. `main.ts` loads this module (from the bundle when there is one) and calls `main`.
 */
import { CommanderError } from 'commander';

import { restoreDefaultFlags } from '../lib/code-cached-module.js';
import { TscError, exitCodeFor } from '../lib/errors.js';
import { buildProgram, shortLived } from './program.js';

/** Run `argv` (the arguments after the binary); the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  // main.ts loaded the code with TurboFan off (the flags of the code caches): a short command
  // ends before it would pay back (without it `config` of 1,000 services went from 0.33-0.35 s
  // to 0.30 s on 2 cores); the agent and the followers turn it back on.
  if (!shortLived(argv)) restoreDefaultFlags();
  const program = await buildProgram(argv);
  try {
    await program.command.parseAsync(argv as string[], { from: 'user' });
    return program.exitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed its own message (help, usage errors); keep its exit code.
      return e.exitCode;
    }
    const verbose = argv.includes('--verbose');
    if (e instanceof TscError) {
      process.stderr.write(`${e.format()}\n`);
      if (verbose && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
    } else {
      process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    return exitCodeFor(e);
  }
}
