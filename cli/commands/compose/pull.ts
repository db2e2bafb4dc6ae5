/** `pull`, `images` and `create`: compose commands about a project's images and containers. */
import type { Command } from 'commander';

import { upBuildOption } from '../../../reconciler/build-services.js';
import { desiredProject } from '../../../reconciler/from-project.js';
import { DEFAULT_UP, up } from '../../../reconciler/up.js';
import { resource } from '../../../lib/progress.js';
import type { ComposeContext } from '../../compose-context.js';
import { table } from '../../format/ps.js';
import { projectContainers } from './select.js';

export interface PullFlags {
  ignorePullFailures?: boolean;
  quiet?: boolean;
  includeDeps?: boolean;
  ignoreBuildable?: boolean;
}

export async function pullCommand(ctx: ComposeContext, services: string[], flags: PullFlags): Promise<number> {
  const loaded = await ctx.load(services);
  const desired = desiredProject(loaded.project, ctx.desiredOptions(loaded));
  const agent = await ctx.agent();
  const reporter = ctx.reporter();
  const buildable = (name: string): boolean => loaded.project.services[name]?.build !== undefined;
  const wanted = desired.services.filter(
    (s) => (services.length === 0 || services.includes(s.name)) && s.pullPolicy !== 'build' && !(flags.ignoreBuildable === true && buildable(s.name)),
  );
  const images = [...new Set(wanted.map((s) => s.image))];
  // As docker compose: an image that can be built here is not an error when no registry has it.
  const mustBuild = new Set<string>();
  let failed = false;
  try {
    await Promise.all(
      images.map(async (image) => {
        const id = resource.image(image);
        if (flags.quiet !== true) reporter.emit({ id, status: 'Pulling', state: 'working' });
        try {
          await agent.pullImage(image, (p) => {
            if (flags.quiet === true || p.layer === undefined) return;
            reporter.emit({ id: p.layer.replace(/^sha256:/, '').slice(0, 12), parentId: id, status: p.status, state: p.status === 'done' || p.status === 'exists' ? 'done' : 'working', ...(p.current === undefined ? {} : { current: p.current }), ...(p.total === undefined ? {} : { total: p.total }) });
          });
          if (flags.quiet !== true) reporter.emit({ id, status: 'Pulled', state: 'done' });
        } catch (e) {
          const builders = wanted.filter((s) => s.image === image && buildable(s.name)).map((s) => s.name);
          const tolerated = flags.ignorePullFailures === true || builders.length > 0;
          reporter.emit({ id, status: 'Error', state: tolerated ? 'warning' : 'error', text: e instanceof Error ? e.message : String(e) });
          if (!tolerated) failed = true;
          for (const b of builders) mustBuild.add(b);
        }
      }),
    );
  } finally {
    await reporter.close();
  }
  if (mustBuild.size > 0 && !failed) {
    ctx.stderr.write(`WARNING: Some service image(s) must be built from source by running:\n    tsc-compose build ${[...mustBuild].sort().join(' ')}\n`);
  }
  return failed ? 1 : 0;
}

export function registerPullImages(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('pull')
    .description('Pull service images')
    .argument('[services...]')
    .option('--ignore-pull-failures', 'Pull what it can and ignores images with pull failures')
    .option('-q, --quiet', 'Pull without printing progress information')
    .option('--ignore-buildable', 'Ignore images that can be built')
    .action(async (services: string[], flags: PullFlags, cmd: Command) => setExit(await pullCommand(ctx(cmd), services, flags)));
  program
    .command('images')
    .description('List images used by the created containers')
    .argument('[services...]')
    .option('--format <format>', 'Format the output. Values: [table | json]', 'table')
    .option('-q, --quiet', 'Only display IDs')
    .action(async (services: string[], flags: { format: string; quiet?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const containers = await projectContainers(agent, await c.projectName(), { services, all: true });
      const images = await agent.listImages();
      const rows = containers.map((x) => {
        const img = images.find((i) => i.repoTags.includes(x.image) || i.repoTags.includes(`${x.image}:latest`) || i.id === x.image);
        // One image may carry several names: show the one the container was created from.
        const tag = img?.repoTags.find((t) => t === x.image || t === `${x.image}:latest`) ?? img?.repoTags[0] ?? x.image;
        const at = tag.lastIndexOf(':');
        return { ContainerName: x.name, Repository: at > 0 ? tag.slice(0, at) : tag, Tag: at > 0 ? tag.slice(at + 1) : 'latest', ID: img?.id ?? '', Size: img?.size ?? 0 };
      });
      if (flags.quiet === true) c.stdout.write([...new Set(rows.map((r) => r.ID))].map((i) => `${i}\n`).join(''));
      else if (flags.format === 'json') c.stdout.write(`${JSON.stringify(rows)}\n`);
      else c.stdout.write(table(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows.map((r) => [r.ContainerName, r.Repository, r.Tag, r.ID.replace(/^sha256:/, '').slice(0, 12), String(r.Size)])));
      setExit(0);
    });
  program
    .command('create')
    .description('Creates containers for a service')
    .argument('[services...]')
    .option('--force-recreate', 'Recreate containers even if their configuration has not changed')
    .option('--no-recreate', "If containers already exist, don't recreate them")
    .option('--pull <policy>', 'Pull image before running ("always"|"missing"|"never")')
    .option('--build', 'Build images before starting containers')
    .option('--no-build', "Don't build an image, even if it's policy")
    .action(async (services: string[], flags: { forceRecreate?: boolean; recreate?: boolean; pull?: 'always' | 'missing' | 'never'; build?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const loaded = await c.load(services);
      const desired = desiredProject(loaded.project, c.desiredOptions(loaded));
      const reporter = c.reporter();
      const agent = await c.agent();
      try {
        await up(agent, desired, {
          ...(flags.build === false ? {} : { build: upBuildOption(agent, loaded.project, flags.build === true, reporter) }),
          ...DEFAULT_UP,
          services,
          noStart: true,
          recreate: flags.forceRecreate === true ? 'force' : flags.recreate === false ? 'never' : 'diverged',
          ...(flags.pull === undefined ? {} : { pull: flags.pull }),
        }, reporter);
      } finally {
        await reporter.close();
      }
      setExit(0);
    });
}
