/**
 * `attach SERVICE`: follow one container's output from now on until it exits, and exit with
 * its exit code, as `docker compose attach` does. With `--sig-proxy` (the default) Ctrl-C is
 * passed to the container as SIGINT instead of ending the command.
 */
import type { Command } from 'commander';

import type { AgentApi, LogLine } from '../../../agent/api/types.js';
import type { ComposeContext } from '../../compose-context.js';
import { serviceContainer } from './select.js';

export interface AttachFlags {
  index?: string;
  /** false under --sig-proxy=false */
  sigProxy?: boolean;
}

/** Print what container `id` writes until it stops; resolves with its exit code. */
export async function followUntilExit(agent: AgentApi, id: string, write: (l: LogLine) => void, opts: { since?: string; signal?: AbortSignal } = {}): Promise<number> {
  const stop = new AbortController();
  opts.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const since = opts.since ?? new Date().toISOString();
  const follow = (async () => {
    for await (const l of agent.logs(id, { follow: true, since, signal: stop.signal })) write(l);
  })();
  try {
    const { exitCode } = await agent.waitContainer(id, 'not-running');
    // the monitor writes a container's last lines before its exit status: let them arrive
    await new Promise((r) => setTimeout(r, 200));
    return exitCode;
  } finally {
    stop.abort();
    await follow;
  }
}

export async function attachCommand(ctx: ComposeContext, service: string, flags: AttachFlags): Promise<number> {
  const agent = await ctx.agent();
  const c = await serviceContainer(agent, await ctx.projectName(), service, flags.index === undefined ? 1 : Number(flags.index));
  const onSigint = (): void => {
    void agent.killContainer(c.id, 'SIGINT').catch(() => undefined);
  };
  if (flags.sigProxy !== false) process.on('SIGINT', onSigint);
  try {
    return await followUntilExit(agent, c.id, (l) => ctx.stdout.write(`${l.line}\n`));
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerAttach(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  program
    .command('attach')
    .description("Attach local standard input, output, and error streams to a service's running container")
    .argument('<service>')
    .option('--index <n>', 'index of the container if service has multiple replicas')
    .option('--sig-proxy <bool>', 'Proxy all received signals to the process', (v) => v !== 'false', true)
    .option('--no-stdin', 'Do not attach STDIN')
    .action(async (service: string, flags: AttachFlags, cmd: Command) => setExit(await attachCommand(ctx(cmd), service, flags)));
}
