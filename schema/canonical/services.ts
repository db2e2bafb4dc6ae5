/**
 * Service attributes whose short form is one line each: networks, build, depends_on, extends,
 * secrets and configs, devices, env_file, ulimits, develop.watch. Each rule mirrors the
 * compose-go transform of the same name.
 */
import type { At, Rule } from '../walk.js';
import { isMapping } from '../walk.js';
import { asBool, asInt } from './values.js';
import { orderKeys } from './order.js';

/** `networks: [front, back]` → `{front: null, back: null}`. */
export const transformServiceNetworks: Rule = (value, at) => {
  if (!Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  value.forEach((name, i) => {
    out[String(name)] = null;
    at.alias(`${at.path}.${String(name)}`, `${at.path}[${i}]`);
  });
  return out;
};

/** `build: ./dir` → `{context: ./dir}` (the Dockerfile default is filled after merge). */
export const transformBuild: Rule = (value) => (typeof value === 'string' ? { context: value } : value);

/**
 * `depends_on: [db]` → `{db: {condition: service_started, required: true}}`; long entries get
 * the same defaults for what they leave out.
 */
export const transformDependsOn: Rule = (value, at) => {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    value.forEach((name, i) => {
      out[String(name)] = { condition: 'service_started', required: true };
      at.alias(`${at.path}.${String(name)}`, `${at.path}[${i}]`);
    });
    return out;
  }
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [name, dep] of Object.entries(value)) {
    const d = isMapping(dep) ? { ...dep } : {};
    if (d.condition === undefined) d.condition = 'service_started';
    if (d.required === undefined) d.required = true;
    const sub = (k: string): At => ({ ...at, path: `${at.path}.${name}.${k}` });
    if (d.restart !== undefined) d.restart = asBool(d.restart, sub('restart'));
    d.required = asBool(d.required, sub('required'));
    out[name] = orderKeys(d, ['condition', 'restart', 'required']);
  }
  return out;
};

/** `extends: base` → `{service: base}`. */
export const transformExtends: Rule = (value) => (typeof value === 'string' ? { service: value } : value);

/** `secrets: [token]` / `configs: [conf]` entries → `{source: token}`. */
export const transformFileMount: Rule = (value) => (typeof value === 'string' ? { source: value } : value);

/** `devices: ["/dev/sda:/dev/xvda:r"]` → `{source, target, permissions}` (permissions `rwm`). */
export const transformDevice: Rule = (value, at) => {
  if (typeof value !== 'string') return value;
  const parts = value.split(':');
  if (parts.length > 3) {
    throw at.positions.error('ERR_COMPOSE_INVALID', `confusing device mapping, please use long syntax: ${value}`, at.path);
  }
  const source = parts[0] as string;
  const target = parts[1] === undefined || parts[1] === '' ? source : parts[1];
  return { source, target, permissions: parts[2] ?? 'rwm' };
};

/** `env_file: .env` or `[a.env]` → `[{path, required: true}]`. */
export const transformEnvFile: Rule = (value, at) => {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) return value;
  return list.map((item, i) => {
    if (typeof item === 'string') return { path: item, required: true };
    if (!isMapping(item)) return item;
    const required = item.required === undefined ? true : asBool(item.required, { ...at, path: `${at.path}[${i}].required` });
    return orderKeys({ ...item, required }, ['path', 'required', 'format']);
  });
};

/** `ulimits: {nproc: 65535, nofile: {soft, hard}}`: numbers from their text; both forms kept, as docker compose prints them. */
export const transformUlimit: Rule = (value, at) => {
  if (typeof value === 'string') return asInt(value, at);
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const k of ['soft', 'hard']) if (out[k] !== undefined) out[k] = asInt(out[k], { ...at, path: `${at.path}.${k}` });
  return orderKeys(out, ['soft', 'hard']);
};

/** `develop.watch`: a rule whose `path` is a list is one rule per path. */
export const transformWatch: Rule = (value) => {
  if (!Array.isArray(value)) return value;
  const out: unknown[] = [];
  for (const rule of value) {
    if (isMapping(rule) && Array.isArray(rule.path)) {
      for (const p of rule.path) out.push(orderKeys({ ...rule, path: p }, WATCH_KEYS));
    } else {
      out.push(isMapping(rule) ? orderKeys(rule, WATCH_KEYS) : rule);
    }
  }
  return out;
};
const WATCH_KEYS = ['path', 'action', 'target', 'exec', 'include', 'ignore', 'initial_sync'];

/**
 * Top-level networks, volumes, secrets, configs: `external: {name: x}` (deprecated) is
 * `external: true` with `name: x`.
 */
export const transformMaybeExternal: Rule = (value, at) => {
  if (!isMapping(value)) return value;
  const out: Record<string, unknown> = { ...value };
  if (isMapping(out.external)) {
    const extName = out.external.name;
    out.external = true;
    if (extName !== undefined) {
      if (out.name !== undefined && out.name !== extName) {
        throw at.positions.error('ERR_COMPOSE_INVALID', 'name and external.name conflict; only use name', `${at.path}.external.name`);
      }
      out.name = extName;
    }
  } else if (out.external !== undefined) {
    out.external = asBool(out.external, { ...at, path: `${at.path}.external` });
  }
  return out;
};

/**
 * `extra_hosts`: a list of `host:ip` or `host=ip`, or a mapping host → ip (or ips), printed as
 * docker compose prints its HostsList: sorted `host=ip` strings. The first `=`, else the first
 * `:`, separates the host, so `myhost:::1` maps `myhost` to `::1`.
 */
export const transformExtraHosts: Rule = (value) => {
  const entries: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = String(item);
      const eq = text.indexOf('=');
      const sep = eq >= 0 ? eq : text.indexOf(':');
      entries.push(sep < 0 ? text : `${text.slice(0, sep)}=${text.slice(sep + 1)}`);
    }
  } else if (isMapping(value)) {
    for (const [host, ips] of Object.entries(value)) {
      for (const ip of Array.isArray(ips) ? ips : [ips]) entries.push(`${host}=${String(ip)}`);
    }
  } else {
    return value;
  }
  return [...new Set(entries)].sort();
};
