/**
 * `run`: a one-off container of a service, as docker compose runs it. With a terminal on our
 * stdin and stdout (and no -T) the container gets a pty of its own, sized as our window, and
 * our terminal is joined to it (`terminal-relay.ts`): keys as typed, Ctrl-C included, resizes,
 * Ctrl-P Ctrl-Q to detach. Otherwise our stdin is piped into the container (`-i`, the default)
 * and its output printed from its log. The container's exit code is ours.
 */
import { followUntilExit } from './attach.js';
import { randomBytes } from 'node:crypto';

import type { Command } from 'commander';

import type { AgentApi } from '../../../agent/api/types.js';
import { TscError } from '../../../lib/errors.js';
import { upBuildOption } from '../../../reconciler/build-services.js';
import { desiredProject } from '../../../reconciler/from-project.js';
import { LABEL } from '../../../reconciler/labels.js';
import { DEFAULT_UP, ensureServiceImage, up } from '../../../reconciler/up.js';
import type { ComposeContext } from '../../compose-context.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js';
import { envFlags } from './exec-run.js';
import { relayTerminal, terminalSize, type TerminalIn, type TerminalOut } from './terminal-relay.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
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
  /** false with -T (--no-TTY). */
  TTY?: boolean;
  /** -i (the default): our stdin goes to the container; false with --no-interactive. */
  interactive?: boolean;
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

/** Our terminal joined to the container's; undefined when it detached. */
async function runAttachedToTerminal(ctx: ComposeContext, agent: AgentApi, id: string, input: boolean): Promise<number | undefined> {
  // Started already: ask for what its terminal showed since, so that its first prompt is seen.
  const session = await agent.attachContainer(id, { stdin: input, fromStart: true }).catch(async (e: unknown) => {
    const state = (await agent.inspectContainer(id).catch(() => undefined))?.state;
    // gone before we came (a short command): its whole output is in its log
    if (state?.running === true) ctx.stderr.write(`WARN[0000] terminal not attached: ${e instanceof Error ? e.message : String(e)}\n`);
    return undefined;
  });
  if (session === undefined) return followUntilExit(agent, id, (l) => (l.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${l.line}\n`), { fromStart: true });
  const r = await relayTerminal(session, {
    stdin: process.stdin as TerminalIn,
    stdout: ctx.stdout as TerminalOut,
    input,
    detachKeys: parseDetachKeys(DEFAULT_DETACH_KEYS),
    forwardSignal: (sig) => void agent.killContainer(id, sig).catch(() => undefined),
  });
  return 'detached' in r ? undefined : r.exitCode;
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
  // docker compose run: a pty unless -T, when our terminal is one (detached: the service's tty key)
  const stdout = ctx.stdout as TerminalOut;
  const size = terminalSize(stdout);
  const tty = flags.detach === true ? base.tty : flags.TTY !== false && process.stdin.isTTY === true && size !== undefined;
  // -i (the default) unless detached: our stdin goes to the container.
  const openStdin = (flags.detach !== true && flags.interactive !== false) || base.openStdin;
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
    tty,
    openStdin,
    ...(tty && size !== undefined && flags.detach !== true ? { consoleSize: size } : {}),
  };
  const { id } = await agent.createContainer(spec);
  await agent.startContainer(id);
  if (flags.detach === true) {
    ctx.stdout.write(`${name}\n`);
    return 0;
  }
  if (tty) {
    const exitCode = await runAttachedToTerminal(ctx, agent, id, flags.interactive !== false);
    // detached (Ctrl-P Ctrl-Q): the container runs on, and stays
    if (exitCode === undefined) return 0;
    if (flags.rm === true) await agent.removeContainer(id, { force: true });
    return exitCode;
  }
  const input = !openStdin || flags.interactive === false
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
  const exitCode = await followUntilExit(agent, id, (l) => (l.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${l.line}\n`), { fromStart: true });
  if (flags.rm === true) await agent.removeContainer(id, { force: true });
  return exitCode;
}

export function registerRun(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
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
    .option('-i, --interactive', 'Keep STDIN open even if not attached (default true)', true)
    .option('--no-interactive', 'Do not keep STDIN open')
    .option('-t, --tty', 'Allocate a pseudo-TTY (default: when stdin and stdout are terminals)')
    .option('-T, --no-TTY', 'Disable pseudo-TTY allocation (default: auto-detected)')
    .passThroughOptions()
    .action(async (service: string, command: string[], flags: RunFlags, cmd: Command) => setExit(await runCommand(ctx(cmd), service, command, flags)));
}
