/**
 * Resolve relative paths against the project directory (compose-go paths/resolve.go): bind
 * mount sources, build contexts (a URL or git reference stays as written) and additional
 * contexts, env_file and label_file paths, extends files, develop.watch paths, secret and
 * config files, and the device of a local volume with `o: bind`. `~` is the user's home
 * (HOME from the environment, else the OS's). Absolute paths are kept as written; relative ones
 * come out clean (`./data/` → `<dir>/data`). Symbolic links are not followed: this phase reads
 * no file, and docker compose's `config` does not require the paths to exist.
 */
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';

import type { ComposeTree, PhaseContext } from './phase.js';
import type { Rule } from './walk.js';
import { isMapping, rewrite } from './walk.js';

/** A build context or extends file that is not on this disk. */
export function isRemoteReference(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    ref.startsWith('git@') ||
    ref.startsWith('github.com/') ||
    ref.startsWith('service:')
  );
}

export function resolvePaths(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  const home = ctx.environment.HOME ?? homedir();
  const abs = (p: string): string => {
    let v = p;
    if (v === '~') v = home;
    else if (v.startsWith('~/')) v = home + v.slice(1);
    if (isAbsolute(v) || v === '') return v;
    return resolve(ctx.workingDir, v);
  };
  const absString: Rule = (v) => (typeof v === 'string' ? abs(v) : v);
  const absContext: Rule = (v) => (typeof v === 'string' && !isRemoteReference(v) ? abs(v) : v);
  const absVolume: Rule = (v, at) => {
    if (!isMapping(v) || v.type !== 'bind') return v;
    if (typeof v.source !== 'string' || v.source === '') {
      throw at.positions.error('ERR_COMPOSE_INVALID', 'invalid mount config for type "bind": field Source must not be empty', at.path);
    }
    return { ...v, source: abs(v.source) };
  };
  const absDevice: Rule = (v) => {
    if (!isMapping(v) || v.driver !== 'local' || !isMapping(v.driver_opts)) return v;
    const opts = v.driver_opts;
    if (opts.o !== 'bind' || typeof opts.device !== 'string') return v;
    return { ...v, driver_opts: { ...opts, device: abs(opts.device) } };
  };
  const rules = new Map<string, Rule>([
    ['services.*.build.context', absContext],
    ['services.*.build.additional_contexts.*', absContext],
    ['services.*.env_file[].path', absString],
    ['services.*.label_file[]', absString],
    ['services.*.extends.file', absContext],
    ['services.*.develop.watch[].path', absString],
    ['services.*.volumes[]', absVolume],
    ['configs.*.file', absString],
    ['secrets.*.file', absString],
    ['volumes.*', absDevice],
  ]);
  return rewrite(tree, rules, ctx.positions);
}
