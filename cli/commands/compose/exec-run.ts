/** `exec`, `run`, `events` and `ls`. */
import { randomBytes } from 'node:crypto';

import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import { desiredProject } from '../../../reconciler/from-project.js';
import { LABEL } from '../../../reconciler/labels.js';
import { upBuildOption } from '../../../reconciler/build-services.js';
import { DEFAULT_UP, ensureServiceImage, up } from '../../../reconciler/up.js';
import type { ExecOptions } from '../../../agent/api/types.js';
import type { ComposeContext } from '../../compose-context.js';
import { table } from '../../format/ps.js';
import { serviceContainer } from './select.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `-e K=V` and `-e K` (taken from the environment), as docker does. */
export function envFlags(values: readonly string[], env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq > 0) out[v.slice(0, eq)] = v.slice(eq + 1);
    else if (env[v] !== undefined) out[v] = env[v] as string;
  }
  return out;
}

export interface ExecFlags {
  /** false with -T (--no-TTY). */
  TTY?: boolean;
  user?: string;
  workdir?: string;
  env: string[];
  index: string;
  detach?: boolean;
  privileged?: boolean;
}

export async function execCommand(ctx: ComposeContext, service: string, cmd: string[], flags: ExecFlags): Promise<number> {
  if (cmd.length === 0) throw new TscError('ERR_USAGE', 'exec requires a command: exec SERVICE COMMAND [ARGS...]');
  const agent = await ctx.agent();
  const c = await serviceContainer(agent, await ctx.projectName(), service, Number(flags.index));
  if (c.state !== 'running') throw new TscError('ERR_CONFLICT', `service "${service}" is not running`);
  const opts: ExecOptions = {
    cmd,
    env: envFlags(flags.env),
    ...(flags.user === undefined ? {} : { user: flags.user }),
    ...(flags.workdir === undefined ? {} : { workingDir: flags.workdir }),
    ...(flags.privileged === true ? { privileged: true } : {}),
  };
  // Attached unless -d: stdin always, a tty when ours is one and -T was not given. Privileged
  // processes go through the buffered path, which knows how to give every capability.
  if (flags.detach !== true && flags.privileged !== true) {
    return execAttached(ctx, c.id, { ...opts, tty: flags.TTY !== false && process.stdin.isTTY }, process.stdin);
  }
  const run = agent.exec(c.id, opts);
  if (flags.detach === true) {
    void run.catch(() => undefined);
    return 0;
  }
  const r = await run;
  ctx.stdout.write(r.stdout);
  ctx.stderr.write(r.stderr);
  return r.exitCode;
}

/**
 * `exec` attached, as docker compose runs it: stdin always goes to the process; with a
 * terminal on stdin (and no -T) the process gets a pty and ours is put in raw mode so keys
 * reach it as typed. The command's exit code is passed on.
 */
export async function execAttached(
  ctx: ComposeContext,
  id: string,
  opts: ExecOptions,
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown },
): Promise<number> {
  const agent = await ctx.agent();
  const out = ctx.stdout as NodeJS.WritableStream & { rows?: number; columns?: number; on?: (ev: 'resize', f: () => void) => unknown; off?: (ev: 'resize', f: () => void) => unknown };
  const size = opts.tty === true && out.rows !== undefined && out.columns !== undefined ? { rows: out.rows, cols: out.columns } : {};
  const session = await agent.execAttach(id, { ...opts, ...size, stdin: true });
  const raw = opts.tty === true && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode?.(true);
  // Our terminal's size follows the user's window, as docker's exec -it does.
  const onResize = () => {
    if (out.rows !== undefined && out.columns !== undefined) session.resize?.(out.rows, out.columns);
  };
  if (opts.tty === true) out.on?.('resize', onResize);
  stdin.pipe(session.stdin);
  session.stdout.pipe(ctx.stdout, { end: false });
  session.stderr.pipe(ctx.stderr, { end: false });
  try {
    return await session.exit;
  } finally {
    stdin.unpipe(session.stdin);
    if (opts.tty === true) out.off?.('resize', onResize);
    if (raw) stdin.setRawMode?.(false);
    stdin.pause();
  }
}

export interface RunFlags {
  rm?: boolean;
  deps?: boolean;
  env: string[];
  volume: string[];
  publish: string[];
  entrypoint?: string;
  name?: string;
  detach?: boolean;
  user?: string;
  workdir?: string;
  label: string[];
}

/** `-v SRC:DST[:ro]` on the run command line: a bind when SRC is a path, else a named volume. */
function volumeFlag(v: string, cwd: string) {
  const [source = '', target = '', mode] = v.split(':');
  if (target === '') throw new TscError('ERR_USAGE', `invalid volume "${v}": expected SOURCE:TARGET[:ro]`);
  const readOnly = mode === 'ro';
  if (source.startsWith('/') || source.startsWith('.')) {
    return { type: 'bind' as const, source: source.startsWith('.') ? `${cwd}/${source}` : source, target, readOnly, createHostPath: true };
  }
  return { type: 'volume' as const, source, target, readOnly };
}

function publishFlag(v: string) {
  const m = /^(?:([\d.]+):)?(?:(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(v);
  if (!m) throw new TscError('ERR_USAGE', `invalid port "${v}": expected [IP:][HOST:]CONTAINER[/PROTO]`);
  return { target: Number(m[3]), protocol: (m[4] ?? 'tcp') as 'tcp' | 'udp', hostIp: m[1] ?? '', published: m[2] ?? '' };
}

export async function runCommand(ctx: ComposeContext, service: string, cmd: string[], flags: RunFlags): Promise<number> {
  const loaded = await ctx.load([service]);
  const desired = desiredProject(loaded.project, ctx.desiredOptions(loaded));
  const svc = desired.services.find((s) => s.name === service);
  if (svc === undefined) throw new TscError('ERR_USAGE', `no such service: ${service}`);
  const agent = await ctx.agent();
  const deps = svc.dependsOn.map((d) => d.service).filter((d) => desired.services.some((s) => s.name === d));
  const reporter = ctx.reporter();
  try {
    const build = upBuildOption(agent, loaded.project, false, reporter);
    if (flags.deps !== false && deps.length > 0) await up(agent, desired, { ...DEFAULT_UP, services: deps, build }, reporter);
    else await up(agent, { ...desired, services: [] }, DEFAULT_UP, reporter);
    // the one-off container's own image: built or pulled as `up` would, if it is not here
    await ensureServiceImage(agent, svc, { ...DEFAULT_UP, build }, reporter);
  } finally {
    await reporter.close();
  }
  const base = svc.container(1);
  const name = flags.name ?? `${desired.name}-${service}-run-${randomBytes(6).toString('hex')}`;
  const spec = {
    ...base,
    name,
    labels: { ...base.labels, ...Object.fromEntries(flags.label.map((l) => l.split('=') as [string, string])), [LABEL.oneoff]: 'True', [LABEL.containerNumber]: '1' },
    env: { ...base.env, ...envFlags(flags.env) },
    ...(cmd.length > 0 ? { command: cmd } : {}),
    ...(flags.entrypoint === undefined ? {} : { entrypoint: [flags.entrypoint] }),
    ...(flags.user === undefined ? {} : { user: flags.user }),
    ...(flags.workdir === undefined ? {} : { workingDir: flags.workdir }),
    mounts: [...base.mounts, ...flags.volume.map((v) => volumeFlag(v, loaded.project.workingDir))],
    // docker compose run does not publish the service's ports unless --service-ports.
    ports: flags.publish.map(publishFlag),
    restartPolicy: { name: 'no' as const },
    // docker compose run is interactive (-i) unless detached: our stdin goes to the container.
    openStdin: flags.detach !== true || base.openStdin,
  };
  const { id } = await agent.createContainer(spec);
  await agent.startContainer(id);
  if (flags.detach === true) {
    ctx.stdout.write(`${name}\n`);
    return 0;
  }
  const input = spec.tty
    ? undefined
    : await agent.attachContainer(id, { stdin: true }).catch((e: unknown) => {
        ctx.stderr.write(`WARN[0000] stdin not attached: ${e instanceof Error ? e.message : String(e)}\n`);
        return undefined;
      });
  if (input !== undefined) {
    process.stdin.pipe(input.stdin);
    void input.exit.catch(() => undefined).finally(() => {
      process.stdin.unpipe(input.stdin);
      process.stdin.pause();
    });
  }
  const stop = new AbortController();
  const follow = (async () => {
    for await (const l of agent.logs(id, { follow: true, signal: stop.signal })) (l.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${l.line}\n`);
  })();
  const { exitCode } = await agent.waitContainer(id, 'not-running');
  await new Promise((r) => setTimeout(r, 200));
  stop.abort();
  await follow;
  if (flags.rm === true) await agent.removeContainer(id, { force: true });
  return exitCode;
}

export function registerExecRun(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('exec')
    .description('Execute a command in a running container')
    .argument('<service>')
    .argument('[command...]')
    .option('-T, --no-TTY', 'Disable pseudo-TTY allocation')
    .option('-u, --user <user>', 'Run the command as this user')
    .option('-w, --workdir <dir>', 'Path to workdir directory for this command')
    .option('-e, --env <KEY=VAL>', 'Set environment variables', collect, [])
    .option('--index <index>', 'Index of the container if service has multiple replicas', '1')
    .option('-d, --detach', 'Detached mode: Run command in the background')
    .option('--privileged', 'Give extended privileges to the process')
    .passThroughOptions()
    .action(async (service: string, command: string[], flags: ExecFlags, cmd: Command) => setExit(await execCommand(ctx(cmd), service, command, flags)));
  program
    .command('run')
    .description('Run a one-off command on a service')
    .argument('<service>')
    .argument('[command...]')
    .option('--rm', 'Automatically remove the container when it exits')
    .option('--no-deps', "Don't start linked services")
    .option('-e, --env <KEY=VAL>', 'Set environment variables', collect, [])
    .option('-v, --volume <SRC:DST>', 'Bind mount a volume', collect, [])
    .option('-p, --publish <PORT>', "Publish a container's port(s) to the host", collect, [])
    .option('-l, --label <KEY=VAL>', 'Add or override a label', collect, [])
    .option('--entrypoint <cmd>', 'Override the entrypoint of the image')
    .option('--name <name>', 'Assign a name to the container')
    .option('-d, --detach', 'Run container in background and print container ID')
    .option('-u, --user <user>', 'Run as specified username or uid')
    .option('-w, --workdir <dir>', 'Working directory inside the container')
    .passThroughOptions()
    .action(async (service: string, command: string[], flags: RunFlags, cmd: Command) => setExit(await runCommand(ctx(cmd), service, command, flags)));
  program
    .command('events')
    .description('Receive real time events from containers')
    .argument('[services...]')
    .option('--json', 'Output events as a stream of json objects')
    .action(async (services: string[], flags: { json?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const project = await c.projectName();
      for await (const e of agent.events({ label: [`${LABEL.project}=${project}`] })) {
        const service = e.attributes[LABEL.service] ?? '';
        if (services.length > 0 && !services.includes(service)) continue;
        if (flags.json === true) {
          c.stdout.write(`${JSON.stringify({ time: e.time, type: e.type, action: e.action, id: e.id, service, attributes: e.attributes })}\n`);
        } else {
          const attrs = Object.entries(e.attributes).filter(([k]) => !k.startsWith('com.docker.compose.')).map(([k, v]) => `${k}=${v}`).join(', ');
          c.stdout.write(`${e.time} ${e.type} ${e.action} ${e.id} (${attrs})\n`);
        }
      }
      setExit(0);
    });
  program
    .command('ls')
    .description('List running compose projects')
    .option('-a, --all', 'Show all stopped Compose projects')
    .option('--format <format>', 'Format the output. Values: [table | json]', 'table')
    .option('-q, --quiet', 'Only display IDs')
    .action(async (flags: { all?: boolean; format: string; quiet?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const projects = new Map<string, { states: Map<string, number>; files: string }>();
      for (const x of await agent.listContainers({ all: true, label: [LABEL.project] })) {
        const name = x.labels[LABEL.project] ?? '';
        const p = projects.get(name) ?? { states: new Map<string, number>(), files: x.labels[LABEL.configFiles] ?? '' };
        p.states.set(x.state, (p.states.get(x.state) ?? 0) + 1);
        projects.set(name, p);
      }
      const rows = [...projects.entries()]
        .filter(([, p]) => flags.all === true || p.states.has('running'))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, p]) => ({ Name: name, Status: [...p.states.entries()].map(([s, n]) => `${s}(${n})`).join(', '), ConfigFiles: p.files }));
      if (flags.quiet === true) c.stdout.write(rows.map((r) => `${r.Name}\n`).join(''));
      else if (flags.format === 'json') c.stdout.write(`${JSON.stringify(rows)}\n`);
      else c.stdout.write(table(['NAME', 'STATUS', 'CONFIG FILES'], rows.map((r) => [r.Name, r.Status, r.ConfigFiles])));
      setExit(0);
    });
}
