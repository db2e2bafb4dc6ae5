/** Finding a project's containers from their labels, as every compose command does. */
import type { AgentApi, ContainerSummary } from '../../../agent/api/types.js';
import { TscError } from '../../../lib/errors.js';
import { LABEL } from '../../../reconciler/labels.js';

export interface Selection {
  services?: readonly string[];
  all?: boolean;
  oneoff?: boolean;
  index?: number;
}

/** The project's containers, sorted by service then number; filtered by service names. */
export async function projectContainers(agent: AgentApi, project: string, sel: Selection = {}): Promise<ContainerSummary[]> {
  const label = [`${LABEL.project}=${project}`];
  if (sel.oneoff !== true) label.push(`${LABEL.oneoff}=False`);
  const list = await agent.listContainers({ all: sel.all ?? false, label });
  const wanted = sel.services !== undefined && sel.services.length > 0 ? new Set(sel.services) : undefined;
  return list
    .filter((c) => wanted === undefined || wanted.has(c.labels[LABEL.service] ?? ''))
    .filter((c) => sel.index === undefined || Number(c.labels[LABEL.containerNumber]) === sel.index)
    .sort(
      (a, b) =>
        (a.labels[LABEL.service] ?? '').localeCompare(b.labels[LABEL.service] ?? '') ||
        Number(a.labels[LABEL.containerNumber] ?? 0) - Number(b.labels[LABEL.containerNumber] ?? 0),
    );
}

/** The one container `exec` and friends act on: `--index` (default 1) of a running service. */
export async function serviceContainer(agent: AgentApi, project: string, service: string, index = 1): Promise<ContainerSummary> {
  const list = await projectContainers(agent, project, { services: [service], index });
  const c = list.find((x) => x.state === 'running') ?? list[0];
  if (c === undefined) throw new TscError('ERR_NOT_FOUND', `service "${service}" is not running`);
  return c;
}
