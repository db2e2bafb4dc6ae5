import { describe, expect, it } from 'vitest';

import { renderHostname, renderHosts, renderResolvConf } from './etc-files.js';

const HOST_RESOLV = '# generated\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 timeout:2\n';

describe('renderHosts', () => {
  it('writes Docker\'s defaults, extra_hosts (host-gateway resolved), then the container', () => {
    expect(
      renderHosts({
        hostname: 'web',
        addresses: ['172.18.0.2'],
        extraHosts: ['somehost:162.242.195.82', 'otherhost=50.31.209.229', 'myhostv6:[::1]', 'host.docker.internal:host-gateway'],
        hostGateway: '172.17.0.1',
      }),
    ).toBe(
      [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'ff00::0\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '162.242.195.82\tsomehost',
        '50.31.209.229\totherhost',
        '::1\tmyhostv6',
        '172.17.0.1\thost.docker.internal',
        '172.18.0.2\tweb',
        '',
      ].join('\n'),
    );
  });

  it('takes the map form and a domainname', () => {
    const text = renderHosts({ hostname: 'db', domainname: 'example.com', addresses: ['10.0.0.3'], extraHosts: { a: '1.2.3.4', b: ['5.6.7.8', '::2'] } });
    expect(text.split('\n').slice(6)).toEqual(['1.2.3.4\ta', '5.6.7.8\tb', '::2\tb', '10.0.0.3\tdb.example.com db', '']);
  });

  it('names the container at each of its addresses, as Docker does for every network it joins', () => {
    const text = renderHosts({ hostname: 'app', addresses: ['172.18.0.3', 'fd00:1::3', '172.19.0.2'] });
    expect(text.split('\n').slice(6)).toEqual(['172.18.0.3\tapp', 'fd00:1::3\tapp', '172.19.0.2\tapp', '']);
  });

  it('rejects a bad extra host, naming the service', () => {
    expect(() => renderHosts({ hostname: 'x', extraHosts: ['nohost'], service: 'web' })).toThrow('invalid extra host "nohost": expected host:ip');
    expect(() => renderHosts({ hostname: 'x', extraHosts: ['a:notanip'], service: 'web' })).toThrow('invalid extra host a: "notanip" is not an IP address');
  });
});

describe('renderHostname', () => {
  it('is the hostname and a newline', () => expect(renderHostname('abc123')).toBe('abc123\n'));
});

describe('renderResolvConf', () => {
  it('points user-network containers at 127.0.0.11 with ndots:0, forwarding to the host\'s servers', () => {
    expect(renderResolvConf({ host: HOST_RESOLV, embedded: true })).toEqual({
      content: 'nameserver 127.0.0.11\nsearch corp.example\noptions edns0 timeout:2 ndots:0\n',
      upstreams: ['10.255.255.53', '127.0.0.53'],
    });
  });

  it('honours dns, dns_search and dns_opt (ndots given by the user wins)', () => {
    expect(renderResolvConf({ host: HOST_RESOLV, embedded: true, dns: ['192.0.2.53'], dnsSearch: ['a.example', 'b.example'], dnsOpt: ['ndots:2', 'rotate'] })).toEqual({
      content: 'nameserver 127.0.0.11\nsearch a.example b.example\noptions ndots:2 rotate\n',
      upstreams: ['192.0.2.53'],
    });
    expect(renderResolvConf({ host: HOST_RESOLV, embedded: true, dnsSearch: ['.'] }).content).not.toContain('search');
  });

  it('copies the host\'s servers without localhost ones on the default bridge', () => {
    expect(renderResolvConf({ host: HOST_RESOLV, embedded: false }).content).toBe(
      'nameserver 10.255.255.53\nsearch corp.example\noptions edns0 timeout:2\n',
    );
    expect(renderResolvConf({ host: 'nameserver 127.0.0.53\n', embedded: false }).content).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});
