import { describe, expect, it } from 'vitest';

import { isTscError } from '../lib/errors.js';
import type { IpamState } from './ipam.js';
import { allocateAddresses, allocateSubnets, emptyIpamState, releaseAddresses, releaseSubnets, ulaPoolFor } from './ipam.js';

function subnetOf(state: IpamState, net: string, family: 4 | 6 = 4): string | undefined {
  return state.networks[net]?.subnets.find((s) => s.family === family)?.subnet;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('ipam subnets', () => {
  it('takes Docker local pools in order: 172.17/16 upward', () => {
    let s = emptyIpamState();
    s = allocateSubnets(s, { network: 'a' }).state;
    s = allocateSubnets(s, { network: 'b' }).state;
    expect(subnetOf(s, 'a')).toBe('172.17.0.0/16');
    expect(subnetOf(s, 'b')).toBe('172.18.0.0/16');
    expect(s.networks['a']?.subnets[0]?.gateway).toBe('172.17.0.1');
  });

  it('skips subnets that overlap host routes, but not the default route', () => {
    const { state } = allocateSubnets(emptyIpamState(), {
      network: 'a',
      hostRoutes: ['0.0.0.0/0', '172.17.5.0/24', '172.18.0.0/16'],
    });
    expect(subnetOf(state, 'a')).toBe('172.19.0.0/16');
  });

  it('moves on to 192.168.0.0/16 in /20s after the 172 pools', () => {
    const { state } = allocateSubnets(emptyIpamState(), { network: 'a', hostRoutes: ['172.16.0.0/12', '192.168.0.0/20'] });
    expect(subnetOf(state, 'a')).toBe('192.168.16.0/20');
  });

  it('says pool exhausted, naming the network', () => {
    const e = thrown(() =>
      allocateSubnets(emptyIpamState(), { network: 'front', hostRoutes: ['172.16.0.0/12', '192.168.0.0/16'] }),
    );
    expect(isTscError(e, 'ERR_NETWORK')).toBe(true);
    expect((e as Error).message).toBe('network front: all predefined address pools are in use (pool exhausted)');
  });

  it('uses ipam.config subnet, ip_range, gateway and aux_addresses', () => {
    const { network } = allocateSubnets(emptyIpamState(), {
      network: 'n',
      config: [{ subnet: '10.5.0.0/16', ip_range: '10.5.7.0/24', gateway: '10.5.0.254', aux_addresses: { x: '10.5.7.1' } }],
    });
    expect(network.subnets).toEqual([
      {
        family: 4,
        subnet: '10.5.0.0/16',
        gateway: '10.5.0.254',
        ipRange: '10.5.7.0/24',
        reserved: ['10.5.7.1'],
        addresses: {},
        automatic: false,
      },
    ]);
  });

  it('rejects overlapping subnets, naming both networks and the key', () => {
    const s = allocateSubnets(emptyIpamState(), { network: 'a', config: [{ subnet: '10.1.0.0/16' }] }).state;
    const e = thrown(() => allocateSubnets(s, { network: 'b', config: [{ subnet: '10.1.2.0/24' }] }));
    expect(isTscError(e, 'ERR_NETWORK')).toBe(true);
    expect((e as Error).message).toBe('network b: subnet 10.1.2.0/24 overlaps 10.1.0.0/16 of network a');
    expect((e as { path?: string }).path).toBe('networks.b.ipam.config[0].subnet');
  });

  it('rejects a gateway or ip_range outside the subnet', () => {
    const e1 = thrown(() => allocateSubnets(emptyIpamState(), { network: 'a', config: [{ subnet: '10.1.0.0/24', gateway: '10.2.0.1' }] }));
    expect((e1 as Error).message).toBe('network a: gateway 10.2.0.1 is outside subnet 10.1.0.0/24');
    const e2 = thrown(() => allocateSubnets(emptyIpamState(), { network: 'a', config: [{ subnet: '10.1.0.0/24', ip_range: '10.1.0.0/16' }] }));
    expect((e2 as Error).message).toBe('network a: ip_range 10.1.0.0/16 is outside subnet 10.1.0.0/24');
  });

  it('an automatic subnet avoids configured ones', () => {
    let s = allocateSubnets(emptyIpamState(), { network: 'a', config: [{ subnet: '172.17.0.0/24' }] }).state;
    s = allocateSubnets(s, { network: 'b' }).state;
    expect(subnetOf(s, 'b')).toBe('172.18.0.0/16');
  });

  it('uses an IPv6 subnet from ipam.config with enable_ipv6', () => {
    const { state } = allocateSubnets(emptyIpamState(), {
      network: 'v6',
      enableIpv6: true,
      config: [{ subnet: 'fd00:0db8:0001::/64' }],
    });
    expect(subnetOf(state, 'v6', 6)).toBe('fd00:db8:1::/64');
    expect(state.networks['v6']?.subnets.find((x) => x.family === 6)?.gateway).toBe('fd00:db8:1::1');
    expect(subnetOf(state, 'v6', 4)).toBe('172.17.0.0/16');
  });

  it('takes an IPv6 /64 from the host\'s ULA /48 when enable_ipv6 gives no subnet, as Docker 27 does', () => {
    const pool = ulaPoolFor('host-a');
    expect(pool.base).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
    expect(pool.size).toBe(64);
    expect(ulaPoolFor('host-b').base).not.toBe(pool.base);
    const prefix = pool.base.replace(/::\/48$/, '');
    let s = allocateSubnets(emptyIpamState(), { network: 'v6', enableIpv6: true, ipv6Pools: [pool] }).state;
    s = allocateSubnets(s, { network: 'w6', enableIpv6: true, ipv6Pools: [pool], hostRoutes: [`${prefix}:1::/64`] }).state;
    expect(subnetOf(s, 'v6', 6)).toBe(`${prefix}::/64`);
    expect(s.networks['v6']?.subnets.find((x) => x.family === 6)?.gateway).toBe(`${prefix}::1`);
    // The next network skips both the first /64 and a host route.
    expect(subnetOf(s, 'w6', 6)).toBe(`${prefix}:2::/64`);
  });

  it('releasing a network frees its subnet for the next one', () => {
    let s = allocateSubnets(emptyIpamState(), { network: 'a' }).state;
    s = releaseSubnets(s, 'a');
    s = allocateSubnets(s, { network: 'b' }).state;
    expect(subnetOf(s, 'b')).toBe('172.17.0.0/16');
  });
});

describe('ipam addresses', () => {
  const base = allocateSubnets(emptyIpamState(), { network: 'n', config: [{ subnet: '10.9.0.0/29' }] }).state;

  it('hands out lowest free addresses after the gateway, and reuses released ones', () => {
    let s = base;
    const a = allocateAddresses(s, { network: 'n', owner: 'c1' });
    s = a.state;
    const b = allocateAddresses(s, { network: 'n', owner: 'c2' });
    s = b.state;
    expect(a.grant.ipv4).toEqual({ address: '10.9.0.2', prefix: 29, gateway: '10.9.0.1' });
    expect(b.grant.ipv4?.address).toBe('10.9.0.3');
    s = releaseAddresses(s, { network: 'n', owner: 'c1' });
    expect(allocateAddresses(s, { network: 'n', owner: 'c3' }).grant.ipv4?.address).toBe('10.9.0.2');
  });

  it('is idempotent for the same owner', () => {
    const a = allocateAddresses(base, { network: 'n', owner: 'c1' });
    const again = allocateAddresses(a.state, { network: 'n', owner: 'c1' });
    expect(again.grant.ipv4?.address).toBe('10.9.0.2');
  });

  it('exhausts a /29 after 5 containers (network, gateway and broadcast excluded)', () => {
    let s = base;
    for (let i = 0; i < 5; i++) s = allocateAddresses(s, { network: 'n', owner: `c${i}` }).state;
    const e = thrown(() => allocateAddresses(s, { network: 'n', owner: 'c9', service: 'web' }));
    expect(isTscError(e, 'ERR_NETWORK')).toBe(true);
    expect((e as Error).message).toBe('network n: no free address left in 10.9.0.0/29 (pool exhausted)');
  });

  it('gives static addresses and refuses ones outside the subnet or taken', () => {
    const a = allocateAddresses(base, { network: 'n', owner: 'c1', ipv4Address: '10.9.0.6' });
    expect(a.grant.ipv4?.address).toBe('10.9.0.6');
    const out = thrown(() => allocateAddresses(base, { network: 'n', owner: 'c1', service: 'db', ipv4Address: '10.8.0.6' }));
    expect((out as Error).message).toBe('service db: address 10.8.0.6 is outside subnet 10.9.0.0/29');
    expect((out as { path?: string }).path).toBe('services.db.networks.n.ipv4_address');
    const taken = thrown(() => allocateAddresses(a.state, { network: 'n', owner: 'c2', service: 'db', ipv4Address: '10.9.0.6' }));
    expect(isTscError(taken, 'ERR_CONFLICT')).toBe(true);
    expect((taken as Error).message).toBe('service db: address 10.9.0.6 on network n is already in use by c1');
  });

  it('gives an IPv6 address too on a dual-stack network', () => {
    const s = allocateSubnets(emptyIpamState(), {
      network: 'd',
      enableIpv6: true,
      config: [{ subnet: '10.3.0.0/24' }, { subnet: 'fd00:1::/64' }],
    }).state;
    const { grant } = allocateAddresses(s, { network: 'd', owner: 'c', ipv6Address: 'fd00:1::0:42' });
    expect(grant.ipv4?.address).toBe('10.3.0.2');
    expect(grant.ipv6).toEqual({ address: 'fd00:1::42', prefix: 64, gateway: 'fd00:1::1' });
  });
});
