/**
 * `extends`: a service built on another one, in the same file or in another file. The base
 * service is resolved first (it may extend yet another one), then the service's own keys are
 * merged onto it with the override rules of `merge.ts`. A base from another file has its
 * relative paths (build context, bind mounts, env_file, watch paths) rebased on that file's
 * directory, since they were written relative to it. A cycle is an error that prints the chain.
 */
import { dirname, isAbsolute, resolve } from 'node:path';

import { TscError } from '../lib/errors.js';
import { mergeTrees } from './merge.js';
import type { ParsedDocument } from './parse.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { PositionTable } from './positions.js';
import { next } from './tree-path.js';

type Mapping = Record<string, unknown>;

export interface ExtendsOptions {
  /** The file being loaded: absolute, or `-` for standard input. */
  file: string;
  display: (file: string) => string;
  /** Reads another file up to interpolation (extends resolves its own extends). */
  loader: { read(file: string): ParsedDocument[] };
}

interface Source {
  file: string;
  services: Mapping;
  positions: PositionTable;
}

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function resolveExtends(tree: ComposeTree, ctx: PhaseContext, opts: ExtendsOptions): ComposeTree {
  if (!isMapping(tree.services)) return tree;
  const services = tree.services;
  if (!Object.values(services).some((s) => isMapping(s) && s.extends !== undefined)) return tree;
  const fileCache = new Map<string, Source>();
  const here: Source = { file: opts.file, services, positions: ctx.positions };
  const baseDirOf = (file: string): string => (file === '-' ? ctx.workingDir : dirname(file));

  const load = (file: string, from: Source, at: string): Source => {
    const cached = fileCache.get(file);
    if (cached !== undefined) return cached;
    let docs: ParsedDocument[];
    try {
      docs = opts.loader.read(file);
    } catch (e) {
      if (e instanceof TscError && e.code === 'ERR_COMPOSE_NOT_FOUND') {
        throw from.positions.error('ERR_COMPOSE_NOT_FOUND', `cannot read extended file ${file}`, at, { cause: e });
      }
      throw e;
    }
    const doc = docs[0];
    const src: Source = {
      file,
      services: doc !== undefined && isMapping(doc.tree.services) ? doc.tree.services : {},
      positions: doc?.positions ?? new PositionTable(opts.display(file)),
    };
    fileCache.set(file, src);
    return src;
  };

  const resolveService = (name: string, src: Source, chain: string[]): Mapping => {
    const service = src.services[name];
    const path = next(next('services', name), 'extends');
    const key = `${opts.display(src.file)}:${name}`;
    if (chain.includes(key)) {
      throw src.positions.error('ERR_COMPOSE_INVALID', `circular reference in extends: ${[...chain, key].join(' -> ')}`, path);
    }
    if (!isMapping(service) || service.extends === undefined) return isMapping(service) ? service : {};
    const ext = service.extends;
    const ref = typeof ext === 'string' ? { service: ext } : isMapping(ext) ? ext : undefined;
    if (ref === undefined || typeof ref.service !== 'string') {
      throw src.positions.error('ERR_COMPOSE_SCHEMA', 'extends must be a service name or a mapping with a service', path);
    }
    let baseSrc = src;
    if (typeof ref.file === 'string') {
      const file = resolve(baseDirOf(src.file), ref.file);
      baseSrc = load(file, src, path);
    }
    if (!isMapping(baseSrc.services[ref.service])) {
      const where = baseSrc === src ? '' : ` in ${opts.display(baseSrc.file)}`;
      throw src.positions.error('ERR_COMPOSE_INVALID', `cannot extend service "${name}": service "${ref.service}" not found${where}`, path);
    }
    let base = resolveService(ref.service, baseSrc, [...chain, key]);
    if (baseSrc !== src && baseDirOf(baseSrc.file) !== baseDirOf(src.file)) base = rebasePaths(base, baseDirOf(baseSrc.file));
    const own: Mapping = { ...service };
    delete own.extends;
    const merged = mergeTrees(
      { tree: { services: { [name]: base } }, positions: new PositionTable() },
      { tree: { services: { [name]: own } }, positions: new PositionTable() },
    ).tree.services as Mapping;
    return merged[name] as Mapping;
  };

  const out: Mapping = {};
  for (const name of Object.keys(services)) out[name] = resolveService(name, here, []);
  return { ...tree, services: out };
}

/** Relative paths of a service written in `dir`, made absolute. */
function rebasePaths(service: Mapping, dir: string): Mapping {
  const abs = (p: string): string => (isAbsolute(p) || p.startsWith('~') ? p : resolve(dir, p));
  const isRemote = (p: string): boolean => /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(p) || p.includes('://');
  const out: Mapping = { ...service };
  if (typeof out.build === 'string' && !isRemote(out.build)) out.build = abs(out.build);
  else if (isMapping(out.build) && typeof out.build.context === 'string' && !isRemote(out.build.context)) {
    out.build = { ...out.build, context: abs(out.build.context) };
  }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (typeof v === 'string') {
        const [src, ...rest] = v.split(':');
        return src !== undefined && rest.length > 0 && (src.startsWith('.') || src.startsWith('/')) ? [abs(src), ...rest].join(':') : v;
      }
      if (isMapping(v) && typeof v.source === 'string' && (v.type === 'bind' || v.source.startsWith('.'))) return { ...v, source: abs(v.source) };
      return v;
    });
  }
  const envFile = (e: unknown): unknown => (typeof e === 'string' ? abs(e) : isMapping(e) && typeof e.path === 'string' ? { ...e, path: abs(e.path) } : e);
  if (out.env_file !== undefined) out.env_file = Array.isArray(out.env_file) ? out.env_file.map(envFile) : envFile(out.env_file);
  if (Array.isArray(out.label_file)) out.label_file = out.label_file.map((f) => (typeof f === 'string' ? abs(f) : f));
  else if (typeof out.label_file === 'string') out.label_file = abs(out.label_file);
  if (isMapping(out.develop) && Array.isArray(out.develop.watch)) {
    out.develop = {
      ...out.develop,
      watch: out.develop.watch.map((w) => (isMapping(w) && typeof w.path === 'string' ? { ...w, path: abs(w.path) } : w)),
    };
  }
  return out;
}
