/**
 * Profiles: which services are on. A service without `profiles` is always on; one with
 * profiles is on when one of them is active (`--profile`, repeatable, or `COMPOSE_PROFILES`;
 * `*` activates all). A service named on the command line is on whatever its profiles, and so
 * are the services it depends on; the project is then restricted to them. An enabled service
 * that depends on a disabled one is an error, unless the dependency says `required: false`
 * (then the dependency is dropped).
 */
import { TscError } from '../lib/errors.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { next } from './tree-path.js';

export interface ProfileOptions {
  /** Active profiles. */
  profiles: readonly string[];
  /** Services named on the command line (`config web db`, `up web`). */
  services?: readonly string[];
}

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function servicesOf(tree: ComposeTree): Mapping {
  return isMapping(tree.services) ? tree.services : {};
}

/** The profiles a service lists. */
export function serviceProfiles(service: unknown): string[] {
  if (!isMapping(service) || !Array.isArray(service.profiles)) return [];
  return service.profiles.map(String);
}

/** Every profile named by any service, sorted (what `config --profiles` prints). */
export function listProfiles(tree: ComposeTree): string[] {
  const all = new Set<string>();
  for (const s of Object.values(servicesOf(tree))) for (const p of serviceProfiles(s)) all.add(p);
  return [...all].sort();
}

/** The services `name` depends on, with whether each is required and where it is written. */
export function dependencies(service: unknown, path: string): Array<{ name: string; required: boolean; path: string }> {
  if (!isMapping(service)) return [];
  const deps = service.depends_on;
  if (Array.isArray(deps)) return deps.map((d, i) => ({ name: String(d), required: true, path: next(path, i) }));
  if (isMapping(deps)) {
    return Object.entries(deps).map(([name, v]) => ({
      name,
      required: !(isMapping(v) && (v.required === false || v.required === 'false')),
      path: next(path, name),
    }));
  }
  return [];
}

export function applyProfiles(tree: ComposeTree, ctx: PhaseContext, opts: ProfileOptions): ComposeTree {
  const services = servicesOf(tree);
  const active = new Set(opts.profiles);
  const named = opts.services ?? [];
  for (const name of named) {
    if (!Object.hasOwn(services, name)) throw new TscError('ERR_NOT_FOUND', `no such service: ${name}`);
  }
  const isOn = (name: string): boolean => {
    const profiles = serviceProfiles(services[name]);
    return profiles.length === 0 || active.has('*') || profiles.some((p) => active.has(p));
  };

  let keep: Set<string>;
  if (named.length > 0) {
    // the named services and everything they depend on, whatever their profiles
    keep = new Set();
    const visit = (name: string): void => {
      if (keep.has(name) || !Object.hasOwn(services, name)) return;
      keep.add(name);
      for (const d of dependencies(services[name], next(next('services', name), 'depends_on'))) {
        if (d.required || isOn(d.name)) visit(d.name);
      }
    };
    named.forEach(visit);
  } else {
    keep = new Set(Object.keys(services).filter(isOn));
  }

  const out: Mapping = {};
  for (const name of Object.keys(services)) {
    if (!keep.has(name)) continue;
    const service = services[name];
    const depsPath = next(next('services', name), 'depends_on');
    const dropped = new Set<string>();
    for (const d of dependencies(service, depsPath)) {
      if (keep.has(d.name) || !Object.hasOwn(services, d.name)) continue;
      if (!d.required) {
        dropped.add(d.name);
        continue;
      }
      const profiles = serviceProfiles(services[d.name]).join(', ');
      throw ctx.positions.error(
        'ERR_COMPOSE_INVALID',
        `service "${name}" depends on service "${d.name}", which is disabled by its profiles (${profiles})`,
        d.path,
        { hint: `enable it with --profile ${serviceProfiles(services[d.name])[0] ?? ''}, or mark the dependency required: false` },
      );
    }
    out[name] = dropped.size === 0 ? service : withoutDependencies(service as Mapping, dropped);
  }
  return { ...tree, services: out };
}

function withoutDependencies(service: Mapping, dropped: ReadonlySet<string>): Mapping {
  const deps = service.depends_on;
  if (Array.isArray(deps)) return { ...service, depends_on: deps.filter((d) => !dropped.has(String(d))) };
  if (isMapping(deps)) return { ...service, depends_on: Object.fromEntries(Object.entries(deps).filter(([k]) => !dropped.has(k))) };
  return service;
}
