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

import { TscError } from '../lib/errors.js';
import { parseBytes } from '../lib/units.js';
import type {
  AgentApi,
  ContainerInspect,
  ContainerSpec,
  ContainerStatus,
  ContainerSummary,
  HealthStatus,
} from './api/types.js';
import type { BundleBuilder, ContainerRuntime, ExitStatus, ImageService, NetworkService } from './backends.js';
import { createContainerStore, newContainerId, type ContainerRecord, type ContainerStore } from './container-store.js';
import { createEventBus, type EventBus } from './events.js';
import { HEALTH_DEFAULTS, INITIAL_HEALTH, applyProbe, nextProbeDelay, probeCommand } from './health.js';
import { matchesLabels } from './label-filter.js';
import { readJsonLogs } from './logs/json-file.js';
import { INITIAL_RESTART_STATE, decideRestart } from './restart-policy.js';
import { healthSpecOf, settingsFor } from './settings.js';
import { statusText } from './status-text.js';
import type { VolumeStore } from './volumes.js';

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
  nodeId?: string;
  version?: string;
  cgroupVersion?: 1 | 2;
  now?: () => Date;
}

interface Entry {
  rec: ContainerRecord;
  /** Whether a supervisor waits on the running process. */
  running: boolean;
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

  async function doStart(e: Entry): Promise<void> {
    const rec = e.rec;
    const image = await opts.images.resolve(rec.imageId);
    if (image === undefined) throw new TscError('ERR_NOT_FOUND', `No such image: ${rec.spec.image}`);
    let sandbox: string | undefined;
    try {
      // The network and the root filesystem do not depend on each other: made at once. Both
      // settle before anything is undone (the catch below), so no step runs behind a cleanup.
      const network = async (): Promise<void> => {
        if (rec.spec.networkMode === 'default') {
          sandbox = await opts.networks.createSandbox(rec.id, { loopback: false });
          const connected = await opts.networks.connect(rec.id, sandbox, {
            name: rec.name,
            ...(rec.spec.labels['com.docker.compose.service'] === undefined ? {} : { service: rec.spec.labels['com.docker.compose.service'] }),
            hostname: rec.spec.hostname ?? rec.id.slice(0, 12),
            endpoints: rec.spec.endpoints,
            ports: rec.spec.ports,
            expose: rec.settings.exposedPorts,
            dns: rec.spec.dns,
          });
          rec.endpoints = connected.endpoints;
          rec.ports = connected.ports;
        }
        if (rec.spec.networkMode === 'none') sandbox = await opts.networks.createSandbox(rec.id);
      };
      const [netDone, rootfsDone] = await Promise.allSettled([network(), opts.images.prepareRootfs(rec.imageId, rec.id)]);
      if (netDone.status === 'rejected') throw netDone.reason;
      if (rootfsDone.status === 'rejected') throw rootfsDone.reason;
      const rootfs = rootfsDone.value;
      const etc =
        rec.spec.networkMode === 'host'
          ? undefined
          : await opts.networks.etcFiles(rec.name, {
              hostname: rec.spec.hostname ?? rec.id.slice(0, 12),
              ...(rec.spec.domainname === undefined ? {} : { domainname: rec.spec.domainname }),
              ...(rec.spec.labels['com.docker.compose.service'] === undefined ? {} : { service: rec.spec.labels['com.docker.compose.service'] }),
              extraHosts: rec.spec.extraHosts,
              dns: rec.spec.dns,
              dnsSearch: rec.spec.dnsSearch,
              dnsOptions: rec.spec.dnsOptions,
            });
      const bundle = await opts.bundles.write({
        containerId: rec.id,
        spec: rec.spec,
        settings: rec.settings,
        rootfs,
        sandbox,
        dir: store.dir(rec.id),
        logPath: store.logPath(rec.id),
        etc,
      });
      const logOpts = rec.spec.logConfig.options;
      await opts.runtime.create(rec.id, bundle, {
        logPath: store.logPath(rec.id),
        ...(logOpts['max-size'] === undefined ? {} : { logMaxSize: parseBytes(logOpts['max-size']) }),
        ...(logOpts['max-file'] === undefined ? {} : { logMaxFiles: Number(logOpts['max-file']) }),
      });
      await opts.runtime.start(rec.id);
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
    await store.save(rec);
    e.running = true;
    e.paused = false;
    e.restarting = false;
    e.exited = deferred();
    publish(rec, 'start');
    supervise(e);
    scheduleProbe(e);
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
    await Promise.all([
      opts.runtime.delete(rec.id, { force: true }).catch(() => undefined),
      (async () => {
        await opts.networks.disconnect(rec.id, rec.name).catch(() => undefined);
        if (rec.spec.networkMode === 'default' || rec.spec.networkMode === 'none') await opts.networks.removeSandbox(rec.id).catch(() => undefined);
      })(),
    ]);
    await opts.images.releaseRootfs(rec.id, { remove: false }).catch(() => undefined);
    const ranForMs = Date.parse(s.finishedAt) - Date.parse(rec.startedAt);
    rec.finishedAt = s.finishedAt;
    rec.exitCode = s.exitCode;
    rec.oomKilled = s.oomKilled;
    if (err !== undefined) rec.error = err instanceof Error ? err.message : String(err);
    e.running = false;
    e.paused = false;
    if (s.oomKilled) publish(rec, 'oom');
    publish(rec, 'die', { exitCode: String(s.exitCode) });
    const decision = decideRestart(rec.spec.restartPolicy, rec.restart, { exitCode: s.exitCode, ranForMs, stoppedByUser: rec.stoppedByUser });
    if (decision.restart) {
      rec.restart = decision.next;
      e.restarting = true;
      e.restartTimer = setTimeout(() => {
        e.restartTimer = undefined;
        void serialized(e, async () => {
          if (!e.restarting || closed) return;
          await doStart(e).catch(() => {
            e.restarting = false;
          });
        });
      }, decision.delayMs);
    }
    if (entries.get(rec.id) === e) await store.save(rec);
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
    await store.save(e.rec);
    if (!e.running) return;
    const sig = signal ?? (e.rec.settings.stopSignal || 'SIGTERM');
    const grace = timeoutMs ?? e.rec.spec.stopGracePeriodMs ?? 10_000;
    const exited = e.exited.promise;
    if (e.paused) await opts.runtime.resume(e.rec.id).catch(() => undefined);
    await opts.runtime.kill(e.rec.id, sig).catch(() => undefined);
    publish(e.rec, 'kill', { signal: sig });
    if ((await withTimeout(exited, grace)) === undefined) {
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
      labels: e.rec.spec.labels,
      state,
      status: statusText({ state, health: h, exitCode: e.rec.exitCode, startedAt: e.rec.startedAt, finishedAt: e.rec.finishedAt, now: now().getTime() }),
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
        pid: 0,
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
      entries.set(id, { rec, running: false, paused: false, restarting: false, exited: deferred(), lock: Promise.resolve() });
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
        await opts.images.releaseRootfs(e.rec.id, { remove: true });
        await store.remove(e.rec.id);
        if (o.volumes === true) {
          const anonymous = new Set((await opts.volumes.list({ label: [ANONYMOUS_VOLUME_LABEL] })).map((v) => v.name));
          for (const m of e.rec.spec.mounts) {
            if (m.type === 'volume' && anonymous.has(m.source) && !volumeInUse(m.source)) await opts.volumes.remove(m.source).catch(() => undefined);
          }
        }
        publish(e.rec, 'destroy');
      });
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
      const lines = readJsonLogs(store.logPath(e.rec.id), { ...o, signal: ac.signal });
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
      return opts.runtime.exec(e.rec.id, {
        args: o.cmd,
        ...(o.env === undefined ? {} : { env: Object.entries(o.env).map(([k, v]) => `${k}=${v}`) }),
        ...(o.workingDir === undefined ? {} : { cwd: o.workingDir }),
        ...(o.user === undefined ? {} : { user: o.user }),
        ...(o.tty === undefined ? {} : { tty: o.tty }),
      });
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

    async removeNetwork(name) {
      const users = [...entries.values()].filter((e) => e.running && e.rec.spec.endpoints.some((ep) => ep.network === name));
      if (users.length > 0) {
        throw new TscError('ERR_CONFLICT', `error while removing network: network ${name} has active endpoints (${users.map((u) => u.rec.name).join(', ')})`);
      }
      await opts.networks.remove(name);
      bus.publish({ type: 'network', action: 'destroy', id: name, attributes: { name } });
    },

    listNetworks: (filter) => opts.networks.list(filter),

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
        const e: Entry = { rec, running: false, paused: false, restarting: false, exited: deferred(), lock: Promise.resolve() };
        entries.set(rec.id, e);
        const st = await opts.runtime.state(rec.id).catch(() => undefined);
        if (st !== undefined && (st.status === 'running' || st.status === 'paused')) {
          e.running = true;
          e.paused = st.status === 'paused';
          supervise(e);
          scheduleProbe(e);
        } else if (st !== undefined && st.status === 'stopped') {
          // Exited while the agent was away: the monitor's exit file has the status.
          e.running = true;
          supervise(e);
        }
      }
    },
    async close() {
      closed = true;
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
