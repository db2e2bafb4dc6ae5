/**
 * `watch [SERVICES] [--no-up] [--prune] [--quiet]` and the watch half of `up --watch`: the
 * project is brought up (unless --no-up), then `reconciler/watch` syncs, restarts, execs and
 * rebuilds as the `develop.watch` rules say, printing docker compose's lines, until Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Command } from 'commander';

import { buildServices, upBuildOption } from '../../../reconciler/build-services.js';
import { desiredProject } from '../../../reconciler/from-project.js';
import { DEFAULT_UP, up } from '../../../reconciler/up.js';
import { compileWatchRules } from '../../../reconciler/watch/watch-rules.js';
import { startWatchSession, type WatchSession } from '../../../reconciler/watch/watch-session.js';
import type { ComposeContext, LoadedProject } from '../../compose-context.js';
import { quietReporter } from '../../progress/plain.js';

export interface WatchFlags {
  /** false under --no-up. */
  up?: boolean;
  /** false under --no-prune (docker compose prunes by default). */
  prune?: boolean;
  quiet?: boolean;
}

/** Builds the images of `services` (their `build:`), as `up --build` would. */
export type ImageBuilder = (ctx: ComposeContext, loaded: LoadedProject, services: readonly string[]) => Promise<void>;

/** The default builder: the agent's `buildImage` for each service's `build:` (as `up --build`). */
export const buildServiceImages: ImageBuilder = async (ctx, loaded, services) => {
  const reporter = ctx.reporter();
  try {
    await buildServices(await ctx.agent(), loaded.project, services, {}, reporter);
  } finally {
    await reporter.close();
  }
};

/**
 * Rebuild one service's image and recreate only that service's containers (`up --no-deps`):
 * its dependencies keep running untouched.
 */
export async function rebuildService(ctx: ComposeContext, loaded: LoadedProject, service: string, opts: { build?: ImageBuilder; quiet?: boolean } = {}): Promise<void> {
  await (opts.build ?? buildServiceImages)(ctx, loaded, [service]);
  const desired = desiredProject(loaded.project, ctx.desiredOptions(loaded));
  const agent = await ctx.agent();
  const reporter = opts.quiet === true ? quietReporter() : ctx.reporter();
  try {
    // `force`: the image changed under the same name, which the config hash does not see.
    await up(agent, desired, { ...DEFAULT_UP, services: [service], noDeps: true, recreate: 'force' }, reporter);
  } finally {
    await reporter.close();
  }
}

export interface StartWatchOptions {
  services: readonly string[];
  prune: boolean;
  quiet: boolean;
  build?: ImageBuilder;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** Compile the rules and start watching (the project is already up). */
export async function startWatch(ctx: ComposeContext, loaded: LoadedProject, opts: StartWatchOptions): Promise<WatchSession> {
  const { rules, warnings, restartWith } = compileWatchRules(loaded.project, {
    services: opts.services,
    ...(loaded.position === undefined ? {} : { position: loaded.position }),
    readDockerignore: (dir) => {
      try {
        return readFileSync(join(dir, '.dockerignore'), 'utf8');
      } catch {
        return undefined;
      }
    },
  });
  for (const w of warnings) ctx.stderr.write(`WARN[0000] ${w}\n`);
  const agent = await ctx.agent();
  const log = opts.log ?? ((line: string) => ctx.stdout.write(`${line}\n`));
  const session = startWatchSession({
    agent,
    project: loaded.project.name,
    rules,
    restartWith,
    log,
    rebuild: (service) => rebuildService(ctx, loaded, service, { quiet: opts.quiet, ...(opts.build === undefined ? {} : { build: opts.build }) }),
    ...(opts.prune
      ? {
          prune: async () => {
            const r = await agent.pruneImages();
            if (r.removed > 0) log(`Pruned ${r.removed} dangling image data (${r.reclaimedBytes} bytes)`);
          },
        }
      : {}),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  await session.ready;
  return session;
}

export async function watchCommand(ctx: ComposeContext, services: string[], flags: WatchFlags, signal?: AbortSignal): Promise<number> {
  const loaded = await ctx.load(services);
  for (const w of loaded.warnings) ctx.stderr.write(`WARN[0000] ${w}\n`);
  // Check the rules before anything starts: a bad rule should not leave a project half up.
  compileWatchRules(loaded.project, { services, readDockerignore: () => undefined, ...(loaded.position === undefined ? {} : { position: loaded.position }) });
  if (flags.up !== false) {
    const desired = desiredProject(loaded.project, ctx.desiredOptions(loaded));
    const reporter = flags.quiet === true ? quietReporter() : ctx.reporter();
    try {
      const agent = await ctx.agent();
      // images of services with `build:` that are missing are built first, as `up` does
      await up(agent, desired, { ...DEFAULT_UP, services, build: upBuildOption(agent, loaded.project, false, reporter) }, reporter);
    } finally {
      await reporter.close();
    }
  }
  const ac = new AbortController();
  const stop = () => ac.abort();
  signal?.addEventListener('abort', stop, { once: true });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const session = await startWatch(ctx, loaded, { services, prune: flags.prune !== false, quiet: flags.quiet === true, signal: ac.signal });
    await session.done;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signal?.removeEventListener('abort', stop);
  }
  return 0;
}

export function registerWatch(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('watch')
    .description('Watch build context for service and rebuild/refresh containers when files are updated')
    .argument('[services...]')
    .option('--no-up', 'Do not build & start services before watching')
    .option('--prune', 'Prune dangling images on rebuild (default true)')
    .option('--no-prune', 'Do not prune dangling images on rebuild')
    .option('--quiet', 'hide build output')
    .action(async (services: string[], flags: WatchFlags, cmd: Command) => {
      setExit(await watchCommand(ctx(cmd), services, flags));
    });
}
