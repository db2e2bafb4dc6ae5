/**
 * `NetworkService` (backends.ts) over the host's network manager (`overlay/host-networking.ts`):
 * bridges, nftables and the embedded DNS. Each container gets a network namespace of its own
 * (`ip netns add tsc-<id>`), which the runtime joins. The manager's state (IPAM, networks,
 * endpoints) is saved after every change, so a restarted agent knows what it made.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { TscError } from '../../lib/errors.js';
import { containerFiles } from '../../overlay/container-files.js';
import { dockerNetworkInspect, networkIdOf } from '../../overlay/network-inspect.js';
import { createHostNetworking, type HostNetworking, type HostNetworkingOptions } from '../../overlay/host-networking.js';
import type { NetworkingState } from '../../overlay/networking-state.js';
import { runCommand } from '../../overlay/run-command.js';
import type { NetworkSummary } from '../api/types.js';
import type { AttachedEndpoint, NetworkService } from '../backends.js';
import { matchesLabels } from '../label-filter.js';

export interface LocalNetworkServiceOptions extends Omit<HostNetworkingOptions, 'state'> {
  /** Where the manager's state is kept between runs of the agent. */
  stateFile: string;
  /** Prefix of the per-container namespaces under /run/netns. */
  netnsPrefix?: string;
}

export interface LocalNetworkService extends NetworkService {
  networking: HostNetworking;
  /** Stop the DNS server; links and rules stay (the agent restarting). */
  close(): Promise<void>;
}

async function readState(file: string): Promise<NetworkingState | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as NetworkingState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export async function createLocalNetworkService(opts: LocalNetworkServiceOptions): Promise<LocalNetworkService> {
  const prefix = opts.netnsPrefix ?? 'tsc-';
  // One worker thread besides the agent's own: DNS answers on two threads (bench/dns).
  const networking = await createHostNetworking({ dnsWorkers: 1, ...opts, state: await readState(opts.stateFile) });
  let seq = 0;
  const write = async () => {
    const text = JSON.stringify(networking.state());
    await mkdir(dirname(opts.stateFile), { recursive: true });
    const tmp = `${opts.stateFile}.${process.pid}.${seq++}`;
    await writeFile(tmp, text);
    await rename(tmp, opts.stateFile);
  };
  // Saves are shared as commits are (host-networking.ts): a caller returns once a save that
  // started after its change is on disk (so an agent killed then still finds it); one not
  // started yet is joined. Saves run one at a time, the state read as each starts.
  let saved: Promise<void> = Promise.resolve();
  let nextSave: Promise<void> | undefined;
  const save = (): Promise<void> => {
    if (nextSave !== undefined) return nextSave;
    const run = saved.then(() => {
      nextSave = undefined;
      return write();
    });
    nextSave = run;
    saved = run.catch(() => undefined);
    return run;
  };
  const netnsName = (id: string) => `${prefix}${id.slice(0, 12)}`;
  const summary = (name: string): NetworkSummary | undefined => {
    const n = networking.state().networks[name];
    return n === undefined ? undefined : { id: networkIdOf(n), name: n.name, driver: n.driver, labels: n.labels, subnets: n.subnets.map((s) => s.subnet), internal: n.internal };
  };

  /** A name, a full id or an unambiguous id prefix (as docker accepts them). */
  const resolve = (nameOrId: string): string | undefined => {
    const nets = networking.state().networks;
    if (nets[nameOrId] !== undefined) return nameOrId;
    const byId = Object.values(nets).filter((n) => networkIdOf(n).startsWith(nameOrId));
    return nameOrId.length > 0 && byId.length === 1 ? byId[0]?.name : undefined;
  };
  const attached = (name: string, network: string): AttachedEndpoint => {
    const state = networking.state();
    const e = state.containers[name]?.endpoints.find((x) => x.network === network);
    if (e === undefined) throw new Error(`container ${name} was connected to ${network} but has no endpoint there`);
    const gw = state.networks[network]?.subnets.find((s) => s.family === 4)?.gateway ?? '';
    return { network, ipAddress: e.ipv4 ?? '', ...(e.ipv6 === undefined ? {} : { ipv6Address: e.ipv6 }), macAddress: e.mac ?? '', gateway: gw, aliases: e.aliases };
  };

  return {
    networking,
    resolve,
    async inspect(nameOrId, idOf) {
      const name = resolve(nameOrId);
      const out = name === undefined ? undefined : dockerNetworkInspect(networking.state(), name, idOf);
      if (out === undefined) throw new TscError('ERR_NOT_FOUND', `network ${nameOrId} not found`);
      return out as unknown as Record<string, unknown>;
    },
    async prune(inUse, filter) {
      const gone = await networking.pruneNetworks((n) => !inUse(n.name) && matchesLabels(n.labels, filter?.label));
      if (gone.length > 0) await save();
      return gone;
    },
    portConflicts: () => networking.portConflicts(),
    async checkPorts(args) {
      await networking.checkPorts({
        container: args.name,
        service: args.service,
        ports: args.ports.map((p) => ({ target: p.target, published: p.published, host_ip: p.hostIp === '' ? undefined : p.hostIp, protocol: p.protocol })),
      });
    },
    async connectEndpoint(containerId, name, ep) {
      await networking.connect({
        container: name,
        netns: `/run/netns/${netnsName(containerId)}`,
        networks: [{ network: ep.network, aliases: ep.aliases, ipv4_address: ep.ipv4Address, ipv6_address: ep.ipv6Address, mac_address: ep.macAddress }],
      });
      await save();
      return attached(name, ep.network);
    },
    async disconnectEndpoint(_containerId, name, network) {
      await networking.disconnect(name, network);
      await save();
    },
    async create(spec) {
      await networking.createNetwork({
        name: spec.name,
        driver: spec.driver,
        driver_opts: spec.driverOpts,
        internal: spec.internal,
        attachable: spec.attachable,
        enable_ipv6: spec.enableIpv6,
        labels: spec.labels,
        ipam: {
          driver: spec.ipam.driver,
          config: spec.ipam.config.map((c) => ({
            ...(c.subnet === undefined ? {} : { subnet: c.subnet }),
            ...(c.ipRange === undefined ? {} : { ip_range: c.ipRange }),
            ...(c.gateway === undefined ? {} : { gateway: c.gateway }),
          })),
        },
      });
      await save();
      const s = summary(spec.name);
      if (s === undefined) throw new Error(`network ${spec.name} was created but is not in the state`);
      return s;
    },
    async remove(name) {
      if (networking.state().networks[name] === undefined) throw new TscError('ERR_NOT_FOUND', `network ${name} not found`);
      await networking.removeNetwork(name);
      await save();
    },
    async list(filter) {
      return Object.keys(networking.state().networks)
        .map(summary)
        .filter((n): n is NetworkSummary => n !== undefined && matchesLabels(n.labels, filter?.label))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async createSandbox(containerId, o = {}) {
      const name = netnsName(containerId);
      // With a connect to follow, the namespace is made by its script, `lo` with the rest.
      if (o.loopback === false) return `/run/netns/${name}`;
      // Already there is fine (an interrupted start).
      await runCommand(['ip', 'netns', 'add', name]).catch((e: unknown) => {
        if (!(e instanceof Error && /exists/i.test(e.message))) throw e;
      });
      await runCommand(['ip', 'link', 'set', 'lo', 'up'], { netns: `/run/netns/${name}` });
      return `/run/netns/${name}`;
    },
    async removeSandbox(containerId) {
      const name = netnsName(containerId);
      // Mostly gone already, with the disconnect's script.
      if (!existsSync(`/run/netns/${name}`)) return;
      await runCommand(['ip', 'netns', 'del', name]).catch((e: unknown) => {
        if (existsSync(`/run/netns/${name}`)) throw e;
      });
    },
    async connect(_containerId, sandbox, args) {
      const rec = await networking.connect({
        container: args.name,
        netns: sandbox,
        // createSandbox left it to this connect (see there).
        createNetns: !existsSync(sandbox),
        service: args.service,
        hostname: args.hostname,
        networks: args.endpoints.map((e) => ({
          network: e.network,
          aliases: e.aliases,
          ipv4_address: e.ipv4Address,
          ipv6_address: e.ipv6Address,
          mac_address: e.macAddress,
          priority: e.priority,
        })),
        ports: args.ports.map((p) => ({ target: p.target, published: p.published, host_ip: p.hostIp === '' ? undefined : p.hostIp, protocol: p.protocol })),
        expose: [...args.expose],
        dns: args.dns.length === 0 ? undefined : [...args.dns],
      });
      await save();
      const state = networking.state();
      return {
        endpoints: rec.endpoints.map((e) => {
          const net = state.networks[e.network];
          return {
            network: e.network,
            ipAddress: e.ipv4 ?? '',
            ...(e.ipv6 === undefined ? {} : { ipv6Address: e.ipv6 }),
            macAddress: e.mac ?? '',
            gateway: net?.subnets.find((s) => s.family === 4)?.gateway ?? '',
            aliases: e.aliases,
          };
        }),
        ports: rec.ports
          .filter((p) => p.family === 4)
          .map((p) => ({ target: p.containerPort, protocol: p.protocol, hostIp: p.hostIp ?? '', published: String(p.hostPort), hostPort: p.hostPort })),
      };
    },
    async etcFiles(name, o) {
      const f = containerFiles({
        container: networking.state().containers[name],
        state: networking.state(),
        hostname: o.hostname,
        domainname: o.domainname,
        service: o.service,
        extraHosts: [...o.extraHosts],
        hostResolvConf: await readFile('/etc/resolv.conf', 'utf8').catch(() => ''),
        dns: o.dns.length === 0 ? undefined : [...o.dns],
        dnsSearch: o.dnsSearch.length === 0 ? undefined : [...o.dnsSearch],
        dnsOpt: o.dnsOptions.length === 0 ? undefined : [...o.dnsOptions],
      });
      return { hosts: f.hosts, hostname: f.hostname, resolvConf: f.resolvConf };
    },
    async disconnect(_containerId, name) {
      if (networking.state().containers[name] === undefined) return;
      // removeSandbox comes next (see NetworkService.disconnect): the namespace's table goes with
      // it. The namespace is deleted by the same script, leaving removeSandbox nothing to do.
      await networking.disconnect(name, undefined, { namespaceGoing: true, removeNetns: true });
      await save();
    },
    close: () => networking.close(),
  };
}
