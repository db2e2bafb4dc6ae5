/**
 * The typed Project: the desired-state graph the reconciler and the scheduler consume.
 *
 * Placeholder until the loader-model work lands: the services, networks and volumes as
 * loosely typed maps.
 */
import type { ComposeTree, PhaseContext } from './phase.js';

export interface Project {
  name: string;
  workingDir: string;
  services: Record<string, Record<string, unknown>>;
  networks: Record<string, Record<string, unknown>>;
  volumes: Record<string, Record<string, unknown>>;
  secrets: Record<string, Record<string, unknown>>;
  configs: Record<string, Record<string, unknown>>;
}

function section(tree: ComposeTree, key: string): Record<string, Record<string, unknown>> {
  const v = tree[key];
  return v !== null && typeof v === 'object' ? (v as Record<string, Record<string, unknown>>) : {};
}

export function buildProject(tree: ComposeTree, ctx: PhaseContext): Project {
  return {
    name: ctx.projectName,
    workingDir: ctx.workingDir,
    services: section(tree, 'services'),
    networks: section(tree, 'networks'),
    volumes: section(tree, 'volumes'),
    secrets: section(tree, 'secrets'),
    configs: section(tree, 'configs'),
  };
}
