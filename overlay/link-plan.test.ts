import { describe, expect, it } from 'vitest';

import type { LinkInfo } from './link-plan.js';
import { planAttach, planBridge, planBridgeRemoval, planDetach, planVxlan } from './link-plan.js';

describe('planBridge', () => {
  const want = { bridge: 'tsc-abc', altname: 'proj_front', mtu: 1400, mac: '02:11:22:33:44:55', addresses: ['172.18.0.1/16', 'fd00::1/64'], ipv6: true };

  it('creates a missing bridge with MTU, MAC, altname (best effort), addresses, sysctls, up', () => {
    expect(planBridge(want, undefined)).toEqual([
      { kind: 'ip', args: ['link', 'add', 'tsc-abc', 'mtu', '1400', 'address', '02:11:22:33:44:55', 'type', 'bridge'] },
      { kind: 'ip', args: ['link', 'property', 'add', 'dev', 'tsc-abc', 'altname', 'proj_front'], optional: true },
      { kind: 'sysctl', key: 'net.ipv4.conf.tsc-abc.route_localnet', value: '1' },
      { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' },
      { kind: 'sysctl', key: 'net.ipv6.conf.tsc-abc.disable_ipv6', value: '0' },
      { kind: 'sysctl', key: 'net.ipv6.conf.all.forwarding', value: '1' },
      { kind: 'ip', args: ['addr', 'add', '172.18.0.1/16', 'dev', 'tsc-abc'] },
      { kind: 'ip', args: ['addr', 'add', 'fd00::1/64', 'dev', 'tsc-abc', 'nodad'] },
      { kind: 'ip', args: ['link', 'set', 'tsc-abc', 'up'] },
    ]);
  });

  it('plans only what is missing on an existing bridge', () => {
    const actual: LinkInfo = {
      ifname: 'tsc-abc', mtu: 1400, flags: ['UP'], operstate: 'UP',
      addr_info: [{ family: 'inet', local: '172.18.0.1', prefixlen: 16 }],
    };
    const ipOps = planBridge(want, actual).filter((o) => o.kind === 'ip');
    expect(ipOps).toEqual([{ kind: 'ip', args: ['addr', 'add', 'fd00::1/64', 'dev', 'tsc-abc', 'nodad'] }]);
  });

  it('refuses a name taken by a link that is not a bridge', () => {
    expect(() => planBridge(want, { ifname: 'tsc-abc', linkinfo: { info_kind: 'veth' } })).toThrow('bridge name tsc-abc is taken by another interface (a veth)');
  });

  it('removes only what exists', () => {
    expect(planBridgeRemoval('tsc-abc', false)).toEqual([]);
    expect(planBridgeRemoval('tsc-abc', true)).toEqual([{ kind: 'ip', args: ['link', 'del', 'tsc-abc'] }]);
    expect(planDetach('tsv1', { ifname: 'tsv1' })).toEqual([{ kind: 'ip', args: ['link', 'del', 'tsv1'] }]);
  });
});

describe('planAttach', () => {
  const want = {
    netns: '/proc/42/ns/net', bridge: 'tsc-abc', hostVeth: 'tsv123', ifname: 'eth0', mtu: 1400,
    mac: '02:42:ac:12:00:02', isolated: true, addresses: ['172.18.0.2/16'], gateways: ['172.18.0.1'],
  };

  it('creates the veth with its peer already in the namespace, then configures both ends', () => {
    expect(planAttach(want, undefined, [{ ifname: 'lo', flags: ['LOOPBACK'] }])).toEqual([
      { kind: 'ip', args: ['link', 'add', 'tsv123', 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'eth0', 'address', '02:42:ac:12:00:02', 'mtu', '1400', 'netns', '/proc/42/ns/net'] },
      { kind: 'ip', args: ['link', 'set', 'tsv123', 'master', 'tsc-abc'] },
      { kind: 'ip', args: ['link', 'set', 'dev', 'tsv123', 'type', 'bridge_slave', 'hairpin', 'on', 'isolated', 'on'] },
      { kind: 'ip', args: ['link', 'set', 'tsv123', 'up'] },
      { kind: 'ip', netns: '/proc/42/ns/net', args: ['link', 'set', 'lo', 'up'] },
      { kind: 'ip', netns: '/proc/42/ns/net', args: ['addr', 'add', '172.18.0.2/16', 'dev', 'eth0'] },
      { kind: 'ip', netns: '/proc/42/ns/net', args: ['link', 'set', 'eth0', 'up'] },
      { kind: 'ip', netns: '/proc/42/ns/net', args: ['route', 'replace', 'default', 'via', '172.18.0.1', 'dev', 'eth0'] },
      { kind: 'sysctl', netns: '/proc/42/ns/net', key: 'net.ipv4.conf.eth0.route_localnet', value: '1' },
    ]);
  });

  it('fixes the MAC of an existing pair from inside, and plans nothing to create', () => {
    const host = { ifname: 'tsv123', master: 'tsc-abc' };
    const inside = [{ ifname: 'lo', flags: ['UP'] }, { ifname: 'eth0', address: '02:00:00:00:00:01', addr_info: [{ family: 'inet', local: '172.18.0.2', prefixlen: 16 }] }];
    const ops = planAttach(want, host, inside);
    expect(ops.filter((o) => o.kind === 'ip' && o.args[1] === 'add')).toEqual([]);
    expect(ops).toContainEqual({ kind: 'ip', netns: '/proc/42/ns/net', args: ['link', 'set', 'eth0', 'address', '02:42:ac:12:00:02'] });
  });

  it('refuses to plan over a foreign interface of the same name', () => {
    expect(() => planAttach(want, undefined, [{ ifname: 'eth0' }])).toThrow('interface eth0 already exists in /proc/42/ns/net without its host side tsv123');
  });
});

describe('planVxlan', () => {
  const want = { device: 'tsx-1', bridge: 'tsc-1', vni: 4097, local: '10.0.0.1', peers: ['10.0.0.2', '10.0.0.3'], mtu: 1450 };

  it('creates the device on the bridge and floods to every peer', () => {
    expect(planVxlan(want, undefined, [])).toEqual([
      { kind: 'ip', args: ['link', 'add', 'tsx-1', 'mtu', '1450', 'type', 'vxlan', 'id', '4097', 'local', '10.0.0.1', 'dstport', '4789', 'nolearning'] },
      { kind: 'ip', args: ['link', 'set', 'tsx-1', 'master', 'tsc-1'] },
      { kind: 'ip', args: ['link', 'set', 'tsx-1', 'up'] },
      { kind: 'cmd', argv: ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'tsx-1', 'dst', '10.0.0.2'] },
      { kind: 'cmd', argv: ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'tsx-1', 'dst', '10.0.0.3'] },
    ]);
  });

  it('adds joining peers and drops leaving ones', () => {
    const ops = planVxlan(want, { ifname: 'tsx-1', master: 'tsc-1' }, ['10.0.0.2', '10.0.0.9']).filter((o) => o.kind === 'cmd');
    expect(ops).toEqual([
      { kind: 'cmd', argv: ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'tsx-1', 'dst', '10.0.0.3'] },
      { kind: 'cmd', argv: ['bridge', 'fdb', 'del', '00:00:00:00:00:00', 'dev', 'tsx-1', 'dst', '10.0.0.9'] },
    ]);
  });
});
