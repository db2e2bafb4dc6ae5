/**
 * The overlay driver between two hosts: each host is a network namespace (with its own
 * bridge, VXLAN device and containers), joined by an underlay veth. The driver runs against
 * a context rooted in each host's namespace, as a node agent on that host would run it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import { bridgeNameFor, macForIpv4, vethNameFor } from './link-names.js';
import { applyLinkOps, readLinks, readVxlanPeers } from './link-shell.js';
import type { DriverContext, EndpointRecord, NetworkRecord } from './network-driver.js';
import { overlayDriver, vxlanNameFor } from './overlay-driver.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from './testing/netns-fixture.js';

const run = promisify(execFile);

function rootedAt(hostNs: string): DriverContext {
  return {
    applyLinkOps: (ops) => applyLinkOps(ops.map((o) => (o.netns === undefined ? { ...o, netns: hostNs } : o))),
    readLinks: (ns) => readLinks(ns ?? hostNs),
    readVxlanPeers: (dev) => readVxlanPeers(dev, hostNs),
  };
}

describePrivileged('overlay driver: VXLAN between two hosts', [root, command('ip'), command('bridge'), command('busybox')], () => {
  const tag = uniqueTag();
  const name = `x${tag}_ov`;
  let fx: Fixture;
  let tmp: string;
  const hosts: { ns: string; ctx: DriverContext; net: NetworkRecord; ep: EndpointRecord }[] = [];
  const ns = (n: string): string => `tscx-${tag}-${n}`;

  beforeAll(async () => {
    fx = createFixture();
    tmp = await mkdtemp(join(tmpdir(), 'tsc-overlay-vx-'));
    const avoid = new Set<string>();
    const under = (await freeSubnet24(avoid)).replace(/\.0\/24$/, '');
    const over = (await freeSubnet24(avoid)).replace(/\.0\/24$/, '');
    const hA = await fx.netns(ns('ha'));
    const hB = await fx.netns(ns('hb'));
    await run('ip', ['link', 'add', `tsu${tag}`, 'netns', hA, 'type', 'veth', 'peer', 'name', 'underlay', 'netns', hB]);
    await run('ip', ['-n', ns('ha'), 'link', 'set', `tsu${tag}`, 'name', 'underlay']);
    for (const [h, ip] of [[ns('ha'), `${under}.1/24`], [ns('hb'), `${under}.2/24`]] as const) {
      await run('ip', ['-n', h, 'addr', 'add', ip, 'dev', 'underlay']);
      await run('ip', ['-n', h, 'link', 'set', 'underlay', 'up']);
      await run('ip', ['-n', h, 'link', 'set', 'lo', 'up']);
    }
    const sides = [
      { host: hA, local: `${under}.1`, peer: `${under}.2`, c: 'ca', ip: `${over}.2` },
      { host: hB, local: `${under}.2`, peer: `${under}.1`, c: 'cb', ip: `${over}.3` },
    ];
    for (const s of sides) {
      const net: NetworkRecord = {
        name, driver: 'overlay', bridge: bridgeNameFor(name), internal: false, icc: true, masquerade: false, attachable: true,
        labels: {}, external: false, subnets: [{ family: 4, subnet: `${over}.0/24`, gateway: `${over}.1` }],
        vxlan: { vni: 4096 + Math.floor(Math.random() * 10000), local: s.local, peers: [s.peer], underlayMtu: 1500 },
      };
      if (hosts[0] !== undefined) net.vxlan = { ...(net.vxlan as NonNullable<NetworkRecord['vxlan']>), vni: hosts[0].net.vxlan?.vni as number };
      const cns = await fx.netns(ns(s.c));
      const ep: EndpointRecord = {
        container: `${tag}-${s.c}`, network: name, netns: cns, ifname: 'eth0', hostVeth: vethNameFor(`${tag}-${s.c}`, name),
        mac: macForIpv4(s.ip), ipv4: s.ip, prefix4: 24, aliases: [], priority: 0, gatewayRoute: false,
      };
      const ctx = rootedAt(s.host);
      await overlayDriver.create(ctx, net);
      await overlayDriver.create(ctx, net); // idempotent: a second call plans nothing new
      await overlayDriver.attach(ctx, net, ep);
      hosts.push({ ns: s.host, ctx, net, ep });
      await mkdir(join(tmp, s.c));
      await writeFile(join(tmp, s.c, 'index.html'), `hello from ${s.c}\n`);
      fx.background(ns(s.c), ['busybox', 'httpd', '-f', '-p', '80', '-h', join(tmp, s.c)]);
    }
  }, 60_000);

  afterAll(async () => {
    await fx?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('containers on two hosts talk over VXLAN', async () => {
    const [a, b] = hosts;
    const got = await waitFor(async () => (await fx.exec(ns('ca'), ['busybox', 'wget', '-q', '-O', '-', `http://${b?.ep.ipv4}/`], 3000)).stdout === 'hello from cb\n');
    expect(got).toBe(true);
    const back = await fx.exec(ns('cb'), ['busybox', 'wget', '-q', '-O', '-', `http://${a?.ep.ipv4}/`], 3000);
    expect(back.stdout).toBe('hello from ca\n');
  });

  it('uses the underlay MTU minus 50 and one FDB entry per peer', async () => {
    const eth0 = JSON.parse((await fx.exec(ns('ca'), ['ip', '-j', 'link', 'show', 'eth0'])).stdout)[0];
    expect(eth0.mtu).toBe(1450);
    expect(await readVxlanPeers(vxlanNameFor(name), hosts[0]?.ns)).toEqual([hosts[0]?.net.vxlan?.peers[0]]);
  });

  it('remove leaves no VXLAN device, bridge or veth on either host', async () => {
    for (const h of hosts) {
      await overlayDriver.detach(h.ctx, h.net, h.ep);
      await overlayDriver.remove(h.ctx, h.net);
      const names = (await readLinks(h.ns)).map((l) => l.ifname).sort();
      expect(names).toEqual(['lo', 'underlay']);
    }
  });
});
