/**
 * What `config` prints, in the shape `docker compose config` (v2) prints it: `name` first, then
 * services, networks, volumes, secrets, configs and the `x-*` extensions; resources sorted by
 * name; a service's attributes in compose-go's struct order (what its YAML and JSON encoders
 * follow). Pure functions: the CLI writes the strings.
 */

import type { ComposeTree } from './phase.js';
import { emitYaml } from './yaml-emit.js';

type Mapping = Record<string, unknown>;

const TOP_LEVEL = ['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'models'];
const RESOURCE_SECTIONS = new Set(['services', 'networks', 'volumes', 'secrets', 'configs', 'models']);

/** compose-go `types.ServiceConfig` field order. */
const SERVICE_FIELDS = [
  'profiles', 'annotations', 'attach', 'build', 'develop', 'blkio_config', 'cap_add', 'cap_drop', 'cgroup_parent',
  'cgroup', 'command', 'configs', 'container_name', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpus',
  'cpu_shares', 'cpuset', 'credential_spec', 'depends_on', 'deploy', 'device_cgroup_rules', 'devices', 'dns',
  'dns_opt', 'dns_search', 'dockerfile', 'domainname', 'entrypoint', 'provider', 'environment', 'env_file', 'expose',
  'extends', 'external_links', 'extra_hosts', 'gpus', 'group_add', 'hostname', 'healthcheck', 'image', 'init', 'ipc',
  'isolation', 'labels', 'label_file', 'links', 'logging', 'log_driver', 'log_opt', 'mac_address', 'mem_limit',
  'mem_reservation', 'mem_swappiness', 'memswap_limit', 'network_mode', 'networks', 'oom_kill_disable',
  'oom_score_adj', 'pid', 'pids_limit', 'platform', 'ports', 'privileged', 'pull_policy', 'read_only', 'restart',
  'runtime', 'scale', 'secrets', 'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal',
  'storage_opt', 'sysctls', 'tmpfs', 'tty', 'ulimits', 'use_api_socket', 'user', 'userns_mode', 'uts', 'volumes',
  'volume_driver', 'volumes_from', 'working_dir', 'post_start', 'pre_stop',
];
const SERVICE_RANK = new Map(SERVICE_FIELDS.map((f, i) => [f, i]));

function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function byName(m: Mapping): Mapping {
  const out: Mapping = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

/** Attributes that are maps in compose-go (Go prints map keys sorted; structs in field order). */
const MAP_TYPED = [
  'services.*.environment', 'services.*.labels', 'services.*.annotations', 'services.*.sysctls',
  'services.*.depends_on', 'services.*.networks', 'services.*.extra_hosts', 'services.*.ulimits',
  'services.*.storage_opt', 'services.*.build.args', 'services.*.build.labels', 'services.*.build.additional_contexts',
  'services.*.build.extra_hosts', 'services.*.logging.options', 'services.*.deploy.labels', 'services.*.blkio_config',
  'networks.*.labels', 'networks.*.driver_opts', 'networks.*.ipam.options', 'volumes.*.labels', 'volumes.*.driver_opts',
  'secrets.*.labels', 'configs.*.labels',
];

/**
 * MAP_TYPED below one resource (`services.*`, `networks.*`, ...), as a trie of keys: `sortMaps`
 * follows it and leaves everything else as it is.
 */
interface SortNode {
  sort: boolean;
  keys: Map<string, SortNode>;
}

const SORT_TRIES = new Map<string, SortNode>();
for (const pattern of MAP_TYPED) {
  const [section, any, ...rest] = pattern.split('.');
  if (section === undefined || any !== '*' || rest.length === 0 || rest.includes('*')) throw new Error(`MAP_TYPED row ${pattern} is not section.*.key...`);
  let node = SORT_TRIES.get(section) ?? { sort: false, keys: new Map() };
  SORT_TRIES.set(section, node);
  for (const key of rest) {
    let child = node.keys.get(key);
    if (child === undefined) node.keys.set(key, (child = { sort: false, keys: new Map() }));
    node = child;
  }
  node.sort = true;
}

/** Whether `keys` are in the order `Array.prototype.sort` gives them. */
function isSorted(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (`${keys[i - 1]}` > `${keys[i]}`) return false;
  return true;
}

/**
 * Sort the keys of map-typed attributes under a resource, as docker compose prints them. A
 * value with nothing to sort comes back as it is (the tree is only printed).
 */
function sortMaps(value: unknown, node: SortNode | undefined): unknown {
  if (node === undefined || !isMapping(value)) return value;
  let keys = Object.keys(value);
  let changed = false;
  if (node.sort && !isSorted(keys)) {
    keys = [...keys].sort();
    changed = true;
  }
  const out: Mapping = {};
  for (const k of keys) {
    const v = value[k];
    const r = node.keys.size === 0 ? v : sortMaps(v, node.keys.get(k));
    if (r !== v) changed = true;
    out[k] = r;
  }
  return changed ? out : value;
}

function orderService(s: unknown): unknown {
  if (!isMapping(s)) return s;
  const rank = (k: string): number => SERVICE_RANK.get(k) ?? (k.startsWith('x-') ? 10_000 : 5_000);
  const keys = Object.keys(s).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  const out: Mapping = {};
  for (const k of keys) out[k] = s[k];
  return out;
}

/** The tree in print order. */
export function orderForOutput(tree: ComposeTree): Mapping {
  const out: Mapping = {};
  const keys = [
    ...TOP_LEVEL.filter((k) => Object.hasOwn(tree, k)),
    ...Object.keys(tree)
      .filter((k) => !TOP_LEVEL.includes(k))
      .sort(),
  ];
  for (const k of keys) {
    const v = tree[k];
    if (k === 'services' && isMapping(v)) {
      const services = byName(v);
      for (const name of Object.keys(services)) services[name] = sortMaps(orderService(services[name]), SORT_TRIES.get(k));
      out[k] = services;
    } else if (RESOURCE_SECTIONS.has(k) && isMapping(v)) {
      const resources = byName(v);
      for (const name of Object.keys(resources)) resources[name] = sortMaps(resources[name], SORT_TRIES.get(k));
      out[k] = resources;
    }
    else out[k] = v;
  }
  return out;
}

export function renderConfig(tree: ComposeTree, format: 'yaml' | 'json'): string {
  const ordered = orderForOutput(tree);
  if (format === 'json') return `${JSON.stringify(ordered, null, 2)}\n`;
  return emitYaml(ordered);
}

/** Service names, dependencies before their dependents (as `config --services` lists them). */
export function serviceNamesInDependencyOrder(tree: ComposeTree): string[] {
  const services = isMapping(tree.services) ? tree.services : {};
  const names = Object.keys(services).sort();
  const done = new Set<string>();
  const out: string[] = [];
  const visit = (name: string, stack: Set<string>): void => {
    if (done.has(name) || stack.has(name) || !Object.hasOwn(services, name)) return;
    stack.add(name);
    const s = services[name];
    const deps = isMapping(s) ? s.depends_on : undefined;
    const depNames = Array.isArray(deps) ? deps.map(String) : isMapping(deps) ? Object.keys(deps) : [];
    for (const d of depNames.sort()) visit(d, stack);
    stack.delete(name);
    done.add(name);
    out.push(name);
  };
  for (const n of names) visit(n, new Set());
  return out;
}

/** The image each service runs: its `image`, or `<project>-<service>` when it is built. */
export function serviceImages(tree: ComposeTree): Array<{ service: string; image: string }> {
  const services = isMapping(tree.services) ? tree.services : {};
  const project = typeof tree.name === 'string' ? tree.name : '';
  return Object.keys(services)
    .sort()
    .map((name) => {
      const s = services[name];
      const image = isMapping(s) && typeof s.image === 'string' ? s.image : `${project}-${name}`;
      return { service: name, image };
    });
}

