/**
 * Which compose files make up the project, and its directory, as docker compose v2 finds them:
 * `-f` files (repeatable, `-` for stdin) in order; else `COMPOSE_FILE` split on
 * `COMPOSE_PATH_SEPARATOR` (`:` by default); else the first of `compose.yaml`, `compose.yml`,
 * `docker-compose.yml`, `docker-compose.yaml` in the directory (searched upwards through its
 * parents), followed by the first `compose.override.*` / `docker-compose.override.*` next to it.
 * The project directory is `--project-directory`, else the first file's directory.
 */
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { TscError } from '../lib/errors.js';

export const DEFAULT_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;
export const DEFAULT_OVERRIDE_FILE_NAMES = [
  'compose.override.yml',
  'compose.override.yaml',
  'docker-compose.override.yml',
  'docker-compose.override.yaml',
] as const;

/** The name used in positions and errors for a file read from standard input. */
export const STDIN_FILE = '-';

export interface DiscoverOptions {
  /** `-f` values, relative to `cwd`; `-` is standard input. */
  files: readonly string[];
  projectDirectory?: string | undefined;
  cwd: string;
  /** Variables that may name the files (`COMPOSE_FILE`, `COMPOSE_PATH_SEPARATOR`). */
  environment: Readonly<Record<string, string | undefined>>;
}

export interface Discovered {
  /** Absolute paths, or `-` for standard input, in merge order. */
  files: string[];
  /** The project directory, absolute. */
  workingDir: string;
  warnings: string[];
}

/** The directory `.env` is read from: known before the compose files are (COMPOSE_FILE may be in it). */
export function envDirectory(opts: Pick<DiscoverOptions, 'files' | 'projectDirectory' | 'cwd'>): string {
  if (opts.projectDirectory !== undefined) return resolve(opts.cwd, opts.projectDirectory);
  const first = opts.files.find((f) => f !== STDIN_FILE);
  return first === undefined ? opts.cwd : dirname(resolve(opts.cwd, first));
}

export function discoverFiles(opts: DiscoverOptions): Discovered {
  const warnings: string[] = [];
  let files: string[];
  if (opts.files.length > 0) {
    files = opts.files.map((f) => (f === STDIN_FILE ? f : resolve(opts.cwd, f)));
  } else if (opts.environment.COMPOSE_FILE !== undefined && opts.environment.COMPOSE_FILE !== '') {
    const sep = opts.environment.COMPOSE_PATH_SEPARATOR || ':';
    files = opts.environment.COMPOSE_FILE.split(sep)
      .filter((f) => f !== '')
      .map((f) => resolve(opts.cwd, f));
  } else {
    const start = opts.projectDirectory !== undefined ? resolve(opts.cwd, opts.projectDirectory) : opts.cwd;
    files = findDefaultFiles(start, warnings);
  }
  for (const f of files) {
    if (f !== STDIN_FILE && !isFile(f)) {
      throw new TscError('ERR_COMPOSE_NOT_FOUND', `open ${f}: no such file or directory`, { file: f });
    }
  }
  const first = files.find((f) => f !== STDIN_FILE);
  const workingDir =
    opts.projectDirectory !== undefined
      ? resolve(opts.cwd, opts.projectDirectory)
      : first === undefined
        ? opts.cwd
        : dirname(first);
  return { files, workingDir, warnings };
}

function findDefaultFiles(start: string, warnings: string[]): string[] {
  for (let dir = start; ; dir = dirname(dir)) {
    const found = DEFAULT_FILE_NAMES.map((n) => join(dir, n)).filter(isFile);
    const winner = found[0];
    if (winner !== undefined) {
      if (found.length > 1) warnings.push(`Found multiple config files with supported names: ${found.join(', ')}\nUsing ${winner}`);
      const overrides = DEFAULT_OVERRIDE_FILE_NAMES.map((n) => join(dir, n)).filter(isFile);
      if (overrides.length > 1) {
        warnings.push(`Found multiple override files with supported names: ${overrides.join(', ')}\nUsing ${overrides[0]}`);
      }
      return overrides[0] === undefined ? [winner] : [winner, overrides[0]];
    }
    if (dirname(dir) === dir) break;
  }
  throw new TscError('ERR_COMPOSE_NOT_FOUND', 'no configuration file provided: not found', {
    hint: `looked for ${DEFAULT_FILE_NAMES.join(', ')} in ${start} and its parents; name files with -f`,
  });
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
