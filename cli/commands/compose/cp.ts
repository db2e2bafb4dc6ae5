/**
 * `cp`: files between a service container and the host, either way, as docker compose cp.
 * `SERVICE:SRC DEST` or `SRC SERVICE:DEST`; `-a` keeps owners, `-L` follows a link named as
 * the source, `--index` picks the replica, `--all` copies to every replica.
 */
import { resolve } from 'node:path';

import type { Command } from 'commander';

import { TscError } from '../../../lib/errors.js';
import type { ComposeContext } from '../../compose-context.js';
import { projectContainers } from './select.js';

/** `service:path` (a container side), else a host path; docker's rule: a path starting with / or . is local. */
export function splitCopyArg(arg: string): { service: string; path: string } | { host: string } {
  if (arg.startsWith('/') || arg.startsWith('.')) return { host: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { host: arg };
  return { service: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export interface CpFlags {
  archive?: boolean;
  followLink?: boolean;
  index?: string;
  all?: boolean;
}

/** A host path as the agent (on this host, elsewhere in the file tree) must see it; a trailing / or /. is kept. */
function hostPath(p: string): string {
  const tail = p.endsWith('/.') ? '/.' : p.endsWith('/') ? '/' : '';
  const abs = resolve(p);
  return abs === '/' ? '/' : abs + tail;
}

export async function cpCommand(ctx: ComposeContext, source: string, dest: string, flags: CpFlags): Promise<number> {
  const from = splitCopyArg(source);
  const to = splitCopyArg(dest);
  if ('service' in from === 'service' in to) throw new TscError('ERR_USAGE', 'copying between services is not supported: name one side as SERVICE:PATH and the other a local path');
  if (source === '-' || dest === '-') throw new TscError('ERR_UNSUPPORTED', 'cp with - (a tar stream on stdin/stdout) is not supported yet');
  const agent = await ctx.agent();
  const project = await ctx.projectName();
  const service = 'service' in from ? from.service : 'service' in to ? to.service : '';
  const index = flags.index === undefined ? undefined : Number(flags.index);
  const all = await projectContainers(agent, project, { services: [service], all: true });
  const chosen = flags.all === true && 'service' in to ? all : all.filter((c) => index === undefined || Number(c.labels['com.docker.compose.container-number']) === index).slice(0, 1);
  if (chosen.length === 0) throw new TscError('ERR_NOT_FOUND', `no container found for service "${service}"`);
  const opts = { ...(flags.archive === true ? { archive: true } : {}), ...(flags.followLink === true ? { followLink: true } : {}) };
  for (const c of chosen) {
    if ('service' in from && 'host' in to) await agent.copyFromContainer(c.id, from.path, hostPath(to.host), opts);
    else if ('host' in from && 'service' in to) await agent.copyToContainer(c.id, hostPath(from.host), to.path, opts);
  }
  return 0;
}

export function registerCp(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('cp')
    .description('Copy files/folders between a service container and the local filesystem')
    .argument('<source>', 'SERVICE:SRC_PATH or a local path')
    .argument('<dest>', 'a local path or SERVICE:DEST_PATH')
    .option('-a, --archive', 'Archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'Always follow symbol link in SRC_PATH')
    .option('--index <index>', 'Index of the container if service has multiple replicas')
    .option('--all', 'Include containers created by the run command')
    .action(async (source: string, dest: string, flags: CpFlags, cmd: Command) => setExit(await cpCommand(ctx(cmd), source, dest, flags)));
}
