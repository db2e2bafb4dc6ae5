/**
 * connect plans from the manager's state without reading the kernel. When the kernel holds
 * something the state does not know (a veth left by an interrupted start, an interface of
 * someone else's in the namespace), the one-script attach fails and the careful path (reads,
 * plans against what is there) must still connect the container, and leave nothing behind.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import { vethNameFor } from './link-names.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag } from './testing/netns-fixture.js';

const run = promisify(execFile);

async function addrs(ns: string): Promise<{ ifname: string; addr_info: { local: string }[] }[]> {
  return JSON.parse((await run('ip', ['-n', ns, '-j', 'addr', 'show'])).stdout) as { ifname: string; addr_info: { local: string }[] }[];
}

describePrivileged('connect when the kernel differs from the state', [root, command('nft'), command('ip')], () => {
  const tag = uniqueTag();
  const table = `tsc_f_${tag}`;
  const net = `f${tag}_net`;
  let fx: Fixture;
  let hn: HostNetworking;

  beforeAll(async () => {
    fx = createFixture();
    hn = await createHostNetworking({ table, upstreams: [] });
    await hn.createNetwork({ name: net, ipam: { config: [{ subnet: await freeSubnet24() }] } });
  });

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
  });

  it('takes over a stale host-side link of the same name', async () => {
    const container = `${tag}-stale`;
    const ns = `tscf-${tag}-s`;
    const nsPath = await fx.netns(ns);
    const veth = vethNameFor(container, net);
    await run('ip', ['link', 'add', veth, 'type', 'bridge']);
    try {
      const rec = await hn.connect({ container, netns: nsPath, service: 'stale', networks: [{ network: net }] });
      const ip = rec.endpoints[0]?.ipv4 as string;
      const eth0 = (await addrs(ns)).find((l) => l.ifname === 'eth0');
      expect(eth0?.addr_info.map((a) => a.local)).toContain(ip);
      const host = JSON.parse((await run('ip', ['-d', '-j', 'link', 'show', veth])).stdout) as { linkinfo?: { info_kind?: string } }[];
      expect(host[0]?.linkinfo?.info_kind).toBe('veth');
      await hn.disconnect(container);
      expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toContain(veth);
    } finally {
      await run('ip', ['link', 'del', veth]).catch(() => undefined);
    }
  });

  it('makes the namespace in the connect\'s script and deletes it in the disconnect\'s', async () => {
    const container = `${tag}-fresh`;
    const ns = `tscf-${tag}-n`;
    try {
      const rec = await hn.connect({ container, netns: `/run/netns/${ns}`, service: 'fresh', networks: [{ network: net }], createNetns: true });
      const eth0 = (await addrs(ns)).find((l) => l.ifname === 'eth0');
      expect(eth0?.addr_info.map((a) => a.local)).toContain(rec.endpoints[0]?.ipv4);
      const veth = vethNameFor(container, net);
      expect((await run('ip', ['-j', 'link', 'show'])).stdout).toContain(veth);
      await hn.disconnect(container, undefined, { namespaceGoing: true, removeNetns: true });
      expect(existsSync(`/run/netns/${ns}`)).toBe(false);
      expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toContain(veth);
      expect(hn.state().containers[container]).toBeUndefined();
    } finally {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  });

  it('still connects when the namespace it was to make is there already (an interrupted start)', async () => {
    const container = `${tag}-again`;
    const ns = `tscf-${tag}-a`;
    const nsPath = await fx.netns(ns);
    const rec = await hn.connect({ container, netns: nsPath, service: 'again', networks: [{ network: net }], createNetns: true });
    const eth0 = (await addrs(ns)).find((l) => l.ifname === 'eth0');
    expect(eth0?.addr_info.map((a) => a.local)).toContain(rec.endpoints[0]?.ipv4);
    await hn.disconnect(container);
    expect(hn.state().containers[container]).toBeUndefined();
  });

  it('names the interface past one of someone else\'s in the namespace', async () => {
    const container = `${tag}-busy`;
    const ns = `tscf-${tag}-b`;
    const nsPath = await fx.netns(ns);
    await run('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'bridge']);
    const rec = await hn.connect({ container, netns: nsPath, service: 'busy', networks: [{ network: net }] });
    expect(rec.endpoints[0]?.ifname).toBe('eth1');
    const eth1 = (await addrs(ns)).find((l) => l.ifname === 'eth1');
    expect(eth1?.addr_info.map((a) => a.local)).toContain(rec.endpoints[0]?.ipv4);
    expect(hn.state().containers[container]?.endpoints.map((e) => e.ifname)).toEqual(['eth1']);
    await hn.disconnect(container);
    expect(hn.state().containers[container]).toBeUndefined();
    expect((await addrs(ns)).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
  });
});
