/**
 * `down`: stop and remove the project's containers, dependents first, then its networks, and
 * with `-v` its named volumes (not external ones). Only what carries the project's label is
 * touched; containers of services the project no longer has (orphans) go only with
 * `--remove-orphans`, else they are reported.
 */
import type { AgentApi, ContainerSummary } from '../agent/api/types.js';
import { resource, type Reporter } from '../lib/progress.js';
import { traceProcessStart } from '../lib/trace.js';
import type { DesiredProject } from './desired.js';
import { LABEL } from './labels.js';
import { dependents, levels } from './order.js';

export interface DownOptions {
  volumes: boolean;
  removeOrphans: boolean;
  timeoutMs?: number;
}

async function removeContainers(agent: AgentApi, containers: readonly ContainerSummary[], opts: DownOptions, report: Reporter): Promise<void> {
  await Promise.all(
    containers.map(async (c) => {
      const id = resource.container(c.name);
      if (c.state === 'running' || c.state === 'paused' || c.state === 'restarting') {
        report.emit({ id, status: 'Stopping', state: 'working' });
        await agent.stopContainer(c.id, opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs });
        report.emit({ id, status: 'Stopped', state: 'working' });
      }
      report.emit({ id, status: 'Removing', state: 'working' });
      await agent.removeContainer(c.id, { force: true });
      report.emit({ id, status: 'Removed', state: 'done' });
    }),
  );
}

export async function down(agent: AgentApi, p: DesiredProject, opts: DownOptions, report: Reporter): Promise<{ orphans: string[] }> {
  traceProcessStart('cli');
  const all = await agent.listContainers({ all: true, label: [`${LABEL.project}=${p.name}`] });
  const known = new Set(p.services.map((s) => s.name));
  const serviceOf = (c: ContainerSummary) => c.labels[LABEL.service] ?? '';
  const orphans = all.filter((c) => !known.has(serviceOf(c)) && c.labels[LABEL.oneoff] !== 'True');
  // Dependents first: the reverse of up's levels.
  const order = levels(dependents(p.services));
  for (const level of order) {
    const names = new Set(level);
    await removeContainers(agent, all.filter((c) => names.has(serviceOf(c))), opts, report);
  }
  // One-off containers of `run` go too, as docker compose down removes them.
  await removeContainers(agent, all.filter((c) => known.has(serviceOf(c)) && c.labels[LABEL.oneoff] === 'True'), opts, report);
  if (opts.removeOrphans) await removeContainers(agent, orphans, opts, report);

  const networks = await agent.listNetworks({ label: [`${LABEL.project}=${p.name}`] });
  const declared = new Map(p.networks.map((n) => [n.spec.name, n]));
  for (const n of networks) {
    if (declared.get(n.name)?.external === true) continue;
    const id = resource.network(n.name);
    report.emit({ id, status: 'Removing', state: 'working' });
    await agent.removeNetwork(n.name);
    report.emit({ id, status: 'Removed', state: 'done' });
  }
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
