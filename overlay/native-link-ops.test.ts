import { describe, expect, it } from 'vitest';

import { planAttach, planBridge, planDetach, type LinkOp } from './link-plan.js';
import { BATCH_GROUPS, planRemovalBatch } from './link-removal-batch.js';
import { renderNativeLinkOps } from './native-link-ops.js';

const ns = '/run/netns/c1';

describe('renderNativeLinkOps', () => {
  it("renders a connect's ops (namespace, veth, bridge port, addresses, routes, sysctl, resolver table) with an enter per namespace change", () => {
    const ops: LinkOp[] = [
      { kind: 'ip', args: ['netns', 'add', 'c1'] },
      ...planAttach(
        { netns: ns, bridge: 'tsc-br', hostVeth: 'tsv1', ifname: 'eth0', mtu: 1400, mac: '02:42:0a:01:00:02', addresses: ['10.1.0.2/24', 'fd00::2/64'], isolated: true, gateways: ['10.1.0.1', 'fd00::1'] },
        undefined,
        [],
      ),
      { kind: 'nft', netns: ns, script: 'table ip t {\n}\n' },
      { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' },
    ];
    expect(renderNativeLinkOps(ops)).toBe(
      [
        'netns-add c1',
        'veth tsv1 eth0 1400 02:42:0a:01:00:02 /run/netns/c1',
        'master tsv1 tsc-br',
        'brport tsv1 on on',
        'up tsv1',
        'enter /run/netns/c1',
        'up lo',
        'addr eth0 10.1.0.2/24',
        'addr eth0 fd00::2/64 nodad',
        'up eth0',
        'route-default eth0 10.1.0.1',
        'route-default eth0 fd00::1',
        'sysctl net/ipv4/conf/eth0/route_localnet 1',
        'nft 15',
        'table ip t {',
        '}',
        '',
        'enter -',
        'sysctl net/ipv4/ip_forward 1',
        '',
      ].join('\n'),
    );
  });

  it('counts the nft block in bytes, not characters', () => {
    expect(renderNativeLinkOps([{ kind: 'nft', script: 'é\n' }])).toBe('nft 3\né\n\n');
  });

  it('renders a veth without MTU or MAC, a MAC change, hairpin alone, and a detach', () => {
    const ops: LinkOp[] = [
      ...planAttach({ netns: '/proc/42/ns/net', bridge: 'br0', hostVeth: 'tsv2', ifname: 'eth1', addresses: ['10.2.0.3/16'], gateways: [] }, undefined, [{ ifname: 'lo', flags: ['UP'] }]),
      { kind: 'ip', netns: '/proc/42/ns/net', args: ['link', 'set', 'eth1', 'address', '02:00:00:00:00:01'] },
      ...planDetach('tsv2', { ifname: 'tsv2' }),
      { kind: 'ip', args: ['netns', 'del', 'c1'] },
    ];
    expect(renderNativeLinkOps(ops)?.split('\n')).toEqual([
      'veth tsv2 eth1 - - /proc/42/ns/net',
      'master tsv2 br0',
      'brport tsv2 on -',
      'up tsv2',
      'enter /proc/42/ns/net',
      'addr eth1 10.2.0.3/16',
      'up eth1',
      'sysctl net/ipv4/conf/eth1/route_localnet 1',
      'mac eth1 02:00:00:00:00:01',
      'enter -',
      'link-del tsv2',
      'netns-del c1',
      '',
    ]);
  });

  it("renders a removal batch's group ops, and never a group 0 (every device's)", () => {
    const batch = planRemovalBatch([{ devices: ['tsv1'], namespaces: ['c1'] }, { devices: ['tsv2'], namespaces: [] }], BATCH_GROUPS.min);
    expect(renderNativeLinkOps(batch)?.split('\n')).toEqual([`group tsv1 ${BATCH_GROUPS.min}`, `group tsv2 ${BATCH_GROUPS.min}`, `group-del ${BATCH_GROUPS.min}`, 'netns-del c1', '']);
    expect(renderNativeLinkOps([{ kind: 'ip', args: ['link', 'del', 'group', '0'] }])).toBeUndefined();
  });

  it("renders a bridge's creation, its optional altname marked `?`", () => {
    const ops = planBridge({ bridge: 'tsc-x', altname: 'web', mtu: 1400, mac: '02:42:0a:03:00:01', addresses: ['10.3.0.1/24'], ipv6: false }, undefined);
    expect(renderNativeLinkOps(ops)?.split('\n')).toEqual([
      'bridge tsc-x 1400 02:42:0a:03:00:01',
      '? altname tsc-x web',
      'sysctl net/ipv4/conf/tsc-x/route_localnet 1',
      'sysctl net/ipv4/ip_forward 1',
      'addr tsc-x 10.3.0.1/24',
      'up tsc-x',
      '',
    ]);
  });

  it('gives undefined for any op the built-in does not know, so the script runs instead', () => {
    const unknown: LinkOp[][] = [
      [{ kind: 'cmd', argv: ['bridge', 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'vx', 'dst', '192.0.2.1'] }],
      [{ kind: 'ip', args: ['addr', 'del', '10.3.0.9/32', 'dev', 'tsc-x'] }],
      [{ kind: 'ip', args: ['link', 'add', 'vx', 'type', 'vxlan', 'id', '1'] }],
      // Different MTUs on the two ends, a namespace by name rather than path, odd words.
      [{ kind: 'ip', args: ['link', 'add', 'a', 'mtu', '1400', 'type', 'veth', 'peer', 'name', 'b', 'mtu', '1500', 'netns', ns] }],
      [{ kind: 'ip', args: ['link', 'add', 'a', 'type', 'veth', 'peer', 'name', 'b', 'netns', 'c1'] }],
      [{ kind: 'ip', args: ['link', 'set', 'a b', 'up'] }],
      [{ kind: 'ip', args: ['netns', 'add', '..'] }],
      [{ kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1 2' }],
      [{ kind: 'ip', netns: 'relative/path', args: ['link', 'set', 'lo', 'up'] }],
    ];
    for (const ops of unknown) expect(renderNativeLinkOps(ops), JSON.stringify(ops)).toBeUndefined();
  });
});
