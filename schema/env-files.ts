/**
 * `env_file` contents into `environment`, as docker compose does before printing `config` and
 * before creating containers: the files are read in order (a later file wins), then the
 * service's own `environment` wins over them; an entry left `null` (a bare `KEY` the
 * environment did not set) takes the file's value. The files stay listed in `env_file`.
 *
 * Reading and parsing is the caller's (the pipeline owns the .env parser): `read(path, format)`
 * returns the variables, or undefined when the file does not exist. A missing file marked
 * `required: false` is skipped; a missing required one is an error at its entry. With
 * `discard`, `env_file` is dropped afterwards, as `docker compose config` prints it. Runs after
 * `resolvePaths` (paths are absolute) and `normalize`.
 */
import type { ComposeTree, PhaseContext } from './phase.js';
import { isMapping } from './walk.js';

export type EnvFileReader = (path: string, format: string | undefined) => Readonly<Record<string, string>> | undefined;

export interface EnvFileOptions {
  /**
   * Drop `env_file` once its contents are in `environment`: `docker compose config` prints
   * the project this way (compose-go's WithDiscardEnvFile).
   */
  discard?: boolean;
}

export function resolveEnvFiles(tree: ComposeTree, ctx: PhaseContext, read: EnvFileReader, opts: EnvFileOptions = {}): ComposeTree {
  if (!isMapping(tree.services)) return tree;
  const services: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(tree.services)) {
    if (!isMapping(raw) || !Array.isArray(raw.env_file) || raw.env_file.length === 0) {
      services[name] = raw;
      continue;
    }
    const fromFiles: Record<string, string> = {};
    raw.env_file.forEach((ref, i) => {
      if (!isMapping(ref) || typeof ref.path !== 'string') return;
      const vars = read(ref.path, typeof ref.format === 'string' ? ref.format : undefined);
      if (vars === undefined) {
        if (ref.required === false) return;
        throw ctx.positions.error('ERR_COMPOSE_NOT_FOUND', `env file ${ref.path} not found`, `services.${name}.env_file[${i}]`);
      }
      Object.assign(fromFiles, vars);
    });
    const environment: Record<string, string | null> = { ...fromFiles };
    const own = isMapping(raw.environment) ? raw.environment : {};
    for (const [k, v] of Object.entries(own)) {
      if (v !== null) environment[k] = String(v);
      else if (!(k in environment)) environment[k] = null;
    }
    const s: Record<string, unknown> = { ...raw, environment };
    if (opts.discard === true) delete s.env_file;
    services[name] = s;
  }
  return { ...tree, services };
}
