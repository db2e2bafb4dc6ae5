/**
 * The loader's Project as the reconciler's DesiredProject: each service's container spec per
 * replica (labels, mounts, endpoints, ports, resources, healthcheck, restart policy), and the
 * project's networks and volumes with their compose labels. Secret and config contents are
 * read here, on the side that has the files, so that a remote agent needs none of them.
 */
import { readFileSync } from 'node:fs';

import type { ContainerSpec, EndpointSpec, HealthcheckSpec, LifecycleHook, MountSpec, NamespaceMode, PortBinding, ResourceSpec, RestartPolicy } from '../agent/api/types.js';
import { parseRestartPolicy } from '../agent/restart-policy.js';
import { TscError } from '../lib/errors.js';
import { parseBytes, parseDuration } from '../lib/units.js';
import { splitShellWords } from '../schema/canonical/command.js';
import { configHash, type FileObjectConfig, type Project, type ServiceConfig } from '../schema/project.js';
import type { Dependency, DesiredProject, DesiredServiceSpec, PullPolicy } from './desired.js';
import { LABEL, containerName } from './labels.js';

/** The version written into `com.docker.compose.version`. */
export const COMPOSE_VERSION = '2.40.0';

export interface FromProjectOptions {
  /** `--scale svc=N`. */
  scale?: Record<string, number>;
  configFiles?: string[];
  environment?: Readonly<Record<string, string | undefined>>;
}

const ms = (d: string | undefined): number | undefined => (d === undefined ? undefined : Math.round(parseDuration(d) / 1e6));
const bytes = (v: string | number | undefined): number | undefined => (v === undefined ? undefined : parseBytes(v));

function healthcheck(s: ServiceConfig): HealthcheckSpec | undefined {
  const h = s.healthcheck;
  if (h === undefined) return undefined;
  if (h.disable === true) return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0, startIntervalMs: 0 };
  // 0 (and an empty test) mean "not set": the agent takes the image's value, else Docker's default.
  return {
    test: h.test ?? [],
    intervalMs: ms(h.interval) ?? 0,
    timeoutMs: ms(h.timeout) ?? 0,
    retries: h.retries ?? 0,
    startPeriodMs: ms(h.start_period) ?? 0,
    startIntervalMs: ms(h.start_interval) ?? 0,
  };
}

/** `restart:`, else swarm's `deploy.restart_policy` read as docker compose reads it. */
function restartPolicy(s: ServiceConfig): RestartPolicy {
  if (s.restart !== undefined) {
    const p = parseRestartPolicy(s.restart);
    if (p === undefined) throw new TscError('ERR_COMPOSE_INVALID', `invalid restart policy "${s.restart}"`, { path: `services.${s.name}.restart` });
    return p;
  }
  const rp = s.deploy?.restart_policy;
  if (rp === undefined) return { name: 'no' };
  switch (rp.condition ?? 'any') {
    case 'none':
      return { name: 'no' };
    case 'on-failure':
      return { name: 'on-failure', maximumRetryCount: rp.max_attempts ?? 0 };
    default:
      return { name: 'always' };
  }
}

function resources(s: ServiceConfig): ResourceSpec {
  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  const r: ResourceSpec = {};
  const memory = bytes(s.mem_limit ?? limits?.memory);
  if (memory !== undefined) r.memoryBytes = memory;
  const swap = bytes(s.memswap_limit);
  if (swap !== undefined) r.memorySwapBytes = swap;
  const reservation = bytes(s.mem_reservation ?? reservations?.memory);
  if (reservation !== undefined) r.memoryReservationBytes = reservation;
  const cpus = s.cpus ?? limits?.cpus;
  if (cpus !== undefined && Number(cpus) > 0) r.nanoCpus = Math.round(Number(cpus) * 1e9);
  if (s.cpu_shares !== undefined) r.cpuShares = s.cpu_shares;
  if (s.cpu_quota !== undefined) r.cpuQuota = s.cpu_quota;
  if (s.cpu_period !== undefined) r.cpuPeriod = s.cpu_period;
  if (s.cpuset !== undefined) r.cpusetCpus = s.cpuset;
  const pids = s.pids_limit ?? limits?.pids;
  if (pids !== undefined) r.pidsLimit = pids;
  if (s.oom_score_adj !== undefined) r.oomScoreAdj = s.oom_score_adj;
  if (s['oom_kill_disable'] === true) r.oomKillDisable = true;
  if (typeof s['cpu_rt_runtime'] === 'number') r.cpuRealtimeRuntimeUs = s['cpu_rt_runtime'];
  if (typeof s['cpu_rt_period'] === 'number') r.cpuRealtimePeriodUs = s['cpu_rt_period'];
  type Rate = { path: string; rate: number | string };
  const blkio = s['blkio_config'] as
    | { weight?: number; weight_device?: Array<{ path: string; weight: number }>; device_read_bps?: Rate[]; device_write_bps?: Rate[]; device_read_iops?: Rate[]; device_write_iops?: Rate[] }
    | undefined;
  if (blkio?.weight !== undefined) r.blkioWeight = blkio.weight;
  if (blkio?.weight_device !== undefined) r.blkioWeightDevice = blkio.weight_device.map((d) => ({ path: d.path, weight: d.weight }));
  const rates = (list: Rate[] | undefined) => list?.map((d) => ({ path: d.path, rate: Number(d.rate) }));
  const throttle = { readBps: rates(blkio?.device_read_bps), writeBps: rates(blkio?.device_write_bps), readIops: rates(blkio?.device_read_iops), writeIops: rates(blkio?.device_write_iops) };
  const given = Object.fromEntries(Object.entries(throttle).filter(([, v]) => v !== undefined));
  if (Object.keys(given).length > 0) r.blkioThrottle = given;
  return r;
}

function fileContent(kind: 'secrets' | 'configs', key: string, obj: FileObjectConfig | undefined, env: FromProjectOptions['environment']): string {
  if (obj === undefined) throw new TscError('ERR_COMPOSE_INVALID', `${kind === 'secrets' ? 'secret' : 'config'} "${key}" is not defined`);
  if (obj.content !== undefined) return obj.content;
  if (obj.environment !== undefined) {
    const v = env?.[obj.environment];
    if (v === undefined) throw new TscError('ERR_COMPOSE_INVALID', `environment variable ${obj.environment} of ${kind}.${key} is not set`, { path: `${kind}.${key}.environment` });
    return v;
  }
  if (obj.file !== undefined) {
    try {
      return readFileSync(obj.file, 'utf8');
    } catch (cause) {
      throw new TscError('ERR_COMPOSE_NOT_FOUND', `cannot read ${kind}.${key}.file ${obj.file}`, { cause, path: `${kind}.${key}.file` });
    }
  }
  throw new TscError('ERR_UNSUPPORTED', `external ${kind} ("${key}") need a swarm; on one host use file, environment or content`, { path: `${kind}.${key}` });
}

function mounts(p: Project, s: ServiceConfig, env: FromProjectOptions['environment']): MountSpec[] {
  const out: MountSpec[] = [];
  for (const v of s.volumes ?? []) {
    const readOnly = v.read_only === true;
    if (v.type === 'bind') {
      out.push({
        type: 'bind',
        source: v.source ?? '',
        target: v.target,
        readOnly,
        ...(v.bind?.propagation === undefined ? {} : { propagation: v.bind.propagation }),
        ...(v.bind?.create_host_path === undefined ? {} : { createHostPath: v.bind.create_host_path }),
        ...(v.bind?.selinux === undefined ? {} : { selinux: v.bind.selinux }),
      });
    } else if (v.type === 'volume') {
      const source = v.source === undefined || v.source === '' ? '' : (p.volumes[v.source]?.name ?? v.source);
      out.push({ type: 'volume', source, target: v.target, readOnly, ...(v.volume?.nocopy === undefined ? {} : { noCopy: v.volume.nocopy }), ...(v.volume?.subpath === undefined ? {} : { subpath: v.volume.subpath }) });
    } else if (v.type === 'tmpfs') {
      const size = bytes(v.tmpfs?.size);
      out.push({ type: 'tmpfs', target: v.target, ...(size === undefined ? {} : { sizeBytes: size }), ...(v.tmpfs?.mode === undefined ? {} : { mode: v.tmpfs.mode }) });
    } else {
      throw new TscError('ERR_UNSUPPORTED', `volume type "${v.type}" is not supported on this host`, { path: `services.${s.name}.volumes` });
    }
  }
  for (const t of s.tmpfs ?? []) {
    const [target = '', ...opts] = t.split(':').join(',').split(',');
    const size = opts.find((o) => o.startsWith('size='))?.slice(5);
    const mode = opts.find((o) => o.startsWith('mode='))?.slice(5);
    out.push({ type: 'tmpfs', target, ...(size === undefined ? {} : { sizeBytes: parseBytes(size) }), ...(mode === undefined ? {} : { mode: parseInt(mode, 8) }) });
  }
  const files = (kind: 'secrets' | 'configs', refs: ServiceConfig['secrets']) => {
    for (const ref of refs ?? []) {
      const target = ref.target ?? (kind === 'secrets' ? `/run/secrets/${ref.source}` : `/${ref.source}`);
      const mode = ref.mode === undefined ? undefined : typeof ref.mode === 'number' ? ref.mode : parseInt(ref.mode, 8);
      out.push({
        type: 'file',
        target: kind === 'secrets' && !target.startsWith('/') ? `/run/secrets/${target}` : target,
        content: fileContent(kind, ref.source, p[kind][ref.source], env),
        ...(mode === undefined ? {} : { mode }),
        ...(ref.uid === undefined ? {} : { uid: Number(ref.uid) }),
        ...(ref.gid === undefined ? {} : { gid: Number(ref.gid) }),
      });
    }
  };
  files('secrets', s.secrets);
  files('configs', s.configs);
  return out;
}

function endpoints(p: Project, s: ServiceConfig): EndpointSpec[] {
  const nets = Object.entries(s.networks ?? {}).map(([key, cfg]) => ({ key, cfg: cfg ?? {} }));
  nets.sort((a, b) => (b.cfg.priority ?? 0) - (a.cfg.priority ?? 0) || a.key.localeCompare(b.key));
  return nets.map(({ key, cfg }) => ({
    network: p.networks[key]?.name ?? key,
    aliases: [s.name, ...(cfg.aliases ?? [])],
    ...(cfg.ipv4_address === undefined ? {} : { ipv4Address: cfg.ipv4_address }),
    ...(cfg.ipv6_address === undefined ? {} : { ipv6Address: cfg.ipv6_address }),
    ...(cfg.mac_address === undefined ? {} : { macAddress: cfg.mac_address }),
    ...(cfg.priority === undefined ? {} : { priority: cfg.priority }),
  }));
}

function networkMode(p: Project, s: ServiceConfig): ContainerSpec['networkMode'] {
  const m = s.network_mode;
  if (m === undefined || m === 'bridge' || m === 'default') return 'default';
  if (m === 'host' || m === 'none') return m;
  if (m.startsWith('service:')) {
    const other = m.slice('service:'.length);
    const o = p.services[other];
    return `container:${o?.container_name ?? containerName(p.name, other, 1)}`;
  }
  if (m.startsWith('container:')) return m as `container:${string}`;
  throw new TscError('ERR_UNSUPPORTED', `network_mode "${m}" is not supported`, { path: `services.${s.name}.network_mode` });
}

/** `pid:` / `ipc:` as a namespace mode: the host's, or another container's (`service:X` names X's first). */
function namespaceMode(p: Project, s: ServiceConfig, key: 'pid' | 'ipc'): NamespaceMode | undefined {
  const m = s[key];
  if (m === undefined || m === '' || m === 'private' || m === 'shareable') return undefined;
  if (m === 'host') return 'host';
  if (m.startsWith('service:')) {
    const other = m.slice('service:'.length);
    return `container:${p.services[other]?.container_name ?? containerName(p.name, other, 1)}`;
  }
  if (m.startsWith('container:')) return m as `container:${string}`;
  throw new TscError('ERR_UNSUPPORTED', `${key} "${m}" is not supported: use host, private, service:NAME or container:NAME`, { path: `services.${s.name}.${key}` });
}

/**
 * `post_start` / `pre_stop` as the agent runs them: a string command split into words as
 * compose splits it (no shell), environment as a list or a map, a bare name taken from the
 * environment compose runs in.
 */
function hooks(s: ServiceConfig, key: 'post_start' | 'pre_stop', env: FromProjectOptions['environment']): LifecycleHook[] | undefined {
  const raw = s[key];
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw new TscError('ERR_COMPOSE_INVALID', `${key} must be a list of hooks`, { path: `services.${s.name}.${key}` });
  return raw.map((h: unknown, i) => {
    const path = `services.${s.name}.${key}[${i}]`;
    if (h === null || typeof h !== 'object') throw new TscError('ERR_COMPOSE_INVALID', 'a hook must be a mapping with a command', { path });
    const o = h as { command?: unknown; user?: unknown; privileged?: unknown; working_dir?: unknown; environment?: unknown };
    const command = typeof o.command === 'string' ? splitShellWords(o.command) : Array.isArray(o.command) ? o.command.map(String) : [];
    if (command.length === 0) throw new TscError('ERR_COMPOSE_INVALID', 'a hook needs a command', { path: `${path}.command` });
    const vars: Record<string, string> = {};
    const entries: Array<[string, unknown]> = Array.isArray(o.environment)
      ? o.environment.map((e: unknown) => {
          const t = String(e);
          const eq = t.indexOf('=');
          return eq < 0 ? [t, null] : [t.slice(0, eq), t.slice(eq + 1)];
        })
      : Object.entries((o.environment ?? {}) as Record<string, unknown>);
    for (const [k, v] of entries) {
      const value = v === null || v === undefined ? env?.[k] : String(v);
      if (value !== undefined) vars[k] = value;
    }
    return {
      command,
      ...(typeof o.user === 'string' ? { user: o.user } : typeof o.user === 'number' ? { user: String(o.user) } : {}),
      ...(o.privileged === true ? { privileged: true } : {}),
      ...(typeof o.working_dir === 'string' ? { workingDir: o.working_dir } : {}),
      ...(entries.length === 0 ? {} : { env: vars }),
    };
  });
}

/** `volumes_from`: `service[:mode]` (its first replica) or `container:name[:mode]`, in order. */
function volumesFrom(p: Project, s: ServiceConfig): string[] | undefined {
  if (s.volumes_from === undefined || s.volumes_from.length === 0) return undefined;
  return s.volumes_from.map((ref) => {
    if (ref.startsWith('container:')) return ref.slice('container:'.length);
    const [service = '', mode] = ref.split(':');
    const o = p.services[service];
    if (o === undefined) throw new TscError('ERR_COMPOSE_INVALID', `volumes_from names an unknown service "${service}"`, { path: `services.${s.name}.volumes_from` });
    const name = o.container_name ?? containerName(p.name, service, 1);
    return mode === undefined ? name : `${name}:${mode}`;
  });
}

function ports(s: ServiceConfig): PortBinding[] {
  return (s.ports ?? []).map((pt) => ({
    target: pt.target,
    protocol: (pt.protocol === 'udp' || pt.protocol === 'sctp' ? pt.protocol : 'tcp') as PortBinding['protocol'],
    hostIp: pt.host_ip ?? '',
    published: pt.published ?? '',
  }));
}

function dependsOnLabel(s: ServiceConfig): string {
  return Object.entries(s.depends_on ?? {})
    .map(([name, d]) => `${name}:${d.condition}:${d.restart === true}`)
    .join(',');
}

function imageOf(p: Project, s: ServiceConfig): string {
  return s.image ?? `${p.name}-${s.name}`;
}

function pullPolicy(s: ServiceConfig): PullPolicy {
  const v = s.pull_policy;
  if (v === 'always' || v === 'never' || v === 'build' || v === 'missing' || v === 'daily' || v === 'weekly') return v;
  if (v === 'if_not_present') return 'missing';
  return s.image === undefined && s.build !== undefined ? 'build' : 'missing';
}

function serviceSpec(p: Project, s: ServiceConfig, opts: FromProjectOptions): DesiredServiceSpec {
  // Made when first asked for (by `up` and `create`, not by `down`): it loads node:crypto and
  // hashes the whole service.
  let hashMemo: string | undefined;
  const hash = () => (hashMemo ??= configHash(p, s.name));
  const scale = opts.scale?.[s.name] ?? s.deploy?.replicas ?? s.scale ?? 1;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.environment ?? {})) {
    const value = v ?? opts.environment?.[k];
    if (value !== undefined) env[k] = value;
  }
  const mountList = mounts(p, s, opts.environment);
  const baseLabels: Record<string, string> = {
    ...(s.labels ?? {}),
    [LABEL.project]: p.name,
    [LABEL.service]: s.name,
    [LABEL.oneoff]: 'False',
    [LABEL.dependsOn]: dependsOnLabel(s),
    [LABEL.image]: imageOf(p, s),
    [LABEL.version]: COMPOSE_VERSION,
    [LABEL.workingDir]: p.workingDir,
    ...(opts.configFiles === undefined ? {} : { [LABEL.configFiles]: opts.configFiles.join(',') }),
  };
  const extraHosts = Array.isArray(s.extra_hosts) ? (s.extra_hosts as unknown[]).map((h) => String(h).replace('=', ':')) : [];
  const stopGrace = ms(s.stop_grace_period);
  const shm = bytes(s.shm_size);
  const hc = healthcheck(s);
  const logging = s.logging;
  const pidMode = namespaceMode(p, s, 'pid');
  const ipcMode = namespaceMode(p, s, 'ipc');
  const postStart = hooks(s, 'post_start', opts.environment);
  const preStop = hooks(s, 'pre_stop', opts.environment);
  const from = volumesFrom(p, s);
  const container = (n: number): ContainerSpec => ({
    name: s.container_name ?? containerName(p.name, s.name, n),
    image: imageOf(p, s),
    labels: { ...baseLabels, [LABEL.configHash]: hash(), [LABEL.containerNumber]: String(n) },
    ...(s.entrypoint === undefined || s.entrypoint === null ? {} : { entrypoint: s.entrypoint }),
    ...(s.command === undefined || s.command === null ? {} : { command: s.command }),
    env,
    ...(s.working_dir === undefined ? {} : { workingDir: s.working_dir }),
    ...(s.user === undefined ? {} : { user: s.user }),
    ...(s['group_add'] === undefined ? {} : { groupAdd: (s['group_add'] as unknown[]).map(String) }),
    ...(s.hostname === undefined ? {} : { hostname: s.hostname }),
    ...(s.domainname === undefined ? {} : { domainname: s.domainname }),
    tty: s.tty === true,
    openStdin: s.stdin_open === true,
    init: s.init === true,
    readOnlyRootfs: s.read_only === true,
    privileged: s.privileged === true,
    capAdd: s.cap_add ?? [],
    capDrop: s.cap_drop ?? [],
    securityOpt: s.security_opt ?? [],
    sysctls: s.sysctls ?? {},
    ulimits: Object.entries(s.ulimits ?? {}).map(([name, u]) => ({ name, soft: u.soft, hard: u.hard })),
    devices: s.devices ?? [],
    ...(shm === undefined ? {} : { shmSizeBytes: shm }),
    ...(s.stop_signal === undefined ? {} : { stopSignal: s.stop_signal }),
    ...(stopGrace === undefined ? {} : { stopGracePeriodMs: stopGrace }),
    mounts: mountList,
    ...(from === undefined ? {} : { volumesFrom: from }),
    networkMode: networkMode(p, s),
    ...(pidMode === undefined ? {} : { pidMode }),
    ...(ipcMode === undefined ? {} : { ipcMode }),
    ...(s.uts === 'host' ? { utsMode: 'host' as const } : {}),
    ...(s.cgroup === 'host' || s.cgroup === 'private' ? { cgroupnsMode: s.cgroup } : {}),
    ...(typeof s['cgroup_parent'] === 'string' && s['cgroup_parent'] !== '' ? { cgroupParent: s['cgroup_parent'] } : {}),
    ...(Array.isArray(s['device_cgroup_rules']) && s['device_cgroup_rules'].length > 0 ? { deviceCgroupRules: (s['device_cgroup_rules'] as unknown[]).map(String) } : {}),
    endpoints: endpoints(p, s),
    ports: ports(s),
    exposedPorts: s.expose ?? [],
    extraHosts,
    dns: s.dns ?? [],
    dnsSearch: s.dns_search ?? [],
    dnsOptions: s.dns_opt ?? [],
    ...(hc === undefined ? {} : { healthcheck: hc }),
    restartPolicy: restartPolicy(s),
    resources: resources(s),
    logConfig: { driver: logging?.driver === 'none' ? 'none' : 'json-file', options: logging?.options ?? {} },
    ...(postStart === undefined ? {} : { postStart }),
    ...(preStop === undefined ? {} : { preStop }),
  });
  const dependsOn: Dependency[] = Object.entries(s.depends_on ?? {}).map(([service, d]) => ({
    service,
    condition: d.condition,
    required: d.required,
    restart: d.restart === true,
  }));
  return {
    name: s.name,
    scale,
    get configHash() {
      return hash();
    },
    image: imageOf(p, s),
    pullPolicy: pullPolicy(s),
    dependsOn,
    container,
  };
}

/**
 * Service keys the one-host engine does not honour yet. Each is reported once per service by
 * `up`, so that nothing a compose file asks for is dropped silently.
 */
export const UNSUPPORTED_KEYS = [
  'cpu_count',
  'cpu_percent',
  'credential_spec',
  'gpus',
  'isolation',
  'platform',
  'runtime',
  'storage_opt',
  'userns_mode',
  'volume_driver',
] as const;

function has(s: ServiceConfig, dotted: string): boolean {
  let v: unknown = s;
  for (const k of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return false;
    v = (v as Record<string, unknown>)[k];
  }
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

/** This host's platform as compose writes it (`linux/amd64`, `linux/arm64`). */
function hostPlatform(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch] ?? process.arch;
  return `linux/${arch}`;
}

/**
 * Values of otherwise unsupported keys that ask for what this host does anyway: no user
 * namespace remapping, this machine's own platform.
 */
const ALREADY_SO: Partial<Record<(typeof UNSUPPORTED_KEYS)[number], (v: unknown) => boolean>> = {
  userns_mode: (v) => v === 'host',
  platform: (v) => typeof v === 'string' && (v === hostPlatform() || v.startsWith(`${hostPlatform()}/`)),
};

export function unsupportedWarnings(p: Project): string[] {
  const out: string[] = [];
  for (const s of Object.values(p.services)) {
    for (const key of UNSUPPORTED_KEYS) {
      if (has(s, key) && ALREADY_SO[key]?.(s[key]) !== true) out.push(`services.${s.name}.${key} is not supported yet on this host and is ignored`);
    }
    const driver = s.logging?.driver;
    if (driver !== undefined && driver !== 'json-file' && driver !== 'none' && driver !== 'local') {
      out.push(`services.${s.name}.logging.driver "${driver}" is not supported yet: json-file is used`);
    }
  }
  return out;
}

export function desiredProject(p: Project, opts: FromProjectOptions = {}): DesiredProject {
  return {
    name: p.name,
    warnings: unsupportedWarnings(p),
    services: Object.values(p.services).map((s) => serviceSpec(p, s, opts)),
    networks: Object.entries(p.networks).map(([key, n]) => ({
      key,
      external: n.external === true,
      spec: {
        name: n.name,
        driver: n.driver ?? 'bridge',
        driverOpts: n.driver_opts ?? {},
        labels: { ...(n.labels ?? {}), [LABEL.project]: p.name, [LABEL.network]: key, [LABEL.version]: COMPOSE_VERSION },
        internal: n.internal === true,
        attachable: n.attachable === true,
        enableIpv6: n.enable_ipv6 === true,
        ipam: {
          driver: n.ipam?.driver ?? 'default',
          config: (n.ipam?.config ?? []).map((c) => ({
            ...(c.subnet === undefined ? {} : { subnet: c.subnet }),
            ...(c.ip_range === undefined ? {} : { ipRange: c.ip_range }),
            ...(c.gateway === undefined ? {} : { gateway: c.gateway }),
          })),
        },
      },
    })),
    volumes: Object.entries(p.volumes).map(([key, v]) => ({
      key,
      external: v.external === true,
      spec: {
        name: v.name,
        driver: v.driver ?? 'local',
        driverOpts: v.driver_opts ?? {},
        labels: { ...(v.labels ?? {}), [LABEL.project]: p.name, [LABEL.volume]: key, [LABEL.version]: COMPOSE_VERSION },
      },
    })),
  };
}
