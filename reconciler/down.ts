/**
 * `down`: stop and remove the project's containers, dependents first, then its networks, and
 * with `-v` its named volumes (not external ones). Only what carries the project's label is
 * touched; containers of services the project no longer has (orphans) go only with
 * `--remove-orphans`, else they are reported.
 */
import type { AgentApi, ContainerSummary, NetworkSummary } from '../agent/api/types.js';
import { resource, type Reporter } from '../lib/progress.js';
import { settleAll } from '../lib/settle-all.js';
import { traceProcessStart } from '../lib/trace.js';
import type { DesiredProject } from './desired.js';
import { LABEL } from './labels.js';
import { dependents, levels } from './order.js';

export interface DownOptions {
  volumes: boolean;
  removeOrphans: boolean;
  timeoutMs?: number;
}

/** A group of containers on their way out: all stopped, and all removed (each after its stop). */
interface Leaving {
  stopped: Promise<void>;
  removed: Promise<void>;
}

function stopAndRemove(agent: AgentApi, containers: readonly ContainerSummary[], opts: DownOptions, report: Reporter): Leaving {
  const each = containers.map((c) => {
    const id = resource.container(c.name);
    const stopped = (async () => {
      if (c.state === 'running' || c.state === 'paused' || c.state === 'restarting') {
        report.emit({ id, status: 'Stopping', state: 'working' });
        await agent.stopContainer(c.id, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
        report.emit({ id, status: 'Stopped', state: 'working' });
      }
    })();
    const removed = stopped.then(async () => {
      report.emit({ id, status: 'Removing', state: 'working' });
      await agent.removeContainer(c.id, { force: true });
      report.emit({ id, status: 'Removed', state: 'done' });
    });
    return { stopped, removed };
  });
  const stopped = settleAll(each.map((e) => e.stopped));
  // Awaited only for the last group (the networks wait for it): a failed stop of another
  // group is reported through `removed`, and must not go unhandled here.
  stopped.catch(() => undefined);
  return { stopped, removed: settleAll(each.map((e) => e.removed)) };
}

async function removeNetworks(agent: AgentApi, listed: Promise<NetworkSummary[]>, p: DesiredProject, report: Reporter): Promise<void> {
  const networks = await listed;
  const declared = new Map(p.networks.map((n) => [n.spec.name, n]));
  for (const n of networks) {
    if (declared.get(n.name)?.external === true) continue;
    const id = resource.network(n.name);
    report.emit({ id, status: 'Removing', state: 'working' });
    await agent.removeNetwork(n.name);
    report.emit({ id, status: 'Removed', state: 'done' });
  }
}

export async function down(agent: AgentApi, p: DesiredProject, opts: DownOptions, report: Reporter): Promise<{ orphans: string[] }> {
  traceProcessStart('cli');
  // The networks are listed with the containers (down makes none): one round trip fewer
  // between the last stop and the networks' removal.
  const listedNetworks = agent.listNetworks({ label: [`${LABEL.project}=${p.name}`] });
  listedNetworks.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  const all = await agent.listContainers({ all: true, label: [`${LABEL.project}=${p.name}`] });
  const known = new Set(p.services.map((s) => s.name));
  const serviceOf = (c: ContainerSummary) => c.labels[LABEL.service] ?? '';
  const orphans = all.filter((c) => !known.has(serviceOf(c)) && c.labels[LABEL.oneoff] !== 'True');
  // Dependents first (the reverse of up's levels), each level stopped and removed before the
  // next is stopped; then the one-off containers of `run` (docker compose down removes them
  // too), and with --remove-orphans the orphans.
  const groups = levels(dependents(p.services)).map((level) => all.filter((c) => level.includes(serviceOf(c))));
  groups.push(all.filter((c) => known.has(serviceOf(c)) && c.labels[LABEL.oneoff] === 'True'));
  if (opts.removeOrphans) groups.push(orphans);
  let leaving: Leaving = { stopped: Promise.resolve(), removed: Promise.resolve() };
  for (const group of groups.filter((g) => g.length > 0)) {
    await leaving.removed;
    leaving = stopAndRemove(agent, group, opts, report);
  }
  // Once nothing of the project runs, nothing holds its networks (an endpoint goes with its
  // container's process, as in Docker): they go while the last containers are removed.
  const networksGone = leaving.stopped.then(() => removeNetworks(agent, listedNetworks, p, report));
  await settleAll([leaving.removed, networksGone]);
  if (opts.volumes) {
    const volumes = await agent.listVolumes({ label: [`${LABEL.project}=${p.name}`] });
    const external = new Set(p.volumes.filter((v) => v.external).map((v) => v.spec.name));
    for (const v of volumes) {
      if (external.has(v.name)) continue;
      const id = resource.volume(v.name);
      report.emit({ id, status: 'Removing', state: 'working' });
      await agent.removeVolume(v.name);
      report.emit({ id, status: 'Removed', state: 'done' });
    }
  }
  return { orphans: opts.removeOrphans ? [] : orphans.map((c) => c.name) };
}
