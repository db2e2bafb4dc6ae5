/**
 * Plans for bridges and veths: pure functions from what should exist and what was read back
 * (`ip -json addr show`) to a list of operations the shell runs (`ip -batch`, sysctl, nft),
 * each in the host's or a container's network namespace.
 */

import { TscError } from '../lib/errors.js';

/** One step. `netns` is a namespace path (/run/netns/X, /proc/PID/ns/net); absent = host. */
export type LinkOp =
  | { kind: 'ip'; netns?: string | undefined; args: string[]; /** A nicety whose failure is ignored. */ optional?: boolean }
  | { kind: 'sysctl'; netns?: string | undefined; key: string; value: string }
  | { kind: 'nft'; netns?: string | undefined; script: string }
  /** Another iproute2 tool (`bridge fdb ...`), run as is. */
  | { kind: 'cmd'; netns?: string | undefined; argv: string[] };

/** A link as `ip -json addr show` reports it (the fields we read). */
export interface LinkInfo {
  ifname: string;
  altnames?: string[] | undefined;
  mtu?: number | undefined;
  address?: string | undefined;
  master?: string | undefined;
  operstate?: string | undefined;
  flags?: string[] | undefined;
  addr_info?: { family: string; local: string; prefixlen: number }[] | undefined;
  /** With `ip -details`: the link's kind (`bridge`, `veth`, ...). */
  linkinfo?: { info_kind?: string | undefined } | undefined;
}

export interface BridgeDesired {
  bridge: string;
  /** The compose name, as an altname (when it fits). */
  altname?: string | undefined;
  mtu?: number | undefined;
  /** A fixed MAC (see bridgeMacFor). */
  mac?: string | undefined;
  /** Gateway addresses with prefix: `172.18.0.1/16`. Empty for a network without one. */
  addresses: string[];
  /** Whether any subnet is IPv6 (turns on forwarding for IPv6). */
  ipv6: boolean;
}

function hasAddr(link: LinkInfo | undefined, cidr: string): boolean {
  const [addr, prefix] = cidr.split('/');
  return (link?.addr_info ?? []).some((a) => a.local === addr && String(a.prefixlen) === prefix);
}

function addrArgs(cidr: string, dev: string): string[] {
  return cidr.includes(':') ? ['addr', 'add', cidr, 'dev', dev, 'nodad'] : ['addr', 'add', cidr, 'dev', dev];
}

/** Make the bridge exist as desired (idempotent: only what is missing is planned). */
export function planBridge(want: BridgeDesired, actual: LinkInfo | undefined): LinkOp[] {
  const ops: LinkOp[] = [];
  const dev = want.bridge;
  if (actual?.linkinfo !== undefined && actual.linkinfo.info_kind !== 'bridge') {
    throw new TscError('ERR_CONFLICT', `bridge name ${dev} is taken by another interface (a ${actual.linkinfo.info_kind ?? 'device'})`, {
      hint: 'choose another com.docker.network.bridge.name',
    });
  }
  if (actual === undefined) {
    ops.push({
      kind: 'ip',
      args: ['link', 'add', dev, ...(want.mtu ? ['mtu', String(want.mtu)] : []), ...(want.mac ? ['address', want.mac] : []), 'type', 'bridge'],
    });
    // Best effort: the name may be taken by another link (a network called `eth0`).
    if (want.altname !== undefined) ops.push({ kind: 'ip', args: ['link', 'property', 'add', 'dev', dev, 'altname', want.altname], optional: true });
  } else if (want.mtu !== undefined && actual.mtu !== want.mtu) {
    ops.push({ kind: 'ip', args: ['link', 'set', dev, 'mtu', String(want.mtu)] });
  }
  // Published ports reached through 127.0.0.1 leave with a loopback source (then masqueraded).
  ops.push({ kind: 'sysctl', key: `net.ipv4.conf.${dev}.route_localnet`, value: '1' });
  ops.push({ kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' });
  if (want.ipv6) {
    ops.push({ kind: 'sysctl', key: `net.ipv6.conf.${dev}.disable_ipv6`, value: '0' });
    ops.push({ kind: 'sysctl', key: 'net.ipv6.conf.all.forwarding', value: '1' });
  }
  for (const a of want.addresses) if (!hasAddr(actual, a)) ops.push({ kind: 'ip', args: addrArgs(a, dev) });
  if (actual === undefined || actual.operstate === 'DOWN' || !(actual.flags ?? []).includes('UP')) {
    ops.push({ kind: 'ip', args: ['link', 'set', dev, 'up'] });
  }
  return ops;
}

export function planBridgeRemoval(bridge: string, present: boolean): LinkOp[] {
  return present ? [{ kind: 'ip', args: ['link', 'del', bridge] }] : [];
}

export interface AttachDesired {
  netns: string;
  bridge: string;
  hostVeth: string;
  /** Name inside the container: eth0, eth1, ... in priority order. */
  ifname: string;
  mtu?: number | undefined;
  mac?: string | undefined;
  /** Container addresses with prefix. */
  addresses: string[];
  /** enable_icc=false: an isolated port talks only to the bridge (the host), not to other isolated ports. */
  isolated?: boolean | undefined;
  /** Default routes via these gateways (only on the primary non-internal network). */
  gateways: string[];
}

/**
 * Plug a container into a bridge: veth created with its peer directly in the container's
 * namespace under its final name, addresses, routes, and route_localnet on the interface so
 * the 127.0.0.11 DNAT can leave through it.
 */
export function planAttach(want: AttachDesired, hostActual: LinkInfo | undefined, nsActual: LinkInfo[]): LinkOp[] {
  const ops: LinkOp[] = [];
  const inside = nsActual.find((l) => l.ifname === want.ifname);
  const ns = want.netns;
  const creating = hostActual === undefined;
  if (creating) {
    if (inside !== undefined) {
      throw new Error(`interface ${want.ifname} already exists in ${ns} without its host side ${want.hostVeth}`);
    }
    // The peer is born in the namespace with its name, MAC and MTU: nothing to fix up inside.
    ops.push({
      kind: 'ip',
      args: ['link', 'add', want.hostVeth, ...(want.mtu ? ['mtu', String(want.mtu)] : []), 'type', 'veth', 'peer', 'name', want.ifname,
        ...(want.mac ? ['address', want.mac] : []), ...(want.mtu ? ['mtu', String(want.mtu)] : []), 'netns', ns],
    });
  }
  if (hostActual?.master !== want.bridge) ops.push({ kind: 'ip', args: ['link', 'set', want.hostVeth, 'master', want.bridge] });
  // Hairpin lets a container reach its own published port through the host's address.
  ops.push({
    kind: 'ip',
    args: ['link', 'set', 'dev', want.hostVeth, 'type', 'bridge_slave', 'hairpin', 'on', ...(want.isolated ? ['isolated', 'on'] : [])],
  });
  ops.push({ kind: 'ip', args: ['link', 'set', want.hostVeth, 'up'] });
  const lo = nsActual.find((l) => l.ifname === 'lo');
  if (lo === undefined || !(lo.flags ?? []).includes('UP')) ops.push({ kind: 'ip', netns: ns, args: ['link', 'set', 'lo', 'up'] });
  if (!creating && want.mac !== undefined && inside?.address !== want.mac) {
    ops.push({ kind: 'ip', netns: ns, args: ['link', 'set', want.ifname, 'address', want.mac] });
  }
  for (const a of want.addresses) if (!hasAddr(inside, a)) ops.push({ kind: 'ip', netns: ns, args: addrArgs(a, want.ifname) });
  ops.push({ kind: 'ip', netns: ns, args: ['link', 'set', want.ifname, 'up'] });
  for (const gw of want.gateways) {
    ops.push({ kind: 'ip', netns: ns, args: ['route', 'replace', 'default', 'via', gw, 'dev', want.ifname] });
  }
  // Last, so that the namespace's `ip` steps above stay one batch.
  ops.push({ kind: 'sysctl', netns: ns, key: `net.ipv4.conf.${want.ifname}.route_localnet`, value: '1' });
  return ops;
}

/** Deleting the host side takes the container side with it. */
export function planDetach(hostVeth: string, hostActual: LinkInfo | undefined): LinkOp[] {
  return hostActual === undefined ? [] : [{ kind: 'ip', args: ['link', 'del', hostVeth] }];
}

export interface VxlanDesired {
  /** The VXLAN device (at most 15 bytes). */
  device: string;
  bridge: string;
  vni: number;
  /** This host's underlay address (the VXLAN source). */
  local: string;
  /** Other hosts' underlay addresses: broadcast and unknown traffic is sent to each. */
  peers: string[];
  /** Overlay MTU: the underlay's minus 50 (VXLAN's headers). */
  mtu: number;
  port?: number | undefined;
}

/** A VXLAN device on the overlay's bridge, with one all-zero FDB entry per peer (head-end replication). */
export function planVxlan(want: VxlanDesired, actual: LinkInfo | undefined, fdbPeers: readonly string[]): LinkOp[] {
  const ops: LinkOp[] = [];
  if (actual === undefined) {
    ops.push({
      kind: 'ip',
      args: ['link', 'add', want.device, 'mtu', String(want.mtu), 'type', 'vxlan', 'id', String(want.vni), 'local', want.local,
        'dstport', String(want.port ?? 4789), 'nolearning'],
    });
  }
  if (actual?.master !== want.bridge) ops.push({ kind: 'ip', args: ['link', 'set', want.device, 'master', want.bridge] });
  ops.push({ kind: 'ip', args: ['link', 'set', want.device, 'up'] });
  for (const p of want.peers) {
    if (!fdbPeers.includes(p)) ops.push({ kind: 'cmd', argv: ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', want.device, 'dst', p] });
  }
  for (const p of fdbPeers) {
    if (!want.peers.includes(p)) ops.push({ kind: 'cmd', argv: ['bridge', 'fdb', 'del', '00:00:00:00:00:00', 'dev', want.device, 'dst', p] });
  }
  return ops;
}
