#!/usr/bin/env node
/** Entry point of the `tsc-compose` binary: run the program, map errors to exit codes. */
import { CommanderError } from 'commander';

import { TscError, exitCodeFor } from '../lib/errors.js';
import { buildProgram } from './program.js';

export async function main(argv: readonly string[]): Promise<number> {
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

process.exitCode = await main(process.argv.slice(2));
