/**
 * `attach SERVICE`: follow one container's output from now on until it exits, and exit with
 * its exit code, as `docker compose attach` does. With `--sig-proxy` (the default) Ctrl-C is
 * passed to the container as SIGINT instead of ending the command. A container with a terminal
 * (`tty: true`) is joined to ours (`terminal-relay.ts`): with `stdin_open` and our stdin a
 * terminal, keys go to it as typed until the detach keys (Ctrl-P Ctrl-Q) let go.
 */
import type { Command } from 'commander';

import type { AgentApi, LogLine } from '../../../agent/api/types.js';
import type { ComposeContext } from '../../compose-context.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from './detach-keys.js';
import { serviceContainer } from './select.js';
import { relayTerminal, type TerminalIn, type TerminalOut } from './terminal-relay.js';

export interface AttachFlags {
  index?: string;
  /** false under --sig-proxy=false */
  sigProxy?: boolean;
  /** false under --no-stdin */
  stdin?: boolean;
  detachKeys?: string;
}

/**
 * Print what container `id` writes until it stops (from `since`, default now; `fromStart`: its
 * whole log); resolves with its exit code.
 */
export async function followUntilExit(
  agent: AgentApi,
  id: string,
  write: (l: LogLine) => void,
  opts: { since?: string; fromStart?: boolean; signal?: AbortSignal } = {},
): Promise<number> {
  const since = opts.fromStart === true ? undefined : (opts.since ?? new Date().toISOString());
  // Asked first: the exit the log stream ends at is the one this resolves with.
  const exited = agent.waitContainer(id, 'not-running');
  exited.catch(() => undefined);
  for await (const l of agent.logs(id, { follow: true, untilStopped: true, ...(since === undefined ? {} : { since }), ...(opts.signal === undefined ? {} : { signal: opts.signal }) })) write(l);
  return (await exited).exitCode;
}

export async function attachCommand(ctx: ComposeContext, service: string, flags: AttachFlags): Promise<number> {
  const agent = await ctx.agent();
  const c = await serviceContainer(agent, await ctx.projectName(), service, flags.index === undefined ? 1 : Number(flags.index));
  const { spec } = await agent.inspectContainer(c.id);
  if (spec.tty) {
    const keys = parseDetachKeys(flags.detachKeys ?? DEFAULT_DETACH_KEYS);
    const stdin = process.stdin as TerminalIn;
    // keys only from a terminal: a closed or piped stdin would end the container's input
    const input = flags.stdin !== false && spec.openStdin && stdin.isTTY === true;
    const session = await agent.attachContainer(c.id, { stdin: input });
    const r = await relayTerminal(session, {
      stdin,
      stdout: ctx.stdout as TerminalOut,
      input,
      detachKeys: keys,
      ...(flags.sigProxy === false ? {} : { forwardSignal: (sig: NodeJS.Signals) => void agent.killContainer(c.id, sig).catch(() => undefined) }),
    });
    return 'detached' in r ? 0 : r.exitCode;
  }
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
    .option('--detach-keys <keys>', 'Override the key sequence for detaching from a container', DEFAULT_DETACH_KEYS)
    .action(async (service: string, flags: AttachFlags, cmd: Command) => setExit(await attachCommand(ctx(cmd), service, flags)));
}
