/**
 * IP address management: a pure allocator. The state goes in and a new state comes out, so
 * the agent can keep it on disk and the swarm allocator can keep it in its replicated store;
 * nothing here reads the host (callers pass the host's routes in).
 *
 * Subnets come from Docker's local pools (172.17.0.0/16 upward in /16s, then 192.168.0.0/16
 * in /20s) unless the network's `ipam.config` names them; an automatic subnet never overlaps
 * a host route or another network, and a configured one that overlaps another network is an
 * error. Addresses are handed out lowest-free inside `ip_range` (or the subnet), skipping the
 * network and broadcast addresses, the gateway and `aux_addresses`.
 */
import { createHash } from 'node:crypto';

import { TscError } from '../lib/errors.js';
import type { Cidr, Family } from './ip-addr.js';
import {
  bitsOf,
  canonicalIp,
  cidrContains,
  cidrsOverlap,
  formatCidr,
  formatIp,
  isIp,
  lastOf,
  parseCidr,
  parseIp,
  sizeOf,
} from './ip-addr.js';

/** One entry of a compose network's `ipam.config`. */
export interface IpamConfigEntry {
  subnet?: string | undefined;
  ip_range?: string | undefined;
  gateway?: string | undefined;
  aux_addresses?: Record<string, string> | undefined;
}

/** A pool subnets are carved from: `base` split into pieces of prefix `size`. */
export interface AddressPool {
  base: string;
  size: number;
}

/** Docker's default local (bridge) pools. */
export const LOCAL_POOLS: readonly AddressPool[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

/**
 * Docker's default IPv6 pool (Engine 27+): a ULA /48 whose 40-bit Global ID is derived from
 * the host's id (RFC 4193 3.2.2), so it is stable on one host and differs between hosts; cut
 * into /64s for networks with `enable_ipv6` and no IPv6 subnet of their own.
 */
export function ulaPoolFor(hostId: string): AddressPool {
  const g = createHash('sha256').update(hostId).digest('hex').slice(0, 10);
  const base = parseCidr(`fd${g.slice(0, 2)}:${g.slice(2, 6)}:${g.slice(6, 10)}::/48`);
  if (base === undefined) throw new Error(`ULA prefix from ${g} did not parse`);
  return { base: formatCidr(base), size: 64 };
}

/** Docker swarm's default overlay pool (10.0.0.0/8 in /24s), for the swarm allocator. */
export const OVERLAY_POOLS: readonly AddressPool[] = [{ base: '10.0.0.0/8', size: 24 }];

export interface SubnetState {
  family: Family;
  subnet: string;
  gateway: string;
  /** Where container addresses are taken from; the subnet when absent. */
  ipRange?: string | undefined;
  /** aux_addresses: never handed out. */
  reserved: string[];
  /** owner (container or endpoint id) -> address. */
  addresses: Record<string, string>;
  /** Whether the subnet came from a pool (informational, for `network inspect`). */
  automatic: boolean;
}

export interface IpamNetwork {
  subnets: SubnetState[];
}

export interface IpamState {
  networks: Record<string, IpamNetwork>;
}

export function emptyIpamState(): IpamState {
  return { networks: {} };
}

export interface SubnetRequest {
  /** The network's name as users know it (used in messages and as the state key). */
  network: string;
  config?: readonly IpamConfigEntry[] | undefined;
  enableIpv6?: boolean | undefined;
  /** Destinations of the host's routes (CIDRs); automatic subnets avoid them. */
  hostRoutes?: readonly string[] | undefined;
  pools?: readonly AddressPool[] | undefined;
  /** Where automatic IPv6 subnets come from (default: a ULA pool, see ulaPoolFor). */
  ipv6Pools?: readonly AddressPool[] | undefined;
}

function netError(message: string, path: string, hint?: string): TscError {
  return new TscError('ERR_NETWORK', message, { path, hint });
}

function cidrOrThrow(text: string, what: string, path: string): Cidr {
  const c = parseCidr(text);
  if (c === undefined) throw netError(`network ${what}: ${JSON.stringify(text)} is not a CIDR subnet`, path);
  return c;
}

function allSubnets(state: IpamState, except?: string): { network: string; cidr: Cidr }[] {
  const out: { network: string; cidr: Cidr }[] = [];
  for (const [name, n] of Object.entries(state.networks)) {
    if (name === except) continue;
    for (const s of n.subnets) {
      const c = parseCidr(s.subnet);
      if (c !== undefined) out.push({ network: name, cidr: c });
    }
  }
  return out;
}

/** Pick the first piece of the pools that overlaps neither a host route nor another network. */
function pickFromPools(
  pools: readonly AddressPool[],
  taken: readonly Cidr[],
  network: string,
): Cidr {
  for (const pool of pools) {
    const base = parseCidr(pool.base);
    if (base === undefined) throw new Error(`bad pool ${pool.base}`);
    const step = 1n << BigInt(bitsOf(base.family) - pool.size);
    for (let at = base.base; at <= lastOf(base); at += step) {
      const candidate: Cidr = { family: base.family, base: at, prefix: pool.size };
      if (!taken.some((t) => cidrsOverlap(t, candidate))) return candidate;
    }
  }
  throw netError(
    `network ${network}: all predefined address pools are in use (pool exhausted)`,
    `networks.${network}.ipam`,
    'give the network a subnet in ipam.config, or remove unused networks',
  );
}

/** Give a network its subnets (one per family) and the gateway of each. */
export function allocateSubnets(state: IpamState, req: SubnetRequest): { state: IpamState; network: IpamNetwork } {
  const name = req.network;
  const existing = state.networks[name];
  if (existing !== undefined) return { state, network: existing };
  const others = allSubnets(state);
  const routes: Cidr[] = [];
  for (const r of req.hostRoutes ?? []) {
    const c = parseCidr(r.includes('/') ? r : `${r}/${r.includes(':') ? 128 : 32}`);
    // A default route covers everything and is no reason to avoid a subnet.
    if (c !== undefined && c.prefix > 0) routes.push(c);
  }
  const subnets: SubnetState[] = [];
  const config = req.config ?? [];
  config.forEach((entry, i) => {
    const path = `networks.${name}.ipam.config[${i}]`;
    if (entry.subnet === undefined) {
      if (entry.ip_range !== undefined || entry.gateway !== undefined) {
        throw netError(`network ${name}: ip_range and gateway need a subnet`, `${path}.subnet`);
      }
      return;
    }
    const cidr = cidrOrThrow(entry.subnet, name, `${path}.subnet`);
    for (const o of [...others, ...subnets.map((s) => ({ network: name, cidr: parseCidr(s.subnet) as Cidr }))]) {
      if (cidrsOverlap(o.cidr, cidr)) {
        throw netError(
          `network ${name}: subnet ${formatCidr(cidr)} overlaps ${formatCidr(o.cidr)} of network ${o.network}`,
          `${path}.subnet`,
        );
      }
    }
    let ipRange: string | undefined;
    if (entry.ip_range !== undefined) {
      const r = cidrOrThrow(entry.ip_range, name, `${path}.ip_range`);
      if (r.family !== cidr.family || r.base < cidr.base || lastOf(r) > lastOf(cidr)) {
        throw netError(`network ${name}: ip_range ${entry.ip_range} is outside subnet ${formatCidr(cidr)}`, `${path}.ip_range`);
      }
      ipRange = formatCidr(r);
    }
    const gateway = entry.gateway ?? formatIp(cidr.family, cidr.base + 1n);
    checkInside(cidr, gateway, `network ${name}: gateway`, `${path}.gateway`);
    const reserved: string[] = [];
    for (const [key, addr] of Object.entries(entry.aux_addresses ?? {})) {
      checkInside(cidr, addr, `network ${name}: aux address ${key}`, `${path}.aux_addresses.${key}`);
      reserved.push(canonicalIp(addr));
    }
    subnets.push({
      family: cidr.family,
      subnet: formatCidr(cidr),
      gateway: canonicalIp(gateway),
      ipRange,
      reserved,
      addresses: {},
      automatic: false,
    });
  });
  if (!subnets.some((s) => s.family === 4)) {
    const taken = [...routes, ...others.map((o) => o.cidr)];
    const cidr = pickFromPools(req.pools ?? LOCAL_POOLS, taken, name);
    subnets.unshift({
      family: 4,
      subnet: formatCidr(cidr),
      gateway: formatIp(4, cidr.base + 1n),
      reserved: [],
      addresses: {},
      automatic: true,
    });
  }
  if (req.enableIpv6 === true && !subnets.some((s) => s.family === 6)) {
    const taken = [...routes, ...others.map((o) => o.cidr)];
    const cidr = pickFromPools(req.ipv6Pools ?? [ulaPoolFor('tsc-compose')], taken, name);
    subnets.push({ family: 6, subnet: formatCidr(cidr), gateway: formatIp(6, cidr.base + 1n), reserved: [], addresses: {}, automatic: true });
  }
  if (req.enableIpv6 !== true && subnets.some((s) => s.family === 6)) {
    throw netError(`network ${name}: an IPv6 subnet needs enable_ipv6: true`, `networks.${name}.enable_ipv6`);
  }
  const network: IpamNetwork = { subnets };
  return { state: { networks: { ...state.networks, [name]: network } }, network };
}

function checkInside(cidr: Cidr, addr: string, what: string, path: string): void {
  if (!isIp(addr)) throw netError(`${what} ${JSON.stringify(addr)} is not an IP address`, path);
  const { family, value } = parseIp(addr);
  if (!cidrContains(cidr, family, value)) {
    throw netError(`${what} ${addr} is outside subnet ${formatCidr(cidr)}`, path);
  }
}

export function releaseSubnets(state: IpamState, network: string): IpamState {
  const networks = { ...state.networks };
  delete networks[network];
  return { networks };
}

export interface AddressRequest {
  network: string;
  /** Who holds the address: a container or endpoint id. */
  owner: string;
  /** For messages: the service asking (`services.<service>.networks.<network>...`). */
  service?: string | undefined;
  ipv4Address?: string | undefined;
  ipv6Address?: string | undefined;
}

export interface AddressGrant {
  ipv4?: { address: string; prefix: number; gateway: string } | undefined;
  ipv6?: { address: string; prefix: number; gateway: string } | undefined;
}

function firstFree(s: SubnetState): string | undefined {
  const cidr = parseCidr(s.subnet) as Cidr;
  const range = s.ipRange === undefined ? cidr : (parseCidr(s.ipRange) as Cidr);
  const skip = new Set<string>([s.gateway, ...s.reserved, ...Object.values(s.addresses)]);
  const lo = range.base;
  const hi = lastOf(range);
  // Network and broadcast addresses of small IPv4 subnets are never handed out; in IPv6 the
  // subnet-router anycast address (host part 0) is skipped the same way.
  for (let v = lo; v <= hi; v++) {
    if (v === cidr.base) continue;
    if (s.family === 4 && v === lastOf(cidr) && sizeOf(cidr) > 2n) continue;
    const text = formatIp(s.family, v);
    if (!skip.has(text)) return text;
    if (v - lo > 1_000_000n) break;
  }
  return undefined;
}

/** Give an owner an address on each of the network's subnets (static ones checked). */
export function allocateAddresses(state: IpamState, req: AddressRequest): { state: IpamState; grant: AddressGrant } {
  const net = state.networks[req.network];
  if (net === undefined) throw new Error(`ipam: network ${req.network} has no subnets`);
  const grant: AddressGrant = {};
  const subnets = net.subnets.map((s) => ({ ...s, addresses: { ...s.addresses } }));
  const who = req.service ?? req.owner;
  for (const family of [4, 6] as const) {
    const s = subnets.find((x) => x.family === family);
    const wanted = family === 4 ? req.ipv4Address : req.ipv6Address;
    const key = `services.${who}.networks.${req.network}.${family === 4 ? 'ipv4_address' : 'ipv6_address'}`;
    if (s === undefined) {
      if (wanted !== undefined) {
        throw netError(`service ${who}: network ${req.network} has no IPv${family} subnet for ${wanted}`, key);
      }
      continue;
    }
    const held = s.addresses[req.owner];
    let addr: string | undefined;
    if (wanted !== undefined) {
      const cidr = parseCidr(s.subnet) as Cidr;
      checkInside(cidr, wanted, `service ${who}: address`, key);
      addr = canonicalIp(wanted);
      const holder = Object.entries(s.addresses).find(([o, a]) => a === addr && o !== req.owner);
      if (holder !== undefined || addr === s.gateway || s.reserved.includes(addr)) {
        throw new TscError(
          'ERR_CONFLICT',
          `service ${who}: address ${addr} on network ${req.network} is already in use${holder ? ` by ${holder[0]}` : ''}`,
          { path: key },
        );
      }
    } else if (held !== undefined) {
      addr = held;
    } else {
      addr = firstFree(s);
      if (addr === undefined) {
        throw netError(`network ${req.network}: no free address left in ${s.ipRange ?? s.subnet} (pool exhausted)`, key);
      }
    }
    s.addresses[req.owner] = addr;
    const prefix = (parseCidr(s.subnet) as Cidr).prefix;
    grant[family === 4 ? 'ipv4' : 'ipv6'] = { address: addr, prefix, gateway: s.gateway };
  }
  return { state: { networks: { ...state.networks, [req.network]: { subnets } } }, grant };
}

export function releaseAddresses(state: IpamState, req: { network: string; owner: string }): IpamState {
  const net = state.networks[req.network];
  if (net === undefined) return state;
  const subnets = net.subnets.map((s) => {
    const addresses = { ...s.addresses };
    delete addresses[req.owner];
    return { ...s, addresses };
  });
  return { networks: { ...state.networks, [req.network]: { subnets } } };
}
