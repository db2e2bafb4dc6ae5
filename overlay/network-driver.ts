/**
 * The contract between the network manager and the drivers that make networks real. The
 * manager does every decision that spans networks (IPAM, the nftables table, the DNS table);
 * a driver only makes one network's links and plugs one container in or out. `bridge` is the
 * one-host driver; `overlay` (VXLAN across hosts) implements the same four calls later, and
 * `host`/`none` exist so that every network_mode goes through one API.
 */
import type { LinkInfo, LinkOp } from './link-plan.js';

export type DriverName = 'bridge' | 'overlay' | 'host' | 'none';

/** A network as the manager decided it: names, addresses and options resolved. */
export interface NetworkRecord {
  /** Full name (`<project>_<name>` for compose networks). */
  name: string;
  /** 64 hex digits, as Docker's network ids (absent in states saved before ids existed). */
  id?: string | undefined;
  /** When it was created (RFC 3339), for `network inspect`. */
  created?: string | undefined;
  /** The `driver_opts` as given, for `network inspect`'s Options. */
  options?: Record<string, string> | undefined;
  /** Whether IPv6 was asked for (`enable_ipv6`). */
  enableIpv6?: boolean | undefined;
  driver: DriverName;
  /** Kernel name of the bridge (at most 15 bytes). */
  bridge: string;
  /** The compose name as the bridge's altname, when it is too long to be the name. */
  altname?: string | undefined;
  mtu?: number | undefined;
  internal: boolean;
  icc: boolean;
  masquerade: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  /** `com.docker.network.bridge.host_binding_ipv4`: default host_ip of published ports. */
  hostBindingIpv4?: string | undefined;
  subnets: { family: 4 | 6; subnet: string; gateway: string }[];
  /** True when we did not create it (external) and must not remove it. */
  external: boolean;
  /** For the `overlay` driver: the VXLAN that joins this host's bridge to the other hosts'. */
  vxlan?: { vni: number; local: string; peers: string[]; underlayMtu: number; port?: number | undefined } | undefined;
}

/** One container's interface on one network. */
export interface EndpointRecord {
  container: string;
  network: string;
  netns: string;
  /** Name inside the container (eth0, eth1, ... in priority order). */
  ifname: string;
  hostVeth: string;
  mac?: string | undefined;
  ipv4?: string | undefined;
  ipv6?: string | undefined;
  /** Prefix lengths of the addresses, in the order ipv4, ipv6. */
  prefix4?: number | undefined;
  prefix6?: number | undefined;
  aliases: string[];
  priority: number;
  /** Whether this interface carries the default route. */
  gatewayRoute: boolean;
}

/** What a driver may do: read links and apply plans. Given, so tests and the swarm can wrap it. */
export interface DriverContext {
  applyLinkOps(ops: readonly LinkOp[]): Promise<void>;
  readLinks(netns?: string): Promise<LinkInfo[]>;
  /** Whether the host's namespace has a link of this name, without reading them all (/sys/class/net). */
  linkExists?(name: string): Promise<boolean>;
  /**
   * The hot path of connect/disconnect: the manager's state is taken as the truth (the veth
   * does not exist yet, the namespace holds only what the state says), so attach/detach plan
   * without reading the kernel and skip read-backs. `applyLinkOps` may then only collect the
   * ops, to run them in one script with the manager's own; when that script fails the manager
   * retries with a reading context (fromState unset), which must be idempotent.
   */
  fromState?: boolean | undefined;
  /** Remote VTEPs already in a VXLAN device's FDB (for the overlay driver). */
  readVxlanPeers?(device: string): Promise<string[]>;
}

export interface NetworkDriver {
  readonly name: DriverName;
  create(ctx: DriverContext, net: NetworkRecord): Promise<void>;
  remove(ctx: DriverContext, net: NetworkRecord): Promise<void>;
  attach(ctx: DriverContext, net: NetworkRecord, ep: EndpointRecord): Promise<void>;
  detach(ctx: DriverContext, net: NetworkRecord, ep: EndpointRecord): Promise<void>;
}
