import { describe, expect, it } from 'vitest';

import { containerFiles } from './container-files.js';
import { emptyNetworkingState, planConnect, planNetwork } from './networking-state.js';

describe('containerFiles', () => {
  it('writes the primary address, resolves host-gateway to its gateway, uses 127.0.0.11', () => {
    let s = planNetwork(emptyNetworkingState(), { name: 'p_default' }, []).state;
    const r = planConnect(s, { container: 'p-web-1', netns: '/x', networks: [{ network: 'p_default' }] }, {
      bound: [], ephemeral: [32768, 60999], seed: 1, existingIfnames: [],
    });
    s = r.state;
    const f = containerFiles({
      container: r.container, state: s, hostname: 'a1b2c3d4e5f6', extraHosts: ['host.docker.internal:host-gateway'],
      hostResolvConf: 'nameserver 10.0.0.53\n', dns: ['192.0.2.53'],
    });
    expect(f.hosts.split('\n').slice(-3)).toEqual(['172.17.0.1\thost.docker.internal', '172.17.0.2\ta1b2c3d4e5f6', '']);
    expect(f.hostname).toBe('a1b2c3d4e5f6\n');
    expect(f.resolvConf).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
    expect(f.upstreams).toEqual(['192.0.2.53']);
  });

  it('without a network (network_mode: none) copies the host\'s resolvers and has no own address', () => {
    const f = containerFiles({ state: emptyNetworkingState(), hostname: 'h', hostResolvConf: 'nameserver 10.0.0.53\n' });
    expect(f.resolvConf).toBe('nameserver 10.0.0.53\n');
    expect(f.hosts).not.toContain('\th\n');
  });
});
