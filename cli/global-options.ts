/** The global options of the command line, read from any subcommand. */
import type { Command } from 'commander';

import type { LoadOptions } from '../schema/load.js';

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

/** The global options as typed values, read from any subcommand. */
export function globalOptions(cmd: Command): GlobalOptions {
  let root = cmd;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** The loader's options for what the command line says (`-f`, `-p`, `--profile`, ...). */
export function loadOptionsFrom(g: GlobalOptions, extra: Partial<LoadOptions> = {}): LoadOptions {
  return {
    cwd: process.cwd(),
    files: g.file,
    projectDirectory: g.projectDirectory,
    projectName: g.projectName,
    profiles: g.profile,
    envFiles: g.envFile,
    shell: process.env,
    ...extra,
  };
}
