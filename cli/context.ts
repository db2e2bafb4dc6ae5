/**
 * The ComposeContext of a real command line: compose files loaded from the global options
 * (`-f`, `-p`, `--project-directory`, `--profile`, `--env-file`), the local agent (started on
 * first use), and the progress reporter `--progress` asks for.
 */
import type { Command } from 'commander';

import type { AgentApi } from '../agent/api/types.js';
import { loadProject } from '../schema/load.js';
import { resolveProjectName } from '../schema/project-name.js';
import { ensureAgent } from './agent-connection.js';
import type { ComposeContext, LoadedProject } from './compose-context.js';
import { globalOptions, loadOptionsFrom } from './global-options.js';
import { createReporter } from './progress/reporter.js';

export function composeContext(cmd: Command): ComposeContext {
  const g = globalOptions(cmd);
  let agent: Promise<AgentApi> | undefined;
  let loaded: LoadedProject | undefined;
  const load = async (services: readonly string[] = []): Promise<LoadedProject> => {
    if (loaded !== undefined && services.length === 0) return loaded;
    const r = loadProject(loadOptionsFrom(g, { services }));
    loaded = { project: r.project, configFiles: r.files, environment: r.environment, warnings: r.warnings, position: (path) => r.positions.nearest(path) };
    return loaded;
  };
  return {
    load,
    async projectName() {
      // -p (or COMPOSE_PROJECT_NAME) names the project without reading any file, as docker
      // compose lets `ps`, `logs`, `down` work from the labels alone.
      const env = process.env['COMPOSE_PROJECT_NAME'];
      if ((g.projectName !== undefined || env !== undefined) && g.file.length === 0) {
        return resolveProjectName({ flag: g.projectName, env, workingDir: process.cwd() });
      }
      return (await load()).project.name;
    },
    agent: () => (agent ??= ensureAgent()),
    reporter: () => createReporter(g.progress),
    stdout: process.stdout,
    stderr: process.stderr,
    desiredOptions: (l) => ({ configFiles: l.configFiles, environment: l.environment }),
  };
}
