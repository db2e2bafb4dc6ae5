/**
 * The `overlay` driver: the bridge driver's bridge and veths, plus a VXLAN device (VNI from
 * the swarm, UDP 4789) on the bridge whose all-zero FDB entries send broadcast and unknown
 * frames to every other host of the network (head-end replication; no multicast needed).
 * The swarm decides the VNI, the subnet (10.0.0.0/8 in /24s) and the peers; this only makes
 * one host's side. MTU is the underlay's minus 50.
 */
import { createHash } from 'node:crypto';

import { TscError } from '../lib/errors.js';
import { bridgeDriver } from './bridge-driver.js';
import { planVxlan } from './link-plan.js';
import type { NetworkDriver, NetworkRecord } from './network-driver.js';

export const VXLAN_OVERHEAD = 50;

/** `tsx-` and 10 hex digits of the network name. */
export function vxlanNameFor(network: string): string {
  return `tsx-${createHash('sha256').update(`vxlan\0${network}`).digest('hex').slice(0, 10)}`;
}

function vxlanOf(net: NetworkRecord): NonNullable<NetworkRecord['vxlan']> {
  if (net.vxlan === undefined) {
    throw new TscError('ERR_NETWORK', `network ${net.name}: an overlay network needs a VNI and the host's underlay address (swarm mode)`);
  }
  return net.vxlan;
}

export const overlayDriver: NetworkDriver = {
  name: 'overlay',
  async create(ctx, net) {
    const vx = vxlanOf(net);
    const mtu = net.mtu ?? vx.underlayMtu - VXLAN_OVERHEAD;
    // No gateway address on an overlay's bridge: every host has one, and the same address on
    // both ends of one L2 segment would clash (egress and DNS for overlays come with the swarm).
    await bridgeDriver.create(ctx, { ...net, mtu, subnets: [] });
    const device = vxlanNameFor(net.name);
    const actual = (await ctx.readLinks()).find((l) => l.ifname === device);
    const fdb = actual === undefined || ctx.readVxlanPeers === undefined ? [] : await ctx.readVxlanPeers(device);
    await ctx.applyLinkOps(planVxlan({ device, bridge: net.bridge, vni: vx.vni, local: vx.local, peers: vx.peers, mtu, port: vx.port }, actual, fdb));
  },
  async remove(ctx, net) {
    const device = vxlanNameFor(net.name);
    if ((await ctx.readLinks()).some((l) => l.ifname === device)) await ctx.applyLinkOps([{ kind: 'ip', args: ['link', 'del', device] }]);
    await bridgeDriver.remove(ctx, net);
  },
  async attach(ctx, net, ep) {
    await bridgeDriver.attach(ctx, { ...net, mtu: net.mtu ?? vxlanOf(net).underlayMtu - VXLAN_OVERHEAD }, ep);
  },
  detach: (ctx, net, ep) => bridgeDriver.detach(ctx, net, ep),
};
