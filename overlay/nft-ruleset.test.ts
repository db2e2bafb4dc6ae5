import { describe, expect, it } from 'vitest';

import type { Ruleset } from './nft-ruleset.js';
import { renderResolverScript, renderRulesetChange, renderRulesetScript } from './nft-ruleset.js';

const rs: Ruleset = {
  table: 'tsc_compose',
  networks: [
    { bridge: 'tsc-front', subnets: ['172.18.0.0/16'], internal: false, masquerade: true, icc: true },
    { bridge: 'tsc-db', subnets: ['172.19.0.0/16', 'fd00:1::/64'], internal: true, masquerade: true, icc: false },
  ],
  ports: [
    { family: 4, protocol: 'tcp', hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, owner: 'p-web-1' },
    { family: 4, protocol: 'udp', hostIp: '192.0.2.2', hostPort: 5353, containerIp: '172.18.0.3', containerPort: 53, owner: 'p-dns-1' },
    { family: 6, protocol: 'tcp', hostPort: 8080, containerIp: 'fd00:1::2', containerPort: 80, owner: 'p-web-1' },
  ],
  vips: [
    { vip: '172.18.0.100', protocol: 'tcp', port: 80, backends: [{ ip: '172.18.0.2', port: 8080 }, { ip: '172.18.0.3', port: 8080 }], owner: 'vip web' },
    { vip: '172.18.0.101', protocol: 'udp', port: 53, backends: [{ ip: '172.18.0.4', port: 53 }], owner: 'vip dns' },
    { vip: '172.18.0.102', protocol: 'tcp', port: 80, backends: [], owner: 'vip idle' },
  ],
};

describe('renderRulesetScript', () => {
  const script = renderRulesetScript(rs);
  const lines = script.split('\n').map((l) => l.trim());

  it('replaces our tables in one transaction (create, delete, re-create)', () => {
    expect(lines.slice(0, 2)).toEqual(['table inet tsc_compose', 'delete table inet tsc_compose']);
    expect(lines).toContain('table inet tsc_compose {');
  });

  it('isolates networks from each other but lets published-port traffic cross', () => {
    expect(lines).toContain('iifname @bridges oifname @bridges ct status dnat accept');
    expect(lines).toContain('iifname "tsc-front" oifname != "tsc-front" oifname @bridges drop comment "isolation"');
    expect(lines).toContain('iifname "tsc-db" oifname != "tsc-db" oifname @bridges drop comment "isolation"');
    expect(lines.indexOf('ct state established,related accept')).toBeLessThan(lines.indexOf('iifname @bridges oifname @bridges ct status dnat accept'));
  });

  it('drops loopback-addressed traffic arriving from a bridge (route_localnet is on)', () => {
    expect(lines).toContain('iifname @bridges ip daddr 127.0.0.0/8 drop comment "no loopback from containers"');
  });

  it('gives internal networks no way out or in, and no masquerade', () => {
    expect(lines).toContain('iifname "tsc-db" oifname != "tsc-db" drop comment "internal network"');
    expect(lines).toContain('oifname "tsc-db" iifname != "tsc-db" drop comment "internal network"');
    expect(lines).toContain('ip saddr 172.18.0.0/16 oifname != "tsc-front" masquerade comment "egress"');
    expect(script).not.toContain('ip saddr 172.19.0.0/16 oifname != "tsc-db" masquerade');
  });

  it('DNATs published ports for both families, host_ip honoured, from outside and from the host', () => {
    expect(lines).toContain('meta nfproto ipv4 tcp dport 8080 dnat ip to 172.18.0.2:80 comment "p-web-1"');
    expect(lines).toContain('meta nfproto ipv4 ip daddr 192.0.2.2 udp dport 5353 dnat ip to 172.18.0.3:53 comment "p-dns-1"');
    expect(lines).toContain('meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd00:1::2]:80 comment "p-web-1"');
    expect(lines.filter((l) => l === 'fib daddr type local jump ports')).toHaveLength(2);
  });

  it('masquerades hairpin and localhost traffic into a bridge', () => {
    expect(lines).toContain('oifname "tsc-front" ip saddr 172.18.0.0/16 ct status dnat masquerade comment "hairpin"');
    expect(lines).toContain('oifname "tsc-front" ip saddr 127.0.0.0/8 masquerade comment "localhost to published port"');
    expect(lines).toContain('oifname "tsc-db" ip6 saddr fd00:1::/64 ct status dnat masquerade comment "hairpin"');
  });

  it('balances VIP ports round-robin over the backends with numgen (no IPVS)', () => {
    expect(lines).toContain(
      'ip daddr 172.18.0.100 tcp dport 80 dnat ip to numgen inc mod 2 map { 0 : 172.18.0.2 . 8080, 1 : 172.18.0.3 . 8080 } comment "vip web"',
    );
    expect(lines).toContain('ip daddr 172.18.0.101 udp dport 53 dnat ip to 172.18.0.4:53 comment "vip dns"');
    expect(script).not.toContain('172.18.0.102');
  });

  it('renders teardown as deletes only', () => {
    expect(renderRulesetScript({ table: 't', networks: [], ports: [], vips: [] })).toBe(
      'table inet t\ndelete table inet t\n',
    );
  });
});

describe('renderResolverScript', () => {
  it('sends 127.0.0.11:53 to the server and SNATs to the container address', () => {
    const s = renderResolverScript({ table: 'tsc_dns', server: '172.18.0.1', serverPort: 53, source: '172.18.0.5' });
    expect(s).toContain('ip daddr 127.0.0.11 udp dport 53 dnat ip to 172.18.0.1:53');
    expect(s).toContain('ip daddr 127.0.0.11 tcp dport 53 dnat ip to 172.18.0.1:53');
    expect(s).toContain('ip saddr 127.0.0.0/8 ip daddr 172.18.0.1 snat to 172.18.0.5');
    expect(s).toContain('iifname != "lo" ip daddr 127.0.0.0/8 drop');
  });

  it('spreads new flows over consecutive server ports when several servers answer', () => {
    const s = renderResolverScript({ table: 'tsc_dns', server: '172.18.0.1', serverPort: 10053, serverPorts: 2, source: '172.18.0.5' });
    expect(s).toContain('udp dport 53 dnat ip to numgen inc mod 2 map { 0 : 172.18.0.1 . 10053, 1 : 172.18.0.1 . 10054 }');
    expect(s).toContain('tcp dport 53 dnat ip to numgen inc mod 2 map { 0 : 172.18.0.1 . 10053, 1 : 172.18.0.1 . 10054 }');
  });

  it('replaces the table a namespace holds, but writes a fresh namespace\'s table without deleting first', () => {
    const opts = { table: 'tsc_dns', server: '172.18.0.1', serverPort: 53, source: '172.18.0.5' };
    const replacing = renderResolverScript(opts);
    const fresh = renderResolverScript({ ...opts, fresh: true });
    expect(replacing.startsWith('table ip tsc_dns\ndelete table ip tsc_dns\n')).toBe(true);
    expect(fresh).not.toContain('delete');
    expect(replacing.endsWith(fresh)).toBe(true);
  });
});

describe('renderRulesetChange', () => {
  const noPorts: Ruleset = { ...rs, ports: [], vips: [] };

  it('renders nothing when a change touches no rule (a container without published ports)', () => {
    expect(renderRulesetChange(noPorts, { ...noPorts })).toBeUndefined();
    expect(renderRulesetChange({ ...rs, networks: [], ports: [], vips: [] }, { ...rs, networks: [], ports: [], vips: [] })).toBeUndefined();
  });

  it('flushes and refills only the ports chain, in one transaction, when the networks are the same', () => {
    const script = renderRulesetChange(noPorts, rs) as string;
    const lines = script.trim().split('\n');
    expect(lines[0]).toBe('flush chain inet tsc_compose ports');
    expect(lines).toContain('add rule inet tsc_compose ports meta nfproto ipv4 tcp dport 8080 dnat ip to 172.18.0.2:80 comment "p-web-1"');
    // two VIPs with backends; the idle one has no rule
    expect(lines.filter((l) => l.includes('numgen') || l.includes('ip daddr 172.18.0.10'))).toHaveLength(2);
    expect(lines).toHaveLength(1 + 3 + 2);
    expect(renderRulesetChange(rs, noPorts)).toBe('flush chain inet tsc_compose ports\n');
  });

  it('replaces the whole table when the networks change or what the kernel holds is unknown', () => {
    const full = renderRulesetScript(rs);
    expect(renderRulesetChange(undefined, rs)).toBe(full);
    expect(renderRulesetChange({ ...rs, networks: rs.networks.slice(1) }, rs)).toBe(full);
    expect(renderRulesetChange({ ...rs, table: 'other' }, rs)).toBe(full);
    // back to nothing (teardown) deletes the table
    const empty: Ruleset = { table: rs.table, networks: [], ports: [], vips: [] };
    expect(renderRulesetChange(rs, empty)).toBe('table inet tsc_compose\ndelete table inet tsc_compose\n');
  });

  it('writes the table without deleting first after it wrote the table away (empty)', () => {
    const empty: Ruleset = { table: rs.table, networks: [], ports: [], vips: [] };
    const script = renderRulesetChange(empty, rs) as string;
    expect(script).not.toContain('delete');
    expect(renderRulesetScript(rs).endsWith(script)).toBe(true);
  });
});
