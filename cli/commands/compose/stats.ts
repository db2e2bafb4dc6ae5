/**
 * `stats`: CPU %, memory, network and block I/O and pids of the project's containers, figured
 * as `docker stats` figures them from two readings (CPU % is the container's share of the
 * host's CPU time between them, times the CPUs online).
 */
import type { Command } from 'commander';

import type { ContainerStatsSample, ContainerSummary } from '../../../agent/api/types.js';
import { TscError } from '../../../lib/errors.js';
import type { ComposeContext } from '../../compose-context.js';
import { table } from '../../format/ps.js';
import { projectContainers } from './select.js';

export interface StatsRow {
  BlockIO: string;
  CPUPerc: string;
  Container: string;
  ID: string;
  MemPerc: string;
  MemUsage: string;
  Name: string;
  NetIO: string;
  PIDs: string;
}

/** docker's units.HumanSize: decimal units, 4 significant digits ("1.2kB", "648B"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** docker's units.BytesSize: binary units ("3.516MiB", "7.668GiB"). */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** One row from a container's reading and the one before it (none: CPU % 0, as docker's first frame). */
export function statsRow(c: Pick<ContainerSummary, 'id' | 'name'>, cur: ContainerStatsSample, prev: ContainerStatsSample | undefined): StatsRow {
  let cpu = 0;
  if (prev !== undefined) {
    const cpuDelta = cur.cpu.totalUsageNs - prev.cpu.totalUsageNs;
    const sysDelta = cur.cpu.systemUsageNs - prev.cpu.systemUsageNs;
    if (cpuDelta > 0 && sysDelta > 0) cpu = (cpuDelta / sysDelta) * cur.cpu.onlineCpus * 100;
  }
  // docker: the page cache it can drop does not count (inactive_file, total_inactive_file on v1).
  const used = cur.memory.inactiveFile < cur.memory.usage ? cur.memory.usage - cur.memory.inactiveFile : cur.memory.usage;
  const memPerc = cur.memory.limit > 0 ? (used / cur.memory.limit) * 100 : 0;
  return {
    BlockIO: `${humanSize(cur.blockIo.readBytes)} / ${humanSize(cur.blockIo.writeBytes)}`,
    CPUPerc: `${cpu.toFixed(2)}%`,
    Container: c.id.slice(0, 12),
    ID: c.id.slice(0, 12),
    MemPerc: `${memPerc.toFixed(2)}%`,
    MemUsage: `${bytesSize(used)} / ${bytesSize(cur.memory.limit)}`,
    Name: c.name,
    NetIO: `${humanSize(cur.network.rxBytes)} / ${humanSize(cur.network.txBytes)}`,
    PIDs: String(cur.pids),
  };
}

export function statsTable(rows: readonly StatsRow[]): string {
  return table(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'],
    rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs]),
  );
}

export interface StatsFlags {
  all?: boolean;
  stream?: boolean;
  format: string;
  /** Between two readings (ms); docker reads once a second. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export async function statsCommand(ctx: ComposeContext, services: string[], flags: StatsFlags): Promise<number> {
  if (flags.format !== 'table' && flags.format !== 'json') throw new TscError('ERR_USAGE', `unsupported format "${flags.format}": use table or json`);
  const agent = await ctx.agent();
  const containers = await projectContainers(agent, await ctx.projectName(), { services, all: flags.all === true });
  const interval = flags.intervalMs ?? 1000;
  const read = async () =>
    new Map(
      await Promise.all(
        containers.filter((c) => c.state === 'running').map(async (c) => [c.id, await agent.statsContainer(c.id).catch(() => undefined)] as const),
      ),
    );
  let prev = await read();
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    const cur = await read();
    const zero: ContainerStatsSample = { read: '', cpu: { totalUsageNs: 0, systemUsageNs: 0, onlineCpus: 0 }, memory: { usage: 0, limit: 0, inactiveFile: 0 }, network: { rxBytes: 0, txBytes: 0 }, blockIo: { readBytes: 0, writeBytes: 0 }, pids: 0 };
    const rows = containers.map((c) => {
      const s = cur.get(c.id);
      return s === undefined ? { ...statsRow(c, zero, undefined), CPUPerc: '--', MemUsage: '-- / --', MemPerc: '--', NetIO: '--', BlockIO: '--', PIDs: '--' } : statsRow(c, s, prev.get(c.id));
    });
    const text = flags.format === 'json' ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : statsTable(rows);
    if (flags.stream === false || flags.signal?.aborted === true) {
      ctx.stdout.write(text);
      return 0;
    }
    // A live view redraws in place, as docker stats does on a terminal.
    ctx.stdout.write(ctx.stdout.isTTY === true ? `\x1b[2J\x1b[H${text}` : text);
    prev = cur;
  }
}

export function registerStats(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('stats')
    .description('Display a live stream of container(s) resource usage statistics')
    .argument('[services...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--format <format>', 'Format output: table or json', 'table')
    .action(async (services: string[], flags: StatsFlags, cmd: Command) => setExit(await statsCommand(ctx(cmd), services, flags)));
}
