/**
 * The host network manager on the real kernel: network namespaces stand in for containers
 * (and for another machine), busybox inside them talks, resolves and fetches.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import { vethNameFor } from './link-names.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from './testing/netns-fixture.js';
import type { Upstream } from './testing/upstream-dns.js';
import { startUpstream } from './testing/upstream-dns.js';

const run = promisify(execFile);

const UDP_ECHO = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(Buffer.from('echo:'+m),r.port,r.address));s.bind(Number(process.argv[1]));`;
const UDP_ASK = `const s=require('dgram').createSocket('udp4');const t=setTimeout(()=>process.exit(1),1500);s.on('message',(m)=>{console.log(String(m));clearTimeout(t);s.close()});s.send('ping',Number(process.argv[2]),process.argv[1]);`;

describePrivileged('host networking on the kernel', [root, command('nft'), command('ip'), command('busybox')], () => {
  const tag = uniqueTag();
  const table = `tsc_t_${tag}`;
  const front = `t${tag}_front`;
  const back = `t${tag}_back`;
  let fx: Fixture;
  let hn: HostNetworking;
  let upstream: Upstream;
  let tmp: string;
  const ns: Record<string, string> = {};
  const nsName = (c: string): string => `tsct-${tag}-${c}`;
  let frontGw = '';
  let machineGw = '';
  let webPort = 0;
  let dbUdpPort = 0;
  const ip: Record<string, string> = {};

  beforeAll(async () => {
    fx = createFixture();
    tmp = await mkdtemp(join(tmpdir(), 'tsc-overlay-'));
    const avoid = new Set<string>();
    const [fSub, bSub, mSub] = [await freeSubnet24(avoid), await freeSubnet24(avoid), await freeSubnet24(avoid)];
    const upAddr = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
    upstream = await startUpstream(upAddr, 20000 + Math.floor(Math.random() * 10000));
    hn = await createHostNetworking({ table, upstreams: [`${upstream.address}:${upstream.port}`], dnsTimeoutMs: 1000, dnsWorkers: 1 });
    await hn.createNetwork({ name: front, ipam: { config: [{ subnet: fSub }] } });
    await hn.createNetwork({ name: back, ipam: { config: [{ subnet: bSub }] } });
    for (const c of ['web', 'db', 'app']) ns[c] = await fx.netns(nsName(c));
    webPort = 40000 + Math.floor(Math.random() * 9000);
    const web = await hn.connect({
      container: `${tag}-web-1`, netns: ns['web'] as string, service: 'web', hostname: 'webhost',
      networks: [{ network: front, aliases: ['www'] }],
      ports: [{ target: 80, published: String(webPort), protocol: 'tcp' }],
    });
    const db = await hn.connect({
      container: `${tag}-db-1`, netns: ns['db'] as string, service: 'db',
      networks: [{ network: back }],
      ports: [{ target: 7007, protocol: 'udp' }],
    });
    const app = await hn.connect({
      container: `${tag}-app-1`, netns: ns['app'] as string, service: 'app',
      networks: [{ network: back, priority: 1 }, { network: front, priority: 10 }],
    });
    ip['web'] = web.endpoints[0]?.ipv4 as string;
    ip['db'] = db.endpoints[0]?.ipv4 as string;
    ip['appFront'] = app.endpoints.find((e) => e.network === front)?.ipv4 as string;
    dbUdpPort = db.ports[0]?.hostPort as number;
    frontGw = hn.state().networks[front]?.subnets[0]?.gateway as string;
    const m = mSub.replace(/\.0\/24$/, '');
    machineGw = `${m}.1`;
    await fx.machine(nsName('x'), `tsx${tag}`, `${m}.1/24`, `${m}.2/24`, machineGw);
    for (const c of ['web', 'db', 'app']) {
      const dir = join(tmp, c);
      await run('mkdir', ['-p', dir]);
      await writeFile(join(dir, 'index.html'), `hello from ${c}\n`);
      fx.background(nsName(c), ['busybox', 'httpd', '-f', '-p', '80', '-h', dir]);
    }
    await writeFile(join(tmp, 'echo.cjs'), UDP_ECHO);
    fx.background(nsName('db'), ['node', '-e', UDP_ECHO, '7007']);
    const ready = await waitFor(async () => (await fx.exec(nsName('app'), ['busybox', 'wget', '-q', '-O', '-', `http://${ip['db']}/`])).ok);
    expect(ready).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
    await upstream?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const wget = (where: string | undefined, url: string) => fx.exec(where, ['busybox', 'wget', '-q', '-O', '-', url], 3000);

  it('gives each container its interfaces in priority order, with the default route on the first', async () => {
    const { stdout } = await fx.exec(nsName('app'), ['ip', '-j', 'addr', 'show', 'eth0']);
    expect(stdout).toContain(ip['appFront']);
    const routes = await fx.exec(nsName('app'), ['ip', 'route', 'show', 'default']);
    expect(routes.stdout).toContain(`via ${frontGw} dev eth0`);
    const bridge = hn.state().networks[front]?.bridge as string;
    const link = await run('ip', ['-j', 'link', 'show', front]);
    expect(JSON.parse(link.stdout)[0].ifname).toBe(bridge);
  });

  it('lets two containers on one network talk, and keeps two networks apart both ways', async () => {
    expect((await wget(nsName('app'), `http://${ip['web']}/`)).stdout).toBe('hello from web\n');
    expect((await wget(nsName('app'), `http://${ip['db']}/`)).stdout).toBe('hello from db\n');
    expect((await wget(nsName('web'), `http://${ip['db']}/`)).ok).toBe(false);
    expect((await wget(nsName('db'), `http://${ip['web']}/`)).ok).toBe(false);
  });

  it('resolves names at 127.0.0.11, scoped to the asker\'s networks', async () => {
    const look = (from: string, name: string) => fx.exec(nsName(from), ['busybox', 'nslookup', name, '127.0.0.11']);
    expect((await look('app', 'web')).stdout).toContain(`Address: ${ip['web']}`);
    expect((await look('app', 'www')).stdout).toContain(`Address: ${ip['web']}`);
    expect((await look('app', 'webhost')).stdout).toContain(`Address: ${ip['web']}`);
    expect((await look('app', `${tag}-db-1`)).stdout).toContain(`Address: ${ip['db']}`);
    expect((await look('web', 'app')).stdout).toContain(`Address: ${ip['appFront']}`);
    const hidden = await look('web', 'db');
    expect(hidden.stdout + hidden.stderr).toContain("can't find db");
    expect((await look('web', 'name.up.test')).stdout).toContain('Address: 192.0.2.7');
    const ptr = await look('app', ip['web'] as string);
    expect(ptr.stdout).toContain(`${tag}-web-1.${front}`);
  });

  it('answers the moment a container leaves or joins', async () => {
    const extra = await fx.netns(nsName('tmp'));
    await hn.connect({ container: `${tag}-web-2`, netns: extra, service: 'web', networks: [{ network: front }] });
    const second = hn.state().containers[`${tag}-web-2`]?.endpoints[0]?.ipv4 as string;
    const both = await fx.exec(nsName('app'), ['busybox', 'nslookup', 'web', '127.0.0.11']);
    expect(both.stdout).toContain(`Address: ${ip['web']}`);
    expect(both.stdout).toContain(`Address: ${second}`);
    await hn.disconnect(`${tag}-web-2`);
    const one = await fx.exec(nsName('app'), ['busybox', 'nslookup', 'web', '127.0.0.11']);
    expect(one.stdout).not.toContain(`Address: ${second}`);
  });

  it('connects a running container to one more network and back, moving the default route', async () => {
    const name = `${tag}-mover-1`;
    const ns = await fx.netns(nsName('mv'));
    await hn.connect({ container: name, netns: ns, service: 'mover', networks: [{ network: front }] });
    await hn.connect({ container: name, netns: ns, networks: [{ network: back, aliases: ['mv-alias'] }] });
    const eth1 = hn.state().containers[name]?.endpoints.find((e) => e.network === back);
    expect(eth1?.ifname).toBe('eth1');
    expect((await fx.exec(nsName('db'), ['busybox', 'nslookup', 'mv-alias', '127.0.0.11'])).stdout).toContain(`Address: ${eth1?.ipv4}`);
    await hn.disconnect(name, front);
    const route = await fx.exec(nsName('mv'), ['ip', 'route', 'show', 'default']);
    expect(route.stdout).toContain(`via ${hn.state().networks[back]?.subnets[0]?.gateway} dev eth1`);
    expect((await fx.exec(nsName('mv'), ['ip', 'link', 'show', 'eth0'])).ok).toBe(false);
    await hn.disconnect(name);
    expect((await fx.exec(nsName('db'), ['busybox', 'nslookup', 'mv-alias', '127.0.0.11'])).ok).toBe(false);
  });

  it('publishes a TCP port on the host: 127.0.0.1, the bridge-facing address, another machine, hairpin', async () => {
    const got = {
      localhost: (await wget(undefined, `http://127.0.0.1:${webPort}/`)).stdout,
      bridgeAddress: (await wget(undefined, `http://${frontGw}:${webPort}/`)).stdout,
      otherMachine: (await wget(nsName('x'), `http://${machineGw}:${webPort}/`)).stdout,
      hairpinSelf: (await wget(nsName('web'), `http://${frontGw}:${webPort}/`)).stdout,
      hairpinPeer: (await wget(nsName('app'), `http://${machineGw}:${webPort}/`)).stdout,
    };
    const want = 'hello from web\n';
    expect(got).toEqual({ localhost: want, bridgeAddress: want, otherMachine: want, hairpinSelf: want, hairpinPeer: want });
  });

  it('publishes a UDP port on a random host port from the ephemeral range', async () => {
    expect(dbUdpPort).toBeGreaterThanOrEqual(1024);
    const fromHost = await fx.exec(undefined, ['node', '-e', UDP_ASK, '127.0.0.1', String(dbUdpPort)]);
    expect(fromHost.stdout.trim()).toBe('echo:ping');
    const fromMachine = await fx.exec(nsName('x'), ['node', '-e', UDP_ASK, machineGw, String(dbUdpPort)]);
    expect(fromMachine.stdout.trim()).toBe('echo:ping');
  });

  it('refuses a host port that is already taken, naming the service and key', async () => {
    const extra = await fx.netns(nsName('dup'));
    await expect(
      hn.connect({ container: `${tag}-dup-1`, netns: extra, service: 'dup', networks: [{ network: front }], ports: [{ target: 80, published: String(webPort) }] }),
    ).rejects.toMatchObject({ code: 'ERR_CONFLICT', path: 'services.dup.ports[0].published' });
    expect(hn.state().containers[`${tag}-dup-1`]).toBeUndefined();
    const links = await run('ip', ['-j', 'link', 'show']);
    expect(links.stdout).not.toContain(vethNameFor(`${tag}-dup-1`, front));
    expect((await fx.exec(nsName('dup'), ['ip', '-j', 'link', 'show'])).stdout).not.toContain('eth0');
  });

  it('holds each published port on the host, so no other process can take it', async () => {
    const bind = `require('net').createServer().once('error',(e)=>{console.log(e.code);process.exit(0)}).listen(Number(process.argv[1]),()=>{console.log('bound');process.exit(0)})`;
    expect((await fx.exec(undefined, ['node', '-e', bind, String(webPort)])).stdout.trim()).toBe('EADDRINUSE');
    const udp = `require('dgram').createSocket('udp4').once('error',(e)=>{console.log(e.code);process.exit(0)}).bind(Number(process.argv[1]),()=>{console.log('bound');process.exit(0)})`;
    expect((await fx.exec(undefined, ['node', '-e', udp, String(dbUdpPort)])).stdout.trim()).toBe('EADDRINUSE');
  });

  it('refuses a port a host process holds, and one on an address the host does not have, leaving nothing', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(webPort + 1, '0.0.0.0', r));
    const extra = await fx.netns(nsName('hold'));
    const name = `${tag}-hold-1`;
    const ask = (ports: { target: number; published: string; host_ip?: string }[]) =>
      hn.connect({ container: name, netns: extra, service: 'hold', networks: [{ network: front }], ports });
    const taken = await ask([{ target: 81, published: String(webPort + 2) }, { target: 80, published: String(webPort + 1) }]).catch((e: unknown) => e);
    expect(taken).toMatchObject({ code: 'ERR_CONFLICT', path: 'services.hold.ports[1].published' });
    expect((taken as Error).message).toMatch(`service hold: ports[1]: host port ${webPort + 1}/tcp is already in use on the host`);
    const foreign = await ask([{ target: 80, published: String(webPort + 3), host_ip: '192.0.2.77' }]).catch((e: unknown) => e);
    expect(foreign).toMatchObject({ code: 'ERR_CONFLICT', path: 'services.hold.ports[0].host_ip' });
    expect((foreign as Error).message).toBe(`service hold: ports[0]: host port 192.0.2.77:${webPort + 3}/tcp is not an address of this host`);
    await new Promise((r) => holder.close(r));
    // Nothing half-made: no endpoint, no veth, no rule, and the other ports were let go.
    expect(hn.state().containers[name]).toBeUndefined();
    expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toContain(vethNameFor(name, front));
    expect((await run('nft', ['list', 'table', 'inet', table])).stdout).not.toContain(name);
    const bind = `require('net').createServer().once('error',(e)=>{console.log(e.code);process.exit(0)}).listen(Number(process.argv[1]),()=>{console.log('bound');process.exit(0)})`;
    expect((await fx.exec(undefined, ['node', '-e', bind, String(webPort + 2)])).stdout.trim()).toBe('bound');
  });

  it('down leaves no link, rule, address or namespace of ours', async () => {
    const bridges = Object.values(hn.state().networks).map((n) => n.bridge);
    const veths = Object.values(hn.state().containers).flatMap((c) => c.endpoints.map((e) => e.hostVeth));
    expect(await hn.readRuleset()).toBeDefined();
    await hn.down();
    await fx.cleanup();
    const links = (await run('ip', ['-j', 'addr', 'show'])).stdout;
    for (const name of [...bridges, ...veths, `tsx${tag}`]) expect(links).not.toContain(`"${name}"`);
    expect(links).not.toContain(frontGw);
    const tables = (await run('nft', ['list', 'tables'])).stdout;
    expect(tables).not.toContain(table);
    const namespaces = (await run('ip', ['netns', 'list'])).stdout;
    expect(namespaces).not.toContain(`tsct-${tag}`);
    expect(hn.dns.listening()).toEqual([]);
  });
});
