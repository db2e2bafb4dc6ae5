/**
 * `label_file` contents into `labels`, as compose-go's WithServicesLabelsResolved: each file
 * (KEY=VALUE lines, the `.env` syntax) read in order, a later file winning, `${VAR}` in a file
 * resolving to labels of the files before it; then the service's own `labels` win over them.
 * A missing file is an error at its entry. With `discard`, `label_file` is dropped afterwards,
 * as `docker compose config` prints it. Runs after `resolvePaths` (paths are absolute).
 *
 * Reading is the caller's: `read(path, resolve)` returns the labels of one file (resolving
 * references through `resolve`), or undefined when the file does not exist.
 */
import type { ComposeTree, PhaseContext } from './phase.js';
import { isMapping } from './walk.js';

export type LabelFileReader = (path: string, resolve: (name: string) => string | undefined) => Readonly<Record<string, string>> | undefined;

export function resolveLabelFiles(tree: ComposeTree, ctx: PhaseContext, read: LabelFileReader, opts: { discard?: boolean } = {}): ComposeTree {
  if (!isMapping(tree.services)) return tree;
  let changed = false;
  const services: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(tree.services)) {
    if (!isMapping(raw) || raw.label_file === undefined) {
      services[name] = raw;
      continue;
    }
    changed = true;
    const files = Array.isArray(raw.label_file) ? raw.label_file : [raw.label_file];
    const labels: Record<string, string> = {};
    files.forEach((path, i) => {
      if (typeof path !== 'string') return;
      const vars = read(path, (k) => (Object.hasOwn(labels, k) ? labels[k] : undefined));
      if (vars === undefined) throw ctx.positions.error('ERR_COMPOSE_NOT_FOUND', `label file ${path} not found`, `services.${name}.label_file[${i}]`);
      Object.assign(labels, vars);
    });
    if (isMapping(raw.labels)) for (const [k, v] of Object.entries(raw.labels)) labels[k] = v === null ? '' : String(v);
    const s: Record<string, unknown> = { ...raw };
    if (Object.keys(labels).length > 0) s.labels = labels;
    if (opts.discard === true) delete s.label_file;
    services[name] = s;
  }
  return changed ? { ...tree, services } : tree;
}
