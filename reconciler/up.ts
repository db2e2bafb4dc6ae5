/**
 * `up`: networks and volumes first, then every service in dependency order, in parallel where
 * the graph allows; each service waits for its dependencies' conditions, makes sure its image
 * is there, and converges its containers (plan.ts). Progress is reported as docker compose
 * shows it.
 */
import type { AgentApi, ContainerSummary } from '../agent/api/types.js';
import { TscError, isTscError } from '../lib/errors.js';
import { resource, type Reporter } from '../lib/progress.js';
import { settleAll } from '../lib/settle-all.js';
import { traceProcessStart, traced } from '../lib/trace.js';
import type { Dependency, DesiredProject, DesiredServiceSpec } from './desired.js';
import { LABEL, serviceFilter } from './labels.js';
import { planService, type ActualContainer, type RecreatePolicy } from './plan.js';

export interface UpOptions {
  recreate: RecreatePolicy;
  noStart: boolean;
  /** `--pull always|missing|never`: overrides each service's pull_policy. */
  pull?: 'always' | 'missing' | 'never';
  /** `--no-deps`: do not wait for (or start) dependencies outside `services`. */
  noDeps: boolean;
  /** Services named on the command line; empty for all. */
  services: string[];
  /** `--wait`: return only when every container is running/healthy. */
  wait: boolean;
  waitTimeoutMs?: number;
  timeoutMs?: number;
  pollMs?: number;
  /**
   * Services with `build:` and how to build one (resolving with its image ID): built when
   * `always` (`up --build`), when their pull_policy is `build`, or when their image is missing.
   * Containers made from another image than the one built are recreated.
   */
  build?: { services: ReadonlySet<string>; always: boolean; run(service: string): Promise<string> };
}

export const DEFAULT_UP: UpOptions = { recreate: 'diverged', noStart: false, noDeps: false, services: [], wait: false };

function actual(c: ContainerSummary): ActualContainer {
  return {
    id: c.id,
    name: c.name,
    number: Number(c.labels[LABEL.containerNumber] ?? '0'),
    configHash: c.labels[LABEL.configHash] ?? '',
    state: c.state,
  };
}

async function ensureNetworks(agent: AgentApi, p: DesiredProject, report: Reporter): Promise<void> {
  const existing = new Map((await agent.listNetworks()).map((n) => [n.name, n]));
  for (const n of p.networks) {
    const id = resource.network(n.spec.name);
    const have = existing.get(n.spec.name);
    if (n.external) {
      if (have === undefined) {
        throw new TscError('ERR_NOT_FOUND', `network ${n.spec.name} declared as external, but could not be found`, { path: `networks.${n.key}` });
      }
      continue;
    }
    if (have !== undefined) {
      if (have.labels[LABEL.project] !== undefined && have.labels[LABEL.project] !== p.name) {
        report.emit({ id, status: `network ${n.spec.name} was found but has incorrect label ${LABEL.project} set to "${have.labels[LABEL.project]}"`, state: 'warning' });
      }
      continue;
    }
    report.emit({ id, status: 'Creating', state: 'working' });
    await agent.createNetwork(n.spec);
    report.emit({ id, status: 'Created', state: 'done' });
  }
}

async function ensureVolumes(agent: AgentApi, p: DesiredProject, report: Reporter): Promise<void> {
  const existing = new Set((await agent.listVolumes()).map((v) => v.name));
  for (const v of p.volumes) {
    const id = resource.volume(`"${v.spec.name}"`);
    if (v.external) {
      if (!existing.has(v.spec.name)) {
        throw new TscError('ERR_NOT_FOUND', `external volume "${v.spec.name}" not found`, { path: `volumes.${v.key}` });
      }
      continue;
    }
    if (existing.has(v.spec.name)) continue;
    report.emit({ id, status: 'Creating', state: 'working' });
    await agent.createVolume(v.spec);
    report.emit({ id, status: 'Created', state: 'done' });
  }
}

/** `nginx` and `nginx:latest` name the same image; a digest or tag is kept as it is. */
function withTag(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return ref.includes('@') || last.includes(':') ? ref : `${ref}:latest`;
}

/** The ID of the local image `image` names, if there is one (from the listing shared by one `up`). */
async function localImageId(listImages: () => ReturnType<AgentApi['listImages']>, image: string): Promise<string | undefined> {
  const want = withTag(image);
  const images = await listImages();
  return images.find((i) => i.repoTags.some((t) => withTag(t) === want || t.endsWith(`/${want}`)) || i.repoDigests.includes(image))?.id;
}

/** Build or pull what the service needs; for a service that builds, resolves with its image ID. */
async function ensureImage(agent: AgentApi, s: DesiredServiceSpec, opts: UpOptions, report: Reporter, listImages: () => ReturnType<AgentApi['listImages']>): Promise<string | undefined> {
  const policy = opts.pull ?? s.pullPolicy;
  if (opts.build?.services.has(s.name) === true) {
    const have = await localImageId(listImages, s.image);
    if (opts.build.always || s.pullPolicy === 'build' || have === undefined) return opts.build.run(s.name);
    // Built earlier (`tsc-compose build`): containers of an older build are replaced too.
    return have;
  }
  if (policy === 'never' || policy === 'build') return undefined;
  if (policy !== 'always' && (await localImageId(listImages, s.image)) !== undefined) return undefined;
  const id = resource.image(s.image);
  report.emit({ id, status: 'Pulling', state: 'working' });
  try {
    await agent.pullImage(s.image, (pr) => {
      if (pr.layer !== undefined) {
        report.emit({ id: pr.layer.replace(/^sha256:/, '').slice(0, 12), parentId: id, status: pr.status, state: pr.status === 'done' || pr.status === 'exists' ? 'done' : 'working', ...(pr.current === undefined ? {} : { current: pr.current }), ...(pr.total === undefined ? {} : { total: pr.total }) });
      }
    });
  } catch (e) {
    report.emit({ id, status: 'Error', state: 'error', text: e instanceof Error ? e.message : String(e) });
    throw e;
  }
  report.emit({ id, status: 'Pulled', state: 'done' });
  return undefined;
}

async function converge(
  agent: AgentApi,
  project: string,
  s: DesiredServiceSpec,
  opts: UpOptions,
  report: Reporter,
  listed: ContainerSummary[],
  builtId?: string,
): Promise<void> {
  // A container of an image other than the one just built has diverged from what is wanted.
  const have = listed.map((c) => ({ ...actual(c), ...(builtId !== undefined && c.imageId !== undefined && c.imageId !== builtId ? { configHash: '' } : {}) }));
  const ops = planService({ name: s.name, configHash: s.configHash, scale: s.scale }, have, { recreate: opts.recreate, noStart: opts.noStart });
  // The replicas of a service are independent of each other: converge them all at once, and
  // fail (with the first error) only once none is still in flight.
  await settleAll(ops.map((op) => convergeOne(agent, s, have, op, opts, report)));
}

async function convergeOne(
  agent: AgentApi,
  s: DesiredServiceSpec,
  have: ReturnType<typeof actual>[],
  op: ReturnType<typeof planService>[number],
  opts: UpOptions,
  report: Reporter,
): Promise<void> {
  const name = op.op === 'create' || op.op === 'recreate' ? s.container(op.number).name : (have.find((c) => c.id === op.id)?.name ?? op.id);
  const id = resource.container(name);
  switch (op.op) {
    case 'remove':
      report.emit({ id, status: 'Stopping', state: 'working' });
      await agent.stopContainer(op.id, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
      await agent.removeContainer(op.id, { force: true });
      report.emit({ id, status: 'Removed', state: 'done' });
      break;
    case 'keep':
      report.emit({ id, status: 'Running', state: 'done' });
      break;
    case 'start':
      report.emit({ id, status: 'Starting', state: 'working' });
      await agent.startContainer(op.id);
      report.emit({ id, status: 'Started', state: 'done' });
      break;
    case 'recreate': {
      report.emit({ id, status: 'Recreate', state: 'working' });
      await agent.stopContainer(op.replaces, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
      await agent.removeContainer(op.replaces, { force: true });
      const created = await agent.createContainer(s.container(op.number));
      report.emit({ id, status: 'Recreated', state: op.start ? 'working' : 'done' });
      if (op.start) {
        report.emit({ id, status: 'Starting', state: 'working' });
        await agent.startContainer(created.id);
        report.emit({ id, status: 'Started', state: 'done' });
      }
      break;
    }
    case 'create': {
      report.emit({ id, status: 'Creating', state: 'working' });
      const created = await agent.createContainer(s.container(op.number));
      report.emit({ id, status: 'Created', state: op.start ? 'working' : 'done' });
      if (op.start) {
        report.emit({ id, status: 'Starting', state: 'working' });
        await agent.startContainer(created.id);
        report.emit({ id, status: 'Started', state: 'done' });
      }
      break;
    }
  }
}

/** Wait until a dependency's containers meet `dep.condition`; throws the docker compose message if they cannot. */
/**
 * Make sure one service's image is here, as `up` would (build it, or pull it by its policy),
 * without touching its containers: for `run`, whose one-off container is made apart.
 */
export async function ensureServiceImage(agent: AgentApi, s: DesiredServiceSpec, opts: UpOptions, report: Reporter): Promise<string | undefined> {
  let images: ReturnType<AgentApi['listImages']> | undefined;
  return ensureImage(agent, s, opts, report, () => (images ??= agent.listImages()));
}

/**
 * Run `fn` with `changed(ms)`: resolves at the next event of the containers `label` selects
 * (start, die, health_status, ...), or after `ms` at the latest. Waits re-read the state on
 * each, so a condition is seen as soon as the agent publishes it, with no poll period added;
 * the timer only bounds what an event missed (the stream starting late) can cost.
 */
async function withChanges<T>(agent: AgentApi, label: string[], fn: (changed: (ms: number) => Promise<void>) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let dirty = false;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for await (const _ of agent.events({ label, signal: ac.signal })) {
        dirty = true;
        wake?.();
      }
    } catch {
      // the stream is gone: the timer still wakes the wait
    }
  })();
  const changed = (ms: number) =>
    new Promise<void>((resolve) => {
      if (dirty) {
        dirty = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(t);
        wake = undefined;
        dirty = false;
        resolve();
      };
      const t = setTimeout(done, ms);
      wake = done;
    });
  try {
    return await fn(changed);
  } finally {
    ac.abort();
  }
}

/** How long a wait goes without an event before it reads the state again anyway. */
const FALLBACK_MS = 1000;

export async function waitForCondition(agent: AgentApi, project: string, dep: Dependency, report: Reporter, pollMs?: number): Promise<void> {
  if (dep.condition === 'service_started') return;
  await withChanges(agent, serviceFilter(project, dep.service), (changed) => waitForConditionOn(agent, project, dep, report, () => changed(pollMs ?? FALLBACK_MS)));
}

async function waitForConditionOn(agent: AgentApi, project: string, dep: Dependency, report: Reporter, changed: () => Promise<void>): Promise<void> {
  const containers = await agent.listContainers({ all: true, label: serviceFilter(project, dep.service) });
  for (const c of containers) {
    const id = resource.container(c.name);
    report.emit({ id, status: 'Waiting', state: 'working' });
    for (;;) {
      const ins = await agent.inspectContainer(c.id);
      if (dep.condition === 'service_healthy') {
        const h = ins.state.health?.status;
        if (h === undefined) throw new TscError('ERR_COMPOSE_INVALID', `dependency failed to start: container ${c.name} has no healthcheck configured`);
        if (h === 'healthy') {
          report.emit({ id, status: 'Healthy', state: 'done' });
          break;
        }
        if (h === 'unhealthy') {
          report.emit({ id, status: 'Error', state: 'error', text: 'dependency failed to start' });
          throw new TscError('ERR_RUNTIME', `dependency failed to start: container ${c.name} is unhealthy`);
        }
        if (!ins.state.running && !ins.state.restarting) {
          throw new TscError('ERR_RUNTIME', `dependency failed to start: container ${c.name} exited (${ins.state.exitCode})`);
        }
      } else {
        if (!ins.state.running && !ins.state.restarting && ins.state.startedAt !== '') {
          if (ins.state.exitCode !== 0) {
            report.emit({ id, status: 'Error', state: 'error' });
            throw new TscError('ERR_RUNTIME', `service "${dep.service}" didn't complete successfully: exit ${ins.state.exitCode}`);
          }
          report.emit({ id, status: 'Exited', state: 'done' });
          break;
        }
      }
      await changed();
    }
  }
}

/** The services `up` works on: those named (with their dependencies unless --no-deps), else all. */
export function selectServices(p: DesiredProject, names: readonly string[], noDeps: boolean): DesiredServiceSpec[] {
  if (names.length === 0) return p.services;
  const byName = new Map(p.services.map((s) => [s.name, s]));
  const chosen = new Set<string>();
  const visit = (n: string) => {
    if (chosen.has(n)) return;
    const s = byName.get(n);
    if (s === undefined) throw new TscError('ERR_USAGE', `no such service: ${n}`);
    chosen.add(n);
    if (!noDeps) s.dependsOn.forEach((d) => byName.has(d.service) && visit(d.service));
  };
  names.forEach(visit);
  return p.services.filter((s) => chosen.has(s.name));
}

export async function up(agent: AgentApi, p: DesiredProject, opts: UpOptions, report: Reporter): Promise<void> {
  traceProcessStart('cli');
  // One image listing shared by the services of this `up` (as before, two services of one
  // missing image may both pull it; the store takes the second as already there), and the
  // project's containers listed once for the whole `up`: both asked for while the networks and
  // volumes are made (neither changes them), instead of after.
  const images = agent.listImages();
  const projectContainers = agent.listContainers({ all: true, label: serviceFilter(p.name) });
  // awaited below, or never when the networks fail: not an unhandled rejection meanwhile
  images.catch(() => undefined);
  projectContainers.catch(() => undefined);
  const listImages = () => images;
  const listProject = () => projectContainers;
  await traced('cli', 'networks', () => ensureNetworks(agent, p, report));
  await traced('cli', 'volumes', () => ensureVolumes(agent, p, report));
  const services = selectServices(p, opts.services, opts.noDeps);
  const names = new Set(services.map((s) => s.name));
  const done = new Map<string, Promise<void>>();
  const run = (s: DesiredServiceSpec): Promise<void> => {
    const existing = done.get(s.name);
    if (existing) return existing;
    const task = (async () => {
      for (const dep of s.dependsOn) {
        if (!names.has(dep.service)) continue;
        const depSvc = services.find((x) => x.name === dep.service);
        if (depSvc === undefined) continue;
        await run(depSvc);
        if (opts.noStart) continue;
        try {
          await waitForCondition(agent, p.name, dep, report, opts.pollMs);
        } catch (e) {
          if (dep.required || !isTscError(e)) throw e;
          report.emit({ id: resource.container(dep.service), status: `optional dependency failed: ${e.message}`, state: 'warning' });
        }
      }
      const builtId = await traced(s.name, 'cli-image', () => ensureImage(agent, s, opts, report, listImages));
      // A service's own containers change only by its own convergence: the listing above holds.
      const listed = (await listProject()).filter((c) => c.labels[LABEL.service] === s.name);
      await traced(s.name, 'cli-converge', () => converge(agent, p.name, s, opts, report, listed, builtId));
    })();
    done.set(s.name, task);
    return task;
  };
  await Promise.all(services.map(run));
  if (opts.wait) await waitAll(agent, p.name, services, report, opts);
}

async function waitAll(agent: AgentApi, project: string, services: readonly DesiredServiceSpec[], report: Reporter, opts: UpOptions): Promise<void> {
  await withChanges(agent, [`${LABEL.project}=${project}`], (changed) => waitAllOn(agent, project, services, report, opts, changed));
}

async function waitAllOn(
  agent: AgentApi,
  project: string,
  services: readonly DesiredServiceSpec[],
  report: Reporter,
  opts: UpOptions,
  changed: (ms: number) => Promise<void>,
): Promise<void> {
  const deadline = opts.waitTimeoutMs === undefined ? Infinity : Date.now() + opts.waitTimeoutMs;
  for (const s of services) {
    for (const c of await agent.listContainers({ all: true, label: serviceFilter(project, s.name) })) {
      const id = resource.container(c.name);
      for (;;) {
        const ins = await agent.inspectContainer(c.id);
        const h = ins.state.health?.status;
        if (ins.state.running && (h === undefined || h === 'healthy')) {
          report.emit({ id, status: h === undefined ? 'Running' : 'Healthy', state: 'done' });
          break;
        }
        if (h === 'unhealthy' || (!ins.state.running && !ins.state.restarting)) {
          throw new TscError('ERR_RUNTIME', `container ${c.name} is ${h === 'unhealthy' ? 'unhealthy' : `exited (${ins.state.exitCode})`}`);
        }
        if (Date.now() > deadline) throw new TscError('ERR_RUNTIME', `timeout waiting for ${c.name} to be running and healthy`);
        await changed(Math.max(0, Math.min(opts.pollMs ?? FALLBACK_MS, deadline - Date.now() + 1)));
      }
    }
  }
}
