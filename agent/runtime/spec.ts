/**
 * The OCI runtime-spec config.json (1.0.x, the Linux parts we use) and `defaultSpec()`, which
 * fills it the way Docker does (moby `oci/defaults.go`): 14 capabilities, the default mounts,
 * masked and read-only paths, a deny-all device cgroup. The agent starts from it and changes
 * only what the service asks for.
 */

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface Rlimit {
  type: string; // RLIMIT_NOFILE, ...
  soft: number;
  hard: number;
}

export interface Process {
  terminal?: boolean;
  /** The terminal's size from the start (with `terminal`). */
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  oomScoreAdj?: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

export interface Namespace {
  type: NamespaceType;
  /** Join this namespace (e.g. `/run/netns/NAME`) instead of making a new one. */
  path?: string;
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Device {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface DeviceCgroup {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface Resources {
  devices?: DeviceCgroup[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; realtimeRuntime?: number; realtimePeriod?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    weightDevice?: { major: number; minor: number; weight?: number }[];
    throttleReadBpsDevice?: ThrottleDevice[];
    throttleWriteBpsDevice?: ThrottleDevice[];
    throttleReadIOPSDevice?: ThrottleDevice[];
    throttleWriteIOPSDevice?: ThrottleDevice[];
  };
}

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  rootfsPropagation?: string;
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds. */
  timeout?: number;
}

/** OCI hooks; each gets the container's state JSON on stdin. */
export interface Hooks {
  prestart?: Hook[];
  createRuntime?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export interface Spec {
  ociVersion: string;
  process: Process;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  linux?: Linux;
  hooks?: Hooks;
  annotations?: Record<string, string>;
}

/** Docker's default capability set (moby `oci/caps/defaults.go`). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default mounts; /dev/shm gets the daemon's default 64 MiB. */
export function defaultMounts(shmSize = '65536k'): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shmSize}`] },
  ];
}

export interface DefaultSpecOptions {
  args?: string[];
  /** root.path: absolute, or relative to the bundle. */
  rootfs?: string;
  hostname?: string;
  env?: string[];
  cgroupsPath?: string;
}

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const caps = [...DEFAULT_CAPABILITIES];
  const spec: Spec = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: opts.args ?? ['sh'],
      env: opts.env ?? [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      noNewPrivileges: false,
    },
    root: { path: opts.rootfs ?? 'rootfs', readonly: false },
    mounts: defaultMounts(),
    linux: {
      namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'uts' }, { type: 'pid' }, { type: 'ipc' }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
    },
  };
  if (opts.hostname !== undefined) spec.hostname = opts.hostname;
  if (opts.cgroupsPath !== undefined && spec.linux) spec.linux.cgroupsPath = opts.cgroupsPath;
  return spec;
}

/** Annotations the bundled runtime reads (other runtimes ignore them). */
export const ANNOTATIONS = {
  /** The monitor writes the container's stdout/stderr here as Docker json-file lines. */
  logPath: 'io.tsc-compose.log-path',
  /** Rotate at this size (`10m`, `512k`, bytes). */
  logMaxSize: 'io.tsc-compose.log-max-size',
  /** Keep this many files, the current one included. */
  logMaxFile: 'io.tsc-compose.log-max-file',
  /** `"true"`: the monitor keeps a pipe to the container's stdin (see attachStdin). */
  stdin: 'io.tsc-compose.stdin',
  /** `"true"`: PID 1 is a small init that reaps orphans and forwards signals (compose `init: true`). */
  init: 'io.tsc-compose.init',
  /** A compiled seccomp BPF program, relative to the bundle. */
  seccomp: 'io.tsc-compose.seccomp',
} as const;
