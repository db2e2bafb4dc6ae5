/** `exec`, `events` and `ls` (`run` is in run.ts). */
import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import { LABEL } from '../../../reconciler/labels.js';
import type { ExecOptions } from '../../../agent/api/types.js';
import type { ComposeContext } from '../../compose-context.js';
import { table } from '../../format/ps.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js';
import { serviceContainer } from './select.js';
import { relayTerminal, terminalSize, type TerminalIn, type TerminalOut } from './terminal-relay.js';

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
 * terminal on stdin (and no -T) the process gets a pty joined to ours as `run` joins one (raw
 * keys, resizes, Ctrl-P Ctrl-Q to detach and leave it running, as `docker exec` does). The
 * command's exit code is passed on.
 */
export async function execAttached(ctx: ComposeContext, id: string, opts: ExecOptions, stdin: TerminalIn): Promise<number> {
  const agent = await ctx.agent();
  const terminal = opts.tty === true && stdin.isTTY === true;
  const size = terminal ? terminalSize(ctx.stdout as TerminalOut) : undefined;
  const session = await agent.execAttach(id, { ...opts, tty: terminal, ...(size ?? {}), stdin: true });
  if (terminal) {
    const r = await relayTerminal(session, { stdin, stdout: ctx.stdout as TerminalOut, input: true, detachKeys: parseDetachKeys(DEFAULT_DETACH_KEYS) });
    return 'detached' in r ? 0 : r.exitCode;
  }
  stdin.pipe(session.stdin);
  session.stdout.pipe(ctx.stdout, { end: false });
  session.stderr.pipe(ctx.stderr, { end: false });
  try {
    return await session.exit;
  } finally {
    stdin.unpipe(session.stdin);
    stdin.pause();
  }
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
