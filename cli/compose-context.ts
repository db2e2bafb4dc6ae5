/**
 * What a compose command needs, behind one object so that handlers stay small and tests can
 * hand in fakes: the loaded project (or just its name, for commands that work from labels
 * alone), the agent, a progress reporter and the output streams.
 */
import type { AgentApi } from '../agent/api/types.js';
import type { Reporter } from '../lib/progress.js';
import type { FromProjectOptions } from '../reconciler/from-project.js';
import type { Project } from '../schema/project.js';

export interface LoadedProject {
  project: Project;
  configFiles: string[];
  environment: Readonly<Record<string, string>>;
  warnings: string[];
  /** Where each key of the merged files was written: file, line and column by dotted path. */
  position?: (path: string) => { file: string; line: number; col: number } | undefined;
}

export interface ComposeContext {
  /** Load the compose files; `services` named on the command line enable their profiles. */
  load(services?: readonly string[]): Promise<LoadedProject>;
  /** The project name: from -p without reading files when it can, else from the files. */
  projectName(): Promise<string>;
  agent(): Promise<AgentApi>;
  reporter(): Reporter;
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Options for turning the Project into the reconciler's DesiredProject. */
  desiredOptions(loaded: LoadedProject): FromProjectOptions;
}
