/**
 * The node agent's API, as types. The reconciler (one host) and the dispatcher (a cluster)
 * drive a node only through `AgentApi`; the HTTP client over the agent's unix socket, the
 * in-process agent and a Docker Engine backend all implement it, so nothing above `agent/`
 * knows which one runs.
 *
 * The shapes follow the Docker Engine API where one exists (container create, inspect, list
 * filters, events), in camelCase, so that a Docker backend maps onto it almost field by field
 * and users meet familiar names in `inspect` output.
 */

import type { Readable, Writable } from 'node:stream';

/** Labels, environment and similar string maps. */
export type StringMap = Record<string, string>;

export interface PortBinding {
  /** Port inside the container. */
  target: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  /** Host address; '' for all interfaces. */
  hostIp: string;
  /** Host port or range ("8080", "8080-8081"); '' for a random ephemeral port. */
  published: string;
}

export type MountSpec =
  | { type: 'bind'; source: string; target: string; readOnly: boolean; propagation?: string; createHostPath?: boolean; selinux?: 'z' | 'Z' }
  | { type: 'volume'; source: string; target: string; readOnly: boolean; noCopy?: boolean; subpath?: string }
  | { type: 'tmpfs'; target: string; sizeBytes?: number; mode?: number }
  /** Secrets and configs: `content` is written by the agent into the container's own files. */
  | { type: 'file'; target: string; content: string; mode?: number; uid?: number; gid?: number };

export interface EndpointSpec {
  /** The network's full name (`<project>_<key>`). */
  network: string;
  aliases: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  macAddress?: string;
  priority?: number;
}

/** A healthcheck as the spec gives it: 0 (or an empty test) means "not set, use the image's". */
export interface HealthcheckSpec {
  /** ['CMD', ...], ['CMD-SHELL', cmd] or ['NONE']. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

export type RestartPolicy =
  | { name: 'no' }
  | { name: 'always' }
  | { name: 'unless-stopped' }
  | { name: 'on-failure'; maximumRetryCount: number };

export interface ResourceSpec {
  memoryBytes?: number;
  memorySwapBytes?: number;
  memoryReservationBytes?: number;
  /** CPUs as a fraction (`cpus: 1.5`), turned into quota/period by the runtime. */
  nanoCpus?: number;
  cpuShares?: number;
  cpuQuota?: number;
  cpuPeriod?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: number;
  blkioWeight?: number;
  /** `blkio_config.weight_device`: per-device weights, by device path. */
  blkioWeightDevice?: Array<{ path: string; weight: number }>;
  /** `blkio_config.device_{read,write}_{bps,iops}`: per-device limits, by device path. */
  blkioThrottle?: Partial<Record<'readBps' | 'writeBps' | 'readIops' | 'writeIops', Array<{ path: string; rate: number }>>>;
  /** `cpu_rt_runtime` / `cpu_rt_period`, in microseconds. */
  cpuRealtimeRuntimeUs?: number;
  cpuRealtimePeriodUs?: number;
  oomScoreAdj?: number;
  oomKillDisable?: boolean;
}

export interface LogConfig {
  driver: 'json-file' | 'none';
  options: StringMap;
}

/** Everything needed to create one container. The agent fills image defaults in. */
export interface ContainerSpec {
  name: string;
  image: string;
  labels: StringMap;
  /** Overrides of the image's ENTRYPOINT / CMD; undefined keeps the image's. */
  entrypoint?: string[];
  command?: string[];
  env: StringMap;
  workingDir?: string;
  user?: string;
  groupAdd?: string[];
  hostname?: string;
  domainname?: string;
  tty: boolean;
  openStdin: boolean;
  /**
   * The terminal's size from the process's start (with `tty`; Docker's HostConfig.ConsoleSize):
   * `run` passes the user's, so the process never sees 0x0 before the first resize.
   */
  consoleSize?: { rows: number; cols: number };
  init: boolean;
  readOnlyRootfs: boolean;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  sysctls: StringMap;
  ulimits: Array<{ name: string; soft: number; hard: number }>;
  devices: Array<{ source: string; target: string; permissions: string }>;
  shmSizeBytes?: number;
  stopSignal?: string;
  stopGracePeriodMs?: number;
  mounts: MountSpec[];
  /**
   * Docker's `VolumesFrom`: `<container>[:ro|rw]`, whose volume and bind mounts this container
   * gets at create, in order (a later one, then the spec's own `mounts`, win at the same target).
   */
  volumesFrom?: string[];
  /** 'bridge' networks by endpoint, or a mode: host, none, container:<id>. */
  networkMode: 'default' | 'host' | 'none' | `container:${string}`;
  /** `pid:` the host's PID namespace or another container's; unset: its own. */
  pidMode?: NamespaceMode;
  /** `ipc:` the host's IPC namespace or another container's; unset: its own (`private`, `shareable`). */
  ipcMode?: NamespaceMode;
  /** `uts: host`: the host's hostname and domain name. */
  utsMode?: 'host';
  /** `cgroup: private`: a cgroup namespace of its own (the default on cgroup v1 hosts is the host's). */
  cgroupnsMode?: 'host' | 'private';
  /** `cgroup_parent`: the cgroup the container's cgroup is made under (default the agent's). */
  cgroupParent?: string;
  /** `device_cgroup_rules`: `c 1:3 mr`, `b *:* rwm`, ... */
  deviceCgroupRules?: string[];
  endpoints: EndpointSpec[];
  ports: PortBinding[];
  exposedPorts: string[];
  extraHosts: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOptions: string[];
  healthcheck?: HealthcheckSpec;
  restartPolicy: RestartPolicy;
  resources: ResourceSpec;
  logConfig: LogConfig;
  /** `post_start` hooks: run in order once the process has started; one failing fails the start. */
  postStart?: LifecycleHook[];
  /** `pre_stop` hooks: run in order before the stop signal (not on a crash or `kill`). */
  preStop?: LifecycleHook[];
}

/** A compose lifecycle hook: a command run inside the container the way `exec` runs one. */
export interface LifecycleHook {
  command: string[];
  user?: string;
  privileged?: boolean;
  workingDir?: string;
  env?: StringMap;
}

/** A namespace shared with the host or with another container (by name or ID). */
export type NamespaceMode = 'host' | `container:${string}`;

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ContainerState {
  status: ContainerStatus;
  running: boolean;
  paused: boolean;
  restarting: boolean;
  oomKilled: boolean;
  pid: number;
  exitCode: number;
  startedAt: string;
  finishedAt: string;
  error: string;
  health?: { status: HealthStatus; failingStreak: number; log: Array<{ start: string; end: string; exitCode: number; output: string }> };
}

/** What `list` returns, as `docker ps` shows it. */
export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  /** The ID of the image it was created from (a rebuilt image has another). */
  imageId?: string | undefined;
  labels: StringMap;
  state: ContainerStatus;
  /** "Up 3 minutes (healthy)", "Exited (0) 2 seconds ago". */
  status: string;
  health: HealthStatus;
  exitCode: number;
  createdAt: string;
  ports: Array<PortBinding & { hostPort: number }>;
  networks: string[];
}

export interface ContainerInspect {
  id: string;
  name: string;
  created: string;
  spec: ContainerSpec;
  state: ContainerState;
  restartCount: number;
  networkSettings: Record<string, { ipAddress: string; ipv6Address?: string; macAddress: string; gateway: string; aliases: string[] }>;
  /** Host ports actually bound, random ones resolved. */
  ports: Array<PortBinding & { hostPort: number }>;
}

export interface ListFilter {
  /** `key` or `key=value`; all must match (Docker's `label` filter). */
  label?: string[];
  all?: boolean;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  time: string;
  line: string;
}

export interface LogsOptions {
  follow?: boolean;
  tail?: number;
  since?: string;
  until?: string;
  /** Ends a followed stream (kept on the caller's side of the wire). */
  signal?: AbortSignal;
  /**
   * With `follow`: the stream ends once the container stops (at its next exit, as
   * `waitContainer(id, 'not-running')`), after every line it wrote, as `docker logs -f` ends.
   */
  untilStopped?: boolean;
}

export interface ExecOptions {
  cmd: string[];
  env?: StringMap;
  user?: string;
  workingDir?: string;
  tty?: boolean;
  privileged?: boolean;
}

/** `top`, as the Docker Engine answers it: ps-like column titles and one row per process. */
export interface ContainerTop {
  titles: string[];
  processes: string[][];
}

/**
 * One reading of a container's counters (`stats`): cumulative figures, so that a rate (CPU %)
 * comes from two readings, as `docker stats` computes it from `cpu_stats` and `precpu_stats`.
 */
export interface ContainerStatsSample {
  read: string;
  cpu: { totalUsageNs: number; systemUsageNs: number; onlineCpus: number };
  /** `usage` counts the page cache; `inactiveFile` is what docker stats subtracts from it. */
  memory: { usage: number; limit: number; inactiveFile: number };
  network: { rxBytes: number; txBytes: number };
  blockIo: { readBytes: number; writeBytes: number };
  pids: number;
}

/** `cp` options, docker cp's flags. */
export interface CopyOptions {
  /** `-a`: keep uid/gid (else files belong to root in the container, to the caller on the host). */
  archive?: boolean;
  /** `-L`: follow a symbolic link named as the source. */
  followLink?: boolean;
}

/** `exec` attached: the process's streams, as Docker's hijacked exec start gives them. */
export interface ExecAttachOptions extends ExecOptions {
  /** Keep the process's stdin open to `ExecSession.stdin` (`-i`). */
  stdin?: boolean;
  /** The terminal's first size (with `tty`). */
  rows?: number;
  cols?: number;
}

export interface ExecSession {
  /** Into the process's stdin (when asked for); ending it closes that stdin. */
  stdin: Writable;
  stdout: Readable;
  /** Nothing comes here with a tty: the terminal carries both streams. */
  stderr: Readable;
  /** The command's exit code, once its output has all been delivered. */
  exit: Promise<number>;
  /** A new size for the process's terminal (with `tty`); the process gets SIGWINCH. */
  resize?(rows: number, cols: number): void;
  /** Let go without ending stdin (a detach, Ctrl-P Ctrl-Q): the process keeps running. */
  close?(): void;
}

/** `attachContainer`'s options, Docker's attach parameters. */
export interface AttachOptions {
  /** Plug into the container's stdin (it must have been created with `openStdin`). */
  stdin: boolean;
  /**
   * With a terminal: also what it showed since the start, until this first attach (`run`
   * starts, then attaches; Docker attaches before the start). Ignored past the first attach.
   */
  fromStart?: boolean;
}

export interface AgentEvent {
  type: 'container' | 'image' | 'network' | 'volume';
  /** Docker's action names: create, start, die, stop, kill, destroy, health_status: healthy, oom, ... */
  action: string;
  id: string;
  attributes: StringMap;
  time: string;
}

export interface NetworkSpec {
  name: string;
  driver: 'bridge' | 'overlay' | string;
  driverOpts: StringMap;
  labels: StringMap;
  internal: boolean;
  attachable: boolean;
  enableIpv6: boolean;
  ipam: { driver: string; config: Array<{ subnet?: string; ipRange?: string; gateway?: string }> };
}

export interface NetworkConnectOptions {
  aliases?: string[];
  ipv4Address?: string;
  ipv6Address?: string;
}

export interface NetworkSummary {
  id: string;
  name: string;
  driver: string;
  labels: StringMap;
  subnets: string[];
  internal: boolean;
}

export interface VolumeSpec {
  name: string;
  driver: string;
  driverOpts: StringMap;
  labels: StringMap;
}

export interface VolumeSummary {
  name: string;
  driver: string;
  labels: StringMap;
  mountpoint: string;
  createdAt: string;
}

export interface ImageSummary {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  createdAt: string;
  labels: StringMap;
}

/** Progress of a pull, one event per layer change: the CLI renders them. */
export interface PullProgress {
  image: string;
  layer?: string;
  status: 'resolving' | 'waiting' | 'downloading' | 'verifying' | 'extracting' | 'done' | 'exists';
  current?: number;
  total?: number;
}

export interface PushProgress {
  image: string;
  layer: string;
  /** `exists`: the registry had the blob already; `pushed`: it was uploaded. */
  status: 'exists' | 'pushed';
}

/** What to build: a Dockerfile and its context on the agent's host (compose `build:`). */
export interface BuildSpec {
  /** The build context directory, absolute. */
  context: string;
  /** The Dockerfile, relative to the context or absolute (default `Dockerfile`). */
  dockerfile?: string | undefined;
  /** The Dockerfile's text instead of a file (`dockerfile_inline`). */
  dockerfileInline?: string | undefined;
  buildArgs?: Record<string, string> | undefined;
  target?: string | undefined;
  /** Names the image gets (at least one). */
  tags: string[];
  labels?: Record<string, string> | undefined;
  noCache?: boolean | undefined;
  pull?: boolean | undefined;
  /** RUN steps' network: `default`, `host` or `none`. */
  network?: string | undefined;
  shmSizeBytes?: number | undefined;
  /** `host:ip` entries for RUN steps' /etc/hosts. */
  extraHosts?: string[] | undefined;
}

/** Progress of a build, one event per step change or chunk of a step's output. */
export interface BuildProgress {
  /** `[stage 2/5] RUN make`. */
  step: string;
  status: 'started' | 'cached' | 'done' | 'output' | 'error';
  text?: string | undefined;
}

export interface BuildSummary {
  /** The image ID (config digest). */
  id: string;
  tags: string[];
  steps: number;
  cached: number;
}

/**
 * One entry of `syncFiles`: make `target` inside the container what `source` on the agent's
 * host is (compose watch's sync): a regular file's content, mode and mtime; a directory
 * (created, not recursed); a symlink as it is; and when `source` no longer exists, `target`
 * is removed (a directory with its content).
 */
export interface FileSync {
  /** Absolute path on the agent's host. */
  source: string;
  /** Absolute path inside the container, as the container sees it (its mounts included). */
  target: string;
}

export interface SyncFilesOptions {
  /** Leave a file alone whose size, mode and mtime already match (a re-sync after a restart). */
  skipUnchanged?: boolean;
}

export interface SyncFilesResult {
  written: number;
  deleted: number;
  unchanged: number;
}

/**
 * The node agent, as every caller sees it. Methods throw TscError (ERR_NOT_FOUND,
 * ERR_CONFLICT, ...) with the message a user reads.
 */
export interface AgentApi {
  info(): Promise<{ id: string; hostname: string; version: string; runtime: string; cgroupVersion: 1 | 2 }>;

  createContainer(spec: ContainerSpec): Promise<{ id: string; warnings: string[] }>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, opts?: { timeoutMs?: number; signal?: string }): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  restartContainer(id: string, opts?: { timeoutMs?: number }): Promise<void>;
  pauseContainer(id: string): Promise<void>;
  unpauseContainer(id: string): Promise<void>;
  removeContainer(id: string, opts?: { force?: boolean; volumes?: boolean }): Promise<void>;
  inspectContainer(id: string): Promise<ContainerInspect>;
  listContainers(filter?: ListFilter): Promise<ContainerSummary[]>;
  /** Resolves with the exit code when the container next stops (or at once if it is stopped). */
  waitContainer(id: string, condition?: 'not-running' | 'next-exit' | 'removed'): Promise<{ exitCode: number }>;
  logs(id: string, opts?: LogsOptions): AsyncIterable<LogLine>;
  exec(id: string, opts: ExecOptions): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /**
   * Write host files into a running container's filesystem directly (no archive): files are
   * created owned by the container's user, and no path can lead outside the container's root.
   */
  syncFiles(id: string, changes: FileSync[], opts?: SyncFilesOptions): Promise<SyncFilesResult>;
  /** `exec -i` / `exec -it`: a process whose streams stay attached (over the socket: an upgraded connection). */
  execAttach(id: string, opts: ExecAttachOptions): Promise<ExecSession>;
  /**
   * Docker's attach. A container with a terminal (`tty`): its output as `stdout`, keys into it
   * through `stdin` (with `openStdin`), `resize`, and `close` to detach. Without one: a stream
   * into the stdin of a container made with `openStdin` (its output is read with `logs`).
   * `exit` resolves with the container's exit code.
   */
  attachContainer(id: string, opts: AttachOptions): Promise<ExecSession>;
  /** The processes of a running container (its cgroup), as `docker top` lists them. */
  topContainer(id: string): Promise<ContainerTop>;
  /** One reading of its cgroup counters and network totals. */
  statsContainer(id: string): Promise<ContainerStatsSample>;
  /**
   * `cp` (Docker's archive endpoints, with paths on the agent's host instead of a tar stream):
   * `path` is resolved in the container's own view (its root and mounts), symbolic links
   * kept inside it.
   */
  copyFromContainer(id: string, path: string, hostPath: string, opts?: CopyOptions): Promise<void>;
  copyToContainer(id: string, hostPath: string, path: string, opts?: CopyOptions): Promise<void>;

  pullImage(ref: string, onProgress?: (p: PullProgress) => void): Promise<ImageSummary>;
  /** Send a local image to its registry (`docker push`); progress per layer. */
  pushImage(ref: string, onProgress?: (p: PushProgress) => void): Promise<{ name: string; digest: string }>;
  /** Give a local image another name (`docker tag`). */
  tagImage(source: string, target: string): Promise<void>;
  /** Build an image from a Dockerfile (steps run in containers of this host's runtime). */
  /** `signal`: stop the build (the HTTP server aborts it when its client goes away). */
  buildImage(spec: BuildSpec, onProgress?: (p: BuildProgress) => void, signal?: AbortSignal): Promise<BuildSummary>;
  listImages(): Promise<ImageSummary[]>;
  removeImage(ref: string, opts?: { force?: boolean }): Promise<void>;
  /** `image inspect`, in the Docker Engine's shape (Id, RepoTags, RepoDigests, Config, RootFS, ...). */
  inspectImage(ref: string): Promise<Record<string, unknown>>;
  /** `image save`: a docker-save / OCI archive of the images, written at a path on the agent's host. */
  saveImages(refs: string[], archivePath: string): Promise<void>;
  /** `image prune`: blobs and layer snapshots no image or container uses. */
  pruneImages(): Promise<{ reclaimedBytes: number; removed: number }>;
  /** `image load`: a `docker save` tarball or an OCI layout archive at a path on the agent's host. */
  loadImage(archivePath: string, opts?: { repository?: string }): Promise<string[]>;

  createNetwork(spec: NetworkSpec): Promise<NetworkSummary>;
  removeNetwork(name: string): Promise<void>;
  listNetworks(filter?: ListFilter): Promise<NetworkSummary[]>;
  /** `network inspect`, in the Docker Engine's shape (Name, Id, IPAM, Containers, ...), by name or id. */
  inspectNetwork(nameOrId: string): Promise<Record<string, unknown>>;
  /** `network prune`: networks no container (running or not) refers to; returns their names. */
  pruneNetworks(filter?: ListFilter): Promise<string[]>;
  /** `network connect`: live when the container runs (a new interface, DNS at once), else at its next start. */
  connectNetwork(network: string, container: string, opts?: NetworkConnectOptions): Promise<void>;
  /** `network disconnect`: the interface goes away and DNS stops answering for it at once. */
  disconnectNetwork(network: string, container: string, opts?: { force?: boolean }): Promise<void>;

  createVolume(spec: VolumeSpec): Promise<VolumeSummary>;
  removeVolume(name: string, opts?: { force?: boolean }): Promise<void>;
  listVolumes(filter?: ListFilter): Promise<VolumeSummary[]>;
  inspectVolume(name: string): Promise<VolumeSummary & { driverOpts: StringMap }>;
  /** Remove volumes no container uses: anonymous ones only, or every one with `all` (Docker 23+). */
  pruneVolumes(opts?: { all?: boolean; filter?: ListFilter }): Promise<{ removed: string[]; reclaimedBytes: number }>;

  events(filter?: ListFilter & { signal?: AbortSignal }): AsyncIterable<AgentEvent>;
}
