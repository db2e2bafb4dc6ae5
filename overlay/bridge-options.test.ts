/**
 * Network options on the real kernel: internal networks, enable_icc=false, a custom bridge
 * name and MTU, mac_address, egress masquerading, dual-stack IPv6.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import { canonicalIp } from './ip-addr.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from './testing/netns-fixture.js';

const run = promisify(execFile);

describePrivileged('bridge network options on the kernel', [root, command('nft'), command('ip'), command('busybox')], () => {
  const tag = uniqueTag();
  const table = `tsc_o_${tag}`;
  const nets = { internal: `o${tag}_int`, closed: `o${tag}_closed`, dual: `o${tag}_dual` };
  const customBridge = `tsb${tag}`;
  const mac = `02:${randomBytes(5).toString('hex').match(/../g)?.join(':')}`;
  // canonical text (no leading zeros), so prefix checks on addresses read back hold
  const v6net = canonicalIp(`fd${randomBytes(1).toString('hex')}:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::`);
  let fx: Fixture;
  let hn: HostNetworking;
  let tmp: string;
  const nsName = (c: string): string => `tsco-${tag}-${c}`;
  const addr: Record<string, string> = {};
  let machineAddr = '';
  const v6Port = 40000 + Math.floor(Math.random() * 9000);

  const wget = (from: string, url: string) => fx.exec(nsName(from), ['busybox', 'wget', '-q', '-O', '-', url], 3000);

  beforeAll(async () => {
    fx = createFixture();
    tmp = await mkdtemp(join(tmpdir(), 'tsc-overlay-opts-'));
    const avoid = new Set<string>();
    const subs = [await freeSubnet24(avoid), await freeSubnet24(avoid), await freeSubnet24(avoid), await freeSubnet24(avoid)];
    hn = await createHostNetworking({ table, upstreams: [] });
    await hn.createNetwork({ name: nets.internal, internal: true, ipam: { config: [{ subnet: subs[0] }] } });
    await hn.createNetwork({
      name: nets.closed,
      ipam: { config: [{ subnet: subs[1] }] },
      driver_opts: { 'com.docker.network.bridge.name': customBridge, 'com.docker.network.driver.mtu': '1400', 'com.docker.network.bridge.enable_icc': 'false' },
    });
    await hn.createNetwork({ name: nets.dual, enable_ipv6: true, ipam: { config: [{ subnet: subs[2] }, { subnet: `${v6net}/64` }] } });
    const plan: [string, string, Record<string, string>?][] = [
      ['i1', nets.internal], ['i2', nets.internal], ['c1', nets.closed, { mac_address: mac }], ['c2', nets.closed], ['v1', nets.dual], ['v2', nets.dual],
    ];
    for (const [c, network, extra] of plan) {
      const ns = await fx.netns(nsName(c));
      const ports = c === 'v2' ? [{ target: 80, published: String(v6Port) }] : undefined;
      const rec = await hn.connect({ container: `${tag}-${c}`, netns: ns, service: c, networks: [{ network, ...extra }], ports });
      addr[c] = rec.endpoints[0]?.ipv4 as string;
      if (rec.endpoints[0]?.ipv6) addr[`${c}6`] = rec.endpoints[0].ipv6;
      const dir = join(tmp, c);
      await mkdir(dir);
      await writeFile(join(dir, 'index.html'), `hello from ${c}\n`);
      fx.background(nsName(c), ['busybox', 'httpd', '-f', '-p', '80', '-h', dir]);
    }
    // Another machine with no route back to any container subnet: only masquerading reaches it.
    const m = (subs[3] as string).replace(/\.0\/24$/, '');
    machineAddr = `${m}.2`;
    await fx.machine(nsName('x'), `tsy${tag}`, `${m}.1/24`, `${m}.2/24`);
    await mkdir(join(tmp, 'x'));
    await writeFile(join(tmp, 'x', 'index.html'), 'hello from x\n');
    fx.background(nsName('x'), ['busybox', 'httpd', '-f', '-p', '80', '-h', join(tmp, 'x')]);
    expect(await waitFor(async () => (await wget('i1', `http://${addr['i2']}/`)).ok)).toBe(true);
    expect(await waitFor(async () => (await wget('v1', `http://${addr['v2']}/`)).ok)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('an internal network talks inside and resolves names, but has no way out', async () => {
    expect((await wget('i1', `http://${addr['i2']}/`)).stdout).toBe('hello from i2\n');
    expect((await fx.exec(nsName('i1'), ['busybox', 'nslookup', 'i2', '127.0.0.11'])).stdout).toContain(`Address: ${addr['i2']}`);
    expect((await fx.exec(nsName('i1'), ['ip', 'route', 'show', 'default'])).stdout).toBe('');
    expect((await wget('i1', `http://${machineAddr}/`)).ok).toBe(false);
  });

  it('egress is masqueraded: another machine with no route back still answers', async () => {
    expect((await wget('v1', `http://${machineAddr}/`)).stdout).toBe('hello from x\n');
    expect((await wget('c1', `http://${machineAddr}/`)).stdout).toBe('hello from x\n');
  });

  it('enable_icc=false keeps containers of one bridge apart', async () => {
    expect((await wget('c1', `http://${addr['c2']}/`)).ok).toBe(false);
    expect((await wget('c2', `http://${addr['c1']}/`)).ok).toBe(false);
    // both serve: the host itself (the bridge) still reaches them
    const fromHost = await fx.exec(undefined, ['busybox', 'wget', '-q', '-O', '-', `http://${addr['c2']}/`], 3000);
    expect(fromHost.stdout).toBe('hello from c2\n');
  });

  it('honours the bridge name, MTU and mac_address', async () => {
    const br = JSON.parse((await run('ip', ['-j', 'link', 'show', customBridge])).stdout)[0];
    expect(br.mtu).toBe(1400);
    const eth0 = JSON.parse((await fx.exec(nsName('c1'), ['ip', '-j', 'link', 'show', 'eth0'])).stdout)[0];
    expect({ mtu: eth0.mtu, address: eth0.address }).toEqual({ mtu: 1400, address: mac });
  });

  it('a dual-stack network carries IPv6 and answers AAAA', async () => {
    expect(addr['v26']?.startsWith(v6net.replace(/::$/, ''))).toBe(true);
    expect((await wget('v1', `http://[${addr['v26']}]/`)).stdout).toBe('hello from v2\n');
    const aaaa = await fx.exec(nsName('v1'), ['busybox', 'nslookup', '-type=AAAA', 'v2', '127.0.0.11']);
    expect(aaaa.stdout).toContain(`Address: ${addr['v26']}`);
    // a published port answers on the host's IPv6 address of the bridge, and on IPv4
    const gw6 = hn.state().networks[nets.dual]?.subnets.find((x) => x.family === 6)?.gateway as string;
    const gw4 = hn.state().networks[nets.dual]?.subnets.find((x) => x.family === 4)?.gateway as string;
    const get = (url: string) => fx.exec(undefined, ['busybox', 'wget', '-q', '-O', '-', url], 3000);
    expect((await get(`http://[${gw6}]:${v6Port}/`)).stdout).toBe('hello from v2\n');
    expect((await get(`http://${gw4}:${v6Port}/`)).stdout).toBe('hello from v2\n');
  });

  it('a container cannot reach the host\'s loopback through the bridge (route_localnet guarded)', async () => {
    const lo = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
    const socks = new Set<Socket>();
    const server = createServer((sock) => {
      socks.add(sock);
      sock.end('HTTP/1.0 200 OK\r\n\r\nloopback secret\n');
    });
    await new Promise<void>((r) => server.listen(0, lo, () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const gw = hn.state().networks[nets.dual]?.subnets.find((x) => x.family === 4)?.gateway as string;
      // steer the container's packets for that loopback address out through its bridge
      await run('ip', ['-n', nsName('v1'), 'route', 'add', `${lo}/32`, 'via', gw, 'dev', 'eth0', 'table', '100']);
      // ahead of the local table, which would otherwise keep 127/8 on the container's own lo
      await run('ip', ['-n', nsName('v1'), 'rule', 'add', 'pref', '100', 'lookup', 'local']);
      await run('ip', ['-n', nsName('v1'), 'rule', 'del', 'pref', '0']);
      await run('ip', ['-n', nsName('v1'), 'rule', 'add', 'to', `${lo}/32`, 'lookup', '100', 'pref', '10']);
      const fromHost = await fx.exec(undefined, ['busybox', 'wget', '-q', '-O', '-', `http://${lo}:${port}/`], 3000);
      const fromContainer = await wget('v1', `http://${lo}:${port}/`);
      expect(fromHost.stdout).toBe('loopback secret\n');
      expect(fromContainer.ok).toBe(false);
    } finally {
      for (const k of socks) k.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a bridge name taken by another link, leaving that link and nothing of ours', async () => {
    await expect(
      hn.createNetwork({ name: `o${tag}_clash`, driver_opts: { 'com.docker.network.bridge.name': `tsy${tag}` } }),
    ).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    expect(hn.state().networks[`o${tag}_clash`]).toBeUndefined();
    const link = JSON.parse((await run('ip', ['-j', 'addr', 'show', `tsy${tag}`])).stdout)[0];
    const v4 = link.addr_info.filter((a: { family: string }) => a.family === 'inet').map((a: { local: string }) => a.local);
    expect(v4).toEqual([machineAddr.replace(/\.2$/, '.1')]);
  });

  it('down leaves no bridge, rule or address of ours', async () => {
    await hn.down();
    await fx.cleanup();
    const links = (await run('ip', ['-j', 'addr', 'show'])).stdout;
    expect(links).not.toContain(customBridge);
    expect(links).not.toContain(v6net.replace(/::$/, ''));
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain(table);
    expect((await run('ip', ['netns', 'list'])).stdout).not.toContain(`tsco-${tag}`);
  });
});
