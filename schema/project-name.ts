/**
 * The project name, chosen as docker compose v2 does: `-p`, else `COMPOSE_PROJECT_NAME`, else
 * the top-level `name:` of the compose files (the last file that sets it), else the project
 * directory's name. Names from a file or a directory are normalized (lowercase, only
 * `[a-z0-9_-]` kept, leading `_`/`-` dropped); names given explicitly must already be valid.
 */
import { basename } from 'node:path';

import { TscError } from '../lib/errors.js';

export interface ProjectNameSources {
  /** `-p` / `--project-name`. */
  flag?: string | undefined;
  /** `COMPOSE_PROJECT_NAME` from the shell or the env files. */
  env?: string | undefined;
  /** The top-level `name:` after interpolation, and where it was written. */
  fromFile?: { name: string; file: string; line?: number | undefined; col?: number | undefined } | undefined;
  workingDir: string;
}

const VALID = /^[a-z0-9][a-z0-9_-]*$/;

/** compose-go's `NormalizeProjectName`. */
export function normalizeProjectName(s: string): string {
  return (s.toLowerCase().match(/[a-z0-9_-]/g) ?? []).join('').replace(/^[_-]+/, '');
}

export function isValidProjectName(s: string): boolean {
  return VALID.test(s);
}

export function resolveProjectName(src: ProjectNameSources): string {
  if (src.flag !== undefined && src.flag !== '') return checked(src.flag, 'the -p option');
  if (src.env !== undefined && src.env !== '') return checked(src.env, 'COMPOSE_PROJECT_NAME');
  if (src.fromFile !== undefined) {
    const name = normalizeProjectName(src.fromFile.name);
    if (name !== '') return name;
  }
  const dir = basename(src.workingDir);
  const name = normalizeProjectName(dir);
  if (name === '') {
    throw new TscError('ERR_PROJECT_NAME', `project name must not be empty: the directory name "${dir}" has no usable character`, {
      hint: 'name the project with -p NAME, COMPOSE_PROJECT_NAME or a top-level name: in the compose file',
    });
  }
  return name;
}

function checked(name: string, source: string): string {
  if (isValidProjectName(name)) return name;
  throw new TscError(
    'ERR_PROJECT_NAME',
    `invalid project name "${name}" (from ${source}): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number`,
  );
}
