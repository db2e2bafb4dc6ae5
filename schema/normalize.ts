/**
 * After merge and profiles, the names and implicit parts docker compose adds (compose-go
 * loader/normalize.go):
 * - top-level `name` is the project name; the obsolete `version` is dropped;
 * - a service that names no network (and has no `network_mode`) joins `default`, and the
 *   implicit `default` network exists only when some service uses it;
 * - networks, volumes, secrets and configs are named `<project>_<key>` unless they carry a
 *   `name`; an external one keeps its key as its name;
 * - `environment` entries written as a bare `KEY` take their value from the environment (shell
 *   over env files) and stay `null` when it is unset; bare build args that are unset go away;
 * - links, `network_mode|ipc|pid|uts|cgroup: service:X` and `volumes_from` add the implicit
 *   `depends_on` entries docker compose adds; `pull_policy: if_not_present` is `missing`.
 */
import type { ComposeTree, PhaseContext } from './phase.js';
import { isMapping } from './walk.js';

type Dict = Record<string, unknown>;

function section(tree: Dict, key: string): Dict | undefined {
  const v = tree[key];
  return isMapping(v) ? v : undefined;
}

export function normalize(tree: ComposeTree, ctx: PhaseContext): ComposeTree {
  const out: Dict = { name: ctx.projectName };
  for (const [k, v] of Object.entries(tree)) if (k !== 'version' && k !== 'name') out[k] = v;

  const env = ctx.environment;
  const services = section(tree, 'services') ?? {};
  const newServices: Dict = {};
  let usesDefault = false;
  for (const [name, raw] of Object.entries(services)) {
    if (!isMapping(raw)) {
      newServices[name] = raw;
      continue;
    }
    const s: Dict = { ...raw };
    if (s.provider === undefined && s.network_mode === undefined) {
      const nets = s.networks;
      if (nets === undefined || nets === null || (isMapping(nets) && Object.keys(nets).length === 0)) {
        s.networks = { default: null };
        usesDefault = true;
      } else if (isMapping(nets) && 'default' in nets) {
        usesDefault = true;
      }
    }
    if (s.pull_policy === 'if_not_present') s.pull_policy = 'missing';
    // a mapping without a bare variable (or an odd key) stays as it is
    if (isMapping(s.environment) && Object.keys(s.environment).some((k) => k === '__proto__' || (s.environment as Dict)[k] === null)) {
      const resolved: Dict = {};
      for (const [k, v] of Object.entries(s.environment)) resolved[k] = v === null ? (env[k] ?? null) : v;
      s.environment = resolved;
    }
    if (isMapping(s.build) && isMapping(s.build.args)) {
      const args: Dict = {};
      for (const [k, v] of Object.entries(s.build.args)) {
        if (v !== null) args[k] = v;
        else if (env[k] !== undefined) args[k] = env[k];
      }
      s.build = { ...s.build, args };
    }
    const dependsOn: Dict = isMapping(s.depends_on) ? { ...s.depends_on } : {};
    const implicit = (service: string, restart: boolean): void => {
      if (dependsOn[service] !== undefined) return;
      dependsOn[service] = restart
        ? { condition: 'service_started', restart: true, required: true }
        : { condition: 'service_started', required: true };
    };
    if (Array.isArray(s.links)) for (const l of s.links) implicit(String(l).split(':')[0] as string, true);
    for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
      const ref = s[ns];
      if (typeof ref === 'string' && ref.startsWith('service:')) implicit(ref.slice('service:'.length), true);
    }
    if (Array.isArray(s.volumes_from)) {
      for (const v of s.volumes_from) {
        const text = String(v);
        if (!text.startsWith('container:')) implicit(text.split(':')[0] as string, false);
      }
    }
    if (Object.keys(dependsOn).length > 0) s.depends_on = dependsOn;
    newServices[name] = s;
  }
  if (section(tree, 'services') !== undefined) out.services = newServices;

  const networks: Dict = { ...(section(tree, 'networks') ?? {}) };
  if (usesDefault && !('default' in networks)) networks.default = null;
  if (Object.keys(networks).length > 0) out.networks = networks;

  for (const kind of ['networks', 'volumes', 'secrets', 'configs']) {
    const resources = kind === 'networks' ? (out.networks as Dict | undefined) : section(tree, kind);
    if (resources === undefined) continue;
    const named: Dict = {};
    for (const [key, r] of Object.entries(resources)) {
      const res: Dict = isMapping(r) ? { ...r } : {};
      if (res.name === undefined) res.name = res.external === true ? key : `${ctx.projectName}_${key}`;
      named[key] = { name: res.name, ...res };
    }
    out[kind] = named;
  }
  return out;
}
