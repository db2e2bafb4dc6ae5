/**
 * The network manager's state and the pure steps that change it: a network spec becomes a
 * NetworkRecord (names, subnets, driver options), a connect request becomes endpoints and
 * published ports, and the whole state projects onto the nftables ruleset and the DNS table.
 * The shell (host-networking.ts) runs drivers and applies these projections after each step.
 */
import { TscError } from '../lib/errors.js';
import type { DnsEndpoint, DnsTable } from './dns-answer.js';
import type { AddressPool, IpamConfigEntry, IpamState } from './ipam.js';
import { allocateAddresses, allocateSubnets, emptyIpamState, OVERLAY_POOLS, releaseAddresses, releaseSubnets } from './ipam.js';
import { altnameFor, bridgeNameFor, isValidIfname, macForIpv4, vethNameFor } from './link-names.js';
import type { DriverName, EndpointRecord, NetworkRecord } from './network-driver.js';
import type { Ruleset, RulesetPort } from './nft-ruleset.js';
import type { BoundSocket, PortConfig } from './published-ports.js';
import { planPublishedPorts } from './published-ports.js';

/** A network as compose (or `network create`) describes it. */
export interface NetworkSpec {
  name: string;
  driver?: string | undefined;
  driver_opts?: Record<string, string | number> | undefined;
  internal?: boolean | undefined;
  external?: boolean | undefined;
  attachable?: boolean | undefined;
  enable_ipv6?: boolean | undefined;
  labels?: Record<string, string> | undefined;
  ipam?: { driver?: string | undefined; config?: IpamConfigEntry[] | undefined } | undefined;
  /** Overlay networks only, set by the swarm: VNI, this host's underlay address, the peers. */
  vxlan?: NetworkRecord['vxlan'];
  /** Identity given by the caller (the manager makes a random id and stamps the time). */
  id?: string | undefined;
  created?: string | undefined;
}

export interface ContainerRecord {
  container: string;
  netns: string;
  service?: string | undefined;
  hostname?: string | undefined;
  /** The container's `dns:` servers, for the embedded DNS to forward to. */
  upstreams?: string[] | undefined;
  ports: RulesetPort[];
  /** Container ports for SRV answers (`expose` and port targets). */
  srv: { name?: string | undefined; protocol: 'tcp' | 'udp'; port: number }[];
  endpoints: EndpointRecord[];
}

/** A service's virtual IP on one network (swarm endpoint_mode: vip). */
export interface VipRecord {
  service: string;
  network: string;
  vip: string;
  prefix: number;
  ports: { protocol: 'tcp' | 'udp'; port: number; target: number }[];
  /** Container names behind it; their addresses on `network` are the backends. */
  backends: string[];
}

export interface NetworkingState {
  ipam: IpamState;
  networks: Record<string, NetworkRecord>;
  containers: Record<string, ContainerRecord>;
  /** `<network>/<service>` -> VIP (absent in states saved before VIPs existed). */
  vips?: Record<string, VipRecord> | undefined;
}

export function emptyNetworkingState(): NetworkingState {
  return { ipam: emptyIpamState(), networks: {}, containers: {}, vips: {} };
}

export interface VipRequest {
  network: string;
  service: string;
  ports: { protocol?: 'tcp' | 'udp' | undefined; port: number; target?: number | undefined }[];
  backends: string[];
}

/** Give a service a VIP on a network (kept across updates) with these ports and backends. */
export function planVip(state: NetworkingState, req: VipRequest): { state: NetworkingState; vip: VipRecord } {
  const net = state.networks[req.network];
  if (net === undefined) throw new TscError('ERR_NOT_FOUND', `service ${req.service}: network ${req.network} not found`);
  const key = `${req.network}/${req.service}`;
  const prev = state.vips?.[key];
  let ipam = state.ipam;
  let vip = prev?.vip;
  let prefix = prev?.prefix ?? 32;
  if (vip === undefined) {
    const r = allocateAddresses(ipam, { network: req.network, owner: `vip:${req.service}`, service: req.service });
    ipam = r.state;
    vip = r.grant.ipv4?.address;
    prefix = r.grant.ipv4?.prefix ?? 32;
    if (vip === undefined) throw new TscError('ERR_NETWORK', `service ${req.service}: network ${req.network} has no IPv4 subnet for a VIP`);
  }
  const record: VipRecord = {
    service: req.service,
    network: req.network,
    vip,
    prefix,
    ports: req.ports.map((p) => ({ protocol: p.protocol ?? 'tcp', port: p.port, target: p.target ?? p.port })),
    backends: [...req.backends],
  };
  return { state: { ...state, ipam, vips: { ...(state.vips ?? {}), [key]: record } }, vip: record };
}

export function planVipRemoval(state: NetworkingState, network: string, service: string): { state: NetworkingState; vip: VipRecord | undefined } {
  const key = `${network}/${service}`;
  const vip = state.vips?.[key];
  if (vip === undefined) return { state, vip };
  const vips = { ...(state.vips ?? {}) };
  delete vips[key];
  return { state: { ...state, ipam: releaseAddresses(state.ipam, { network, owner: `vip:${service}` }), vips }, vip };
}

const DRIVERS: readonly DriverName[] = ['bridge', 'overlay', 'host', 'none'];

function boolOpt(v: string | number | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return !['false', '0', 'no'].includes(String(v).toLowerCase());
}

/** Decide a network: subnets from IPAM, bridge name, MTU and the driver options honoured. */
export function planNetwork(
  state: NetworkingState,
  spec: NetworkSpec,
  hostRoutes: readonly string[],
  ipv6Pools?: readonly AddressPool[],
): { state: NetworkingState; record: NetworkRecord } {
  const existing = state.networks[spec.name];
  if (existing !== undefined) return { state, record: existing };
  const driver = (spec.driver ?? 'bridge') as DriverName;
  const path = `networks.${spec.name}`;
  if (!DRIVERS.includes(driver)) {
    throw new TscError('ERR_UNSUPPORTED', `network ${spec.name}: driver ${JSON.stringify(spec.driver)} is not supported`, { path: `${path}.driver` });
  }
  const opts = spec.driver_opts ?? {};
  const bridgeOpt = opts['com.docker.network.bridge.name'];
  const bridge = bridgeOpt === undefined ? bridgeNameFor(spec.name) : String(bridgeOpt);
  if (!isValidIfname(bridge)) {
    throw new TscError('ERR_NETWORK', `network ${spec.name}: bridge name ${JSON.stringify(bridge)} is not a valid interface name (at most 15 characters)`, {
      path: `${path}.driver_opts.com.docker.network.bridge.name`,
    });
  }
  for (const [n, r] of Object.entries(state.networks)) {
    if (r.bridge === bridge) {
      throw new TscError('ERR_CONFLICT', `network ${spec.name}: bridge ${bridge} is already used by network ${n}`, { path: `${path}.driver_opts` });
    }
  }
  const mtuOpt = opts['com.docker.network.driver.mtu'];
  const mtu = mtuOpt === undefined ? undefined : Number(mtuOpt);
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw new TscError('ERR_NETWORK', `network ${spec.name}: MTU ${JSON.stringify(mtuOpt)} is not between 68 and 65535`, {
      path: `${path}.driver_opts.com.docker.network.driver.mtu`,
    });
  }
  let ipam = state.ipam;
  let subnets: NetworkRecord['subnets'] = [];
  if (driver === 'bridge' || driver === 'overlay') {
    const pools = driver === 'overlay' ? OVERLAY_POOLS : undefined;
    const r = allocateSubnets(ipam, { network: spec.name, config: spec.ipam?.config, enableIpv6: spec.enable_ipv6, hostRoutes, pools, ipv6Pools });
    ipam = r.state;
    subnets = r.network.subnets.map((s) => ({ family: s.family, subnet: s.subnet, gateway: s.gateway }));
  }
  const hostBinding = opts['com.docker.network.bridge.host_binding_ipv4'];
  const record: NetworkRecord = {
    name: spec.name,
    id: spec.id,
    created: spec.created,
    options: Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, String(v)])),
    enableIpv6: spec.enable_ipv6 === true,
    driver,
    bridge,
    altname: bridgeOpt === undefined ? altnameFor(spec.name) : undefined,
    mtu,
    internal: spec.internal === true,
    icc: boolOpt(opts['com.docker.network.bridge.enable_icc'], true),
    masquerade: boolOpt(opts['com.docker.network.bridge.enable_ip_masquerade'], true),
    attachable: spec.attachable === true,
    labels: { ...(spec.labels ?? {}) },
    hostBindingIpv4: hostBinding === undefined ? undefined : String(hostBinding),
    subnets,
    external: false,
    vxlan: spec.vxlan,
  };
  return { state: { ...state, ipam, networks: { ...state.networks, [spec.name]: record } }, record };
}

export function planNetworkRemoval(state: NetworkingState, name: string): { state: NetworkingState; record: NetworkRecord } {
  const record = state.networks[name];
  if (record === undefined) throw new TscError('ERR_NOT_FOUND', `network ${name} not found`);
  const users = Object.values(state.containers).filter((c) => c.endpoints.some((e) => e.network === name));
  if (users.length > 0) {
    throw new TscError('ERR_CONFLICT', `network ${name} has active endpoints (${users.map((u) => u.container).join(', ')})`);
  }
  const vips = Object.values(state.vips ?? {}).filter((v) => v.network === name);
  if (vips.length > 0) {
    throw new TscError('ERR_CONFLICT', `network ${name} still has service VIPs (${vips.map((v) => v.service).join(', ')})`);
  }
  const networks = { ...state.networks };
  delete networks[name];
  return { state: { ...state, ipam: releaseSubnets(state.ipam, name), networks }, record };
}

/** One network of a connect request (`services.X.networks.Y`). */
export interface EndpointSpec {
  network: string;
  aliases?: string[] | undefined;
  ipv4_address?: string | undefined;
  ipv6_address?: string | undefined;
  mac_address?: string | undefined;
  priority?: number | undefined;
}

export interface ConnectRequest {
  /** Container name (unique on the host). */
  container: string;
  /** Path of the container's network namespace. */
  netns: string;
  service?: string | undefined;
  hostname?: string | undefined;
  networks: EndpointSpec[];
  ports?: PortConfig[] | undefined;
  /** `expose:` entries ("80", "53/udp"): documented, and served as SRV. */
  expose?: (string | number)[] | undefined;
  /** `dns:` servers the embedded DNS forwards this container's queries to. */
  dns?: string[] | undefined;
  /**
   * `netns` (/run/netns/NAME) does not exist yet: the connect's script makes it first, so that
   * a new container's network costs one program start from the agent, not two.
   */
  createNetns?: boolean | undefined;
}

export interface ConnectContext {
  bound: readonly BoundSocket[];
  ephemeral: readonly [number, number];
  seed: number;
  /** Interface names already in the container's namespace (for later connects). */
  existingIfnames: readonly string[];
}

function sortByPriority(nets: EndpointSpec[]): EndpointSpec[] {
  // Docker: higher priority first; ties keep the order given (compose sorts by name).
  return nets.map((n, i) => ({ n, i })).sort((a, b) => (b.n.priority ?? 0) - (a.n.priority ?? 0) || a.i - b.i).map((x) => x.n);
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Attach a container to networks: addresses, interface names, default route, ports. */
export function planConnect(
  state: NetworkingState,
  req: ConnectRequest,
  ctx: ConnectContext,
): { state: NetworkingState; container: ContainerRecord; added: EndpointRecord[] } {
  const who = req.service ?? req.container;
  const prev = state.containers[req.container];
  let ipam = state.ipam;
  const endpoints = [...(prev?.endpoints ?? [])];
  const added: EndpointRecord[] = [];
  const usedIf = new Set([...ctx.existingIfnames, ...endpoints.map((e) => e.ifname)]);
  let hasRoute = endpoints.some((e) => e.gatewayRoute);
  for (const spec of sortByPriority(req.networks)) {
    const net = state.networks[spec.network];
    const path = `services.${who}.networks.${spec.network}`;
    if (net === undefined) throw new TscError('ERR_NOT_FOUND', `service ${who}: network ${spec.network} not found`, { path });
    if (endpoints.some((e) => e.network === spec.network)) continue;
    if (spec.mac_address !== undefined && !MAC_RE.test(spec.mac_address)) {
      throw new TscError('ERR_COMPOSE_INVALID', `service ${who}: ${JSON.stringify(spec.mac_address)} is not a MAC address`, { path: `${path}.mac_address` });
    }
    const r = allocateAddresses(ipam, {
      network: spec.network,
      owner: req.container,
      service: who,
      ipv4Address: spec.ipv4_address,
      ipv6Address: spec.ipv6_address,
    });
    ipam = r.state;
    let n = 0;
    while (usedIf.has(`eth${n}`)) n++;
    const ifname = `eth${n}`;
    usedIf.add(ifname);
    const gatewayRoute = !hasRoute && !net.internal;
    if (gatewayRoute) hasRoute = true;
    const ep: EndpointRecord = {
      container: req.container,
      network: spec.network,
      netns: req.netns,
      ifname,
      hostVeth: vethNameFor(req.container, spec.network),
      mac: spec.mac_address?.toLowerCase() ?? (r.grant.ipv4 ? macForIpv4(r.grant.ipv4.address) : undefined),
      ipv4: r.grant.ipv4?.address,
      ipv6: r.grant.ipv6?.address,
      prefix4: r.grant.ipv4?.prefix,
      prefix6: r.grant.ipv6?.prefix,
      aliases: [...(spec.aliases ?? [])],
      priority: spec.priority ?? 0,
      gatewayRoute,
    };
    endpoints.push(ep);
    added.push(ep);
  }
  // Ports go to the container's address on its first network (Docker's choice too).
  const primary = endpoints[0];
  let ports = prev?.ports ?? [];
  if (prev === undefined && (req.ports ?? []).length > 0 && primary !== undefined) {
    const existing = Object.values(state.containers).flatMap((c) => c.ports);
    const net = state.networks[primary.network];
    const withDefaultHost = (req.ports ?? []).map((p) =>
      p.host_ip === undefined && net?.hostBindingIpv4 !== undefined ? { ...p, host_ip: net.hostBindingIpv4 } : p,
    );
    ports = planPublishedPorts({
      request: { service: who, container: req.container, ports: withDefaultHost, ipv4: primary.ipv4, ipv6: primary.ipv6 },
      existing,
      bound: ctx.bound,
      ephemeral: ctx.ephemeral,
      seed: ctx.seed,
    });
  }
  const srv: ContainerRecord['srv'] = prev?.srv ?? [
    ...(req.ports ?? []).map((p) => ({ name: p.name, protocol: (p.protocol ?? 'tcp') === 'udp' ? ('udp' as const) : ('tcp' as const), port: p.target })),
    ...(req.expose ?? []).map((e) => {
      const [port, proto] = String(e).split('/');
      return { protocol: proto === 'udp' ? ('udp' as const) : ('tcp' as const), port: Number(port) };
    }),
  ];
  const container: ContainerRecord = {
    container: req.container,
    netns: req.netns,
    service: req.service ?? prev?.service,
    hostname: req.hostname ?? prev?.hostname,
    upstreams: req.dns ?? prev?.upstreams,
    ports,
    srv,
    endpoints,
  };
  return { state: { ...state, ipam, containers: { ...state.containers, [req.container]: container } }, container, added };
}

/** Detach from one network, or from all (then the container and its ports are forgotten). */
export function planDisconnect(
  state: NetworkingState,
  container: string,
  network?: string,
): { state: NetworkingState; removed: EndpointRecord[]; container: ContainerRecord | undefined } {
  const c = state.containers[container];
  if (c === undefined) return { state, removed: [], container: undefined };
  const removed = c.endpoints.filter((e) => network === undefined || e.network === network);
  let ipam = state.ipam;
  for (const e of removed) ipam = releaseAddresses(ipam, { network: e.network, owner: container });
  let endpoints = c.endpoints.filter((e) => !removed.includes(e));
  // The default route left with its network: the next non-internal network carries it (as Docker moves the gateway).
  if (removed.some((e) => e.gatewayRoute) && !endpoints.some((e) => e.gatewayRoute)) {
    const next = endpoints.find((e) => state.networks[e.network]?.internal === false);
    if (next !== undefined) endpoints = endpoints.map((e) => (e === next ? { ...e, gatewayRoute: true } : e));
  }
  const containers = { ...state.containers };
  if (endpoints.length === 0) delete containers[container];
  else {
    const primary = endpoints[0];
    const ports = c.ports.filter((p) => p.containerIp === primary?.ipv4 || p.containerIp === primary?.ipv6);
    containers[container] = { ...c, endpoints, ports };
  }
  return { state: { ...state, ipam, containers }, removed, container: containers[container] };
}

/** The nftables ruleset for the whole state. */
export function rulesetOf(state: NetworkingState, table: string): Ruleset {
  const networks = Object.values(state.networks)
    .filter((n) => n.driver === 'bridge')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => ({ bridge: n.bridge, subnets: n.subnets.map((s) => s.subnet), internal: n.internal, masquerade: n.masquerade, icc: n.icc }));
  const ports = Object.values(state.containers)
    .sort((a, b) => a.container.localeCompare(b.container))
    .flatMap((c) => c.ports);
  const vips = Object.values(state.vips ?? {})
    .sort((a, b) => a.vip.localeCompare(b.vip))
    .flatMap((v) =>
      v.ports.map((p) => ({
        vip: v.vip,
        protocol: p.protocol,
        port: p.port,
        backends: v.backends.flatMap((c) => {
          const ip = state.containers[c]?.endpoints.find((e) => e.network === v.network)?.ipv4;
          return ip === undefined ? [] : [{ ip, port: p.target }];
        }),
        owner: `vip ${v.service}`,
      })),
    );
  return { table, networks, ports, vips };
}

/** The embedded DNS table for the whole state. */
export function dnsTableOf(state: NetworkingState, upstreams: readonly string[]): DnsTable {
  const endpoints: DnsEndpoint[] = [];
  const vipped = new Set(Object.values(state.vips ?? {}).map((v) => `${v.network}/${v.service}`));
  for (const v of Object.values(state.vips ?? {})) {
    endpoints.push({ container: v.service, network: v.network, ipv4: v.vip, names: [v.service.toLowerCase()] });
  }
  for (const c of Object.values(state.containers)) {
    for (const e of c.endpoints) {
      // With a VIP the service name is the VIP's; the containers answer to tasks.<service>.
      const service = c.service === undefined ? [] : vipped.has(`${e.network}/${c.service}`) ? [`tasks.${c.service}`] : [c.service];
      const names = [c.container, ...service, ...(c.hostname ? [c.hostname] : []), ...e.aliases];
      endpoints.push({
        container: c.container,
        network: e.network,
        ipv4: e.ipv4,
        ipv6: e.ipv6,
        names: [...new Set(names.map((n) => n.toLowerCase()))],
        srv: c.srv,
        upstreams: c.upstreams,
      });
    }
  }
  return { endpoints, upstreams: upstreams.slice(0, 3) };
}
