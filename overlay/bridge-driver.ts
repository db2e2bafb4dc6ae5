/**
 * The `bridge` driver: one Linux bridge per network and a veth pair per container, planned by
 * link-plan.ts against what `ip -json` reads back, so each call is idempotent; or, on the
 * manager's hot path (`ctx.fromState`), planned from the state alone with no read at all.
 */
import type { EndpointRecord, NetworkDriver, NetworkRecord } from './network-driver.js';
import { bridgeMacFor } from './link-names.js';
import { planAttach, planBridge, planBridgeRemoval, planDetach } from './link-plan.js';

function gatewayCidrs(net: NetworkRecord): string[] {
  return net.subnets.map((s) => `${s.gateway}/${s.subnet.split('/')[1]}`);
}

function endpointCidrs(ep: EndpointRecord): string[] {
  const out: string[] = [];
  if (ep.ipv4 !== undefined) out.push(`${ep.ipv4}/${ep.prefix4 ?? 32}`);
  if (ep.ipv6 !== undefined) out.push(`${ep.ipv6}/${ep.prefix6 ?? 128}`);
  return out;
}

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  async create(ctx, net) {
    const links = await ctx.readLinks();
    const actual = links.find((l) => l.ifname === net.bridge);
    await ctx.applyLinkOps(
      planBridge(
        { bridge: net.bridge, altname: net.altname, mtu: net.mtu, mac: bridgeMacFor(net.bridge), addresses: gatewayCidrs(net), ipv6: net.subnets.some((s) => s.family === 6) },
        actual,
      ),
    );
    // Read back: the bridge must now be up with every gateway address.
    const made = (await ctx.readLinks()).find((l) => l.ifname === net.bridge);
    const missing = gatewayCidrs(net).filter((c) => !(made?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === c));
    if (made === undefined || missing.length > 0) {
      throw new Error(`bridge ${net.bridge} of network ${net.name} is ${made === undefined ? 'missing' : `without ${missing.join(', ')}`} after creation`);
    }
  },
  async remove(ctx, net) {
    if (net.external) return;
    const present = ctx.linkExists !== undefined ? await ctx.linkExists(net.bridge) : (await ctx.readLinks()).some((l) => l.ifname === net.bridge);
    await ctx.applyLinkOps(planBridgeRemoval(net.bridge, present));
  },
  async attach(ctx, net, ep) {
    // From the manager's state: no host side yet, nothing of ours in the namespace.
    const [host, inside] = ctx.fromState === true ? [[], []] : await Promise.all([ctx.readLinks(), ctx.readLinks(ep.netns)]);
    const gateways = ep.gatewayRoute && !net.internal ? net.subnets.filter((s) => (s.family === 4 ? ep.ipv4 : ep.ipv6) !== undefined).map((s) => s.gateway) : [];
    await ctx.applyLinkOps(
      planAttach(
        {
          netns: ep.netns,
          bridge: net.bridge,
          hostVeth: ep.hostVeth,
          ifname: ep.ifname,
          mtu: net.mtu,
          mac: ep.mac,
          isolated: !net.icc,
          addresses: endpointCidrs(ep),
          gateways,
        },
        host.find((l) => l.ifname === ep.hostVeth),
        inside,
      ),
    );
    if (ctx.fromState === true) return;
    // Read back: the container's interface carries its addresses.
    const iface = (await ctx.readLinks(ep.netns)).find((l) => l.ifname === ep.ifname);
    const missing = endpointCidrs(ep).filter((c) => !(iface?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === c));
    if (iface === undefined || missing.length > 0) {
      throw new Error(`interface ${ep.ifname} of ${ep.container} in ${ep.netns} is ${iface === undefined ? 'missing' : `without ${missing.join(', ')}`} after attach`);
    }
  },
  async detach(ctx, _net, ep) {
    if (ctx.fromState === true) {
      // One `ip -batch` line with the rest of the script. Gone already (its namespace was
      // deleted first) fails the script: the manager then detaches by reading the kernel.
      await ctx.applyLinkOps([{ kind: 'ip', args: ['link', 'del', ep.hostVeth] }]);
      return;
    }
    const links = await ctx.readLinks();
    await ctx.applyLinkOps(planDetach(ep.hostVeth, links.find((l) => l.ifname === ep.hostVeth)));
  },
};

/** `host` and `none`: nothing to create; `none` only brings loopback up. */
export const hostDriver: NetworkDriver = {
  name: 'host',
  async create() {},
  async remove() {},
  async attach() {},
  async detach() {},
};

export const noneDriver: NetworkDriver = {
  name: 'none',
  async create() {},
  async remove() {},
  async attach(ctx, _net, ep) {
    await ctx.applyLinkOps([{ kind: 'ip', netns: ep.netns, args: ['link', 'set', 'lo', 'up'] }]);
  },
  async detach() {},
};
