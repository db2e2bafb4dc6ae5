/**
 * Readers of a loaded service that accept both the short syntax and the canonical long
 * syntax, so that tests of the pipeline (interpolation, merge, profiles, names) say what the
 * user would check without depending on which phase turned one into the other.
 */
import { isAbsolute, resolve } from 'node:path';

type Mapping = Record<string, unknown>;

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function serviceOf(tree: Mapping, name: string): Mapping {
  const services = tree.services;
  if (!isMapping(services) || !isMapping(services[name])) throw new Error(`no service ${name} in ${JSON.stringify(Object.keys(services ?? {}))}`);
  return services[name];
}

/** `environment` as a map of strings (null for a key without a value). */
export function envOf(service: Mapping): Record<string, string | null> {
  const env = service.environment;
  const out: Record<string, string | null> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq < 0) out[s] = null;
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isMapping(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? null : String(v);
  }
  return out;
}

/** Ports as `published:target/protocol` strings. */
export function portsOf(service: Mapping): string[] {
  const ports = Array.isArray(service.ports) ? service.ports : [];
  return ports.map((p) => {
    if (isMapping(p)) return `${String(p.published ?? '')}:${String(p.target)}/${String(p.protocol ?? 'tcp')}`;
    const s = String(p);
    return s.includes('/') ? s : `${s}/tcp`;
  });
}

/** Bind mounts as `absolute-source:target`, relative sources resolved against `dir`. */
export function bindsOf(service: Mapping, dir: string): string[] {
  const vols = Array.isArray(service.volumes) ? service.volumes : [];
  const abs = (s: string): string => (isAbsolute(s) ? s : resolve(dir, s));
  const out: string[] = [];
  for (const v of vols) {
    if (isMapping(v)) {
      if (v.type === 'bind') out.push(`${abs(String(v.source))}:${String(v.target)}`);
    } else {
      const [src, target] = String(v).split(':');
      if (src !== undefined && target !== undefined && (src.startsWith('.') || src.startsWith('/'))) out.push(`${abs(src)}:${target}`);
    }
  }
  return out;
}

/** The service's networks by name. */
export function networksOf(service: Mapping): string[] {
  const n = service.networks;
  if (Array.isArray(n)) return n.map(String).sort();
  if (isMapping(n)) return Object.keys(n).sort();
  return [];
}

/** `command` as a list (a string is split on spaces, enough for the fixtures). */
export function commandOf(service: Mapping): string[] {
  const c = service.command;
  if (Array.isArray(c)) return c.map(String);
  if (typeof c === 'string') return c.split(/\s+/).filter((x) => x !== '');
  return [];
}

/** The build context, absolute. */
export function buildContextOf(service: Mapping, dir: string): string | undefined {
  const b = service.build;
  const ctx = typeof b === 'string' ? b : isMapping(b) && typeof b.context === 'string' ? b.context : undefined;
  return ctx === undefined ? undefined : isAbsolute(ctx) ? ctx : resolve(dir, ctx);
}
