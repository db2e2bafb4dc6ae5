/** `network` and `volume` command groups, as `docker compose` and `docker` name them. */
import type { Command } from 'commander';

import type { ComposeContext } from '../compose-context.js';
import { TscError } from '../../lib/errors.js';
import { table } from '../format/ps.js';
import { formatSize } from '../format/size.js';
import { registerNetworkCommands } from './network.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function labelsOf(values: readonly string[]): Record<string, string> {
  return Object.fromEntries(values.map((l) => {
    const eq = l.indexOf('=');
    return eq < 0 ? [l, ''] : [l.slice(0, eq), l.slice(eq + 1)];
  }));
}

export function registerResources(program: Command, ctx: (cmd: Command) => ComposeContext, setExit: (code: number) => void): void {
  const network = program.command('network').description('Manage networks');
  network
    .command('ls')
    .description('List networks')
    .option('-q, --quiet', 'Only display network names')
    .action(async (flags: { quiet?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const nets = await (await c.agent()).listNetworks();
      if (flags.quiet === true) c.stdout.write(nets.map((n) => `${n.name}\n`).join(''));
      else c.stdout.write(table(['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET'], nets.map((n) => [n.id.slice(0, 12), n.name, n.driver, n.subnets.join(',')])));
      setExit(0);
    });
  network
    .command('create')
    .description('Create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'Driver to manage the Network', 'bridge')
    .option('--subnet <cidr>', 'Subnet in CIDR format')
    .option('--gateway <ip>', 'IPv4 or IPv6 Gateway for the master subnet')
    .option('--internal', 'Restrict external access to the network')
    .option('--attachable', 'Enable manual container attachment')
    .option('--ipv6', 'Enable IPv6 networking')
    .option('--label <K=V>', 'Set metadata on a network', collect, [])
    .action(async (name: string, f: { driver: string; subnet?: string; gateway?: string; internal?: boolean; attachable?: boolean; ipv6?: boolean; label: string[] }, cmd: Command) => {
      const c = ctx(cmd);
      const n = await (await c.agent()).createNetwork({
        name,
        driver: f.driver,
        driverOpts: {},
        labels: labelsOf(f.label),
        internal: f.internal === true,
        attachable: f.attachable === true,
        enableIpv6: f.ipv6 === true,
        ipam: { driver: 'default', config: f.subnet === undefined ? [] : [{ subnet: f.subnet, ...(f.gateway === undefined ? {} : { gateway: f.gateway }) }] },
      });
      c.stdout.write(`${n.id}\n`);
      setExit(0);
    });
  network
    .command('rm')
    .description('Remove one or more networks')
    .argument('<names...>')
    .action(async (names: string[], _f: object, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      for (const n of names) {
        await agent.removeNetwork(n);
        c.stdout.write(`${n}\n`);
      }
      setExit(0);
    });

  registerNetworkCommands(network, ctx, setExit);

  const volume = program.command('volume').description('Manage volumes');
  volume
    .command('ls')
    .description('List volumes')
    .option('-q, --quiet', 'Only display volume names')
    .action(async (flags: { quiet?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const vols = await (await c.agent()).listVolumes();
      if (flags.quiet === true) c.stdout.write(vols.map((v) => `${v.name}\n`).join(''));
      else c.stdout.write(table(['DRIVER', 'VOLUME NAME'], vols.map((v) => [v.driver, v.name])));
      setExit(0);
    });
  volume
    .command('create')
    .description('Create a volume')
    .argument('<name>')
    .option('--label <K=V>', 'Set metadata for a volume', collect, [])
    .action(async (name: string, f: { label: string[] }, cmd: Command) => {
      const c = ctx(cmd);
      const v = await (await c.agent()).createVolume({ name, driver: 'local', driverOpts: {}, labels: labelsOf(f.label) });
      c.stdout.write(`${v.name}\n`);
      setExit(0);
    });
  volume
    .command('inspect')
    .description('Display detailed information on one or more volumes')
    .argument('<names...>')
    .action(async (names: string[], _f: object, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      const out = [];
      for (const n of names) {
        const v = await agent.inspectVolume(n);
        out.push({ CreatedAt: v.createdAt, Driver: v.driver, Labels: v.labels, Mountpoint: v.mountpoint, Name: v.name, Options: v.driverOpts, Scope: 'local' });
      }
      c.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
      setExit(0);
    });
  volume
    .command('prune')
    .description('Remove unused local volumes (anonymous ones only, unless --all)')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect, [])
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (f: { all?: boolean; filter: string[] }, cmd: Command) => {
      const c = ctx(cmd);
      const label = f.filter.map((x) => {
        if (!x.startsWith('label=')) throw new TscError('ERR_USAGE', `invalid filter "${x}": only label=<key>[=<value>] is supported`);
        return x.slice('label='.length);
      });
      const r = await (await c.agent()).pruneVolumes({ all: f.all === true, filter: { label } });
      if (r.removed.length > 0) c.stdout.write(`Deleted Volumes:\n${r.removed.map((n) => `${n}\n`).join('')}\n`);
      c.stdout.write(`Total reclaimed space: ${formatSize(r.reclaimedBytes)}\n`);
      setExit(0);
    });
  volume
    .command('rm')
    .description('Remove one or more volumes')
    .argument('<names...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[], f: { force?: boolean }, cmd: Command) => {
      const c = ctx(cmd);
      const agent = await c.agent();
      for (const n of names) {
        await agent.removeVolume(n, { force: f.force === true });
        c.stdout.write(`${n}\n`);
      }
      setExit(0);
    });
}
