/**
 * Cross-field rules after merge and profiles (compose-go's checkConsistency): every reference
 * names something that exists, container names are unique, depends_on has no cycle. Each error
 * names the service and the key where the reference is written, with the messages compose-go
 * gives (`service "web" depends on undefined service "db": invalid compose project`).
 *
 * Reads the long forms (it applies the idempotent canonical rules to a copy, so it can run
 * before or after canonicalize), with or without normalize having run: the implicit `default`
 * network is allowed either way. The tree is returned unchanged. A dependency marked `required: false`
 * may be missing (profiles can leave it out). Conflicting published ports are reported by
 * `findPortConflicts` for `up` to use: `docker compose config` does not reject them, so neither
 * does this phase.
 */
import { canonicalize } from './canonical/index.js';
import { cycleMessage, dependencyGraph, findCycle } from './graph.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { next } from './tree-path.js';
import { isMapping } from './walk.js';

type Dict = Record<string, unknown>;

const INVALID = 'invalid compose project';

function keysOf(v: unknown): Set<string> {
  return new Set(isMapping(v) ? Object.keys(v) : []);
}

export function validateProject(input: ComposeTree, ctx: PhaseContext, opts: { canonical?: boolean } = {}): ComposeTree {
  // the rules read long forms; canonical rules are idempotent, so this is safe whatever ran
  // before. `canonical`: the caller's tree is in long form already (load.ts, after defaults),
  // and a second pass over a large project is a quarter of `config`'s time.
  const tree = opts.canonical === true ? input : canonicalize(input, ctx);
  const fail = (message: string, path: string): never => {
    throw ctx.positions.error('ERR_COMPOSE_INVALID', message, path);
  };
  const services: Dict = isMapping(tree.services) ? tree.services : {};
  const names = new Set(Object.keys(services));
  const networks = keysOf(tree.networks);
  const volumes = keysOf(tree.volumes);
  const secrets = keysOf(tree.secrets);
  const configs = keysOf(tree.configs);
  const containerNames = new Map<string, string>();

  for (const name of [...names].sort()) {
    const s = services[name];
    if (!isMapping(s)) continue;
    const at = (...keys: Array<string | number>): string => keys.reduce<string>((p, k) => next(p, k), `services.${name}`);

    if (Array.isArray(s.links)) {
      s.links.forEach((l, i) => {
        const target = String(l).split(':')[0] as string;
        if (!names.has(target)) fail(`service "${name}" depends on undefined service "${target}": ${INVALID}`, at('links', i));
      });
    }
    if (Array.isArray(s.volumes_from)) {
      s.volumes_from.forEach((v, i) => {
        const text = String(v);
        if (text.startsWith('container:')) return;
        const target = text.split(':')[0] as string;
        if (!names.has(target)) fail(`service "${name}" depends on undefined service "${target}": ${INVALID}`, at('volumes_from', i));
      });
    }
    for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
      const ref = s[ns];
      if (typeof ref === 'string' && ref.startsWith('service:')) {
        const target = ref.slice('service:'.length);
        if (!names.has(target)) fail(`service "${target}" not found for ${ns} 'service:${target}'`, at(ns));
      }
    }
    if (s.image === undefined && s.build === undefined && s.provider === undefined) {
      fail(`service "${name}" has neither an image nor a build context specified: ${INVALID}`, `services.${name}`);
    }
    const replicas = isMapping(s.deploy) ? s.deploy.replicas : undefined;
    if (typeof s.scale === 'number' && typeof replicas === 'number' && s.scale !== replicas) {
      fail(`can't set distinct values on 'scale' and 'deploy.replicas': ${INVALID}`, at('scale'));
    }
    // after links, volumes_from and service: namespaces, which normalize turns into depends_on
    if (isMapping(s.depends_on)) {
      for (const [dep, cfg] of Object.entries(s.depends_on)) {
        const required = !(isMapping(cfg) && cfg.required === false);
        if (!names.has(dep) && required) fail(`service "${name}" depends on undefined service "${dep}": ${INVALID}`, at('depends_on', dep));
      }
    }
    if (s.network_mode !== undefined && isMapping(s.networks) && Object.keys(s.networks).length > 0) {
      fail(`service ${name} declares mutually exclusive \`network_mode\` and \`networks\`: ${INVALID}`, at('network_mode'));
    }
    if (isMapping(s.networks)) {
      for (const net of Object.keys(s.networks)) {
        if (net === 'default' && !networks.has(net)) continue;
        if (!networks.has(net)) fail(`service "${name}" refers to undefined network ${net}: ${INVALID}`, at('networks', net));
      }
    }
    if (Array.isArray(s.volumes)) {
      s.volumes.forEach((v, i) => {
        if (!isMapping(v) || v.type !== 'volume' || typeof v.source !== 'string' || v.source === '') return;
        if (!volumes.has(v.source)) fail(`service "${name}" refers to undefined volume ${v.source}: ${INVALID}`, at('volumes', i));
      });
    }
    for (const [kind, defined] of [
      ['secrets', secrets],
      ['configs', configs],
    ] as const) {
      const list = s[kind];
      if (!Array.isArray(list)) continue;
      list.forEach((ref, i) => {
        const source = isMapping(ref) ? ref.source : ref;
        if (typeof source === 'string' && !defined.has(source)) {
          fail(`service "${name}" refers to undefined ${kind.slice(0, -1)} ${source}: ${INVALID}`, at(kind, i));
        }
      });
    }
    if (typeof s.container_name === 'string') {
      const existing = containerNames.get(s.container_name);
      if (existing !== undefined) {
        fail(`container name "${s.container_name}" is already in use by "services.${existing}": ${INVALID}`, at('container_name'));
      }
      containerNames.set(s.container_name, name);
    }
  }

  const cycle = findCycle(dependencyGraph(services as Record<string, Dict>));
  if (cycle !== undefined) fail(cycleMessage(cycle), `services.${cycle[0] as string}.depends_on`);
  return input;
}

export interface PortConflict {
  /** `host_ip:published/protocol` as docker reports a taken port. */
  binding: string;
  services: [string, string];
  /** docker's wording, with the two services: `Bind for 0.0.0.0:80 failed: port is already allocated (...)`. */
  message: string;
}

/**
 * Published host ports that two services (or one service twice) would bind. A port on every
 * interface (no host_ip, `0.0.0.0` or `::`) conflicts with the same port on any address.
 * Ranges and unpublished ports never conflict here (docker picks from them).
 */
export function findPortConflicts(tree: ComposeTree): PortConflict[] {
  const services: Dict = isMapping(tree.services) ? tree.services : {};
  const seen: Array<{ ip: string; port: string; proto: string; owner: string }> = [];
  const out: PortConflict[] = [];
  const anyIp = (ip: string): boolean => ip === '' || ip === '0.0.0.0' || ip === '::';
  for (const name of Object.keys(services).sort()) {
    const s = services[name];
    if (!isMapping(s) || !Array.isArray(s.ports)) continue;
    for (const p of s.ports) {
      if (!isMapping(p) || typeof p.published !== 'string' || p.published === '' || p.published.includes('-')) continue;
      const ip = typeof p.host_ip === 'string' ? p.host_ip : '';
      const proto = typeof p.protocol === 'string' ? p.protocol : 'tcp';
      const clash = seen.find((o) => o.port === p.published && o.proto === proto && (anyIp(o.ip) || anyIp(ip) || o.ip === ip));
      if (clash !== undefined) {
        const binding = `${ip === '' ? '0.0.0.0' : ip}:${p.published}/${proto}`;
        out.push({
          binding,
          services: [clash.owner, name],
          message: `Bind for ${binding.replace(/\/.*$/, '')} failed: port is already allocated (services "${clash.owner}" and "${name}")`,
        });
      }
      seen.push({ ip, port: p.published, proto, owner: name });
    }
  }
  return out;
}
