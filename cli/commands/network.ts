/**
 * `network inspect|prune|connect|disconnect`, as `docker network` has them. Registered on the
 * `network` group that resources.ts makes (ls, create, rm live there).
 */
import type { Command } from 'commander';

import type { ComposeContext } from '../compose-context.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerNetworkCommands(network: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  network
    .command('inspect')
    .description('Display detailed information on one or more networks')
    .argument('<networks...>')
    .action(async (names: string[], _f: object, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const out = [];
      for (const n of names) out.push(await agent.inspectNetwork(n));
      c.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      setExit(0);
    });
  network
    .command('prune')
    .description('Remove all unused networks')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <label=K[=V]>', 'Provide filter values (e.g. "label=<key>=<value>")', collect, [])
    .action(async (f: { filter: string[] }, cmd: Command) => {
      const c = ctx(cmd);
      const label = f.filter.filter((x) => x.startsWith('label=')).map((x) => x.slice('label='.length));
      const gone = await (await c.agent()).pruneNetworks(label.length === 0 ? undefined : { label });
      if (gone.length > 0) c.stdout.write(`Deleted Networks:\n${gone.map((n) => `${n}\n`).join('')}`);
      setExit(0);
    });
  network
    .command('connect')
    .description('Connect a container to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--alias <name>', 'Add network-scoped alias for the container', collect, [])
    .option('--ip <address>', 'IPv4 address (e.g. "172.30.100.104")')
    .option('--ip6 <address>', 'IPv6 address (e.g. "2001:db8::33")')
    .action(async (net: string, container: string, f: { alias: string[]; ip?: string; ip6?: string }, cmd: Command) => {
      const c = ctx(cmd);
      await (await c.agent()).connectNetwork(net, container, {
        aliases: f.alias,
        ...(f.ip === undefined ? {} : { ipv4Address: f.ip }),
        ...(f.ip6 === undefined ? {} : { ipv6Address: f.ip6 }),
      });
      setExit(0);
    });
  network
    .command('disconnect')
    .description('Disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'Force the container to disconnect from a network')
    .action(async (net: string, container: string, f: { force?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      await (await c.agent()).disconnectNetwork(net, container, { force: f.force === true });
      setExit(0);
    });
}
