/**
 * A container's OCI runtime config (config.json), from its spec and merged settings, the way
 * the Docker daemon builds one (moby `daemon/oci_linux.go`): Docker's defaults (capabilities,
 * masked and read-only paths, mounts, devices) changed only where the compose file asks.
 * Pure: every path it needs (rootfs, sandbox, volume directories, the agent's files) is given.
 */
import type { ContainerSpec } from './api/types.js';
import { TscError } from '../lib/errors.js';
import type { ContainerSettings } from './images/container-settings.js';
import { capabilitiesFor } from './runtime/capabilities.js';
import { ANNOTATIONS, defaultSpec, type DeviceCgroup, type Mount, type Spec } from './runtime/spec.js';

export interface OciSpecInput {
  containerId: string;
  spec: ContainerSpec;
  settings: ContainerSettings;
  rootfs: string;
  /** Network namespace to join; undefined: the host's (`host`) or a new one (`none`). */
  netns: string | undefined;
  /** Other namespaces to join (another container's), by type. */
  joinNamespaces?: Partial<Record<'pid' | 'ipc', string>>;
  /** Resolved user: numeric ids from the image's /etc/passwd and /etc/group. */
  user: { uid: number; gid: number; additionalGids: number[] };
  /** Host directory of each named volume the spec mounts, by volume name. */
  volumePaths: Readonly<Record<string, string>>;
  /** Files the agent wrote for the container (hosts, resolv.conf, secrets), bound read-only. */
  files: ReadonlyArray<{ target: string; source: string; readOnly: boolean }>;
  logPath: string;
  cgroupParent: string;
  /** Major and minor numbers of the device paths `blkio_config` names (stat'ed by the agent). */
  deviceNumbers?: Readonly<Record<string, { major: number; minor: number }>>;
}

/** `device_cgroup_rules` entries (`c 1:3 mr`, `a *:* rwm`) as OCI device cgroup rules. */
export function parseDeviceCgroupRule(rule: string): DeviceCgroup {
  const m = /^([acb]) (\*|\d+):(\*|\d+) ([rwm]{1,3})$/.exec(rule.trim());
  if (m === null) throw new TscError('ERR_USAGE', `invalid device cgroup rule "${rule}": expected TYPE MAJOR:MINOR ACCESS, e.g. "c 1:3 mr"`);
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '*' ? undefined : Number(v));
  const major = num(m[2]);
  const minor = num(m[3]);
  return { allow: true, type: m[1] as 'a' | 'c' | 'b', ...(major === undefined ? {} : { major }), ...(minor === undefined ? {} : { minor }), access: m[4] as string };
}

function deviceNumber(i: OciSpecInput, path: string): { major: number; minor: number } {
  const n = i.deviceNumbers?.[path];
  if (n === undefined) throw new Error(`oci spec: no device numbers given for ${path} of container ${i.spec.name}`);
  return n;
}

const PROPAGATIONS = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

function userMounts(i: OciSpecInput): Mount[] {
  const out: Mount[] = [];
  for (const m of i.spec.mounts) {
    switch (m.type) {
      case 'bind': {
        const opts = ['rbind', m.readOnly ? 'ro' : 'rw'];
        if (m.propagation !== undefined && PROPAGATIONS.has(m.propagation)) opts.push(m.propagation);
        out.push({ destination: m.target, type: 'bind', source: m.source, options: opts });
        break;
      }
      case 'volume': {
        const source = i.volumePaths[m.source];
        if (source === undefined) throw new Error(`oci spec: no directory given for volume "${m.source}" of container ${i.spec.name}`);
        out.push({ destination: m.target, type: 'bind', source: m.subpath === undefined ? source : `${source}/${m.subpath}`, options: ['rbind', m.readOnly ? 'ro' : 'rw'] });
        break;
      }
      case 'tmpfs': {
        const opts = ['nosuid', 'nodev'];
        if (m.sizeBytes !== undefined) opts.push(`size=${m.sizeBytes}`);
        opts.push(`mode=${(m.mode ?? 0o1777).toString(8)}`);
        out.push({ destination: m.target, type: 'tmpfs', source: 'tmpfs', options: opts });
        break;
      }
      case 'file':
        break; // written by the agent and listed in `files`
    }
  }
  for (const f of i.files) out.push({ destination: f.target, type: 'bind', source: f.source, options: ['rbind', f.readOnly ? 'ro' : 'rw'] });
  return out;
}

export function buildOciSpec(i: OciSpecInput): Spec {
  const { spec, settings } = i;
  const shm = spec.shmSizeBytes === undefined ? undefined : `${Math.floor(spec.shmSizeBytes / 1024)}k`;
  const base = defaultSpec({
    args: settings.args,
    rootfs: i.rootfs,
    env: settings.env,
    // the host's UTS namespace keeps the host's names: a container may not set them there
    ...(spec.utsMode === 'host' ? {} : { hostname: spec.hostname ?? i.containerId.slice(0, 12) }),
    cgroupsPath: `${spec.cgroupParent === undefined ? i.cgroupParent : `/${spec.cgroupParent.replace(/^\/+|\/+$/g, '')}`}/${i.containerId}`,
  });
  const caps = spec.privileged ? capabilitiesFor(['ALL']) : capabilitiesFor(spec.capAdd, spec.capDrop);
  const linux = base.linux ?? {};
  const noNewPrivileges = spec.securityOpt.some((o) => o === 'no-new-privileges' || o === 'no-new-privileges:true' || o === 'no-new-privileges=true');
  const resources = linux.resources ?? {};
  const r = spec.resources;
  if (r.memoryBytes !== undefined || r.memoryReservationBytes !== undefined || r.memorySwapBytes !== undefined) {
    resources.memory = {
      ...(r.memoryBytes === undefined ? {} : { limit: r.memoryBytes }),
      ...(r.memoryReservationBytes === undefined ? {} : { reservation: r.memoryReservationBytes }),
      ...(r.memorySwapBytes === undefined ? {} : { swap: r.memorySwapBytes }),
    };
  }
  if (r.oomKillDisable === true) resources.memory = { ...resources.memory, disableOOMKiller: true };
  const period = r.cpuPeriod ?? (r.nanoCpus !== undefined ? 100_000 : undefined);
  const quota = r.cpuQuota ?? (r.nanoCpus !== undefined ? Math.round((r.nanoCpus * 100_000) / 1e9) : undefined);
  if (period !== undefined || quota !== undefined || r.cpuShares !== undefined || r.cpusetCpus !== undefined || r.cpusetMems !== undefined) {
    resources.cpu = {
      ...(r.cpuShares === undefined ? {} : { shares: r.cpuShares }),
      ...(quota === undefined ? {} : { quota }),
      ...(period === undefined ? {} : { period }),
      ...(r.cpusetCpus === undefined ? {} : { cpus: r.cpusetCpus }),
      ...(r.cpusetMems === undefined ? {} : { mems: r.cpusetMems }),
    };
  }
  if (r.cpuRealtimeRuntimeUs !== undefined) resources.cpu = { ...resources.cpu, realtimeRuntime: r.cpuRealtimeRuntimeUs };
  if (r.cpuRealtimePeriodUs !== undefined) resources.cpu = { ...resources.cpu, realtimePeriod: r.cpuRealtimePeriodUs };
  if (r.pidsLimit !== undefined && r.pidsLimit > 0) resources.pids = { limit: r.pidsLimit };
  if (r.blkioWeight !== undefined) resources.blockIO = { weight: r.blkioWeight };
  if (r.blkioWeightDevice !== undefined && r.blkioWeightDevice.length > 0) {
    resources.blockIO = { ...resources.blockIO, weightDevice: r.blkioWeightDevice.map((d) => ({ ...deviceNumber(i, d.path), weight: d.weight })) };
  }
  const throttles = { readBps: 'throttleReadBpsDevice', writeBps: 'throttleWriteBpsDevice', readIops: 'throttleReadIOPSDevice', writeIops: 'throttleWriteIOPSDevice' } as const;
  for (const [key, field] of Object.entries(throttles) as Array<[keyof typeof throttles, (typeof throttles)[keyof typeof throttles]]>) {
    const list = r.blkioThrottle?.[key];
    if (list !== undefined && list.length > 0) resources.blockIO = { ...resources.blockIO, [field]: list.map((d) => ({ ...deviceNumber(i, d.path), rate: d.rate })) };
  }
  if (spec.privileged) resources.devices = [{ allow: true, access: 'rwm' }];
  else if (spec.devices.length > 0) {
    resources.devices = [...(resources.devices ?? []), ...spec.devices.map((d) => ({ allow: true, access: d.permissions || 'rwm', path: d.source }))];
  }
  if (!spec.privileged && spec.deviceCgroupRules !== undefined && spec.deviceCgroupRules.length > 0) {
    resources.devices = [...(resources.devices ?? []), ...spec.deviceCgroupRules.map(parseDeviceCgroupRule)];
  }
  // Shared namespaces: the host's is not listed at all; another container's is joined by path.
  const hostNs = new Set([spec.pidMode === 'host' ? 'pid' : '', spec.ipcMode === 'host' ? 'ipc' : '', spec.utsMode === 'host' ? 'uts' : '']);
  const namespaces = (linux.namespaces ?? [])
    .filter((n) => n.type !== 'network' && !hostNs.has(n.type))
    .map((n) => {
      const path = n.type === 'pid' || n.type === 'ipc' ? i.joinNamespaces?.[n.type] : undefined;
      return path === undefined ? n : { type: n.type, path };
    });
  if (spec.networkMode !== 'host') namespaces.push(i.netns === undefined ? { type: 'network' } : { type: 'network', path: i.netns });
  if (spec.cgroupnsMode === 'private' && !namespaces.some((n) => n.type === 'cgroup')) namespaces.push({ type: 'cgroup' });

  const result: Spec = {
    ...base,
    process: {
      ...base.process,
      terminal: spec.tty,
      ...(spec.tty && spec.consoleSize !== undefined ? { consoleSize: { height: spec.consoleSize.rows, width: spec.consoleSize.cols } } : {}),
      user: { uid: i.user.uid, gid: i.user.gid, ...(i.user.additionalGids.length === 0 ? {} : { additionalGids: i.user.additionalGids }) },
      cwd: settings.workingDir || '/',
      capabilities: caps,
      noNewPrivileges,
      ...(spec.ulimits.length === 0 ? {} : { rlimits: spec.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft, hard: u.hard })) }),
      ...(r.oomScoreAdj === undefined ? {} : { oomScoreAdj: r.oomScoreAdj }),
    },
    root: { path: i.rootfs, readonly: spec.readOnlyRootfs },
    ...(spec.domainname === undefined ? {} : { domainname: spec.domainname }),
    mounts: [...(base.mounts ?? []).map((m) => (m.destination === '/dev/shm' && shm !== undefined ? { ...m, options: [...(m.options ?? []).filter((o) => !o.startsWith('size=')), `size=${shm}`] } : m)), ...userMounts(i)],
    linux: {
      ...linux,
      namespaces,
      resources,
      ...(Object.keys(spec.sysctls).length === 0 ? {} : { sysctl: { ...spec.sysctls } }),
      ...(spec.privileged ? { maskedPaths: [], readonlyPaths: [] } : {}),
    },
    annotations: {
      [ANNOTATIONS.logPath]: i.logPath,
      ...(spec.init ? { [ANNOTATIONS.init]: 'true' } : {}),
      // stdin_open / run -i: the monitor keeps stdin open (a pipe, or the terminal's input)
      // for attachContainer to plug into.
      ...(spec.openStdin ? { [ANNOTATIONS.stdin]: 'true' } : {}),
      ...(spec.logConfig.options['max-size'] === undefined ? {} : { [ANNOTATIONS.logMaxSize]: spec.logConfig.options['max-size'] }),
      ...(spec.logConfig.options['max-file'] === undefined ? {} : { [ANNOTATIONS.logMaxFile]: spec.logConfig.options['max-file'] }),
    },
  };
  if (spec.logConfig.driver === 'none' && result.annotations) delete result.annotations[ANNOTATIONS.logPath];
  return result;
}
