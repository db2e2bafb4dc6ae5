/**
 * The typed Project: the desired-state graph the reconciler and the scheduler consume, built
 * once from the final tree (after canonicalize, merge, profiles, defaults, normalize, paths).
 *
 * The model speaks compose's own attribute names (`depends_on`, `mem_limit`, `host_ip`), so a
 * Project serialized as JSON is what `config --format json` prints and there is one vocabulary
 * from file to runtime. Values are in their canonical printed form: durations are Go duration
 * strings (`1m30s`; read them with `parseDuration` of `lib/units.ts`), byte sizes are decimal
 * strings of bytes (`"536870912"`), CPU counts are numbers. Everything is long syntax.
 */
import { createHash } from 'node:crypto';

import { dependencyGraph, type DependencyGraph } from './graph.js';
import type { ComposeTree, PhaseContext } from './phase.js';
import { isMapping } from './walk.js';

/** A Go duration as docker compose prints it: `10s`, `1m30s`, `1h0m0s`. */
export type GoDuration = string;
/** A byte count as docker compose prints it: `"536870912"`. */
export type ByteCount = string;
/** `x-*` keys, kept as written. */
export type Extensions = Record<`x-${string}`, unknown>;

export interface ServicePortConfig {
  name?: string;
  mode: 'ingress' | 'host' | string;
  host_ip?: string;
  target: number;
  /** A port (`"8080"`) or a range (`"8000-8010"`) on the host; absent when docker picks one. */
  published?: string;
  protocol: 'tcp' | 'udp' | 'sctp' | string;
  app_protocol?: string;
}

export interface ServiceVolumeConfig {
  type: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  /** Absolute host path for binds, a volume key for volumes; absent for anonymous volumes. */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { selinux?: 'z' | 'Z'; propagation?: string; create_host_path?: boolean; recursive?: string };
  volume?: { labels?: Record<string, string>; nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: ByteCount; mode?: number };
  image?: { subpath?: string };
}

export interface ServiceNetworkConfig {
  aliases?: string[];
  driver_opts?: Record<string, string>;
  gw_priority?: number;
  interface_name?: string;
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
}

export interface DependsOn {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  restart?: boolean;
  required: boolean;
}

export interface Healthcheck {
  test?: string[];
  interval?: GoDuration;
  timeout?: GoDuration;
  retries?: number;
  start_period?: GoDuration;
  start_interval?: GoDuration;
  disable?: boolean;
}

export interface ResourceSpec {
  cpus?: number;
  memory?: ByteCount;
  pids?: number;
  devices?: Array<Record<string, unknown>>;
  generic_resources?: Array<Record<string, unknown>>;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: GoDuration;
  failure_action?: string;
  monitor?: GoDuration;
  max_failure_ratio?: number;
  order?: 'start-first' | 'stop-first';
}

export interface RestartPolicy {
  condition?: 'none' | 'on-failure' | 'any' | string;
  delay?: GoDuration;
  max_attempts?: number;
  window?: GoDuration;
}

export interface Placement {
  constraints?: string[];
  preferences?: Array<{ spread?: string }>;
  max_replicas_per_node?: number;
}

export interface Deploy {
  mode?: 'replicated' | 'global' | string;
  replicas?: number;
  labels?: Record<string, string>;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  resources?: { limits?: ResourceSpec; reservations?: ResourceSpec };
  restart_policy?: RestartPolicy;
  placement?: Placement;
  endpoint_mode?: 'vip' | 'dnsrr' | string;
}

/** A command run in a service's container (`develop.watch[].exec`, compose's ServiceHook). */
export interface ServiceHook {
  command: string[];
  user?: string;
  privileged?: boolean;
  working_dir?: string;
  environment?: Record<string, string | null>;
}

export interface WatchRule {
  path: string;
  action: 'rebuild' | 'sync' | 'restart' | 'sync+restart' | 'sync+exec';
  target?: string;
  ignore?: string[];
  include?: string[];
  exec?: ServiceHook;
  initial_sync?: boolean;
}

export interface Develop {
  watch?: WatchRule[];
}

export interface BuildConfig {
  /** Absolute directory, or a URL / git reference as written. */
  context: string;
  dockerfile?: string;
  dockerfile_inline?: string;
  args?: Record<string, string | null>;
  labels?: Record<string, string>;
  target?: string;
  [key: string]: unknown;
}

export interface EnvFileRef {
  path: string;
  required: boolean;
  format?: string;
}

export interface FileMount {
  source: string;
  target?: string;
  uid?: string;
  gid?: string;
  mode?: number | string;
}

export interface DeviceMapping {
  source: string;
  target: string;
  permissions: string;
}

/** `nofile: 1024` means soft and hard 1024; the model always has both. */
export interface Ulimit {
  soft: number;
  hard: number;
}

export interface LoggingConfig {
  driver?: string;
  options?: Record<string, string>;
}

/** One service, every attribute in long form. Attributes not typed here are kept as read. */
export interface ServiceConfig {
  /** The service's key in `services`. */
  name: string;
  image?: string;
  build?: BuildConfig;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  env_file?: EnvFileRef[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ports?: ServicePortConfig[];
  expose?: string[];
  volumes?: ServiceVolumeConfig[];
  volumes_from?: string[];
  tmpfs?: string[];
  networks?: Record<string, ServiceNetworkConfig | null>;
  network_mode?: string;
  depends_on?: Record<string, DependsOn>;
  links?: string[];
  healthcheck?: Healthcheck;
  deploy?: Deploy;
  develop?: Develop;
  logging?: LoggingConfig;
  restart?: string;
  secrets?: FileMount[];
  configs?: FileMount[];
  devices?: DeviceMapping[];
  ulimits?: Record<string, Ulimit>;
  sysctls?: Record<string, string>;
  extends?: { service: string; file?: string };
  profiles?: string[];
  container_name?: string;
  hostname?: string;
  domainname?: string;
  user?: string;
  working_dir?: string;
  init?: boolean;
  privileged?: boolean;
  read_only?: boolean;
  stdin_open?: boolean;
  tty?: boolean;
  cap_add?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  dns?: string[];
  dns_search?: string[];
  dns_opt?: string[];
  extra_hosts?: unknown;
  mem_limit?: ByteCount;
  mem_reservation?: ByteCount;
  memswap_limit?: ByteCount;
  shm_size?: ByteCount;
  cpus?: number;
  cpu_shares?: number;
  cpu_quota?: number;
  cpu_period?: number;
  cpuset?: string;
  pids_limit?: number;
  oom_score_adj?: number;
  stop_signal?: string;
  stop_grace_period?: GoDuration;
  pull_policy?: string;
  platform?: string;
  scale?: number;
  ipc?: string;
  pid?: string;
  uts?: string;
  cgroup?: string;
  userns_mode?: string;
  runtime?: string;
  [key: string]: unknown;
}

export interface NetworkConfig {
  /** The engine-level name: `<project>_<key>` unless set, the key itself when external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: {
    driver?: string;
    config?: Array<{ subnet?: string; gateway?: string; ip_range?: string; aux_addresses?: Record<string, string> }>;
    options?: Record<string, string>;
  };
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  enable_ipv4?: boolean;
  enable_ipv6?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

export interface VolumeConfig {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  [key: string]: unknown;
}

/** A secret or config object: from a file, an environment variable, inline content or external. */
export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  labels?: Record<string, string>;
  driver?: string;
  driver_opts?: Record<string, string>;
  template_driver?: string;
  [key: string]: unknown;
}
export type SecretConfig = FileObjectConfig;
export type ConfigObjConfig = FileObjectConfig;

export interface Project {
  name: string;
  /** The project directory, absolute. */
  workingDir: string;
  services: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, SecretConfig>;
  configs: Record<string, ConfigObjConfig>;
  /** Top-level `x-*` blocks, as written. */
  extensions: Record<string, unknown>;
  /** service → the services it depends on (existing ones only). */
  dependencies: DependencyGraph;
}

type Dict = Record<string, unknown>;

function section(tree: ComposeTree, key: string): Record<string, Dict> {
  const v = tree[key];
  const out: Record<string, Dict> = {};
  if (!isMapping(v)) return out;
  for (const [k, item] of Object.entries(v)) out[k] = isMapping(item) ? item : {};
  return out;
}

function toUlimits(v: unknown): Record<string, Ulimit> | undefined {
  if (!isMapping(v)) return undefined;
  const out: Record<string, Ulimit> = {};
  for (const [k, u] of Object.entries(v)) {
    if (typeof u === 'number') out[k] = { soft: u, hard: u };
    else if (isMapping(u)) out[k] = { soft: Number(u.soft), hard: Number(u.hard) };
  }
  return out;
}

function toService(name: string, raw: Dict): ServiceConfig {
  const s: ServiceConfig = { ...structuredClone(raw), name };
  const ulimits = toUlimits(raw.ulimits);
  if (ulimits !== undefined) s.ulimits = ulimits;
  return s;
}

function named<T extends { name: string }>(key: string, raw: Dict, projectName: string): T {
  const r = structuredClone(raw) as Dict;
  if (typeof r.name !== 'string') r.name = r.external === true ? key : `${projectName}_${key}`;
  return r as unknown as T;
}

/** The typed Project of a final tree. */
export function buildProject(tree: ComposeTree, ctx: PhaseContext): Project {
  const services: Record<string, ServiceConfig> = {};
  for (const [k, v] of Object.entries(section(tree, 'services'))) services[k] = toService(k, v);
  const build = <T extends { name: string }>(kind: string): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(section(tree, kind))) out[k] = named<T>(k, v, ctx.projectName);
    return out;
  };
  const extensions: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree)) if (k.startsWith('x-')) extensions[k] = structuredClone(v);
  return {
    name: typeof tree.name === 'string' ? tree.name : ctx.projectName,
    workingDir: ctx.workingDir,
    services,
    networks: build<NetworkConfig>('networks'),
    volumes: build<VolumeConfig>('volumes'),
    secrets: build<SecretConfig>('secrets'),
    configs: build<ConfigObjConfig>('configs'),
    extensions,
    dependencies: dependencyGraph(services),
  };
}

/**
 * Fields that do not change what a running container is, left out of the hash as docker
 * compose's ServiceHash leaves them out: how the image is made (`build`, `pull_policy`), how
 * many run (`scale`, `deploy.replicas`), start ordering (`depends_on`), `profiles`, and the
 * `develop` rules that only the watcher reads.
 */
const HASH_EXCLUDED = new Set(['build', 'pull_policy', 'scale', 'depends_on', 'profiles', 'develop', 'name']);

/** JSON with keys sorted at every level: the same config always gives the same text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (isMapping(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * A deterministic digest (sha256, hex) of a service's canonical config, stored in the
 * `com.docker.compose.config-hash` label: a container whose label differs is recreated.
 */
export function configHash(project: Project, serviceName: string): string {
  const s = project.services[serviceName];
  if (s === undefined) throw new Error(`configHash: no service ${serviceName} in project ${project.name}`);
  const view: Dict = {};
  for (const [k, v] of Object.entries(s)) if (!HASH_EXCLUDED.has(k)) view[k] = v;
  if (isMapping(view.deploy)) {
    const { replicas: _replicas, ...deploy } = view.deploy;
    view.deploy = deploy;
  }
  return createHash('sha256').update(stableJson(view)).digest('hex');
}
