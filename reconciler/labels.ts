/**
 * The `com.docker.compose.*` labels docker compose puts on what it creates. State is found
 * from these on what runs, never from a cache, so they must match docker compose's names.
 */
export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  containerNumber: 'com.docker.compose.container-number',
  configHash: 'com.docker.compose.config-hash',
  oneoff: 'com.docker.compose.oneoff',
  dependsOn: 'com.docker.compose.depends_on',
  image: 'com.docker.compose.image',
  version: 'com.docker.compose.version',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  environmentFile: 'com.docker.compose.project.environment_file',
  network: 'com.docker.compose.network',
  volume: 'com.docker.compose.volume',
  replace: 'com.docker.compose.replace',
} as const;

/** `<project>-<service>-<n>`, the name docker compose v2 gives a service's n-th container. */
export function containerName(project: string, service: string, n: number): string {
  return `${project}-${service}-${n}`;
}

/** The label filter that selects a project's (non one-off) containers of one service. */
export function serviceFilter(project: string, service?: string): string[] {
  const f = [`${LABEL.project}=${project}`, `${LABEL.oneoff}=False`];
  return service === undefined ? f : [...f, `${LABEL.service}=${service}`];
}
