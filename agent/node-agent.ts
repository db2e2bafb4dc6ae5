/**
 * The node agent: `AgentApi` over a container runtime, an image service and a network
 * service (see backends.ts). It owns the lifecycle of each container on this host:
 * create → start → (supervise: exit, restart policy, healthcheck) → stop → remove, and
 * publishes every change on the event bus.
 *
 * Truth comes from what exists: at start `recover()` reads the container records back and
 * asks the runtime what runs; a container that exited while the agent was away gets its exit
 * status from the monitor's exit file, and its restart policy is applied then.
 */
import { hostname as osHostname } from 'node:os';
import { Readable, Writable } from 'node:stream';

import { TscError } from '../lib/errors.js';
import { traced } from '../lib/trace.js';
import { parseBytes } from '../lib/units.js';
import type {
  AgentApi,
  AttachOptions,
  ContainerInspect,
  ContainerSpec,
  ContainerStatus,
  ContainerSummary,
  ExecOptions,
  ExecSession,
  HealthStatus,
} from './api/types.js';
import type { BundleBuilder, ContainerFiles, ContainerHost, ContainerRuntime, CopyTarget, ExitStatus, ImageBuilder, ImageService, NetworkService } from './backends.js';
import { createContainerStore, newContainerId, type ContainerRecord, type ContainerStore } from './container-store.js';
import { createEventBus, type EventBus } from './events.js';
import { HEALTH_DEFAULTS, INITIAL_HEALTH, applyProbe, nextProbeDelay, probeCommand } from './health.js';
import { matchesLabels } from './label-filter.js';
import { readJsonLogs } from './logs/json-file.js';
import { resolveUser } from './resolve-user.js';
import { INITIAL_RESTART_STATE, decideRestart } from './restart-policy.js';
import { healthSpecOf, settingsFor } from './settings.js';
import { statusText } from './status-text.js';
import { mergeVolumesFrom, parseVolumesFrom } from './volumes-from.js';
import { diskUsage, type VolumeStore } from './volumes.js';

/** Docker's label on the volumes it makes for unnamed mounts and image VOLUMEs. */
export const ANONYMOUS_VOLUME_LABEL = 'com.docker.volume.anonymous';

export interface NodeAgentOptions {
  /** `<stateDir>/containers/<id>/` holds each container's record, bundle and logs. */
  stateDir: string;
  runtime: ContainerRuntime;
  images: ImageService;
  networks: NetworkService;
  bundles: BundleBuilder;
  volumes: VolumeStore;
  /** Builds images; without one, `buildImage` says this agent cannot build. */
  builder?: ImageBuilder;
  /** Writes into running containers (`syncFiles`); without it, syncFiles is not supported. */
  files?: ContainerFiles;
  /** Called when the last container is removed (the local node removes its empty parent cgroup). */
  onIdle?: () => Promise<void>;
  /** `top`, `stats` and `cp` of running containers; without it they are refused. */
  host?: ContainerHost;
  nodeId?: string;
  version?: string;
  cgroupVersion?: 1 | 2;
  now?: () => Date;
}

interface Entry {
  rec: ContainerRecord;
  /** Whether a supervisor waits on the running process. */
  running: boolean;
  /** The container's init process on the host, while it runs (0 when unknown). */
  pid: number;
  paused: boolean;
  /** A restart is scheduled. */
  restarting: boolean;
  restartTimer?: NodeJS.Timeout;
  healthTimer?: NodeJS.Timeout;
  /** Resolved at each exit, then replaced. */
  exited: { promise: Promise<ExitStatus>; resolve: (s: ExitStatus) => void };
  /** One lifecycle operation at a time per container. */
  lock: Promise<unknown>;
}

function deferred(): Entry['exited'] {
  let resolve!: (s: ExitStatus) => void;
  const promise = new Promise<ExitStatus>((r) => (resolve = r));
  return { promise, resolve };
}

/** How often published-port conflicts found at recovery are looked at again (each look retries the bind). */
const PORT_CONFLICT_RETRY_MS = 5000;

const SIGNALS_STOPPING = new Set(['SIGKILL', 'KILL', '9', 'SIGTERM', 'TERM', '15', 'SIGINT', 'INT', '2', 'SIGQUIT', 'QUIT', '3']);

export interface NodeAgent {
  api: AgentApi;
  /** Read records back and re-attach to what runs. */
  recover(): Promise<void>;
  /** Stop supervising (containers keep running: their monitors own them). */
  close(): Promise<void>;
}

export function createNodeAgent(opts: NodeAgentOptions): NodeAgent {
  const now = opts.now ?? (() => new Date());
  const store: ContainerStore = createContainerStore(`${opts.stateDir}/containers`);
  const bus: EventBus = createEventBus(now);
  const entries = new Map<string, Entry>();
  const closers = new Set<AbortController>();
  let closed = false;
  let portTimer: NodeJS.Timeout | undefined;

  /** Put the current published-port conflicts on the running containers (a running container's error is otherwise empty: its start cleared it); returns how many. */
  async function checkPortConflicts(): Promise<number> {
    const conflicts = (await opts.networks.portConflicts?.()) ?? [];
    for (const e of entries.values()) {
      if (!e.running) continue;
      const error = conflicts.filter((c) => c.container === e.rec.name).map((c) => c.message).join('; ');
      if (error === e.rec.error) continue;
      e.rec.error = error;
      await store.save(e.rec);
    }
    return conflicts.length;
  }

  const attrs = (rec: ContainerRecord, extra: Record<string, string> = {}) => ({ ...rec.spec.labels, name: rec.name, image: rec.spec.image, ...extra });
  const publish = (rec: ContainerRecord, action: string, extra: Record<string, string> = {}) =>
    bus.publish({ type: 'container', action, id: rec.id, attributes: attrs(rec, extra) });

  function find(idOrName: string): Entry {
    const direct = entries.get(idOrName);
    if (direct) return direct;
    const name = idOrName.replace(/^\//, '');
    for (const e of entries.values()) if (e.rec.name === name) return e;
    const byPrefix = [...entries.values()].filter((e) => e.rec.id.startsWith(idOrName));
    if (byPrefix.length === 1 && byPrefix[0] !== undefined && idOrName.length >= 3) return byPrefix[0];
    throw new TscError('ERR_NOT_FOUND', `No such container: ${idOrName}`);
  }

  /** Run `fn` after the container's previous lifecycle operation has finished. */
  function serialized<T>(e: Entry, fn: () => Promise<T>): Promise<T> {
    const run = e.lock.then(fn, fn);
    e.lock = run.catch(() => undefined);
    return run;
  }

  function status(e: Entry): ContainerStatus {
    if (e.restarting) return 'restarting';
    if (e.running) return e.paused ? 'paused' : 'running';
    return e.rec.startedAt === '' ? 'created' : 'exited';
  }

  function health(e: Entry): HealthStatus {
    if (!e.running || e.rec.health === undefined) return 'none';
    return e.rec.health.status;
  }

  /** /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, from its networks now. */
  function etcFilesOf(rec: ContainerRecord) {
    const s = rec.spec;
    return opts.networks.etcFiles(rec.name, {
      hostname: s.hostname ?? rec.id.slice(0, 12),
      ...(s.domainname === undefined ? {} : { domainname: s.domainname }),
      ...(s.labels['com.docker.compose.service'] === undefined ? {} : { service: s.labels['com.docker.compose.service'] }),
      extraHosts: s.extraHosts,
      dns: s.dns,
      dnsSearch: s.dnsSearch,
      dnsOptions: s.dnsOptions,
    });
  }

  /** After a live connect or disconnect: the container's /etc/hosts lists its addresses now, as Docker's does. */
  async function refreshEtcFiles(rec: ContainerRecord): Promise<void> {
    if (opts.bundles.refreshEtc === undefined) return;
    await opts.bundles.refreshEtc(store.dir(rec.id), await etcFilesOf(rec));
  }

  /** `/proc/<pid>/ns/<type>` of the running container a `container:X` mode names. */
  function sharedNamespace(mode: `container:${string}`, type: 'net' | 'pid' | 'ipc', what: string): string {
    const target = find(mode.slice('container:'.length));
    if (!target.running || target.pid <= 0) throw new TscError('ERR_CONFLICT', `cannot join ${what} of a non running container: ${target.rec.name}`);
    return `/proc/${target.pid}/ns/${type}`;
  }

  /**
   * Start a created or exited container. `hooks: false` for restarts the restart policy makes:
   * post_start hooks are compose's, run when compose (up, start, restart) starts a container,
   * never by the engine on its own, as with docker compose on Docker.
   */
  async function doStart(e: Entry, o: { hooks: boolean } = { hooks: true }): Promise<void> {
    const rec = e.rec;
    const T = <R>(what: string, fn: () => Promise<R>): Promise<R> => traced(rec.name, what, fn);
    const image = await T('image', () => opts.images.resolve(rec.imageId));
    if (image === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${rec.spec.image}`);
    let sandbox: string | undefined;
    try {
      // The network and the root filesystem do not depend on each other: made at once. Both
      // settle before anything is undone (the catch below), so no step runs behind a cleanup.
      const network = async (): Promise<void> => {
        if (rec.spec.networkMode === 'default') {
          sandbox = await T('sandbox', () => opts.networks.createSandbox(rec.id, { loopback: false }));
          const sb = sandbox;
          const connected = await T('connect', () => opts.networks.connect(rec.id, sb, {
            name: rec.name,
            ...(rec.spec.labels['com.docker.compose.service'] === undefined ? {} : { service: rec.spec.labels['com.docker.compose.service'] }),
            hostname: rec.spec.hostname ?? rec.id.slice(0, 12),
            endpoints: rec.spec.endpoints,
            ports: rec.spec.ports,
            expose: rec.settings.exposedPorts,
            dns: rec.spec.dns,
          }));
          rec.endpoints = connected.endpoints;
          rec.ports = connected.ports;
        }
        if (rec.spec.networkMode === 'none') sandbox = await opts.networks.createSandbox(rec.id);
      };
      const [netDone, rootfsDone] = await Promise.allSettled([network(), T('rootfs', () => opts.images.prepareRootfs(rec.imageId, rec.id))]);
      if (netDone.status === 'rejected') throw netDone.reason;
      if (rootfsDone.status === 'rejected') throw rootfsDone.reason;
      const rootfs = rootfsDone.value;
      // container:X shares X's network stack, and with it X's names (/etc/hosts, resolv.conf)
      const netOwner = rec.spec.networkMode.startsWith('container:') ? find(rec.spec.networkMode.slice('container:'.length)) : e;
      const joined = netOwner === e ? undefined : sharedNamespace(rec.spec.networkMode as `container:${string}`, 'net', 'network namespace');
      const owner = netOwner.rec.spec;
      const joinNamespaces: Partial<Record<'pid' | 'ipc', string>> = {};
      if (rec.spec.pidMode?.startsWith('container:') === true) joinNamespaces.pid = sharedNamespace(rec.spec.pidMode as `container:${string}`, 'pid', 'PID namespace');
      if (rec.spec.ipcMode?.startsWith('container:') === true) joinNamespaces.ipc = sharedNamespace(rec.spec.ipcMode as `container:${string}`, 'ipc', 'IPC namespace');
      const etc = rec.spec.networkMode === 'host' ? undefined : await T('etc', () => etcFilesOf(netOwner.rec));
      const bundle = await T('bundle', () => opts.bundles.write({
        containerId: rec.id,
        // a container on another's network stack answers to that one's hostname, as in Docker
        spec: joined === undefined ? rec.spec : { ...rec.spec, hostname: owner.hostname ?? netOwner.rec.id.slice(0, 12) },
        settings: rec.settings,
        rootfs,
        sandbox: joined ?? sandbox,
        ...(Object.keys(joinNamespaces).length === 0 ? {} : { joinNamespaces }),
        dir: store.dir(rec.id),
        logPath: store.logPath(rec.id),
        etc,
      }));
      const logOpts = rec.spec.logConfig.options;
      const runOpts = {
        logPath: store.logPath(rec.id),
        ...(logOpts['max-size'] === undefined ? {} : { logMaxSize: parseBytes(logOpts['max-size']) }),
        ...(logOpts['max-file'] === undefined ? {} : { logMaxFiles: Number(logOpts['max-file']) }),
      };
      const runtime = opts.runtime;
      if (runtime.run !== undefined) {
        const run = runtime.run.bind(runtime);
        e.pid = (await T('run', () => run(rec.id, bundle, runOpts))).pid;
      } else {
        const created = await T('create', () => runtime.create(rec.id, bundle, runOpts));
        await T('start', () => runtime.start(rec.id));
        e.pid = created.pid;
      }
    } catch (err) {
      // Nothing half-made: undo what this start did, keep the record (docker keeps a
      // container whose start failed, in state "created" or "exited" with the error).
      await opts.runtime.delete(rec.id, { force: true }).catch(() => undefined);
      await opts.networks.disconnect(rec.id, rec.name).catch(() => undefined);
      if (sandbox !== undefined) await opts.networks.removeSandbox(rec.id).catch(() => undefined);
      rec.error = err instanceof Error ? err.message : String(err);
      rec.exitCode = 128;
      await store.save(rec);
      throw err;
    }
    rec.startedAt = now().toISOString();
    rec.error = '';
    const hc = healthSpecOf(rec.settings);
    if (hc !== undefined && probeCommand(hc.test) !== undefined) rec.health = INITIAL_HEALTH;
    else delete rec.health;
    await T('save', () => store.save(rec));
    e.running = true;
    e.paused = false;
    e.restarting = false;
    e.exited = deferred();
    publish(rec, 'start');
    supervise(e);
    scheduleProbe(e);
    if (o.hooks) await runHooks(e, 'post_start');
  }

  /** `attachContainer` of a container with a terminal: its monitor's, both ways. */
  async function attachTerminal(e: Entry, o: AttachOptions): Promise<ExecSession> {
    const rt = opts.runtime;
    if (rt.attachTerminal === undefined || rt.resizeTerminal === undefined) throw new TscError('ERR_UNSUPPORTED', `attaching to a terminal is not available with runtime ${rt.name}`);
    if (o.stdin && !e.rec.spec.openStdin) throw new TscError('ERR_CONFLICT', `container ${e.rec.name} was not created with stdin open`);
    const t = await rt.attachTerminal(e.rec.id, o.fromStart === true ? { fromStart: true } : {});
    const id = e.rec.id;
    return {
      stdin: o.stdin ? t.input : new Writable({ write: (_c, _e, cb) => cb() }),
      stdout: t.output,
      stderr: Readable.from([]),
      exit: e.exited.promise.then((s) => s.exitCode),
      resize: (rows, cols) => {
        if (Number.isInteger(rows) && Number.isInteger(cols) && rows > 0 && cols > 0) void rt.resizeTerminal?.(id, rows, cols).catch(() => undefined);
      },
      close: () => t.close(),
    };
  }

  /** The spec's exec options for the runtime (user names resolve inside the runtime's exec). */
  function execIn(e: Entry, o: ExecOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return opts.runtime.exec(e.rec.id, {
      args: o.cmd,
      ...(o.env === undefined ? {} : { env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`) }),
      ...(o.workingDir === undefined ? {} : { cwd: o.workingDir }),
      ...(o.user === undefined ? {} : { user: o.user }),
      ...(o.tty === undefined ? {} : { tty: o.tty }),
      ...(o.privileged === true ? { privileged: true } : {}),
    });
  }

  /**
   * `post_start` / `pre_stop` hooks, in order, through the exec path, as docker compose runs
   * them. A failing post_start fails the start (the container keeps running, as with docker
   * compose); a failing pre_stop is reported as an event and the stop goes on, so that `down`
   * cannot be blocked by a hook. A failure's output goes into the error.
   */
  async function runHooks(e: Entry, kind: 'post_start' | 'pre_stop', budgetMs?: number): Promise<void> {
    const hooks = (kind === 'post_start' ? e.rec.spec.postStart : e.rec.spec.preStop) ?? [];
    for (const [i, h] of hooks.entries()) {
      if (!e.running) return;
      let failure: string | undefined;
      try {
        const run = execIn(e, {
          cmd: h.command,
          ...(h.env === undefined ? {} : { env: h.env }),
          ...(h.user === undefined ? {} : { user: h.user }),
          ...(h.workingDir === undefined ? {} : { workingDir: h.workingDir }),
          ...(h.privileged === true ? { privileged: true } : {}),
        });
        const r = budgetMs === undefined ? await run : await withTimeout(run, budgetMs);
        if (r === undefined) failure = `did not finish within ${budgetMs} ms`;
        else if (r.exitCode !== 0) failure = `exited with status ${r.exitCode}${r.stdout + r.stderr === '' ? '' : `: ${(r.stdout + r.stderr).trim()}`}`;
      } catch (err) {
        failure = err instanceof Error ? err.message : String(err);
      }
      publish(e.rec, failure === undefined ? `${kind}_hook` : `${kind}_hook_failed`, { hook: String(i), command: h.command.join(' ') });
      if (failure !== undefined && kind === 'post_start') {
        throw new TscError('ERR_RUNTIME', `container ${e.rec.name}: post_start hook ${i} (${h.command.join(' ')}) ${failure}`);
      }
    }
  }

  function supervise(e: Entry): void {
    const id = e.rec.id;
    opts.runtime.waitExit(id).then(
      (s) => onExit(e, s),
      (err: unknown) => onExit(e, { exitCode: 255, oomKilled: false, finishedAt: now().toISOString() }, err),
    );
  }

  async function onExit(e: Entry, s: ExitStatus, err?: unknown): Promise<void> {
    if (closed || entries.get(e.rec.id) !== e) return;
    const rec = e.rec;
    if (e.healthTimer) clearTimeout(e.healthTimer);
    // The process is gone: its runtime state and its network are undone side by side.
    const T = <R>(what: string, fn: () => Promise<R>): Promise<R> => traced(rec.name, what, fn);
    // What the exit leaves in the record is known now: it is written while the process's
    // runtime state and network are undone, not after (an agent killed meanwhile finds the
    // runtime's exit at recovery and undoes them again, as before). A restart is only decided
    // here; it is scheduled once they are undone.
    const ranForMs = Date.parse(s.finishedAt) - Date.parse(rec.startedAt);
    rec.finishedAt = s.finishedAt;
    rec.exitCode = s.exitCode;
    rec.oomKilled = s.oomKilled;
    if (err !== undefined) rec.error = err instanceof Error ? err.message : String(err);
    const decision = decideRestart(rec.spec.restartPolicy, rec.restart, { exitCode: s.exitCode, ranForMs, stoppedByUser: rec.stoppedByUser });
    if (decision.restart) rec.restart = decision.next;
    const saved = T('x-save', () => store.save(rec));
    await Promise.all([
      T('x-delete', () => opts.runtime.delete(rec.id, { force: true })).catch(() => undefined),
      (async () => {
        await T('x-disconnect', () => opts.networks.disconnect(rec.id, rec.name)).catch(() => undefined);
        if (rec.spec.networkMode === 'default' || rec.spec.networkMode === 'none') await T('x-sandbox', () => opts.networks.removeSandbox(rec.id)).catch(() => undefined);
      })(),
      saved.catch(() => undefined),
    ]);
    await T('x-release', () => opts.images.releaseRootfs(rec.id, { remove: false })).catch(() => undefined);
    e.running = false;
    e.paused = false;
    e.pid = 0;
    if (s.oomKilled) publish(rec, 'oom');
    publish(rec, 'die', { exitCode: String(s.exitCode) });
    if (decision.restart) {
      e.restarting = true;
      e.restartTimer = setTimeout(() => {
        e.restartTimer = undefined;
        void serialized(e, async () => {
          if (!e.restarting || closed) return;
          await doStart(e, { hooks: false }).catch(() => {
            e.restarting = false;
          });
        });
      }, decision.delayMs);
    }
    await saved;
    e.exited.resolve(s);
  }

  function scheduleProbe(e: Entry): void {
    const spec = healthSpecOf(e.rec.settings);
    const state = e.rec.health;
    if (spec === undefined || state === undefined || !e.running) return;
    const cmd = probeCommand(spec.test);
    if (cmd === undefined) return;
    const sinceStart = () => now().getTime() - Date.parse(e.rec.startedAt);
    e.healthTimer = setTimeout(() => {
      void (async () => {
        if (!e.running || closed) return;
        const start = now().toISOString();
        let result: { exitCode: number; output: string };
        try {
          const r = await withTimeout(opts.runtime.exec(e.rec.id, { args: cmd }), spec.timeoutMs || HEALTH_DEFAULTS.timeoutMs);
          result = r === undefined ? { exitCode: -1, output: `Health check exceeded timeout (${spec.timeoutMs}ms)` } : { exitCode: r.exitCode, output: r.stdout + r.stderr };
        } catch (err) {
          result = { exitCode: -1, output: err instanceof Error ? err.message : String(err) };
        }
        if (!e.running || e.rec.health === undefined) return;
        const before = e.rec.health.status;
        e.rec.health = applyProbe(spec, e.rec.health, { start, end: now().toISOString(), ...result }, Date.parse(start) - Date.parse(e.rec.startedAt));
        await store.save(e.rec);
        if (e.rec.health.status !== before) publish(e.rec, `health_status: ${e.rec.health.status}`);
        scheduleProbe(e);
      })();
    }, nextProbeDelay(spec, state, sinceStart()));
  }

  async function doStop(e: Entry, timeoutMs: number | undefined, signal: string | undefined): Promise<void> {
    e.rec.stoppedByUser = true;
    if (e.restartTimer) clearTimeout(e.restartTimer);
    e.restarting = false;
    // Saved first so that an agent killed meanwhile does not restart it; only a restart policy
    // reads it, so without one the save of the exit (onExit) is enough (a file fewer per stop).
    if (e.rec.spec.restartPolicy.name !== 'no') await store.save(e.rec);
    if (!e.running) return;
    const sig = signal ?? (e.rec.settings.stopSignal || 'SIGTERM');
    const grace = timeoutMs ?? e.rec.spec.stopGracePeriodMs ?? 10_000;
    const exited = e.exited.promise;
    if (e.paused) await opts.runtime.resume(e.rec.id).catch(() => undefined);
    // Bounded so that a hanging hook cannot hold a stop forever: the grace period, at least 10 s
    // (docker compose does not bound it; -t 0 there still runs the hooks).
    await runHooks(e, 'pre_stop', Math.max(grace, 10_000));
    await traced(e.rec.name, 'kill', () => opts.runtime.kill(e.rec.id, sig)).catch(() => undefined);
    publish(e.rec, 'kill', { signal: sig });
    if ((await traced(e.rec.name, 'exited', () => withTimeout(exited, grace))) === undefined) {
      await opts.runtime.kill(e.rec.id, 'SIGKILL').catch(() => undefined);
      publish(e.rec, 'kill', { signal: 'SIGKILL' });
      await exited;
    }
    publish(e.rec, 'stop');
  }

  function summary(e: Entry): ContainerSummary {
    const state = status(e);
    const h = health(e);
    return {
      id: e.rec.id,
      name: e.rec.name,
      image: e.rec.spec.image,
      imageId: e.rec.imageId,
      labels: e.rec.spec.labels,
      state,
      // A running container with an error: one found at recovery (a published port taken meanwhile).
      status: statusText({ state, health: h, exitCode: e.rec.exitCode, startedAt: e.rec.startedAt, finishedAt: e.rec.finishedAt, now: now().getTime() }) + (e.running && e.rec.error !== '' ? ` (${e.rec.error})` : ''),
      health: h,
      exitCode: e.rec.exitCode,
      createdAt: e.rec.created,
      ports: e.running ? e.rec.ports : [],
      networks: e.rec.spec.endpoints.map((ep) => ep.network),
    };
  }

  function inspect(e: Entry): ContainerInspect {
    const state = status(e);
    return {
      id: e.rec.id,
      name: e.rec.name,
      created: e.rec.created,
      spec: e.rec.spec,
      restartCount: e.rec.restart.restartCount,
      state: {
        status: state,
        running: e.running,
        paused: e.paused,
        restarting: e.restarting,
        oomKilled: e.rec.oomKilled,
        pid: e.running ? e.pid : 0,
        exitCode: e.rec.exitCode,
        startedAt: e.rec.startedAt,
        finishedAt: e.rec.finishedAt,
        error: e.rec.error,
        ...(e.rec.health === undefined ? {} : { health: { status: e.rec.health.status, failingStreak: e.rec.health.failingStreak, log: e.rec.health.log } }),
      },
      networkSettings: Object.fromEntries(
        (e.running ? e.rec.endpoints : []).map((ep) => [
          ep.network,
          { ipAddress: ep.ipAddress, macAddress: ep.macAddress, gateway: ep.gateway, aliases: ep.aliases, ...(ep.ipv6Address === undefined ? {} : { ipv6Address: ep.ipv6Address }) },
        ]),
      ),
      ports: e.running ? e.rec.ports : [],
    };
  }

  /** The host pid of a running container's first process, for `top`, `stats` and `cp`. */
  async function runningPid(idOrName: string, what: string): Promise<{ host: ContainerHost; pid: number }> {
    const e = find(idOrName);
    if (opts.host === undefined) throw new TscError('ERR_UNSUPPORTED', `${what} is not available on this agent (runtime ${opts.runtime.name})`);
    const st = e.running ? await opts.runtime.state(e.rec.id).catch(() => undefined) : undefined;
    if (st === undefined || st.pid <= 0 || (st.status !== 'running' && st.status !== 'paused')) {
      throw new TscError('ERR_CONFLICT', `container ${e.rec.name} is not running`);
    }
    return { host: opts.host, pid: st.pid };
  }

  /**
   * `cp` as docker cp: in a running container through its own view; in a stopped one through
   * its root file system, mounted for the copy (its volumes are not mounted then: a path on one
   * is refused rather than answered from the image's content beneath).
   */
  async function withCopyTarget(idOrName: string, path: string, fn: (host: ContainerHost, t: CopyTarget) => Promise<void>): Promise<void> {
    const e = find(idOrName);
    if (e.running) {
      const { host, pid } = await runningPid(idOrName, 'cp');
      return fn(host, { pid });
    }
    const host = opts.host;
    if (host === undefined) throw new TscError('ERR_UNSUPPORTED', `cp is not available on this agent (runtime ${opts.runtime.name})`);
    const clean = `/${path.split('/').filter((p) => p !== '' && p !== '.').join('/')}`;
    const mounted = e.rec.spec.mounts.find((m) => clean === m.target || clean.startsWith(`${m.target.replace(/\/$/, '')}/`));
    if (mounted !== undefined) {
      throw new TscError('ERR_UNSUPPORTED', `${path} is on a mount (${mounted.target}) of the stopped container ${e.rec.name}: start it to copy there`);
    }
    await serialized(e, async () => {
      if (e.running) return fn(host, { pid: (await runningPid(idOrName, 'cp')).pid });
      const rootfs = await opts.images.prepareRootfs(e.rec.imageId, e.rec.id);
      try {
        await fn(host, { rootfs });
      } finally {
        await opts.images.releaseRootfs(e.rec.id, { remove: false });
      }
    });
  }

  function volumeInUse(name: string): boolean {
    return [...entries.values()].some((e) => e.rec.spec.mounts.some((m) => m.type === 'volume' && m.source === name));
  }

  const api: AgentApi = {
    async info() {
      return {
        id: opts.nodeId ?? osHostname(),
        hostname: osHostname(),
        version: opts.version ?? '0.0.0',
        runtime: opts.runtime.name,
        cgroupVersion: opts.cgroupVersion ?? 1,
      };
    },

    async createContainer(spec: ContainerSpec) {
      for (const e of entries.values()) {
        if (e.rec.name === spec.name) {
          throw new TscError(
            'ERR_CONFLICT',
            `Conflict. The container name "/${spec.name}" is already in use by container "${e.rec.id}". You have to remove (or rename) that container to be able to reuse that name.`,
          );
        }
      }
      const image = await opts.images.resolve(spec.image);
      if (image === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${spec.image}`);
      // A host port another process holds: refused before anything is made.
      if (spec.networkMode === 'default' && spec.ports.length > 0) {
        const service = spec.labels['com.docker.compose.service'];
        await opts.networks.checkPorts?.({ name: spec.name, ...(service === undefined ? {} : { service }), ports: spec.ports });
      }
      if (spec.volumesFrom !== undefined && spec.volumesFrom.length > 0) {
        const inherited = spec.volumesFrom.map((ref) => {
          const { container, readOnly } = parseVolumesFrom(ref);
          return { readOnly, mounts: find(container).rec.spec.mounts };
        });
        spec = { ...spec, mounts: mergeVolumesFrom(spec.mounts, inherited) };
      }
      const settings = settingsFor(spec, image);
      const id = newContainerId();
      const rec: ContainerRecord = {
        id,
        name: spec.name,
        created: now().toISOString(),
        spec,
        imageId: image.id,
        settings,
        restart: INITIAL_RESTART_STATE,
        stoppedByUser: false,
        startedAt: '',
        finishedAt: '',
        exitCode: 0,
        oomKilled: false,
        error: '',
        endpoints: [],
        ports: [],
      };
      // Anonymous volumes: the spec's unnamed ones and the image's VOLUMEs nothing else mounts
      // get a volume of their own, named by a random id as Docker names them.
      const mounts = [...spec.mounts, ...settings.anonymousVolumes.map((target) => ({ type: 'volume' as const, source: '', target, readOnly: false }))];
      for (const m of mounts) {
        if (m.type !== 'volume') continue;
        if (m.source === '') {
          m.source = newContainerId();
          await opts.volumes.create({ name: m.source, driver: 'local', driverOpts: {}, labels: { [ANONYMOUS_VOLUME_LABEL]: '' } });
        } else {
          await opts.volumes.create({ name: m.source, driver: 'local', driverOpts: {}, labels: {} });
        }
      }
      rec.spec = { ...spec, mounts };
      await store.save(rec);
      entries.set(id, { rec, running: false, pid: 0, paused: false, restarting: false, exited: deferred(), lock: Promise.resolve() });
      publish(rec, 'create');
      return { id, warnings: [] };
    },

    async startContainer(id) {
      const e = find(id);
      await serialized(e, async () => {
        if (e.running) return;
        if (e.restartTimer) clearTimeout(e.restartTimer);
        e.rec.stoppedByUser = false;
        await doStart(e);
      });
    },

    async stopContainer(id, o = {}) {
      const e = find(id);
      await serialized(e, () => doStop(e, o.timeoutMs, o.signal));
    },

    async killContainer(id, signal = 'SIGKILL') {
      const e = find(id);
      if (!e.running) throw new TscError('ERR_CONFLICT', `Cannot kill container: ${e.rec.name}: container ${e.rec.id} is not running`);
      if (SIGNALS_STOPPING.has(signal.toUpperCase())) {
        e.rec.stoppedByUser = true;
        await store.save(e.rec);
      }
      await opts.runtime.kill(e.rec.id, signal);
      publish(e.rec, 'kill', { signal });
    },

    async restartContainer(id, o = {}) {
      const e = find(id);
      await serialized(e, async () => {
        await doStop(e, o.timeoutMs, undefined);
        e.rec.stoppedByUser = false;
        await doStart(e);
      });
      publish(e.rec, 'restart');
    },

    async pauseContainer(id) {
      const e = find(id);
      if (!e.running) throw new TscError('ERR_CONFLICT', `Container ${e.rec.id} is not running`);
      if (e.paused) throw new TscError('ERR_CONFLICT', `Container ${e.rec.id} is already paused`);
      await opts.runtime.pause(e.rec.id);
      e.paused = true;
      publish(e.rec, 'pause');
    },

    async unpauseContainer(id) {
      const e = find(id);
      if (!e.paused) throw new TscError('ERR_CONFLICT', `Container ${e.rec.id} is not paused`);
      await opts.runtime.resume(e.rec.id);
      e.paused = false;
      publish(e.rec, 'unpause');
    },

    async removeContainer(id, o = {}) {
      const e = find(id);
      await serialized(e, async () => {
        if (e.running && o.force !== true) {
          throw new TscError(
            'ERR_CONFLICT',
            `cannot remove container "/${e.rec.name}": container is running: stop the container before removing or force remove`,
          );
        }
        if (e.running) {
          e.rec.stoppedByUser = true;
          const exited = e.exited.promise;
          await opts.runtime.kill(e.rec.id, 'SIGKILL').catch(() => undefined);
          await exited;
        }
        if (e.restartTimer) clearTimeout(e.restartTimer);
        e.restarting = false;
        entries.delete(e.rec.id);
        await traced(e.rec.name, 'rm-rootfs', () => opts.images.releaseRootfs(e.rec.id, { remove: true }));
        await traced(e.rec.name, 'rm-store', () => store.remove(e.rec.id));
        if (o.volumes === true) {
          const anonymous = new Set((await opts.volumes.list({ label: [ANONYMOUS_VOLUME_LABEL] })).map((v) => v.name));
          for (const m of e.rec.spec.mounts) {
            if (m.type === 'volume' && anonymous.has(m.source) && !volumeInUse(m.source)) await opts.volumes.remove(m.source).catch(() => undefined);
          }
        }
        publish(e.rec, 'destroy');
      });
      if (entries.size === 0) await opts.onIdle?.().catch(() => undefined);
    },

    async inspectContainer(id) {
      return inspect(find(id));
    },

    async listContainers(filter = {}) {
      return [...entries.values()]
        .filter((e) => (filter.all === true || e.running) && matchesLabels(e.rec.spec.labels, filter.label))
        .sort((a, b) => b.rec.created.localeCompare(a.rec.created))
        .map(summary);
    },

    async waitContainer(id, condition = 'not-running') {
      const e = find(id);
      if (condition === 'not-running' && !e.running && !e.restarting) return { exitCode: e.rec.exitCode };
      const s = await e.exited.promise;
      return { exitCode: s.exitCode };
    },

    logs(id, o = {}) {
      const e = find(id);
      const ac = new AbortController();
      o.signal?.addEventListener('abort', () => ac.abort(), { once: true });
      // A followed stream also ends when the agent closes.
      closers.add(ac);
      const { untilStopped, ...read } = o;
      const done = untilStopped === true ? (e.running || e.restarting ? e.exited.promise : Promise.resolve()) : undefined;
      const lines = readJsonLogs(store.logPath(e.rec.id), { ...read, signal: ac.signal, done });
      return (async function* () {
        try {
          yield* lines;
        } finally {
          closers.delete(ac);
        }
      })();
    },

    async exec(id, o) {
      const e = find(id);
      if (!e.running) throw new TscError('ERR_CONFLICT', `container ${e.rec.name} is not running`);
      return execIn(e, o);
    },

    async execAttach(id, o) {
      const e = find(id);
      if (!e.running) throw new TscError('ERR_CONFLICT', `container ${e.rec.name} is not running`);
      if (opts.runtime.execAttach === undefined) throw new TscError('ERR_UNSUPPORTED', `exec with attached streams is not available with runtime ${opts.runtime.name}`);
      return opts.runtime.execAttach(e.rec.id, {
        args: o.cmd,
        ...(o.env === undefined ? {} : { env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`) }),
        ...(o.workingDir === undefined ? {} : { cwd: o.workingDir }),
        ...(o.user === undefined ? {} : { user: o.user }),
        ...(o.tty === true ? { tty: true } : {}),
        ...(o.rows === undefined || o.cols === undefined ? {} : { rows: o.rows, cols: o.cols }),
        stdin: o.stdin === true,
      });
    },

    async syncFiles(id, changes, o = {}) {
      const e = find(id);
      if (opts.files === undefined) throw new TscError('ERR_UNSUPPORTED', 'this agent cannot write into containers (syncFiles)');
      if (!e.running || e.pid <= 0) throw new TscError('ERR_CONFLICT', `container ${e.rec.name} is not running`);
      const target = { id: e.rec.id, pid: e.pid };
      const [passwd, group] = await Promise.all([opts.files.readText(target, '/etc/passwd'), opts.files.readText(target, '/etc/group')]);
      let owner = { uid: 0, gid: 0 };
      try {
        owner = resolveUser(e.rec.settings.user, [], passwd ?? '', group ?? '');
      } catch {
        // A user the image does not know: the runtime would refuse it too; root owns the files.
      }
      return opts.files.sync(target, changes, { ...o, uid: owner.uid, gid: owner.gid });
    },

    async attachContainer(id, o) {
      const e = find(id);
      if (!e.running) throw new TscError('ERR_CONFLICT', `container ${e.rec.name} is not running`);
      if (e.rec.spec.tty) return attachTerminal(e, o);
      if (o.stdin && (!e.rec.spec.openStdin || opts.runtime.attachStdin === undefined)) {
        throw new TscError('ERR_CONFLICT', `container ${e.rec.name} was not created with stdin open`);
      }
      const stdin = o.stdin && opts.runtime.attachStdin !== undefined ? await opts.runtime.attachStdin(e.rec.id) : new Writable({ write: (_c, _e, cb) => cb() });
      stdin.on('error', () => undefined);
      const exit = e.exited.promise.then((s) => s.exitCode);
      return { stdin, stdout: Readable.from([]), stderr: Readable.from([]), exit };
    },

    async topContainer(id) {
      const { host, pid } = await runningPid(id, 'top');
      return host.top(pid);
    },

    async statsContainer(id) {
      const { host, pid } = await runningPid(id, 'stats');
      return host.stats(pid);
    },

    async copyFromContainer(id, path, hostPath, o = {}) {
      await withCopyTarget(id, path, (host, t) => host.copyFrom(t, path, hostPath, o));
    },

    async copyToContainer(id, hostPath, path, o = {}) {
      await withCopyTarget(id, path, (host, t) => host.copyTo(t, hostPath, path, o));
      publish(find(id).rec, 'copy', { path });
    },

    async pullImage(ref, onProgress) {
      const img = await opts.images.pull(ref, onProgress);
      bus.publish({ type: 'image', action: 'pull', id: ref, attributes: { name: ref } });
      const all = await opts.images.list();
      const found = all.find((i) => i.id === img.id);
      return found ?? { id: img.id, repoTags: [ref], repoDigests: [], size: 0, createdAt: '', labels: img.config.Labels ?? {} };
    },

    async pushImage(ref, onProgress) {
      const r = await opts.images.push(ref, onProgress);
      bus.publish({ type: 'image', action: 'push', id: r.digest, attributes: { name: r.name } });
      return r;
    },

    async tagImage(source, target) {
      await opts.images.tag(source, target);
      bus.publish({ type: 'image', action: 'tag', id: source, attributes: { name: target } });
    },

    async buildImage(spec, onProgress, signal) {
      if (opts.builder === undefined) throw new TscError('ERR_UNSUPPORTED', 'this agent cannot build images', { hint: 'build with a local agent' });
      const r = await opts.builder.build(spec, onProgress, signal);
      bus.publish({ type: 'image', action: 'build', id: r.id, attributes: { name: r.tags[0] ?? r.id } });
      return r;
    },

    listImages: () => opts.images.list(),

    async removeImage(ref, o = {}) {
      const img = await opts.images.resolve(ref);
      if (img === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${ref}`);
      const user = [...entries.values()].find((e) => e.rec.imageId === img.id);
      if (user !== undefined && o.force !== true) {
        throw new TscError('ERR_CONFLICT', `unable to remove image ${ref}: image is being used by container ${user.rec.id.slice(0, 12)}`);
      }
      await opts.images.remove(ref, o);
      bus.publish({ type: 'image', action: 'delete', id: img.id, attributes: { name: ref } });
    },

    inspectImage: (ref) => opts.images.inspect(ref),
    saveImages: (refs, path) => opts.images.save(refs, path),
    async pruneImages() {
      const r = await opts.images.prune();
      bus.publish({ type: 'image', action: 'prune', id: '', attributes: { reclaimed: String(r.reclaimedBytes) } });
      return r;
    },

    async loadImage(path, o = {}) {
      const names = await opts.images.load(path, o);
      for (const n of names) bus.publish({ type: 'image', action: 'load', id: n, attributes: { name: n } });
      return names;
    },

    async createNetwork(spec) {
      const n = await opts.networks.create(spec);
      bus.publish({ type: 'network', action: 'create', id: n.id, attributes: { ...spec.labels, name: spec.name } });
      return n;
    },

    async removeNetwork(nameOrId) {
      const name = opts.networks.resolve?.(nameOrId) ?? nameOrId;
      const users = [...entries.values()].filter((e) => e.running && e.rec.spec.endpoints.some((ep) => ep.network === name));
      if (users.length > 0) {
        throw new TscError('ERR_CONFLICT', `error while removing network: network ${name} has active endpoints (${users.map((u) => u.rec.name).join(', ')})`);
      }
      await opts.networks.remove(name);
      bus.publish({ type: 'network', action: 'destroy', id: name, attributes: { name } });
    },

    listNetworks: (filter) => opts.networks.list(filter),

    async inspectNetwork(nameOrId) {
      if (opts.networks.inspect === undefined) throw new TscError('ERR_UNSUPPORTED', 'network inspect is not supported by this node');
      const ids = new Map([...entries.values()].map((e) => [e.rec.name, e.rec.id]));
      return opts.networks.inspect(nameOrId, (name) => ids.get(name) ?? name);
    },

    async pruneNetworks(filter) {
      if (opts.networks.prune === undefined) throw new TscError('ERR_UNSUPPORTED', 'network prune is not supported by this node');
      // Docker keeps a network any container refers to, running or not.
      const used = new Set([...entries.values()].flatMap((e) => e.rec.spec.endpoints.map((ep) => ep.network)));
      const gone = await opts.networks.prune((n) => used.has(n), filter);
      for (const name of gone) bus.publish({ type: 'network', action: 'destroy', id: name, attributes: { name } });
      return gone;
    },

    async connectNetwork(nameOrId, idOrName, o = {}) {
      const e = find(idOrName);
      const network = opts.networks.resolve?.(nameOrId) ?? nameOrId;
      if (!(await opts.networks.list()).some((n) => n.name === network)) throw new TscError('ERR_NOT_FOUND', `network ${nameOrId} not found`);
      await serialized(e, async () => {
        const rec = e.rec;
        if (rec.spec.networkMode !== 'default') {
          throw new TscError('ERR_CONFLICT', `container ${rec.name}: a container with network_mode ${rec.spec.networkMode} cannot be connected to network ${network}`);
        }
        if (rec.spec.endpoints.some((ep) => ep.network === network)) {
          throw new TscError('ERR_CONFLICT', `endpoint with name ${rec.name} already exists in network ${network}`);
        }
        const ep = {
          network,
          aliases: [...(o.aliases ?? [])],
          ...(o.ipv4Address === undefined ? {} : { ipv4Address: o.ipv4Address }),
          ...(o.ipv6Address === undefined ? {} : { ipv6Address: o.ipv6Address }),
        };
        if (e.running) {
          if (opts.networks.connectEndpoint === undefined) throw new TscError('ERR_UNSUPPORTED', 'network connect is not supported by this node');
          rec.endpoints = [...rec.endpoints, await opts.networks.connectEndpoint(rec.id, rec.name, ep)];
          await refreshEtcFiles(rec);
        }
        rec.spec = { ...rec.spec, endpoints: [...rec.spec.endpoints, ep] };
        await store.save(rec);
      });
      bus.publish({ type: 'network', action: 'connect', id: network, attributes: { name: network, container: e.rec.id } });
    },

    async disconnectNetwork(nameOrId, idOrName) {
      const e = find(idOrName);
      const network = opts.networks.resolve?.(nameOrId) ?? nameOrId;
      await serialized(e, async () => {
        const rec = e.rec;
        if (!rec.spec.endpoints.some((ep) => ep.network === network)) {
          throw new TscError('ERR_NOT_FOUND', `container ${rec.name} is not connected to network ${nameOrId}`);
        }
        if (e.running && rec.endpoints.some((ep) => ep.network === network)) {
          if (opts.networks.disconnectEndpoint === undefined) throw new TscError('ERR_UNSUPPORTED', 'network disconnect is not supported by this node');
          await opts.networks.disconnectEndpoint(rec.id, rec.name, network);
          rec.endpoints = rec.endpoints.filter((ep) => ep.network !== network);
          await refreshEtcFiles(rec);
        }
        rec.spec = { ...rec.spec, endpoints: rec.spec.endpoints.filter((ep) => ep.network !== network) };
        await store.save(rec);
      });
      bus.publish({ type: 'network', action: 'disconnect', id: network, attributes: { name: network, container: e.rec.id } });
    },

    async createVolume(spec) {
      const v = await opts.volumes.create(spec, now());
      bus.publish({ type: 'volume', action: 'create', id: v.name, attributes: { ...spec.labels, driver: v.driver } });
      return v;
    },

    async removeVolume(name, o = {}) {
      await opts.volumes.remove(name, { inUse: volumeInUse(name) && o.force !== true });
      bus.publish({ type: 'volume', action: 'destroy', id: name, attributes: {} });
    },

    listVolumes: (filter) => opts.volumes.list(filter),
    inspectVolume: (name) => opts.volumes.inspect(name),

    async pruneVolumes(o = {}) {
      const label = [...(o.filter?.label ?? []), ...(o.all === true ? [] : [ANONYMOUS_VOLUME_LABEL])];
      const candidates = await opts.volumes.list(label.length === 0 ? {} : { label });
      const removed: string[] = [];
      let reclaimedBytes = 0;
      for (const v of candidates) {
        // a stopped container keeps its volumes, as with Docker
        if (volumeInUse(v.name)) continue;
        reclaimedBytes += await diskUsage(v.mountpoint);
        await opts.volumes.remove(v.name);
        bus.publish({ type: 'volume', action: 'destroy', id: v.name, attributes: {} });
        removed.push(v.name);
      }
      return { removed, reclaimedBytes };
    },

    events(filter) {
      const ac = new AbortController();
      filter?.signal?.addEventListener('abort', () => ac.abort(), { once: true });
      closers.add(ac);
      const events = bus.subscribe(filter, ac.signal);
      return (async function* () {
        try {
          yield* events;
        } finally {
          closers.delete(ac);
        }
      })();
    },
  };

  return {
    api,
    async recover() {
      for (const rec of await store.loadAll()) {
        const e: Entry = { rec, running: false, pid: 0, paused: false, restarting: false, exited: deferred(), lock: Promise.resolve() };
        entries.set(rec.id, e);
        const st = await opts.runtime.state(rec.id).catch(() => undefined);
        if (st !== undefined && (st.status === 'running' || st.status === 'paused')) {
          e.running = true;
          e.pid = st.pid;
          e.paused = st.status === 'paused';
          // Killed between the container's start and the save of its record: it runs, but the
          // record does not say so yet. Its healthcheck starts over (as a start's does).
          const hc = healthSpecOf(rec.settings);
          if (rec.health === undefined && hc !== undefined && probeCommand(hc.test) !== undefined) {
            rec.health = INITIAL_HEALTH;
            if (rec.startedAt === '') rec.startedAt = now().toISOString();
            await store.save(rec);
          }
          supervise(e);
          scheduleProbe(e);
        } else if (st !== undefined && st.status === 'stopped') {
          // Exited while the agent was away: the monitor's exit file has the status.
          e.running = true;
          supervise(e);
        }
      }
      // A published port a host process took while the agent was down (the sockets holding
      // them died with it): kept on the running container as the error Docker gives a failed
      // bind, and looked at again every few seconds (each look retries the bind) until none
      // is left, so that a port freed is held again and the report goes.
      if ((await checkPortConflicts()) > 0) {
        portTimer = setInterval(() => {
          void checkPortConflicts().then((n) => {
            if (n === 0) clearInterval(portTimer);
          }, () => undefined);
        }, PORT_CONFLICT_RETRY_MS);
        portTimer.unref();
      }
    },
    async close() {
      closed = true;
      clearInterval(portTimer);
      for (const c of closers) c.abort();
      for (const e of entries.values()) {
        if (e.restartTimer) clearTimeout(e.restartTimer);
        if (e.healthTimer) clearTimeout(e.healthTimer);
      }
    },
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}
