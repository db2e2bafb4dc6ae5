import { describe, expect, it } from 'vitest';

import { dockerNetworkInspect, networkIdOf } from './network-inspect.js';
import type { ConnectContext } from './networking-state.js';
import { emptyNetworkingState, planConnect, planNetwork } from './networking-state.js';

const ctx: ConnectContext = { bound: [], ephemeral: [32768, 60999], seed: 1, existingIfnames: ['lo'] };

describe('dockerNetworkInspect', () => {
  it("shapes a network and its containers as docker network inspect does", () => {
    let s = emptyNetworkingState();
    s = planNetwork(s, {
      name: 'p_back',
      id: 'a'.repeat(64),
      created: '2026-11-23T12:00:00.000Z',
      internal: true,
      labels: { 'com.docker.compose.network': 'back' },
      driver_opts: { 'com.docker.network.driver.mtu': 1400 },
      ipam: { config: [{ subnet: '10.9.0.0/24', ip_range: '10.9.0.128/25' }] },
    }, []).state;
    s = planConnect(s, { container: 'p-db-1', netns: '/run/netns/x', networks: [{ network: 'p_back' }] }, ctx).state;
    const out = dockerNetworkInspect(s, 'p_back', (c) => `id-of-${c}`);
    expect(out).toMatchObject({
      Name: 'p_back',
      Id: 'a'.repeat(64),
      Created: '2026-11-23T12:00:00.000Z',
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      Internal: true,
      Attachable: false,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.9.0.0/24', Gateway: '10.9.0.1', IPRange: '10.9.0.128/25' }] },
      Options: { 'com.docker.network.driver.mtu': '1400' },
      Labels: { 'com.docker.compose.network': 'back' },
    });
    expect(out?.Containers).toEqual({
      'id-of-p-db-1': { Name: 'p-db-1', EndpointID: expect.stringMatching(/^[0-9a-f]{64}$/), MacAddress: '02:42:0a:09:00:80', IPv4Address: '10.9.0.128/24', IPv6Address: '' },
    });
    expect(dockerNetworkInspect(s, 'p_nope')).toBeUndefined();
  });

  it('gives networks of older states a stable id from their name', () => {
    const { record } = planNetwork(emptyNetworkingState(), { name: 'old' }, []);
    expect(networkIdOf(record)).toMatch(/^[0-9a-f]{64}$/);
    expect(networkIdOf(record)).toBe(networkIdOf({ ...record }));
  });
});
