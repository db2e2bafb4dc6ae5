/**
 * The parts the node agent drives but does not implement, as interfaces (swarmkit's
 * executor edge): the container runtime (our `tsc-runtime` or runc through the OCI command
 * line), the image service (store, registry, rootfs), and the network service (bridges,
 * nftables, DNS). The agent core (`node-agent.ts`) is written against these alone; adapters
 * bind them to `agent/runtime/`, `agent/images/` and `overlay/`, and unit tests use fakes.
 */
import type { Writable } from 'node:stream';

import type { BuildProgress, BuildSpec, BuildSummary, ContainerSpec, ContainerStatsSample, ContainerTop, CopyOptions, EndpointSpec, ExecSession, FileSync, ImageSummary, ListFilter, NetworkSpec, NetworkSummary, PortBinding, PullProgress, PushProgress, SyncFilesOptions, SyncFilesResult } from './api/types.js';
import type { ContainerSettings } from './images/container-settings.js';
import type { ImageRuntimeConfig } from './images/media-types.js';
import type { TerminalAttachment } from './runtime/monitor-client.js';

export interface LocalImage {
  /** The image ID (its config digest). */
  id: string;
  /** The name it was found by, normalized: `docker.io/library/busybox:latest`. */
  ref: string;
  /** The `config` part of the OCI image config (Entrypoint, Cmd, Env, ...). */
  config: ImageRuntimeConfig;
}

export interface ImageService {
  /** The image if it is in the local store, else undefined. */
  resolve(ref: string): Promise<LocalImage | undefined>;
  pull(ref: string, onProgress?: (p: PullProgress) => void): Promise<LocalImage>;
  push(ref: string, onProgress?: (p: PushProgress) => void): Promise<{ name: string; digest: string }>;
  tag(source: string, target: string): Promise<void>;
  list(): Promise<ImageSummary[]>;
  remove(ref: string, opts?: { force?: boolean }): Promise<void>;
  inspect(ref: string): Promise<Record<string, unknown>>;
  save(refs: string[], archivePath: string): Promise<void>;
  prune(): Promise<{ reclaimedBytes: number; removed: number }>;
  /** Load an archive (docker save or OCI layout); returns the names it brought. */
  load(archivePath: string, opts?: { repository?: string }): Promise<string[]>;
  /** Mount the image's layers plus a writable layer for the container; returns the rootfs path. */
  prepareRootfs(imageId: string, containerId: string): Promise<string>;
  /** Unmount the container's rootfs; with `remove`, also delete its writable layer. */
  releaseRootfs(containerId: string, opts: { remove: boolean }): Promise<void>;
}

/** Builds images from Dockerfiles (the bundled builder; a Docker backend would call the engine). */
export interface ImageBuilder {
  build(spec: BuildSpec, onProgress?: (p: BuildProgress) => void, signal?: AbortSignal): Promise<BuildSummary>;
}

export interface AttachedEndpoint {
  network: string;
  ipAddress: string;
  ipv6Address?: string;
  macAddress: string;
  gateway: string;
  aliases: string[];
}

export interface ConnectArgs {
  /** Container name: what DNS answers for, with the aliases. */
  name: string;
  service?: string;
  hostname: string;
  endpoints: readonly EndpointSpec[];
  ports: readonly PortBinding[];
  expose: readonly string[];
  /** The container's `dns:` servers (the embedded DNS forwards to them). */
  dns: readonly string[];
}

export interface EtcFileOptions {
  hostname: string;
  domainname?: string;
  service?: string;
  extraHosts: readonly string[];
  dns: readonly string[];
  dnsSearch: readonly string[];
  dnsOptions: readonly string[];
}

export interface NetworkService {
  create(spec: NetworkSpec): Promise<NetworkSummary>;
  remove(name: string): Promise<void>;
  list(filter?: ListFilter): Promise<NetworkSummary[]>;
  /** A network namespace for the container (a path the runtime joins). */
  /** `loopback: false`: leave `lo` to the `connect` that follows (it brings it up with the rest). */
  createSandbox(containerId: string, opts?: { loopback?: boolean }): Promise<string>;
  removeSandbox(containerId: string): Promise<void>;
  /** Plug the container into its networks and publish its ports, in one step that undoes itself on failure. */
  connect(containerId: string, sandbox: string, args: ConnectArgs): Promise<{ endpoints: AttachedEndpoint[]; ports: Array<PortBinding & { hostPort: number }> }>;
  /** /etc/hosts, /etc/hostname and /etc/resolv.conf for the container, as Docker writes them. */
  etcFiles(name: string, opts: EtcFileOptions): Promise<{ hosts: string; hostname: string; resolvConf: string }>;
  /**
   * Unplug it from every network and withdraw its ports (`name` as given to connect). The
   * agent calls it only on the way to `removeSandbox`, so what dies with the sandbox (the
   * namespace's own nftables table) is left to that.
   */
  disconnect(containerId: string, name: string): Promise<void>;
  /** `network inspect` (Docker's shape); `idOf` maps container names to the ids `Containers` is keyed by. */
  inspect?(nameOrId: string, idOf: (container: string) => string): Promise<Record<string, unknown>>;
  /** Remove the networks (matching `filter`) that `inUse` does not claim; returns their names. */
  prune?(inUse: (network: string) => boolean, filter?: ListFilter): Promise<string[]>;
  /** Plug a connected (running) container into one more network. */
  connectEndpoint?(containerId: string, name: string, endpoint: EndpointSpec): Promise<AttachedEndpoint>;
  /** Unplug a running container from one network. */
  disconnectEndpoint?(containerId: string, name: string, network: string): Promise<void>;
  /** Refuse (ERR_CONFLICT naming the service and `ports` key) fixed host ports a host process holds. */
  checkPorts?(args: { name: string; service?: string; ports: readonly PortBinding[] }): Promise<void>;
  /** Resolve a network name or id (prefix) to its name; undefined when unknown. */
  resolve?(nameOrId: string): string | undefined;
  /** Published ports a host process took while the agent was down (`name` as given to connect), with Docker's bind error. */
  portConflicts?(): Promise<Array<{ container: string; message: string }>>;
}

export type RuntimeStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  finishedAt: string;
}

export interface ContainerRuntime {
  /** The binary's name for `info` (tsc-runtime, runc). */
  readonly name: string;
  create(id: string, bundle: string, opts: { logPath: string; logMaxSize?: number; logMaxFiles?: number }): Promise<{ pid: number }>;
  start(id: string): Promise<void>;
  /** create and start in one runtime command (OCI `run --detach`); absent: the agent calls both. */
  run?(id: string, bundle: string, opts: { logPath: string; logMaxSize?: number; logMaxFiles?: number }): Promise<{ pid: number }>;
  state(id: string): Promise<{ status: RuntimeStatus; pid: number } | undefined>;
  kill(id: string, signal: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  delete(id: string, opts?: { force?: boolean }): Promise<void>;
  exec(id: string, proc: { args: string[]; env?: string[]; cwd?: string; user?: string; tty?: boolean; privileged?: boolean }): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** A process with attached streams (`--tty` relays a terminal through them); absent: `exec -i` is refused. */
  execAttach?(id: string, proc: { args: string[]; env?: string[]; cwd?: string; user?: string; tty?: boolean; stdin: boolean; rows?: number; cols?: number }): Promise<ExecSession>;
  /** A stream into the stdin of a container created with `openStdin` (ending it closes that stdin). */
  attachStdin?(id: string): Promise<Writable>;
  /** Both ways into the terminal of a container created with `tty` (its monitor keeps it). */
  attachTerminal?(id: string, opts: { fromStart?: boolean }): Promise<TerminalAttachment>;
  /** Resize the terminal of a container created with `tty`. */
  resizeTerminal?(id: string, rows: number, cols: number): Promise<void>;
  /** Resolves when the container's process has exited (from the monitor's exit file). */
  waitExit(id: string): Promise<ExitStatus>;
}

/** Writes the OCI bundle (config.json) of a container and returns its directory. */
export interface BundleBuilder {
  write(args: {
    containerId: string;
    spec: ContainerSpec;
    /** The image config and the spec's overrides, merged as Docker merges them. */
    settings: ContainerSettings;
    rootfs: string;
    /** The network namespace to join (undefined for host and none). */
    sandbox: string | undefined;
    /** Namespaces of another container to join (`pid: container:X`, `ipc: service:X`), by type. */
    joinNamespaces?: Partial<Record<'pid' | 'ipc', string>>;
    /** The container's own directory: bundle, files and logs go below it. */
    dir: string;
    logPath: string;
    /** /etc/hosts, /etc/hostname, /etc/resolv.conf contents (absent for network_mode host). */
    etc: { hosts: string; hostname: string; resolvConf: string } | undefined;
  }): Promise<string>;
  /** Rewrite the etc files of a running container in place (they are bind-mounted by inode). */
  refreshEtc?(dir: string, etc: { hosts: string; hostname: string; resolvConf: string }): Promise<void>;
}

/**
 * Files inside a running container, as the container sees them (the local adapter goes through
 * `/proc/<pid>/root` of its init, so its volumes and tmpfs mounts count). Every path is
 * resolved one component at a time inside that root, as if chrooted there: a symlink in the
 * container, absolute or `..`, cannot lead a write to the host.
 */
export interface ContainerFiles {
  sync(container: { id: string; pid: number }, changes: readonly FileSync[], opts: SyncFilesOptions & { uid: number; gid: number }): Promise<SyncFilesResult>;
  /** A file's text inside the container, or undefined when it does not exist. */
  readText(container: { id: string; pid: number }, path: string): Promise<string | undefined>;
}

/**
 * What the agent reads and writes of a running container from the host side, given its first
 * process's pid: its processes (`top`), its counters (`stats`), its files (`cp`). Local to
 * the host; a Docker backend would answer these through the Engine API instead.
 */
export type CopyTarget = { pid: number } | { rootfs: string };

export interface ContainerHost {
  top(pid: number): Promise<ContainerTop>;
  stats(pid: number): Promise<ContainerStatsSample>;
  /** `cp` in a running container (`pid`: its own view, mounts included) or a stopped one's root file system. */
  copyFrom(target: CopyTarget, path: string, hostPath: string, opts: CopyOptions): Promise<void>;
  copyTo(target: CopyTarget, hostPath: string, path: string, opts: CopyOptions): Promise<void>;
}
