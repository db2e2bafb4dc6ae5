/**
 * `build [SERVICES] [--no-cache] [--pull] [--build-arg K=V] [-q]`: the project's images from
 * their Dockerfiles, as `docker compose build`. Progress per step (CACHED, DONE, the step's
 * output) on a terminal or as plain lines; `-q` prints nothing but errors.
 */
import type { Command } from 'commander';

import { TscError } from '../../lib/errors.js';
import { buildServices, type BuildServicesOptions } from '../../reconciler/build-services.js';
import type { ComposeContext } from '../compose-context.js';

export interface BuildFlags {
  /** false under --no-cache. */
  cache?: boolean;
  pull?: boolean;
  buildArg: string[];
  quiet?: boolean;
}

/** `--build-arg KEY=VALUE`; `--build-arg KEY` takes KEY from the environment (skipped when unset). */
export function parseBuildArgs(values: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw new TscError('ERR_USAGE', `invalid --build-arg "${v}": expected KEY=VALUE`);
    if (eq < 0) {
      const fromEnv = env[v];
      if (fromEnv !== undefined) out[v] = fromEnv;
    } else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export async function buildCommand(ctx: ComposeContext, services: string[], flags: BuildFlags): Promise<number> {
  const loaded = await ctx.load(services);
  for (const w of loaded.warnings) ctx.stderr.write(`WARN[0000] ${w}\n`);
  const agent = await ctx.agent();
  const opts: BuildServicesOptions = { noCache: flags.cache === false, pull: flags.pull === true, buildArgs: parseBuildArgs(flags.buildArg), quiet: flags.quiet === true };
  const reporter = ctx.reporter();
  try {
    await buildServices(agent, loaded.project, services, opts, flags.quiet === true ? { emit() {}, close: async () => {} } : reporter);
  } finally {
    await reporter.close();
  }
  return 0;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerBuild(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('build')
    .description('Build or rebuild services')
    .argument('[services...]')
    .option('--no-cache', 'Do not use cache when building the image')
    .option('--pull', 'Always attempt to pull a newer version of the image')
    .option('--build-arg <KEY=VALUE>', 'Set build-time variables for services', collect, [])
    .option('-q, --quiet', "Don't print anything to STDOUT")
    .action(async (services: string[], flags: BuildFlags, cmd: Command) => setExit(await buildCommand(ctx(cmd), services, flags)));
}
