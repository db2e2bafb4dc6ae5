/**
 * The network manager of one host: the API the agent calls. Each call plans purely
 * (networking-state.ts), lets the network's driver make links, then brings the nftables table
 * to the new state in one transaction and hands the DNS server its new table. A call that
 * fails undoes what it made, so nothing is left half-made.
 *
 * Locking: network and VIP calls run whole under one lock. connect/disconnect, the hot path of
 * `up`/`down`, hold it only to plan (IPAM) and to commit (nft, DNS); their links are made
 * outside it from the state, one script per container, so containers attach in parallel. The
 * kernel is read only on the careful path (a failed script, network creation, restore).
 *
 * DNS reachability: the one DNS server listens on every bridge's IPv4 gateway (port 10053 by
 * default: not 53, so that a container may publish port 53 without the gateway's DNS traffic
 * being caught by that port's DNAT); inside each container a tiny nft table DNATs 127.0.0.11:53 to the gateway of the
 * container's primary network and SNATs the loopback source to the container's address, so
 * the server knows who asks (see README.md).
 */
import { randomBytes, randomInt } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';

import { TscError } from '../lib/errors.js';
import { settleAll } from '../lib/settle-all.js';
import { traced } from '../lib/trace.js';
import { bridgeDriver, hostDriver, noneDriver } from './bridge-driver.js';
import { overlayDriver } from './overlay-driver.js';
import type { AddressPool } from './ipam.js';
import { ulaPoolFor } from './ipam.js';
import type { DnsServer } from './dns-server.js';
import { createDnsServer } from './dns-server.js';
import { parseResolvConf } from './etc-files.js';
import { applyLinkOps, readLinks, readRouteDestinations, readVxlanPeers } from './link-shell.js';
import type { LinkInfo, LinkOp } from './link-plan.js';
import { BATCH_GROUPS, createLinkRemovalBatcher, hostLinkDeleted } from './link-removal-batch.js';
import type { DriverContext, DriverName, EndpointRecord, NetworkDriver, NetworkRecord } from './network-driver.js';
import type { ConnectRequest, ContainerRecord, NetworkSpec, NetworkingState, VipRecord, VipRequest } from './networking-state.js';
import {
  dnsTableOf,
  emptyNetworkingState,
  planConnect,
  planDisconnect,
  planNetwork,
  planNetworkRemoval,
  planVip,
  planVipRemoval,
  rulesetOf,
} from './networking-state.js';
import type { Ruleset, RulesetPort } from './nft-ruleset.js';
import { renderResolverScript, renderRulesetChange } from './nft-ruleset.js';
import type { BoundSocket } from './published-ports.js';
import type { PortConfig } from './published-ports.js';
import { parseProcNet, planPublishedPorts } from './published-ports.js';
import { createPortReservations, reservationKey } from './port-reservations.js';
import { runCommand, runNftJson, runNftScript } from './run-command.js';

/** Where the DNS server listens on each gateway; containers still ask 127.0.0.11:53. */
export const DNS_PORT = 10053;

export interface HostNetworkingOptions {
  /** nftables table of ours on the host (`inet` and, when needed, `bridge`). */
  table?: string | undefined;
  /** nftables table inside each container for the 127.0.0.11 redirect. */
  resolverTable?: string | undefined;
  dnsPort?: number | undefined;
  /** Upstream resolvers; default: the host's /etc/resolv.conf (at most 3). */
  upstreams?: string[] | undefined;
  dnsTimeoutMs?: number | undefined;
  state?: NetworkingState | undefined;
  drivers?: Partial<Record<DriverName, NetworkDriver>> | undefined;
  seed?: (() => number) | undefined;
  /** Extra DNS server threads on the ports after dnsPort (see DnsServerOptions.workers); default 0. */
  dnsWorkers?: number | undefined;
  /** Pools for automatic IPv6 subnets; default: this host's ULA /48 (from /etc/machine-id). */
  ipv6Pools?: AddressPool[] | undefined;
  /** Hold each published host port with a socket of ours, as docker-proxy does (default true). */
  reservePorts?: boolean | undefined;
}

export interface HostNetworking {
  createNetwork(spec: NetworkSpec): Promise<NetworkRecord>;
  removeNetwork(name: string): Promise<void>;
  connect(req: ConnectRequest): Promise<ContainerRecord>;
  /**
   * `namespaceGoing`: the caller deletes the container's namespace right after (the agent
   * removing its sandbox), so what dies with it (the 127.0.0.11 redirect table) is not undone.
   * `removeNetns`: and the namespace (a /run/netns/NAME) is deleted by the same script, once
   * its links are gone; when that script fails, deleting it is left to the caller.
   */
  disconnect(container: string, network?: string, opts?: { namespaceGoing?: boolean | undefined; removeNetns?: boolean | undefined }): Promise<void>;
  state(): NetworkingState;
  /** `network ls`: every network we know, by name. */
  networks(): NetworkRecord[];
  /** `network inspect`: the network and the containers on it (ERR_NOT_FOUND when unknown). */
  inspectNetwork(name: string): { network: NetworkRecord; containers: { container: string; ipv4?: string | undefined; ipv6?: string | undefined; mac?: string | undefined }[] };
  /** `network prune`: remove networks without containers; returns their names. */
  pruneNetworks(filter?: (n: NetworkRecord) => boolean): Promise<string[]>;
  /**
   * Whether a container's fixed published ports are free of host processes (ports we hold for
   * our own containers do not count: those conflicts are found when it connects). Throws the
   * same ERR_CONFLICT as connect, naming the service and `ports` key; changes nothing.
   */
  checkPorts(req: { container: string; service?: string | undefined; ports: PortConfig[] }): Promise<void>;
  /**
   * Published ports of our containers that we do not hold: a host process took them while the
   * agent was down (the sockets that hold them die with the agent). Each call first tries to
   * take them again, so a port since freed is held again and no longer listed.
   */
  portConflicts(): Promise<PortConflict[]>;
  /** A service VIP on a network, load-balanced by nftables over its backends (swarm's vip mode). */
  setServiceVip(req: VipRequest): Promise<VipRecord>;
  removeServiceVip(network: string, service: string): Promise<void>;
  dns: DnsServer;
  /** Our host table as `nft -j list table` reads it back (undefined when absent). */
  readRuleset(): Promise<unknown>;
  /** Remove every container endpoint and network of ours, the tables, and stop DNS. */
  down(): Promise<void>;
  /** Stop the DNS server, leaving links and rules (the agent restarting). */
  close(): Promise<void>;
}

/** A container's published port that a host process holds instead of us (see `portConflicts`). */
export interface PortConflict {
  container: string;
  service?: string | undefined;
  port: RulesetPort;
  /** Docker's words for a bind that fails: `Bind for 0.0.0.0:8080 failed: port is already allocated`, and why. */
  message: string;
}

/** The conflict report for one port another process holds (`error`: our bind's errno error). */
function conflictOf(c: ContainerRecord, port: RulesetPort, error: Error): PortConflict {
  const addr = `${port.hostIp === undefined ? (port.family === 4 ? '0.0.0.0' : '[::]') : port.family === 6 ? `[${port.hostIp}]` : port.hostIp}:${port.hostPort}`;
  const code = (error as NodeJS.ErrnoException).code ?? error.message;
  return {
    container: c.container,
    service: c.service,
    port,
    message: `Bind for ${addr} failed: port is already allocated (${port.protocol}, ${code}: a host process took it while the agent was down)`,
  };
}

/** Whether the host's namespace has a link of this name: its /sys/class/net entry (no program, no full read). */
function hostLinkExists(name: string): Promise<boolean> {
  return access(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

const ctx: DriverContext = { applyLinkOps, readLinks, linkExists: hostLinkExists, readVxlanPeers: (dev) => readVxlanPeers(dev) };

/** NAME of a /run/netns/NAME path (what `ip netns add|del` take). */
function netnsName(path: string): string {
  if (!path.startsWith('/run/netns/')) throw new Error(`${path} is not a named network namespace (/run/netns/NAME)`);
  return path.slice('/run/netns/'.length);
}

/** Rules of the `ports` chain in `nft -j list table` output. */
function countPortRules(json: unknown): number {
  const items = (json as { nftables?: { rule?: { chain?: string } }[] }).nftables ?? [];
  return items.filter((i) => i.rule?.chain === 'ports').length;
}

async function readBound(): Promise<BoundSocket[]> {
  const out: BoundSocket[] = [];
  for (const [file, proto] of [['tcp', 'tcp'], ['tcp6', 'tcp'], ['udp', 'udp'], ['udp6', 'udp']] as const) {
    const text = await readFile(`/proc/net/${file}`, 'utf8').catch(() => '');
    out.push(...parseProcNet(text, proto));
  }
  return out;
}

async function readEphemeral(): Promise<[number, number]> {
  const text = await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').catch(() => '32768 60999');
  const [lo, hi] = text.trim().split(/\s+/).map(Number);
  return [lo ?? 32768, hi ?? 60999];
}

/** A failed bind of a published port, as the user's compose file names it. */
function portError(req: ConnectRequest, ports: readonly RulesetPort[], e: unknown): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const p = ports.find((x) => x.hostPort === err.port) ?? ports[0];
  if (p === undefined || (err.code !== 'EADDRINUSE' && err.code !== 'EADDRNOTAVAIL' && err.code !== 'EACCES')) return e;
  const who = req.service ?? req.container;
  const i = (req.ports ?? []).findIndex((c) => c.target === p.containerPort && (c.protocol ?? 'tcp').toLowerCase() === p.protocol);
  const addr = `${p.hostIp ?? (p.family === 4 ? '0.0.0.0' : '[::]')}:${p.hostPort}/${p.protocol}`;
  const why = err.code === 'EADDRINUSE' ? 'is already in use on the host' : err.code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : 'cannot be bound';
  return new TscError('ERR_CONFLICT', `service ${who}: ports[${Math.max(i, 0)}]: host port ${addr} ${why}`, {
    path: `services.${who}.ports[${Math.max(i, 0)}].${err.code === 'EADDRNOTAVAIL' ? 'host_ip' : 'published'}`,
    hint: 'choose another published port, or stop what holds it',
    cause: e,
  });
}

export async function createHostNetworking(opts: HostNetworkingOptions = {}): Promise<HostNetworking> {
  const table = opts.table ?? 'tsc_compose';
  const resolverTable = opts.resolverTable ?? 'tsc_dns';
  const dnsPort = opts.dnsPort ?? DNS_PORT;
  const seed = opts.seed ?? (() => Math.floor(Math.random() * 2 ** 32));
  const upstreams = opts.upstreams ?? parseResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => '')).nameservers.slice(0, 3);
  const drivers: Record<DriverName, NetworkDriver | undefined> = {
    bridge: bridgeDriver,
    host: hostDriver,
    none: noneDriver,
    overlay: overlayDriver,
    ...opts.drivers,
  };
  let state = opts.state ?? emptyNetworkingState();
  const hostId = (await readFile('/etc/machine-id', 'utf8').catch(() => hostname())).trim();
  const ipv6Pools = opts.ipv6Pools ?? [ulaPoolFor(hostId)];
  const dnsWorkers = opts.dnsWorkers ?? 0;
  const dns = createDnsServer({ table: dnsTableOf(state, upstreams), timeoutMs: opts.dnsTimeoutMs, workers: dnsWorkers });
  // A restored state (agent restart): links and rules are still there; answer DNS again.
  for (const net of Object.values(state.networks)) {
    const addr = net.driver === 'bridge' ? net.subnets.find((s) => s.family === 4)?.gateway : undefined;
    if (addr !== undefined) await dns.listen({ address: addr, port: dnsPort });
  }
  const reservations = createPortReservations();
  const reserving = opts.reservePorts !== false;
  const allPorts = () => Object.values(state.containers).flatMap((c) => c.ports);
  // After a restart the old process's sockets are gone: take the ports back. One a host process
  // took meanwhile is not fatal here (the container runs, its DNAT still wins): portConflicts()
  // reports it, and the agent puts it on the container.
  if (reserving) await reservations.reconcile(allPorts());
  let queue: Promise<unknown> = Promise.resolve();

  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  /**
   * A commit of the hot path (connect, disconnect), shared: one not started yet is joined,
   * since it reads the state when it starts and so carries every change made before. Thirty
   * containers connecting at once cost a few commits instead of thirty (each renders the whole
   * ruleset and DNS table: one each was quadratic in the number of containers).
   */
  let nextCommit: Promise<{ dnsApplied: Promise<void> }> | undefined;
  async function commitShared(): Promise<void> {
    nextCommit ??= serial(async () => {
      nextCommit = undefined;
      return traced('network', 'commit', () => commitRules(false));
    });
    // The DNS workers' copy is awaited outside the lock: the next commit need not wait for it.
    const { dnsApplied } = await nextCommit;
    await dnsApplied;
  }

  function driverFor(net: NetworkRecord): NetworkDriver {
    const d = drivers[net.driver];
    if (d === undefined) throw new TscError('ERR_UNSUPPORTED', `network ${net.name}: the ${net.driver} driver is not available on this host`);
    return d;
  }

  /** The host table as we last wrote it; undefined when unknown (start, restore, a failed write). */
  let applied: Ruleset | undefined;

  /**
   * Bring the host table and the DNS table to the state: the smallest nft transaction that does
   * it (none, the `ports` chain, or the whole table: renderRulesetChange). Runs under the lock.
   * `verify` reads the table back (network changes); the connect/disconnect hot path does not.
   */
  async function commit(verify = false): Promise<void> {
    const { dnsApplied } = await commitRules(verify);
    await dnsApplied;
  }

  /**
   * commit's work under the lock: the DNS table handed over (the agent's own server has it at
   * once; `dnsApplied` resolves when the worker threads answer from it too) and nftables.
   */
  async function commitRules(verify: boolean): Promise<{ dnsApplied: Promise<void> }> {
    const rs = rulesetOf(state, table);
    dns.setTable(dnsTableOf(state, upstreams));
    const dnsApplied = dns.tableApplied();
    // awaited by the caller; a failure below must not leave it unhandled meanwhile
    dnsApplied.catch(() => undefined);
    const script = renderRulesetChange(applied, rs);
    if (script !== undefined) {
      try {
        await runNftScript(script);
      } catch (e) {
        // An incremental change that failed: the table is not what we think; replace it whole.
        const wasIncremental = applied !== undefined;
        applied = undefined;
        if (!wasIncremental) throw e;
        await runNftScript(renderRulesetChange(undefined, rs) as string);
      }
    }
    applied = rs;
    if (!verify) return { dnsApplied };
    // Read back: the table holds one DNAT rule per published port (or is gone when empty).
    const back = await readTable();
    const empty = rs.networks.length === 0 && rs.ports.length === 0 && rs.vips.length === 0;
    const want = rs.ports.length + rs.vips.filter((v) => v.backends.length > 0).length;
    const dnats = back === undefined ? -1 : countPortRules(back);
    if (empty ? back !== undefined : dnats !== want) {
      applied = undefined;
      throw new Error(`nftables table ${table} read back with ${dnats} DNAT rules, expected ${empty ? 'no table' : want}`);
    }
    return { dnsApplied };
  }

  /** The full render, read back: network and VIP changes, teardown. */
  const sync = () => commit(true);

  async function readTable(): Promise<unknown> {
    try {
      const { stdout } = await runNftJson(['list', 'table', 'inet', table]);
      return JSON.parse(stdout) as unknown;
    } catch {
      return undefined;
    }
  }

  function dnsAddress(net: NetworkRecord): string | undefined {
    return net.driver === 'bridge' ? net.subnets.find((s) => s.family === 4)?.gateway : undefined;
  }

  function resolverScript(c: ContainerRecord | undefined, fresh = false): string {
    const primary = c?.endpoints.find((e) => e.ipv4 !== undefined && state.networks[e.network]?.driver === 'bridge');
    const server = primary === undefined ? undefined : dnsAddress(state.networks[primary.network] as NetworkRecord);
    return primary?.ipv4 === undefined || server === undefined
      ? `table ip ${resolverTable}\ndelete table ip ${resolverTable}\n`
      : renderResolverScript({ table: resolverTable, server, serverPort: dnsPort, serverPorts: 1 + dnsWorkers, source: primary.ipv4, fresh });
  }

  async function syncResolver(c: ContainerRecord | undefined, netns: string): Promise<void> {
    await runCommand(['nft', '-f', '-'], { input: resolverScript(c), netns });
  }

  /**
   * Collect the drivers' ops for these endpoints planned from the state alone (no kernel read),
   * with `extra` after them, and run all of it as one script: one process per connect.
   */
  async function linksFromState(eps: readonly EndpointRecord[], how: 'attach' | 'detach', extra: LinkOp[], first: LinkOp[] = []): Promise<void> {
    await applyLinkOps([...first, ...(await driverOps(eps, how)), ...extra]);
  }

  /** The drivers' ops for these endpoints, planned from the state alone. */
  async function driverOps(eps: readonly EndpointRecord[], how: 'attach' | 'detach'): Promise<LinkOp[]> {
    const ops: LinkOp[] = [];
    const collect: DriverContext = {
      ...ctx,
      fromState: true,
      applyLinkOps: async (o) => {
        ops.push(...o);
      },
    };
    for (const ep of eps) {
      const net = state.networks[ep.network];
      if (net === undefined) throw new Error(`network ${ep.network} of ${ep.container} is not in the state`);
      await driverFor(net)[how](collect, net, ep);
    }
    return ops;
  }

  /** Containers going away at about the same time lose their links in one batch (link-removal-batch.ts). */
  const removals = createLinkRemovalBatcher(applyLinkOps, () => randomInt(BATCH_GROUPS.min, BATCH_GROUPS.max));

  /** Forget endpoints reserved for a connect that did not happen (under the lock). */
  function unreserve(container: string, eps: readonly EndpointRecord[]): void {
    for (const ep of eps) state = planDisconnect(state, container, ep.network).state;
  }

  async function createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    if (spec.external === true) {
      const r = state.networks[spec.name];
      if (r === undefined) {
        throw new TscError('ERR_NOT_FOUND', `network ${spec.name} declared as external, but could not be found`, {
          path: `networks.${spec.name}`,
          hint: `create it first: tsc-compose network create ${spec.name}`,
        });
      }
      return r;
    }
    if (state.networks[spec.name] !== undefined) return state.networks[spec.name] as NetworkRecord;
    const before = state;
    const identity = { id: spec.id ?? randomBytes(32).toString('hex'), created: spec.created ?? new Date().toISOString() };
    const routes = await readRouteDestinations();
    const planned = planNetwork(state, { ...spec, ...identity }, routes, ipv6Pools);
    const net = planned.record;
    // A bridge network whose bridge is not there yet (the usual case) needs no read of the links.
    const absent = net.driver === 'bridge' && !(await hostLinkExists(net.bridge));
    const links = absent ? [] : await readLinks();
    const driver = driverFor(net);
    // Never remove on failure what was there before us (a name clash is not ours to delete).
    const existed = links.some((l) => l.ifname === net.bridge);
    const addr = dnsAddress(net);
    // The driver's first read of the host's links is the one just made (one program fewer).
    let first: LinkInfo[] | undefined = links;
    const creating: DriverContext = {
      ...ctx,
      readLinks: (netns) => {
        const cached = netns === undefined ? first : undefined;
        first = undefined;
        return cached === undefined ? ctx.readLinks(netns) : Promise.resolve(cached);
      },
    };
    try {
      // The links, the DNS sockets and the nftables table side by side: the table names the
      // bridge, which it may do before the bridge exists. All settle before any undoing.
      state = planned.state;
      await settleAll([
        (async () => {
          await driver.create(creating, net);
          if (addr !== undefined) await dns.listen({ address: addr, port: dnsPort });
        })(),
        sync(),
      ]);
    } catch (e) {
      state = before;
      if (!existed) await driver.remove(ctx, net).catch(() => undefined);
      if (addr !== undefined) await dns.unlisten({ address: addr, port: dnsPort });
      await sync().catch(() => undefined);
      throw e;
    }
    return net;
  }

  async function removeNetwork(name: string): Promise<void> {
    const r = planNetworkRemoval(state, name);
    const addr = dnsAddress(r.record);
    if (addr !== undefined) await dns.unlisten({ address: addr, port: dnsPort });
    // The bridge and the table without its rules at once (the table names the bridge only by
    // name; each waits on the kernel: a device's unregistering, a table's delete).
    const before = state;
    state = r.state;
    const [links, rules] = await Promise.allSettled([driverFor(r.record).remove(ctx, r.record), sync()]);
    if (links.status === 'rejected') {
      // The bridge is still there: so are its rules, its DNS server and its state.
      state = before;
      if (addr !== undefined) await dns.listen({ address: addr, port: dnsPort }).catch(() => undefined);
      await sync().catch(() => undefined);
      throw links.reason;
    }
    if (rules.status === 'rejected') throw rules.reason;
  }

  /**
   * The hot path. Under the lock: plan from the state (IPAM, interface names, ports) and keep
   * the reservation. Outside it: the links and the resolver table, planned from the state, in
   * one script (containers of one `up` attach in parallel). Under the lock again: the nft
   * change (none without published ports) and the DNS table. Any failure of the links falls
   * back to connectReading (reads the kernel, idempotent, rolls back).
   */
  async function connect(req: ConnectRequest): Promise<ContainerRecord> {
    const planned = await serial(async () => {
      const wantsPorts = (req.ports ?? []).length > 0 && state.containers[req.container] === undefined;
      const [bound, ephemeral] = wantsPorts ? await Promise.all([readBound(), readEphemeral()]) : [[], [32768, 60999] as [number, number]];
      const p = planConnect(state, req, { bound, ephemeral, seed: seed(), existingIfnames: [] });
      // Hold the new host ports before anything is made (docker-proxy's sockets): a port
      // another process took is refused here, with nothing to undo but the plan.
      const held = new Set(reservations.held());
      const fresh = p.container.ports.filter((x) => !held.has(reservationKey(x)));
      if (reserving) {
        await reservations.reserve(fresh).catch((e: unknown) => {
          throw portError(req, fresh, e);
        });
      }
      state = p.state;
      return p;
    });
    try {
      // The drivers' attach brings `lo` up with the rest; with nothing to attach, it is done here.
      const lo: LinkOp[] = planned.added.length === 0 ? [{ kind: 'ip', netns: req.netns, args: ['link', 'set', 'lo', 'up'] }] : [];
      // A new namespace is made in the same script (`ip netns add` joins the host's `ip -batch`).
      const netns: LinkOp[] = req.createNetns === true ? [{ kind: 'ip', args: ['netns', 'add', netnsName(req.netns)] }] : [];
      await linksFromState(planned.added, 'attach', [...lo, { kind: 'nft', netns: req.netns, script: resolverScript(planned.container, req.createNetns === true) }], netns);
    } catch {
      return serial(async () => {
        for (const ep of planned.added) {
          const net = state.networks[ep.network];
          if (net !== undefined) await driverFor(net).detach(ctx, net, ep).catch(() => undefined);
        }
        unreserve(req.container, planned.added);
        if (reserving) await reservations.reconcile(allPorts());
        return connectReading(req);
      });
    }
    try {
      await commitShared();
    } catch (e) {
      await linksFromState(planned.added, 'detach', []).catch(() => undefined);
      await serial(async () => {
        unreserve(req.container, planned.added);
        if (reserving) await reservations.reconcile(allPorts());
        await syncResolver(state.containers[req.container], req.netns).catch(() => undefined);
        await commit().catch(() => undefined);
      });
      throw e;
    }
    return planned.container;
  }

  /** The careful path (under the lock): plan against what the kernel holds, undo all on failure. */
  async function connectReading(req: ConnectRequest): Promise<ContainerRecord> {
    const [bound, ephemeral, inside] = await Promise.all([readBound(), readEphemeral(), readLinks(req.netns)]);
    const before = state;
    const planned = planConnect(state, req, { bound, ephemeral, seed: seed(), existingIfnames: inside.map((l) => l.ifname) });
    const made: typeof planned.added = [];
    const held = new Set(reservations.held());
    const fresh = planned.container.ports.filter((p) => !held.has(reservationKey(p)));
    try {
      if (reserving) await reservations.reserve(fresh).catch((e: unknown) => {
        throw portError(req, fresh, e);
      });
      for (const ep of planned.added) {
        const net = planned.state.networks[ep.network] as NetworkRecord;
        made.push(ep);
        await driverFor(net).attach(ctx, net, ep);
      }
      state = planned.state;
      await syncResolver(planned.container, req.netns);
      await commit();
    } catch (e) {
      for (const ep of made.reverse()) {
        const net = planned.state.networks[ep.network] as NetworkRecord;
        await driverFor(net).detach(ctx, net, ep).catch(() => undefined);
      }
      state = before;
      await syncResolver(state.containers[req.container], req.netns).catch(() => undefined);
      await commit().catch(() => undefined);
      if (reserving) await reservations.reconcile(allPorts());
      throw e;
    }
    return planned.container;
  }

  /**
   * Links first, planned from the state, in one script (the addresses stay reserved until the
   * veth is gone); a failure falls back to the reading detach. No lock: the agent serialises
   * the calls of one container, and nothing else touches its links.
   */
  async function disconnectLinks(container: string, network?: string, namespaceGoing = false, removeNetns = false): Promise<boolean> {
    const c = state.containers[container];
    if (c === undefined) return false;
    if (network !== undefined && !c.endpoints.some((e) => e.network === network)) {
      throw new TscError('ERR_NOT_FOUND', `container ${container} is not connected to network ${network}`);
    }
    const removed = c.endpoints.filter((e) => network === undefined || e.network === network);
    const rest = planDisconnect(state, container, network).container;
    // The default route leaves with its network: the next network that can carry it takes it.
    const moved = rest?.endpoints.find((e) => e.gatewayRoute && !c.endpoints.some((o) => o.network === e.network && o.gatewayRoute));
    const movedNet = moved === undefined ? undefined : state.networks[moved.network];
    const route: LinkOp[] =
      moved === undefined || movedNet === undefined
        ? []
        : movedNet.subnets
            .filter((sn) => (sn.family === 4 ? moved.ipv4 : moved.ipv6) !== undefined)
            .map((sn) => ({ kind: 'ip' as const, netns: c.netns, args: ['route', 'replace', 'default', 'via', sn.gateway, 'dev', moved.ifname] }));
    // The namespace may already be gone with its container: then so is the redirect table.
    const resolver: LinkOp[] =
      rest !== undefined
        ? [{ kind: 'nft', netns: c.netns, script: resolverScript(rest) }]
        : namespaceGoing
          ? []
          : [{ kind: 'cmd', argv: ['sh', '-c', 'nsenter --net="$1" -- nft delete table ip "$2" 2>/dev/null || true', 'resolver', c.netns, resolverTable] }];
    // The namespace itself, last, in the same script (its veth ends are gone by then).
    const netns: LinkOp[] = removeNetns && rest === undefined ? [{ kind: 'ip', args: ['netns', 'del', netnsName(c.netns)] }] : [];
    try {
      const ops = await driverOps(removed, 'detach');
      // All of the container's links going with its namespace (a stop): batched with others'.
      const devices = rest === undefined && namespaceGoing ? ops.map(hostLinkDeleted) : [undefined];
      if (devices.every((d): d is string => d !== undefined)) {
        await removals.remove({ devices, namespaces: netns.length > 0 ? [netnsName(c.netns)] : [] });
      } else {
        await applyLinkOps([...ops, ...route, ...resolver, ...netns]);
      }
    } catch {
      for (const ep of removed) {
        const net = state.networks[ep.network] as NetworkRecord;
        await driverFor(net).detach(ctx, net, ep);
      }
      if (route.length > 0) await applyLinkOps(route);
      if (rest !== undefined || !namespaceGoing) await syncResolver(rest, c.netns).catch(() => undefined);
    }
    return true;
  }

  /** Then, under the lock: release the addresses, forget the ports, update nft and DNS. */
  async function disconnectCommit(container: string, network?: string): Promise<void> {
    if (state.containers[container] === undefined) return;
    state = planDisconnect(state, container, network).state;
    await commit();
    if (reserving) await reservations.reconcile(allPorts());
  }

  async function disconnect(container: string, network?: string, opts: { namespaceGoing?: boolean | undefined; removeNetns?: boolean | undefined } = {}): Promise<void> {
    if (!(await disconnectLinks(container, network, opts.namespaceGoing === true, opts.removeNetns === true))) return;
    const changed = await serial(async () => {
      if (state.containers[container] === undefined) return false;
      state = planDisconnect(state, container, network).state;
      return true;
    });
    if (!changed) return;
    await commitShared();
    if (reserving) await serial(() => reservations.reconcile(allPorts()));
  }

  async function setServiceVip(req: VipRequest): Promise<VipRecord> {
    const planned = planVip(state, req);
    const net = planned.state.networks[req.network] as NetworkRecord;
    const v = planned.vip;
    // The host owns the VIP (on the bridge), so containers reach it and the nat hooks see it.
    const links = await readLinks();
    const bridge = links.find((l) => l.ifname === net.bridge);
    if (!(bridge?.addr_info ?? []).some((a) => a.local === v.vip)) {
      await applyLinkOps([{ kind: 'ip', args: ['addr', 'add', `${v.vip}/32`, 'dev', net.bridge] }]);
    }
    state = planned.state;
    await sync();
    return v;
  }

  async function removeServiceVip(network: string, service: string): Promise<void> {
    const r = planVipRemoval(state, network, service);
    if (r.vip === undefined) return;
    const net = state.networks[network];
    if (net !== undefined) {
      await applyLinkOps([{ kind: 'ip', args: ['addr', 'del', `${r.vip.vip}/32`, 'dev', net.bridge] }]).catch(() => undefined);
    }
    state = r.state;
    await sync();
  }

  async function down(): Promise<void> {
    for (const v of Object.values(state.vips ?? {})) await removeServiceVip(v.network, v.service);
    for (const c of Object.keys(state.containers)) {
      await disconnectLinks(c);
      await disconnectCommit(c);
    }
    for (const n of Object.keys(state.networks)) await removeNetwork(n);
    await sync();
    await reservations.close();
    await dns.close();
  }

  return {
    createNetwork: (spec) => serial(() => createNetwork(spec)),
    removeNetwork: (name) => serial(() => removeNetwork(name)),
    connect,
    disconnect,
    state: () => state,
    networks: () => Object.values(state.networks),
    inspectNetwork(name) {
      const network = state.networks[name];
      if (network === undefined) throw new TscError('ERR_NOT_FOUND', `network ${name} not found`);
      const containers = Object.values(state.containers).flatMap((c) =>
        c.endpoints.filter((e) => e.network === name).map((e) => ({ container: c.container, ipv4: e.ipv4, ipv6: e.ipv6, mac: e.mac })),
      );
      return { network, containers };
    },
    pruneNetworks: (filter) =>
      serial(async () => {
        const used = new Set(Object.values(state.containers).flatMap((c) => c.endpoints.map((e) => e.network)));
        const gone = Object.values(state.networks).filter((n) => !used.has(n.name) && !n.external && (filter === undefined || filter(n)));
        for (const n of gone) await removeNetwork(n.name);
        return gone.map((n) => n.name);
      }),
    async checkPorts(req) {
      const ours = new Set(reservations.held());
      const foreign = (await readBound()).filter(
        (b) => !ours.has(reservationKey({ family: b.address.includes(':') ? 6 : 4, protocol: b.protocol, hostIp: b.address === '0.0.0.0' || b.address === '::' ? undefined : b.address, hostPort: b.port })),
      );
      const fixed = req.ports.filter((p) => p.published !== undefined && p.published !== '');
      if (fixed.length === 0) return;
      // Only fixed ports: a random one is chosen free at connect time anyway.
      planPublishedPorts({
        request: { service: req.service ?? req.container, container: req.container, ports: req.ports.map((p) => (fixed.includes(p) ? p : { ...p, published: '1-65535' })), ipv4: '0.0.0.0' },
        existing: [],
        bound: foreign,
        ephemeral: [1, 65535],
        seed: 1,
      });
    },
    portConflicts: () =>
      serial(async () => {
        if (!reserving) return [];
        const failures = await reservations.reconcile(allPorts());
        return failures.flatMap(({ port, error }) => {
          const key = reservationKey(port);
          const owner = Object.values(state.containers).find((c) => c.ports.some((p) => reservationKey(p) === key));
          return owner === undefined ? [] : [conflictOf(owner, port, error)];
        });
      }),
    setServiceVip: (req) => serial(() => setServiceVip(req)),
    removeServiceVip: (n, svc) => serial(() => removeServiceVip(n, svc)),
    dns,
    readRuleset: readTable,
    down: () => serial(down),
    close: async () => {
      await reservations.close();
      await dns.close();
    },
  };
}
