/** Swarm-style service VIPs on the kernel: nftables numgen DNAT spreads connections, DNS names. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag, waitFor } from './testing/netns-fixture.js';

const run = promisify(execFile);

describePrivileged('service VIPs load-balanced by nftables', [root, command('nft'), command('ip'), command('busybox')], () => {
  const tag = uniqueTag();
  const table = `tsc_v_${tag}`;
  const net = `v${tag}_net`;
  let fx: Fixture;
  let hn: HostNetworking;
  let tmp: string;
  let vip = '';
  const nsName = (c: string): string => `tscv-${tag}-${c}`;
  const wget = (url: string) => fx.exec(nsName('client'), ['busybox', 'wget', '-q', '-O', '-', url], 3000);

  beforeAll(async () => {
    fx = createFixture();
    tmp = await mkdtemp(join(tmpdir(), 'tsc-overlay-vip-'));
    hn = await createHostNetworking({ table, upstreams: [] });
    await hn.createNetwork({ name: net, ipam: { config: [{ subnet: await freeSubnet24() }] } });
    for (const c of ['w1', 'w2', 'client']) {
      const ns = await fx.netns(nsName(c));
      await hn.connect({ container: `${tag}-${c}`, netns: ns, service: c === 'client' ? 'client' : 'web', networks: [{ network: net }] });
      await mkdir(join(tmp, c));
      await writeFile(join(tmp, c, 'index.html'), `${c}\n`);
      fx.background(nsName(c), ['busybox', 'httpd', '-f', '-p', '8080', '-h', join(tmp, c)]);
    }
    vip = (await hn.setServiceVip({ network: net, service: 'web', ports: [{ port: 80, target: 8080 }], backends: [`${tag}-w1`, `${tag}-w2`] })).vip;
    expect(await waitFor(async () => (await wget(`http://${vip}/`)).ok)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('spreads connections to the VIP over every backend', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await wget(`http://${vip}/`)).stdout.trim());
    expect([...seen].sort()).toEqual(['w1', 'w2']);
  });

  it('resolves the service to its VIP and tasks.<service> to the containers', async () => {
    const svc = await fx.exec(nsName('client'), ['busybox', 'nslookup', 'web', '127.0.0.11']);
    expect(svc.stdout).toContain(`Address: ${vip}`);
    const tasks = await fx.exec(nsName('client'), ['busybox', 'nslookup', 'tasks.web', '127.0.0.11']);
    expect((tasks.stdout.match(/Address: \d/g) ?? []).length).toBe(2);
  });

  it('follows backend changes, and removing the VIP leaves no address or rule', async () => {
    await hn.setServiceVip({ network: net, service: 'web', ports: [{ port: 80, target: 8080 }], backends: [`${tag}-w2`] });
    for (let i = 0; i < 4; i++) expect((await wget(`http://${vip}/`)).stdout).toBe('w2\n');
    await hn.removeServiceVip(net, 'web');
    expect((await run('ip', ['-j', 'addr', 'show'])).stdout).not.toContain(`"${vip}"`);
    expect(JSON.stringify(await hn.readRuleset())).not.toContain(vip);
    await hn.down();
    expect((await run('nft', ['list', 'tables'])).stdout).not.toContain(table);
  });
});
