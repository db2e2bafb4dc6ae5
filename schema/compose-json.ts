/**
 * The final tree as `docker compose config --format json` (v2) prints it. docker compose
 * marshals compose-go's Go structs, so its output has traits the plain tree does not:
 * - keys in struct field order; maps (the top level, services, networks, environment, ...)
 *   sorted by key;
 * - `command` and `entrypoint` always present on a service (`null` when unset);
 * - nested structs never omitted: a network always has `ipam: {}`, a deploy block always has
 *   `resources: {}` and `placement: {}`;
 * - zero values omitted (`privileged: false`, `external: false`, empty strings), except
 *   `depends_on.*.required`, which is always printed;
 * - `x-*` extensions only at the top level (nested ones are `json:"-"` in compose-go; the
 *   YAML view keeps them);
 * - `<`, `>` and `&` escaped as `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe JSON).
 * The `config` command prints `formatComposeJson(tree)` (or stringifies `toComposeYaml(tree)`
 * for YAML); the tree is not changed.
 */
import { isMapping } from './walk.js';

type Dict = Record<string, unknown>;

const SERVICE_KEYS = [
  'profiles', 'annotations', 'attach', 'build', 'develop', 'blkio_config', 'cap_add', 'cap_drop', 'cgroup_parent',
  'cgroup', 'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpus',
  'cpuset', 'cpu_shares', 'command', 'configs', 'container_name', 'credential_spec', 'depends_on', 'deploy',
  'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'dockerfile', 'domainname', 'entrypoint',
  'provider', 'environment', 'env_file', 'expose', 'extends', 'external_links', 'extra_hosts', 'group_add', 'gpus',
  'hostname', 'healthcheck', 'image', 'init', 'ipc', 'isolation', 'labels', 'label_file', 'links', 'logging',
  'log_driver', 'log_opt', 'mem_limit', 'mem_reservation', 'memswap_limit', 'mem_swappiness', 'mac_address',
  'models', 'net', 'network_mode', 'networks', 'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit',
  'platform', 'ports', 'privileged', 'pull_policy', 'read_only', 'restart', 'runtime', 'scale', 'secrets',
  'security_opt', 'shm_size', 'stdin_open', 'stop_grace_period', 'stop_signal', 'storage_opt', 'sysctls', 'tmpfs',
  'tty', 'ulimits', 'use_api_socket', 'user', 'userns_mode', 'uts', 'volume_driver', 'volumes', 'volumes_from',
  'working_dir', 'post_start', 'pre_stop',
];

/** Struct field order by path pattern (`*` any map key, `[]` any list item). */
const ORDER: Record<string, string[]> = {
  'services.*': SERVICE_KEYS,
  'services.*.build': [
    'context', 'dockerfile', 'dockerfile_inline', 'entitlements', 'args', 'ssh', 'labels', 'cache_from', 'cache_to',
    'no_cache', 'additional_contexts', 'network', 'provenance', 'sbom', 'pull', 'target', 'shm_size', 'extra_hosts',
    'isolation', 'privileged', 'secrets', 'tags', 'ulimits', 'platforms',
  ],
  'services.*.depends_on.*': ['condition', 'restart', 'required'],
  'services.*.deploy': [
    'mode', 'replicas', 'labels', 'update_config', 'rollback_config', 'resources', 'restart_policy', 'placement',
    'endpoint_mode',
  ],
  'services.*.deploy.resources': ['limits', 'reservations'],
  'services.*.deploy.resources.limits': ['cpus', 'memory', 'pids', 'devices', 'generic_resources'],
  'services.*.deploy.resources.reservations': ['cpus', 'memory', 'pids', 'devices', 'generic_resources'],
  'services.*.deploy.update_config': ['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order'],
  'services.*.deploy.rollback_config': ['parallelism', 'delay', 'failure_action', 'monitor', 'max_failure_ratio', 'order'],
  'services.*.deploy.restart_policy': ['condition', 'delay', 'max_attempts', 'window'],
  'services.*.deploy.placement': ['constraints', 'preferences', 'max_replicas_per_node'],
  'services.*.healthcheck': ['test', 'timeout', 'interval', 'retries', 'start_period', 'start_interval', 'disable'],
  'services.*.logging': ['driver', 'options'],
  'services.*.ports[]': ['name', 'mode', 'host_ip', 'target', 'published', 'protocol', 'app_protocol'],
  'services.*.volumes[]': ['type', 'source', 'target', 'read_only', 'consistency', 'bind', 'volume', 'tmpfs', 'image'],
  'services.*.volumes[].bind': ['selinux', 'propagation', 'create_host_path', 'recursive'],
  'services.*.volumes[].volume': ['labels', 'nocopy', 'subpath'],
  'services.*.volumes[].tmpfs': ['size', 'mode'],
  'services.*.networks.*': [
    'aliases', 'driver_opts', 'gw_priority', 'interface_name', 'ipv4_address', 'ipv6_address', 'link_local_ips',
    'mac_address', 'priority',
  ],
  'services.*.secrets[]': ['source', 'target', 'uid', 'gid', 'mode'],
  'services.*.configs[]': ['source', 'target', 'uid', 'gid', 'mode'],
  'services.*.devices[]': ['source', 'target', 'permissions'],
  'services.*.env_file[]': ['path', 'format', 'required'],
  'services.*.extends': ['file', 'service'],
  'services.*.ulimits.*': ['single', 'soft', 'hard'],
  'services.*.develop.watch[]': ['path', 'action', 'target', 'exec', 'include', 'ignore', 'initial_sync'],
  'networks.*': [
    'name', 'driver', 'driver_opts', 'ipam', 'external', 'internal', 'attachable', 'labels', 'enable_ipv4',
    'enable_ipv6',
  ],
  'networks.*.ipam': ['driver', 'config', 'options'],
  'networks.*.ipam.config[]': ['subnet', 'gateway', 'ip_range', 'aux_addresses'],
  'volumes.*': ['name', 'driver', 'driver_opts', 'external', 'labels'],
  'secrets.*': ['name', 'file', 'environment', 'content', 'external', 'labels', 'driver', 'driver_opts', 'template_driver'],
  'configs.*': ['name', 'file', 'environment', 'content', 'external', 'labels', 'driver', 'driver_opts', 'template_driver'],
};

/** Maps whose keys are names (sorted, as Go prints maps), not struct fields. */
const NAMED_MAPS = new Set([
  // compose-go's Project.MarshalJSON builds a map, so even the top level comes out sorted
  '',
  'services', 'networks', 'volumes', 'secrets', 'configs', 'services.*.environment', 'services.*.labels',
  'services.*.annotations', 'services.*.depends_on', 'services.*.networks', 'services.*.ulimits', 'services.*.sysctls',
  'services.*.build.args', 'services.*.build.labels', 'services.*.logging.options', 'services.*.deploy.labels',
  'networks.*.labels', 'networks.*.driver_opts', 'volumes.*.labels', 'volumes.*.driver_opts',
]);

/** Nested structs Go always prints, even empty. */
const ALWAYS: Record<string, Array<[string, unknown]>> = {
  'services.*': [
    ['command', null],
    ['entrypoint', null],
  ],
  'services.*.deploy': [
    ['resources', {}],
    ['placement', {}],
  ],
  'networks.*': [['ipam', {}]],
};

/** Keys printed even when false (no omitempty in compose-go). */
const KEEP_FALSE = new Set(['services.*.depends_on.*.required', 'services.*.init', 'services.*.attach']);

export type ComposeFormat = 'json' | 'yaml';

/** Top-level order of compose-go's Project struct, which the YAML encoder follows. */
const YAML_TOP = ['name', 'services', 'networks', 'volumes', 'secrets', 'configs', 'models'];

function view(value: unknown, steps: Array<string | number>, format: ComposeFormat): unknown {
  if (Array.isArray(value)) return value.map((v, i) => view(v, [...steps, i], format));
  if (!isMapping(value)) return value;
  const pattern = steps.length === 0 ? '' : generalize(steps);
  const src: Dict = { ...value };
  if (format === 'json') for (const [k, v] of ALWAYS[pattern] ?? []) if (src[k] === undefined) src[k] = v;
  const order = format === 'yaml' && pattern === '' ? YAML_TOP : ORDER[pattern];
  const keys = NAMED_MAPS.has(pattern) && !(format === 'yaml' && pattern === '')
    ? Object.keys(src).sort()
    : [...(order ?? []).filter((k) => k in src), ...rest(Object.keys(src).filter((k) => !(order ?? []).includes(k)), pattern)];
  const out: Dict = {};
  for (const k of keys) {
    const v = src[k];
    const childPattern = pattern === '' ? k : `${pattern}.${NAMED_MAPS.has(pattern) ? '*' : k}`;
    if (!NAMED_MAPS.has(pattern) && (v === false || v === '') && !KEEP_FALSE.has(childPattern)) continue;
    // compose-go's structs carry `x-*` as `json:"-"`: only the top level prints them in JSON
    if (format === 'json' && pattern !== '' && !NAMED_MAPS.has(pattern) && k.startsWith('x-')) continue;
    // Go omits empty maps (omitempty) but prints empty structs
    if (childPattern !== 'services' && NAMED_MAPS.has(childPattern) && isMapping(v) && Object.keys(v).length === 0) continue;
    out[k] = view(v, [...steps, k], format);
  }
  return out;
}

/** Keys outside the struct's fields: the inlined `x-*` map of the top level comes out sorted. */
function rest(keys: string[], pattern: string): string[] {
  return pattern === '' ? keys.sort() : keys;
}

/** The pattern of a path: the name keys of named maps become `*`. */
function generalize(steps: ReadonlyArray<string | number>): string {
  let p = '';
  for (const s of steps) {
    if (typeof s === 'number') p += '[]';
    else p = p === '' ? s : NAMED_MAPS.has(p) ? `${p}.*` : `${p}.${s}`;
  }
  return p;
}

/** The tree reshaped as docker compose's JSON: ordered, with Go's always-printed parts. */
export function toComposeJson(tree: Record<string, unknown>): Dict {
  return view(tree, [], 'json') as Dict;
}

/**
 * The tree reshaped as docker compose's YAML (`config`, the default format): the same struct
 * order and zero-value omission, the Project's own top-level order (name, services, networks,
 * volumes, secrets, configs, then `x-*`), and none of JSON's always-printed empty parts.
 */
export function toComposeYaml(tree: Record<string, unknown>): Dict {
  return view(tree, [], 'yaml') as Dict;
}

/** `docker compose config --format json` text for a final tree. */
export function formatComposeJson(tree: Record<string, unknown>): string {
  return JSON.stringify(toComposeJson(tree), null, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

