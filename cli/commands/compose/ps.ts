/** `ps` and `logs`. */
import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import { LABEL } from '../../../reconciler/labels.js';
import type { ComposeContext } from '../../compose-context.js';
import { createPrefixer, useColor } from '../../format/log-prefix.js';
import { portsText, psRow, psTable } from '../../format/ps.js';
import { projectContainers } from './select.js';

export interface PsFlags {
  all?: boolean;
  format?: string;
  services?: boolean;
  status: string[];
  quiet?: boolean;
}

const STATUSES = ['paused', 'restarting', 'removing', 'running', 'dead', 'created', 'exited'];

export async function psCommand(ctx: ComposeContext, services: string[], flags: PsFlags): Promise<number> {
  for (const s of flags.status) if (!STATUSES.includes(s)) throw new TscError('ERR_USAGE', `invalid filter 'status=${s}'`);
  const name = await ctx.projectName();
  const agent = await ctx.agent();
  let list = await projectContainers(agent, name, { services, all: flags.all === true || flags.status.length > 0 });
  if (flags.status.length > 0) list = list.filter((c) => flags.status.includes(c.state));
  if (flags.services === true) {
    ctx.stdout.write([...new Set(list.map((c) => c.labels[LABEL.service] ?? ''))].map((s) => `${s}\n`).join(''));
    return 0;
  }
  if (flags.quiet === true) {
    ctx.stdout.write(list.map((c) => `${c.id}\n`).join(''));
    return 0;
  }
  const now = Date.now();
  const commands = await Promise.all(
    list.map(async (c) => {
      const ins = await agent.inspectContainer(c.id).catch(() => undefined);
      return [...(ins?.spec.entrypoint ?? []), ...(ins?.spec.command ?? [])].join(' ');
    }),
  );
  const rows = list.map((c, i) => psRow(c, commands[i] ?? '', now));
  if (flags.format === 'json') {
    ctx.stdout.write(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  } else if (flags.format === undefined || flags.format === 'table') {
    ctx.stdout.write(psTable(rows, list.map(portsText)));
  } else {
    throw new TscError('ERR_USAGE', `unsupported format "${flags.format}": use table or json`);
  }
  return 0;
}

export interface LogsFlags {
  follow?: boolean;
  tail?: string;
  since?: string;
  until?: string;
  timestamps?: boolean;
  color?: boolean;
  logPrefix?: boolean;
  index?: string;
}

/** `--since 10m` or an RFC 3339 time, as docker accepts them. */
export function sinceTime(v: string | undefined, now: number): string | undefined {
  if (v === undefined) return undefined;
  const rel = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(v);
  if (rel) return new Date(now - Number(rel[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[rel[2] as 's' | 'm' | 'h']).toISOString();
  if (Number.isNaN(Date.parse(v))) throw new TscError('ERR_USAGE', `invalid time "${v}": use a duration like 10m or an RFC 3339 time`);
  return v;
}

export async function logsCommand(ctx: ComposeContext, services: string[], flags: LogsFlags): Promise<number> {
  const name = await ctx.projectName();
  const agent = await ctx.agent();
  const list = await projectContainers(agent, name, { services, all: true, ...(flags.index === undefined ? {} : { index: Number(flags.index) }) });
  const prefix = createPrefixer(
    list.map((c) => c.name),
    { color: useColor(ctx.stdout, flags.color === false), prefix: flags.logPrefix !== false, timestamps: flags.timestamps === true },
  );
  const now = Date.now();
  const tail = flags.tail === undefined || flags.tail === 'all' ? undefined : Number(flags.tail);
  const since = sinceTime(flags.since, now);
  const until = sinceTime(flags.until, now);
  await Promise.all(
    list.map(async (c) => {
      for await (const l of agent.logs(c.id, {
        ...(flags.follow === true ? { follow: true } : {}),
        ...(tail === undefined ? {} : { tail }),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
      })) {
        (l.stream === 'stderr' ? ctx.stderr : ctx.stdout).write(`${prefix(c.name, l.line, l.time)}\n`);
      }
    }),
  );
  return 0;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerPsLogs(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('ps')
    .description('List containers')
    .argument('[services...]')
    .option('-a, --all', 'Show all stopped containers (including those created by the run command)')
    .option('--format <format>', 'Format the output. Values: [table | json]')
    .option('--services', 'Display services')
    .option('--status <status>', 'Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]', collect, [])
    .option('-q, --quiet', 'Only display IDs')
    .action(async (services: string[], flags: PsFlags, cmd: Command) => setExit(await psCommand(ctx(cmd), services, flags)));
  program
    .command('logs')
    .description('View output from containers')
    .argument('[services...]')
    .option('-f, --follow', 'Follow log output')
    .option('-n, --tail <lines>', 'Number of lines to show from the end of the logs for each container', 'all')
    .option('--since <time>', 'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)')
    .option('--until <time>', 'Show logs before a timestamp or relative')
    .option('-t, --timestamps', 'Show timestamps')
    .option('--no-color', 'Produce monochrome output')
    .option('--no-log-prefix', "Don't print prefix in logs")
    .option('--index <index>', 'index of the container if service has multiple replicas')
    .action(async (services: string[], flags: LogsFlags, cmd: Command) => setExit(await logsCommand(ctx(cmd), services, flags)));
}
