/**
 * IPv6 on the kernel, as `enable_ipv6: true` gives it with no subnet of its own: a /64 from
 * the host's ULA pool, addresses on the veths (a static `ipv6_address` too), ping6 and HTTP
 * between containers by name (AAAA), PTR for their addresses, a published port reached over
 * IPv6 from another machine, egress masqueraded to the host's address, and teardown.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import { canonicalIp, ptrNameOf } from './ip-addr.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from './testing/netns-fixture.js';

const run = promisify(execFile);

describePrivileged('IPv6 networks on the kernel', [root, command('nft'), command('ip'), command('busybox')], () => {
  const tag = uniqueTag();
  const table = `tsc_6_${tag}`;
  const net = `s${tag}_v6`;
  // A ULA /48 of this test's own, standing in for the host's (other suites share the kernel).
  const ula = canonicalIp(`fd${randomBytes(1).toString('hex')}:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::`);
  const machine6 = canonicalIp(`fd${randomBytes(1).toString('hex')}:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::`);
  const port = 40000 + Math.floor(Math.random() * 9000);
  const nsName = (c: string) => `tsc6-${tag}-${c}`;
  let fx: Fixture;
  let hn: HostNetworking;
  let tmp: string;
  const addr: Record<string, string> = {};

  beforeAll(async () => {
    fx = createFixture();
    tmp = await mkdtemp(join(tmpdir(), 'tsc-v6-'));
    hn = await createHostNetworking({ table, upstreams: [], ipv6Pools: [{ base: `${ula}/48`, size: 64 }] });
    await hn.createNetwork({ name: net, enable_ipv6: true, ipam: { config: [{ subnet: await freeSubnet24() }] } });
    for (const c of ['a', 'b']) {
      const rec = await hn.connect({
        container: `${tag}-${c}-1`, netns: await fx.netns(nsName(c)), service: c,
        networks: [{ network: net, ...(c === 'b' ? { ipv6_address: `${ula}42` } : {}) }],
        ports: c === 'b' ? [{ target: 80, published: String(port) }] : [],
      });
      addr[c] = rec.endpoints[0]?.ipv6 ?? '';
      const dir = join(tmp, c);
      await run('mkdir', ['-p', dir]);
      await writeFile(join(dir, 'index.html'), `hello from ${c}\n`);
      fx.background(nsName(c), ['busybox', 'httpd', '-f', '-p', '[::]:80', '-h', dir]);
      // `ip netns exec` mounts this over /etc/resolv.conf: names go to the embedded DNS.
      await run('mkdir', ['-p', `/etc/netns/${nsName(c)}`]);
      await writeFile(`/etc/netns/${nsName(c)}/resolv.conf`, 'nameserver 127.0.0.11\n');
    }
    // Another machine: IPv6 only, on a veth of the host, with no route to the containers' subnet.
    await fx.machine(nsName('x'), `ts6${tag}`, '169.254.77.1/32', '169.254.77.2/32');
    await run('ip', ['addr', 'add', `${machine6}1/64`, 'dev', `ts6${tag}`, 'nodad']);
    await run('ip', ['-n', nsName('x'), 'addr', 'add', `${machine6}2/64`, 'dev', 'eth0', 'nodad']);
    const ready = await waitFor(async () => (await fx.exec(nsName('a'), ['busybox', 'wget', '-q', '-O', '-', `http://[${addr['b']}]/`])).ok);
    expect(ready).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
    for (const c of ['a', 'b']) await rm(`/etc/netns/${nsName(c)}`, { recursive: true, force: true });
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('takes a /64 from the ULA pool and puts addresses on the veths, a static one too', async () => {
    const sub = hn.state().networks[net]?.subnets.find((s) => s.family === 6);
    expect(sub).toEqual({ family: 6, subnet: `${ula}/64`, gateway: `${ula}1` });
    expect(addr['a']).toBe(`${ula}2`);
    expect(addr['b']).toBe(`${ula}42`);
    const { stdout } = await fx.exec(nsName('a'), ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(stdout).toContain(`${ula}2/64`);
    const route = await fx.exec(nsName('a'), ['ip', '-6', 'route', 'show', 'default']);
    expect(route.stdout).toContain(`via ${ula}1`);
  });

  it('pings and fetches between containers by name over IPv6, and answers AAAA and PTR', async () => {
    // ping -6 by name: the AAAA answer, then ICMPv6 across the bridge.
    const ping = await fx.exec(nsName('a'), ['busybox', 'ping', '-6', '-c', '1', '-W', '2', 'b']);
    expect(ping.stdout).toContain(`PING b (${addr['b']})`);
    expect(ping.ok).toBe(true);
    const aaaa = await fx.exec(nsName('a'), ['busybox', 'nslookup', '-type=AAAA', 'b', '127.0.0.11']);
    expect(aaaa.stdout).toContain(`Address: ${addr['b']}`);
    const overV6 = await fx.exec(nsName('a'), ['busybox', 'wget', '-q', '-O', '-', `http://[${addr['b']}]/`]);
    expect(overV6.stdout).toBe('hello from b\n');
    const ptr = await fx.exec(nsName('a'), ['busybox', 'nslookup', '-type=PTR', ptrNameOf(addr['b'] as string), '127.0.0.11']);
    expect(ptr.stdout).toContain(`${tag}-b-1.${net}`);
  });

  it('publishes a port over IPv6 to another machine and masquerades egress to the host address', async () => {
    const got = await fx.exec(nsName('x'), ['busybox', 'wget', '-q', '-O', '-', `http://[${machine6}1]:${port}/`], 4000);
    expect(got.stdout).toBe('hello from b\n');
    // The machine answers a container's ping although it has no route back: the source is the host's.
    expect((await fx.exec(nsName('a'), ['busybox', 'ping', '-6', '-c', '1', '-W', '2', `${machine6}2`])).ok).toBe(true);
    const rules = (await run('nft', ['list', 'table', 'inet', table])).stdout;
    expect(rules).toMatch(/ip6 saddr [0-9a-f:]+\/64 oifname != "[^"]+" masquerade/);
    expect(rules).toContain(`dnat ip6 to [${addr['b']}]:80`);
  });

  it('down leaves no address, link or rule behind', async () => {
    const bridge = hn.state().networks[net]?.bridge as string;
    await hn.down();
    const links = (await run('ip', ['-j', 'addr', 'show'])).stdout;
    expect(links).not.toContain(`"${bridge}"`);
    expect(links).not.toContain(ula);
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain(table);
  });
});
