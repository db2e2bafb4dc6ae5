/**
 * `up` and `down`. `up -d` converges and returns; attached `up` then follows the logs of every
 * container with `name  | ` prefixes until they all exit or Ctrl-C, which stops them
 * gracefully (a second Ctrl-C kills), as docker compose does.
 */
import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import { down } from '../../../reconciler/down.js';
import { desiredProject } from '../../../reconciler/from-project.js';
import { LABEL } from '../../../reconciler/labels.js';
import { upBuildOption } from '../../../reconciler/build-services.js';
import { DEFAULT_UP, up } from '../../../reconciler/up.js';
import type { ComposeContext } from '../../compose-context.js';
import { createPrefixer, useColor } from '../../format/log-prefix.js';
import { followUntilExit } from './attach.js';
import { projectContainers } from './select.js';

export interface UpFlags {
  detach?: boolean;
  wait?: boolean;
  waitTimeout?: string;
  scale: string[];
  /** false under --no-deps (commander's negated option). */
  deps?: boolean;
  forceRecreate?: boolean;
  /** false under --no-recreate. */
  recreate?: boolean;
  removeOrphans?: boolean;
  abortOnContainerExit?: boolean;
  exitCodeFrom?: string;
  start?: boolean;
  pull?: 'always' | 'missing' | 'never';
  timeout?: string;
  /** false under --no-color. */
  color?: boolean;
  /** false under --no-log-prefix. */
  logPrefix?: boolean;
  timestamps?: boolean;
  /** `--build` true; `--no-build` false. */
  build?: boolean;
  /** `--watch`: follow the `develop.watch` rules while attached. */
  watch?: boolean;
}

export function parseScale(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=]+)=(\d+)$/.exec(v);
    if (!m || m[1] === undefined) throw new TscError('ERR_USAGE', `invalid --scale value "${v}": expected SERVICE=NUM`);
    out[m[1]] = Number(m[2]);
  }
  return out;
}

export async function upCommand(ctx: ComposeContext, services: string[], flags: UpFlags, signal?: AbortSignal): Promise<number> {
  if (flags.forceRecreate === true && flags.recreate === false) throw new TscError('ERR_USAGE', '--force-recreate and --no-recreate are incompatible');
  if (flags.detach === true && (flags.abortOnContainerExit === true || flags.exitCodeFrom !== undefined)) {
    throw new TscError('ERR_USAGE', '--abort-on-container-exit and --exit-code-from cannot be combined with --detach');
  }
  if (flags.watch === true && (flags.detach === true || flags.wait === true)) throw new TscError('ERR_USAGE', '--watch cannot be combined with --detach or --wait');
  // Attached output shows what containers print from this `up` on, not their earlier runs.
  const startedAt = new Date().toISOString();
  const loaded = await ctx.load(services);
  for (const w of loaded.warnings) ctx.stderr.write(`WARN[0000] ${w}\n`);
  // A bad watch rule is reported before anything starts.
  // watch's modules (and chokidar) load only with --watch: most ups never need them
  if (flags.watch === true) (await import('../../../reconciler/watch/watch-rules.js')).compileWatchRules(loaded.project, { services, readDockerignore: () => undefined, ...(loaded.position === undefined ? {} : { position: loaded.position }) });
  const desired = desiredProject(loaded.project, { ...ctx.desiredOptions(loaded), scale: parseScale(flags.scale) });
  for (const w of desired.warnings) ctx.stderr.write(`WARN[0000] ${w}\n`);
  const agent = await ctx.agent();
  const reporter = ctx.reporter();
  const timeoutMs = flags.timeout === undefined ? undefined : Number(flags.timeout) * 1000;
  const orphans = (await projectContainers(agent, desired.name, { all: true })).filter(
    (c) => !desired.services.some((s) => s.name === c.labels[LABEL.service]),
  );
  try {
    if (orphans.length > 0 && flags.removeOrphans === true) {
      await down(agent, { ...desired, services: desired.services, networks: [], volumes: [] }, { volumes: false, removeOrphans: true }, reporter);
    }
    await up(
      agent,
      desired,
      {
        ...DEFAULT_UP,
        recreate: flags.forceRecreate === true ? 'force' : flags.recreate === false ? 'never' : 'diverged',
        noStart: flags.start === false,
        noDeps: flags.deps === false,
        services,
        wait: flags.wait === true,
        ...(flags.waitTimeout === undefined ? {} : { waitTimeoutMs: Number(flags.waitTimeout) * 1000 }),
        ...(flags.pull === undefined ? {} : { pull: flags.pull }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
        ...(flags.build === false ? {} : { build: upBuildOption(agent, loaded.project, flags.build === true, reporter) }),
      },
      reporter,
    );
  } finally {
    await reporter.close();
  }
  if (orphans.length > 0 && flags.removeOrphans !== true) {
    ctx.stderr.write(
      `WARN[0000] Found orphan containers ([${orphans.map((o) => o.name).join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`,
    );
  }
  if (flags.detach === true || flags.wait === true || flags.start === false) return 0;
  if (flags.watch !== true) return attach(ctx, desired.name, services, flags, startedAt, signal);
  const watching = new AbortController();
  const { startWatch } = await import('./watch.js');
  const session = await startWatch(ctx, loaded, { services, prune: true, quiet: false, signal: watching.signal });
  try {
    return await attach(ctx, desired.name, services, flags, startedAt, signal);
  } finally {
    watching.abort();
    await session.done.catch((e: unknown) => ctx.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`));
  }
}

/** Follow every container's logs until all have exited, or until Ctrl-C stops them. */
async function attach(ctx: ComposeContext, project: string, services: string[], flags: UpFlags, since: string, signal?: AbortSignal): Promise<number> {
  const agent = await ctx.agent();
  const containers = await projectContainers(agent, project, { services, all: true });
  const prefix = createPrefixer(
    containers.map((c) => c.name),
    { color: useColor(ctx.stdout, flags.color === false), prefix: flags.logPrefix !== false, timestamps: flags.timestamps === true },
  );
  ctx.stdout.write(`Attaching to ${containers.map((c) => c.name).join(', ')}\n`);
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      ctx.stderr.write('Gracefully stopping... (press Ctrl+C again to force)\n');
      void Promise.all(containers.map((c) => agent.stopContainer(c.id).catch(() => undefined)));
    } else {
      void Promise.all(containers.map((c) => agent.killContainer(c.id).catch(() => undefined)));
    }
  };
  signal?.addEventListener('abort', onSigint);
  process.on('SIGINT', onSigint);
  let exitCode = 0;
  let aborted = false;
  try {
    await Promise.all(
      containers.map(async (c) => {
        const code = await followUntilExit(agent, c.id, (l) => ctx.stdout.write(`${prefix(c.name, l.line, l.time)}\n`), { since, signal: ac.signal });
        ctx.stdout.write(`${c.name} exited with code ${code}\n`);
        const service = c.labels[LABEL.service];
        if (flags.exitCodeFrom !== undefined ? service === flags.exitCodeFrom : flags.abortOnContainerExit === true && !aborted) exitCode = code;
        if ((flags.abortOnContainerExit === true || flags.exitCodeFrom !== undefined) && !aborted) {
          aborted = true;
          ctx.stderr.write('Aborting on container exit...\n');
          await Promise.all(containers.map((o) => agent.stopContainer(o.id).catch(() => undefined)));
        }
      }),
    );
  } finally {
    ac.abort();
    process.off('SIGINT', onSigint);
    signal?.removeEventListener('abort', onSigint);
  }
  return interrupts > 0 ? 130 : exitCode;
}

export interface DownFlags {
  volumes?: boolean;
  removeOrphans?: boolean;
  timeout?: string;
  rmi?: 'local' | 'all';
}

export async function downCommand(ctx: ComposeContext, flags: DownFlags): Promise<number> {
  const loaded = await ctx.load();
  const desired = desiredProject(loaded.project, ctx.desiredOptions(loaded));
  const agent = await ctx.agent();
  const reporter = ctx.reporter();
  let orphans: string[];
  try {
    ({ orphans } = await down(
      agent,
      desired,
      { volumes: flags.volumes === true, removeOrphans: flags.removeOrphans === true, ...(flags.timeout === undefined ? {} : { timeoutMs: Number(flags.timeout) * 1000 }) },
      reporter,
    ));
    if (flags.rmi !== undefined) {
      for (const s of desired.services) {
        if (flags.rmi === 'local' && s.pullPolicy !== 'build') continue;
        await agent.removeImage(s.image).catch(() => undefined);
      }
    }
  } finally {
    await reporter.close();
  }
  if (orphans.length > 0) {
    ctx.stderr.write(`WARN[0000] Found orphan containers ([${orphans.join(' ')}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.\n`);
  }
  return 0;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerUpDown(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('up')
    .description('Create and start containers')
    .argument('[services...]')
    .option('-d, --detach', 'Detached mode: run containers in the background')
    .option('--wait', 'Wait for services to be running|healthy. Implies detached mode.')
    .option('--wait-timeout <seconds>', 'Maximum duration in seconds to wait for the project to be running|healthy')
    .option('--scale <SERVICE=NUM>', 'Scale SERVICE to NUM instances', collect, [])
    .option('--no-deps', "Don't start linked services")
    .option('--force-recreate', 'Recreate containers even if their configuration has not changed')
    .option('--no-recreate', "If containers already exist, don't recreate them")
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .option('--abort-on-container-exit', 'Stops all containers if any container was stopped')
    .option('--exit-code-from <service>', 'Return the exit code of the selected service container')
    .option('--no-start', "Don't start the services after creating them")
    .option('--pull <policy>', 'Pull image before running ("always"|"missing"|"never")')
    .option('--build', 'Build images before starting containers')
    .option('--no-build', "Don't build an image, even if it's policy")
    .option('-t, --timeout <seconds>', 'Use this timeout in seconds for container shutdown')
    .option('--no-color', 'Produce monochrome output')
    .option('--no-log-prefix', "Don't print prefix in logs")
    .option('--timestamps', 'Show timestamps')
    .option('-w, --watch', 'Watch source code and rebuild/refresh containers when files are updated.')
    .action(async (services: string[], flags: UpFlags, cmd: Command) => {
      setExit(await upCommand(ctx(cmd), services, flags));
    });
  program
    .command('down')
    .description('Stop and remove containers, networks')
    .option('-v, --volumes', 'Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers')
    .option('--remove-orphans', 'Remove containers for services not defined in the Compose file')
    .option('--rmi <type>', 'Remove images used by services ("local"|"all")')
    .option('-t, --timeout <seconds>', 'Specify a shutdown timeout in seconds')
    .action(async (flags: DownFlags, cmd: Command) => {
      setExit(await downCommand(ctx(cmd), flags));
    });
}
