/** A connect that fails half way (the second network's attach) leaves nothing made. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { command, describePrivileged, root } from '../test/support/privileged.js';
import { bridgeDriver } from './bridge-driver.js';
import type { HostNetworking } from './host-networking.js';
import { createHostNetworking } from './host-networking.js';
import { vethNameFor } from './link-names.js';
import type { Fixture } from './testing/netns-fixture.js';
import { createFixture, freeSubnet24, uniqueTag } from './testing/netns-fixture.js';

const run = promisify(execFile);

describePrivileged('connect rolls back on failure', [root, command('nft'), command('ip')], () => {
  const tag = uniqueTag();
  const table = `tsc_k_${tag}`;
  const good = `k${tag}_good`;
  const bad = `k${tag}_bad`;
  let fx: Fixture;
  let hn: HostNetworking;

  beforeAll(async () => {
    fx = createFixture();
    hn = await createHostNetworking({
      table,
      upstreams: [],
      drivers: {
        bridge: {
          ...bridgeDriver,
          async attach(ctx, net, ep) {
            if (net.name === bad) throw new Error('injected attach failure');
            await bridgeDriver.attach(ctx, net, ep);
          },
        },
      },
    });
    const avoid = new Set<string>();
    await hn.createNetwork({ name: good, ipam: { config: [{ subnet: await freeSubnet24(avoid) }] } });
    await hn.createNetwork({ name: bad, ipam: { config: [{ subnet: await freeSubnet24(avoid) }] } });
  });

  afterAll(async () => {
    await hn?.down().catch(() => undefined);
    await fx?.cleanup();
  });

  it('undoes the first attach, the addresses, the DNS entry and the redirect table', async () => {
    const nsPath = await fx.netns(`tsck-${tag}-c`);
    await expect(
      hn.connect({ container: `${tag}-c`, netns: nsPath, service: 'c', networks: [{ network: good, priority: 2 }, { network: bad, priority: 1 }], ports: [{ target: 80 }] }),
    ).rejects.toThrow('injected attach failure');
    expect(hn.state().containers[`${tag}-c`]).toBeUndefined();
    expect(Object.values(hn.state().ipam.networks[good]?.subnets[0]?.addresses ?? {})).toEqual([]);
    expect(hn.dns.table().endpoints).toEqual([]);
    expect((await run('ip', ['-j', 'link', 'show'])).stdout).not.toContain(vethNameFor(`${tag}-c`, good));
    expect((await run('ip', ['-n', `tsck-${tag}-c`, '-j', 'addr', 'show'])).stdout).not.toContain('eth0');
    expect((await run('ip', ['netns', 'exec', `tsck-${tag}-c`, 'nft', 'list', 'tables'])).stdout).not.toContain('tsc_dns');
    const items = ((await hn.readRuleset()) as { nftables: { rule?: { chain: string } }[] }).nftables;
    expect(items.filter((i) => i.rule?.chain === 'ports')).toEqual([]);
  });
});
