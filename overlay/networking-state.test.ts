import { describe, expect, it } from 'vitest';

import { bridgeNameFor } from './link-names.js';
import type { ConnectContext, NetworkingState } from './networking-state.js';
import { dnsTableOf, emptyNetworkingState, planConnect, planDisconnect, planNetwork, planNetworkRemoval, planVip, planVipRemoval, rulesetOf } from './networking-state.js';

const ctx: ConnectContext = { bound: [], ephemeral: [32768, 60999], seed: 1, existingIfnames: ['lo'] };

function twoNetworks(): NetworkingState {
  let s = emptyNetworkingState();
  s = planNetwork(s, { name: 'p_front' }, []).state;
  s = planNetwork(s, { name: 'p_back', internal: true, driver_opts: { 'com.docker.network.driver.mtu': '1400' } }, []).state;
  return s;
}

describe('planNetwork', () => {
  it('names the bridge from the network and keeps the compose name as its altname', () => {
    const { record } = planNetwork(emptyNetworkingState(), { name: 'myproject_frontend' }, []);
    expect(record.bridge).toBe(bridgeNameFor('myproject_frontend'));
    expect(record.bridge.length).toBeLessThanOrEqual(15);
    expect(record.altname).toBe('myproject_frontend');
    expect(record.subnets).toEqual([{ family: 4, subnet: '172.17.0.0/16', gateway: '172.17.0.1' }]);
  });

  it('honours the bridge driver_opts', () => {
    const { record } = planNetwork(
      emptyNetworkingState(),
      {
        name: 'n',
        driver_opts: {
          'com.docker.network.bridge.name': 'br-custom',
          'com.docker.network.driver.mtu': 1450,
          'com.docker.network.bridge.enable_icc': 'false',
          'com.docker.network.bridge.enable_ip_masquerade': 'false',
          'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
        },
      },
      [],
    );
    expect(record).toMatchObject({ bridge: 'br-custom', altname: undefined, mtu: 1450, icc: false, masquerade: false, hostBindingIpv4: '127.0.0.1' });
  });

  it('rejects a bad bridge name, MTU or driver, naming the key', () => {
    expect(() => planNetwork(emptyNetworkingState(), { name: 'n', driver_opts: { 'com.docker.network.bridge.name': 'a-very-long-bridge-name' } }, [])).toThrow(
      'network n: bridge name "a-very-long-bridge-name" is not a valid interface name (at most 15 characters)',
    );
    expect(() => planNetwork(emptyNetworkingState(), { name: 'n', driver_opts: { 'com.docker.network.driver.mtu': 'big' } }, [])).toThrow(
      'network n: MTU "big" is not between 68 and 65535',
    );
    expect(() => planNetwork(emptyNetworkingState(), { name: 'n', driver: 'macvlan' }, [])).toThrow('network n: driver "macvlan" is not supported');
  });

  it('refuses to remove a network in use', () => {
    const s = planConnect(twoNetworks(), { container: 'c', netns: '/x', networks: [{ network: 'p_front' }] }, ctx).state;
    expect(() => planNetworkRemoval(s, 'p_front')).toThrow('network p_front has active endpoints (c)');
  });
});

describe('planConnect', () => {
  it('orders interfaces by priority and puts the default route on the first non-internal network', () => {
    const { container } = planConnect(
      twoNetworks(),
      { container: 'c', netns: '/x', networks: [{ network: 'p_back', priority: 100 }, { network: 'p_front', priority: 1, mac_address: '02:AA:BB:CC:DD:EE' }] },
      ctx,
    );
    expect(container.endpoints.map((e) => [e.network, e.ifname, e.gatewayRoute])).toEqual([
      ['p_back', 'eth0', false],
      ['p_front', 'eth1', true],
    ]);
    expect(container.endpoints[1]?.mac).toBe('02:aa:bb:cc:dd:ee');
    expect(container.endpoints[0]?.mac).toBe('02:42:ac:12:00:02');
  });

  it('publishes ports on the address of the first network, and forgets them on disconnect', () => {
    const r = planConnect(twoNetworks(), { container: 'c', netns: '/x', service: 'web', networks: [{ network: 'p_front' }], ports: [{ target: 80, published: '8080' }] }, ctx);
    expect(rulesetOf(r.state, 't').ports).toEqual([
      { family: 4, protocol: 'tcp', hostIp: undefined, hostPort: 8080, containerIp: '172.17.0.2', containerPort: 80, owner: 'c' },
    ]);
    const d = planDisconnect(r.state, 'c');
    expect(rulesetOf(d.state, 't').ports).toEqual([]);
    expect(d.state.ipam.networks['p_front']?.subnets[0]?.addresses).toEqual({});
  });

  it('moves the default route to the next non-internal network when its network is disconnected', () => {
    const s = planNetwork(twoNetworks(), { name: 'p_side' }, []).state;
    const r = planConnect(s, { container: 'c', netns: '/x', networks: [{ network: 'p_front', priority: 9 }, { network: 'p_back', priority: 5 }, { network: 'p_side' }] }, ctx);
    expect(r.container.endpoints.map((e) => [e.network, e.gatewayRoute])).toEqual([['p_front', true], ['p_back', false], ['p_side', false]]);
    const d = planDisconnect(r.state, 'c', 'p_front');
    expect(d.container?.endpoints.map((e) => [e.network, e.gatewayRoute])).toEqual([['p_back', false], ['p_side', true]]);
    // Only internal networks left: no default route at all.
    const only = planDisconnect(d.state, 'c', 'p_side');
    expect(only.container?.endpoints.map((e) => [e.network, e.gatewayRoute])).toEqual([['p_back', false]]);
  });

  it('builds the DNS table from service, container, hostname and aliases', () => {
    const s = planConnect(twoNetworks(), { container: 'p-web-1', netns: '/x', service: 'web', hostname: 'WebHost', networks: [{ network: 'p_front', aliases: ['www'] }] }, ctx).state;
    expect(dnsTableOf(s, ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'])).toEqual({
      upstreams: ['1.1.1.1', '2.2.2.2', '3.3.3.3'],
      endpoints: [{ container: 'p-web-1', network: 'p_front', ipv4: '172.17.0.2', ipv6: undefined, names: ['p-web-1', 'web', 'webhost', 'www'], srv: [], upstreams: undefined }],
    });
  });

  it('says which service and network when the network does not exist', () => {
    expect(() => planConnect(twoNetworks(), { container: 'c', netns: '/x', service: 'api', networks: [{ network: 'nope' }] }, ctx)).toThrow(
      'service api: network nope not found',
    );
  });
});

describe('planVip', () => {
  it('gives a service a VIP whose ports balance over its containers, and moves the name to it', () => {
    let s = twoNetworks();
    s = planConnect(s, { container: 'w1', netns: '/a', service: 'web', networks: [{ network: 'p_front' }] }, ctx).state;
    s = planConnect(s, { container: 'w2', netns: '/b', service: 'web', networks: [{ network: 'p_front' }] }, ctx).state;
    const r = planVip(s, { network: 'p_front', service: 'web', ports: [{ port: 80, target: 8080 }], backends: ['w1', 'w2'] });
    expect(r.vip.vip).toBe('172.17.0.4');
    expect(rulesetOf(r.state, 't').vips).toEqual([
      { vip: '172.17.0.4', protocol: 'tcp', port: 80, backends: [{ ip: '172.17.0.2', port: 8080 }, { ip: '172.17.0.3', port: 8080 }], owner: 'vip web' },
    ]);
    const names = dnsTableOf(r.state, []).endpoints.map((e) => [e.ipv4, e.names.join(' ')]);
    expect(names).toEqual([
      ['172.17.0.4', 'web'],
      ['172.17.0.2', 'w1 tasks.web'],
      ['172.17.0.3', 'w2 tasks.web'],
    ]);
    // the same VIP on update; removal releases it
    expect(planVip(r.state, { network: 'p_front', service: 'web', ports: [], backends: [] }).vip.vip).toBe('172.17.0.4');
    expect(() => planNetworkRemoval(planDisconnect(planDisconnect(r.state, 'w1').state, 'w2').state, 'p_front')).toThrow(
      'network p_front still has service VIPs (web)',
    );
    const gone = planVipRemoval(r.state, 'p_front', 'web').state;
    expect(gone.ipam.networks['p_front']?.subnets[0]?.addresses).toEqual({ w1: '172.17.0.2', w2: '172.17.0.3' });
  });
});
