/**
 * `include`: other compose projects brought into this one. Each entry is a path (or a list of
 * paths, merged as `-f` files are), with its own project directory (by default the first
 * file's directory) and its own env files (by default `.env` in that directory; the shell still
 * wins). Each is loaded on its own, up to resolved paths, then its services, networks, volumes,
 * secrets and configs are added to this project. A resource defined both here and there, not
 * identically, is an error; so is a file that includes itself (the chain is printed).
 */
import { dirname, resolve } from 'node:path';

import { isDeepStrictEqual } from 'node:util';

import { TscError } from '../lib/errors.js';
import { resolveEnvironment } from './environment.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { next } from './tree-path.js';

type Mapping = Record<string, unknown>;

export interface IncludeRequest {
  files: string[];
  workingDir: string;
  environment: Record<string, string>;
  chain: string[];
}

export interface IncludeOptions {
  /** The files of the including project (display names), outermost first: the include chain. */
  chain: string[];
  display: (file: string) => string;
  shell: Readonly<Record<string, string | undefined>>;
  /** Loads an included project (provided by `load.ts`, which knows the phases). */
  loadSubProject: (req: IncludeRequest) => ComposeTree;
}

const RESOURCES = ['services', 'networks', 'volumes', 'secrets', 'configs'] as const;

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function applyInclude(tree: ComposeTree, ctx: PhaseContext, opts: IncludeOptions): ComposeTree {
  const includes = tree.include;
  if (includes === undefined || includes === null) return tree;
  if (!Array.isArray(includes)) throw ctx.positions.error('ERR_COMPOSE_SCHEMA', 'include must be a sequence', 'include');
  const out: Mapping = { ...tree };
  delete out.include;
  includes.forEach((entry, i) => {
    const path = next('include', i);
    const spec: Mapping = isMapping(entry) ? entry : { path: entry };
    if (typeof spec.project_directory !== 'string' && spec.project_directory !== undefined) {
      throw ctx.positions.error('ERR_COMPOSE_SCHEMA', 'include project_directory must be a string', next(path, 'project_directory'));
    }
    const paths = (Array.isArray(spec.path) ? spec.path : [spec.path]).map((p) => {
      if (typeof p !== 'string' || p === '') {
        throw ctx.positions.error('ERR_COMPOSE_SCHEMA', 'include path must be a string or a list of strings', path);
      }
      return resolve(ctx.workingDir, p);
    });
    const first = paths[0];
    if (first === undefined) throw ctx.positions.error('ERR_COMPOSE_SCHEMA', 'include path must not be empty', path);
    const workingDir =
      typeof spec.project_directory === 'string' ? resolve(ctx.workingDir, spec.project_directory) : dirname(first);
    const shown = opts.display(first);
    if (opts.chain.includes(shown)) {
      throw ctx.positions.error('ERR_COMPOSE_INVALID', `include cycle detected: ${[...opts.chain, shown].join(' -> ')}`, path);
    }
    const envFiles = spec.env_file === undefined ? [] : (Array.isArray(spec.env_file) ? spec.env_file : [spec.env_file]).map(String);
    let own: Record<string, string>;
    try {
      own = resolveEnvironment({ shell: opts.shell, envFiles, projectDir: workingDir, cwd: ctx.workingDir }).environment;
    } catch (e) {
      if (e instanceof TscError) throw ctx.positions.error(e.code, e.message, path, { cause: e });
      throw e;
    }
    const environment = { ...ctx.environment, ...own };
    let sub: ComposeTree;
    try {
      sub = opts.loadSubProject({ files: paths, workingDir, environment, chain: [...opts.chain, shown] });
    } catch (e) {
      if (e instanceof TscError && e.code === 'ERR_COMPOSE_NOT_FOUND' && e.line === undefined) {
        throw ctx.positions.error(e.code, `included file ${shown}: ${e.message}`, path, { cause: e });
      }
      throw e;
    }
    for (const kind of RESOURCES) {
      const theirs = sub[kind];
      if (!isMapping(theirs)) continue;
      const ours: Mapping = isMapping(out[kind]) ? { ...(out[kind] as Mapping) } : {};
      for (const [name, def] of Object.entries(theirs)) {
        if (Object.hasOwn(ours, name) && !isDeepStrictEqual(ours[name], def)) {
          const singular = kind.slice(0, -1);
          throw ctx.positions.error(
            'ERR_COMPOSE_INVALID',
            `imported compose file ${shown} defines conflicting ${singular} ${name}`,
            next(kind, name),
          );
        }
        ours[name] = def;
      }
      out[kind] = ours;
    }
  });
  return out;
}
