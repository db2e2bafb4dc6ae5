/**
 * The manager with a runtime's kind of namespace (/proc/PID/ns/net of a process), restored
 * from its saved state after a restart, and the `network inspect|prune` calls.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { until } from '../test/support/poll.js';
import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag } from './testing/netns-fixture.js';

const run = promisify(execFile);

describePrivileged('host networking: /proc/PID/ns/net, restart, inspect, prune', [root, command('nft'), command('ip'), command('busybox'), command('unshare')], () => {
  const tag = uniqueTag();
  const table = `tsc_r_${tag}`;
  const net = `r${tag}_net`;
  let fx: Fixture;
  let hn: HostNetworking;
  let proc: ChildProcess;
  let procNs = '';
  let dIp = '';

  const lookup = async (name: string): Promise<string> => {
    try {
      return (await run('nsenter', [`--net=${procNs}`, 'busybox', 'nslookup', name, '127.0.0.11'], { timeout: 4000 })).stdout;
    } catch {
      return '';
    }
  };

  beforeAll(async () => {
    fx = createFixture();
    hn = await createHostNetworking({ table, upstreams: [] });
    await hn.createNetwork({ name: net, ipam: { config: [{ subnet: await freeSubnet24() }] } });
    proc = spawn('unshare', ['--net', 'sleep', '300'], { stdio: 'ignore' });
    procNs = `/proc/${proc.pid}/ns/net`;
    // unshare has made the namespace once /proc/PID/ns/net differs from ours
    const ours = (await run('readlink', ['/proc/self/ns/net'])).stdout;
    for (let i = 0; i < 100 && (await run('readlink', [procNs])).stdout === ours; i++) await new Promise((r) => setTimeout(r, 20));
    await hn.connect({ container: `${tag}-c`, netns: procNs, service: 'c', networks: [{ network: net }] });
    const d = await hn.connect({ container: `${tag}-d`, netns: await fx.netns(`tscr-${tag}-d`), service: 'd', networks: [{ network: net }] });
    dIp = d.endpoints[0]?.ipv4 as string;
  });

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    if (proc?.exitCode === null) proc.kill('SIGKILL');
    await fx?.cleanup();
  });

  it('plugs a process\'s own namespace in and resolves from it', async () => {
    expect(await lookup('d')).toContain(`Address: ${dIp}`);
  });

  it('a restarted manager given the saved state answers again', async () => {
    const saved = JSON.parse(JSON.stringify(hn.state()));
    await hn.close();
    expect(await lookup('d')).not.toContain(dIp);
    hn = await createHostNetworking({ table, upstreams: [], state: saved });
    expect(await lookup('d')).toContain(`Address: ${dIp}`);
  });

  it('reports a published port a host process took while it was down, and holds it again once freed', async () => {
    const name = `${tag}-p`;
    const port = 40000 + Math.floor(Math.random() * 9000);
    await hn.connect({ container: name, netns: await fx.netns(`tscr-${tag}-p`), service: 'p', networks: [{ network: net }], ports: [{ target: 80, published: String(port) }] });
    expect(await hn.portConflicts()).toEqual([]);
    const saved = JSON.parse(JSON.stringify(hn.state()));
    await hn.close();
    // The agent is down: its sockets are gone and a host process takes the port.
    const squatter = spawn('node', ['-e', `require('net').createServer().listen(${port},()=>console.log('bound'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await until('the host process to bind', () => squatter.stdout?.read()?.toString() ?? '', (o) => o.includes('bound'), 10_000);
      hn = await createHostNetworking({ table, upstreams: [], state: saved });
      const conflicts = await hn.portConflicts();
      expect(conflicts.map((c) => [c.container, c.service, c.port.hostPort])).toEqual([[name, 'p', port]]);
      expect(conflicts[0]?.message).toContain(`Bind for 0.0.0.0:${port} failed: port is already allocated`);
    } finally {
      squatter.kill('SIGKILL');
    }
    // Freed: the next look takes it back, and no other process can bind it again.
    await until('the port to be held again', () => hn.portConflicts(), (c) => c.length === 0, 10_000);
    const again = await run('node', ['-e', `require('net').createServer().once('error',(e)=>{console.log(e.code);process.exit(0)}).listen(${port},()=>{console.log('bound');process.exit(0)})`]);
    expect(again.stdout.trim()).toBe('EADDRINUSE');
    await hn.disconnect(name);
    expect(await hn.portConflicts()).toEqual([]);
  });

  it('inspects a network, and prunes it only once empty', async () => {
    expect(hn.inspectNetwork(net).containers.map((c) => c.container).sort()).toEqual([`${tag}-c`, `${tag}-d`]);
    expect(await hn.pruneNetworks()).toEqual([]);
    await hn.disconnect(`${tag}-c`);
    await hn.disconnect(`${tag}-d`);
    // the redirect table went with the last endpoint
    expect((await run('nsenter', [`--net=${procNs}`, 'nft', 'list', 'tables'])).stdout).not.toContain('tsc_dns');
    const bridge = hn.state().networks[net]?.bridge as string;
    expect(await hn.pruneNetworks()).toEqual([net]);
    expect(() => hn.inspectNetwork(net)).toThrow(`network ${net} not found`);
    await hn.down();
    expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toContain(bridge);
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain(table);
  });
});
