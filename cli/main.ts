#!/usr/bin/env node
/** Entry point of the `tsc-compose` binary: run the program, map errors to exit codes. */
import { CommanderError } from 'commander';

import { TscError, exitCodeFor } from '../lib/errors.js';
import { enterShortLivedMode } from '../lib/v8-flags.js';
import { buildProgram, shortLived } from './program.js';

export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  // A short command ends before V8's optimizing compiler (TurboFan, on a background thread that
  // competes for the cores) pays back: without it `config` of 1,000 services went from 0.38-0.42 s
  // to 0.32-0.35 s on 2 cores. The agent and the followers keep it. Turned off only now, once
  // the command's modules are loaded: any V8 flag set at run time makes V8 refuse the code cache
  // Node's own modules come with (compiled again, crypto, http and the rest cost ~20 ms more).
  if (shortLived(argv)) enterShortLivedMode();
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
