/**
 * `push`: send the images of a project's services to their registries, as `docker compose
 * push` does: only services that are built here and name their image (`build:` and `image:`),
 * since a service that only names an image pulls it from where it already is.
 */
import type { Command } from 'commander';

import { resource } from '../../../lib/progress.js';
import { dependencyGraph, withDependencies } from '../../../schema/graph.js';
import type { Project } from '../../../schema/project.js';
import type { ComposeContext } from '../../compose-context.js';

export interface PushFlags {
  ignorePushFailures?: boolean;
  includeDeps?: boolean;
  quiet?: boolean;
}

/** The images `push` sends: services with both `build` and `image`, in the order given. */
export function imagesToPush(project: Project, services: readonly string[]): string[] {
  const names = services.length === 0 ? Object.keys(project.services) : services;
  const images: string[] = [];
  for (const name of names) {
    const s = project.services[name];
    if (s?.build === undefined || s.image === undefined || s.image === '') continue;
    if (!images.includes(s.image)) images.push(s.image);
  }
  return images;
}

export async function pushCommand(ctx: ComposeContext, services: string[], flags: PushFlags): Promise<number> {
  const loaded = await ctx.load(services);
  const { project } = loaded;
  const selected =
    services.length === 0 ? Object.keys(project.services) : flags.includeDeps === true ? withDependencies(dependencyGraph(project.services), services) : services;
  const images = imagesToPush(project, selected);
  const agent = await ctx.agent();
  const reporter = ctx.reporter();
  let failed = false;
  try {
    // One image after another, as docker compose does: pushes of one registry share its bandwidth.
    for (const image of images) {
      const id = resource.image(image);
      if (flags.quiet !== true) reporter.emit({ id, status: 'Pushing', state: 'working' });
      try {
        await agent.pushImage(image, (p) => {
          if (flags.quiet === true) return;
          reporter.emit({ id: p.layer.replace(/^sha256:/, '').slice(0, 12), parentId: id, status: p.status === 'exists' ? 'Layer already exists' : 'Pushed', state: 'done' });
        });
        if (flags.quiet !== true) reporter.emit({ id, status: 'Pushed', state: 'done' });
      } catch (e) {
        reporter.emit({ id, status: 'Error', state: flags.ignorePushFailures === true ? 'warning' : 'error', text: e instanceof Error ? e.message : String(e) });
        if (flags.ignorePushFailures !== true) {
          failed = true;
          break;
        }
      }
    }
  } finally {
    await reporter.close();
  }
  return failed ? 1 : 0;
}

export function registerPush(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('push')
    .description('Push service images')
    .argument('[services...]')
    .option('--ignore-push-failures', 'Push what it can and ignores images with push failures')
    .option('--include-deps', 'Also push images of services declared as dependencies')
    .option('-q, --quiet', 'Push without printing progress information')
    .action(async (services: string[], flags: PushFlags, cmd: Command) => setExit(await pushCommand(ctx(cmd), services, flags)));
}
