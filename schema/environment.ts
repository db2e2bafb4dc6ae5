/**
 * The variables interpolation sees, in docker compose v2's priority: the shell environment
 * first, then the `--env-file` files (repeatable, a later file winning over an earlier one; or
 * `COMPOSE_ENV_FILES`, comma-separated), or else `.env` in the project directory when it exists.
 * `.env` values are used for interpolation only: they reach no container by themselves.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

import { TscError } from '../lib/errors.js';
import { parseDotenv } from './dotenv.js';

export interface EnvironmentOptions {
  /** The shell environment (process.env in the CLI). */
  shell: Readonly<Record<string, string | undefined>>;
  /** `--env-file` values, relative to `cwd`. */
  envFiles: readonly string[];
  /** Where `.env` is looked for when no env file is named. */
  projectDir: string;
  cwd: string;
}

export interface ResolvedEnvironment {
  environment: Record<string, string>;
  /** The env files that were read, absolute, in order. */
  files: string[];
}

export function resolveEnvironment(opts: EnvironmentOptions): ResolvedEnvironment {
  const shell: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.shell)) if (v !== undefined) shell[k] = v;
  let files = opts.envFiles.map((f) => resolve(opts.cwd, f));
  if (files.length === 0 && shell.COMPOSE_ENV_FILES !== undefined && shell.COMPOSE_ENV_FILES !== '') {
    files = shell.COMPOSE_ENV_FILES.split(',').map((f) => resolve(opts.cwd, f.trim()));
  }
  if (files.length === 0) {
    const dotenv = resolve(opts.projectDir, '.env');
    if (isFile(dotenv)) files = [dotenv];
  } else {
    for (const f of files) {
      if (!isFile(f)) throw new TscError('ERR_COMPOSE_NOT_FOUND', `couldn't find env file: ${f}`, { file: f });
    }
  }
  const fromFiles: Record<string, string> = {};
  for (const f of files) {
    const lookup = (name: string): string | undefined => (Object.hasOwn(shell, name) ? shell[name] : undefined);
    const earlier = (name: string): string | undefined => (Object.hasOwn(fromFiles, name) ? fromFiles[name] : undefined);
    Object.assign(fromFiles, parseDotenv(readFileSync(f, 'utf8'), f, lookup, earlier));
  }
  return { environment: { ...fromFiles, ...shell }, files };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
