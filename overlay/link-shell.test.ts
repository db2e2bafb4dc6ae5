import { describe, expect, it } from 'vitest';

import { renderLinkScript, shellQuote } from './link-shell.js';

describe('renderLinkScript', () => {
  it('runs host steps directly and a namespace\'s steps in one nsenter shell, in order, stopping at the first failure', () => {
    const script = renderLinkScript([
      { kind: 'ip', args: ['link', 'add', 'tsv1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', '/run/netns/c1'] },
      { kind: 'ip', args: ['link', 'set', 'tsv1', 'up'] },
      { kind: 'ip', args: ['link', 'property', 'add', 'dev', 'tsv1', 'altname', 'a b'], optional: true },
      { kind: 'ip', netns: '/run/netns/c1', args: ['addr', 'add', '10.1.0.2/24', 'dev', 'eth0'] },
      { kind: 'ip', netns: '/run/netns/c1', args: ['link', 'set', 'eth0', 'up'] },
      { kind: 'sysctl', netns: '/run/netns/c1', key: 'net.ipv4.conf.eth0.route_localnet', value: '1' },
      { kind: 'nft', netns: '/run/netns/c1', script: 'table ip t {\n}\n' },
      { kind: 'sysctl', key: 'net.ipv4.ip_forward', value: '1' },
    ]);
    expect(script).toBe(
      [
        'set -e',
        "ip -batch - <<'TSC_IP_EOF'",
        'link add tsv1 type veth peer name eth0 netns /run/netns/c1',
        'link set tsv1 up',
        'TSC_IP_EOF',
        "ip link property add dev tsv1 altname 'a b' </dev/null >/dev/null 2>&1 || true",
        "nsenter --net=/run/netns/c1 -- sh -e <<'TSC_NS_EOF'",
        'set -e',
        "ip -batch - <<'TSC_IP_EOF'",
        'addr add 10.1.0.2/24 dev eth0',
        'link set eth0 up',
        'TSC_IP_EOF',
        'printf %s 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet',
        "nft -f - <<'TSC_NFT_EOF'",
        'table ip t {',
        '}',
        'TSC_NFT_EOF',
        'TSC_NS_EOF',
        'printf %s 1 > /proc/sys/net/ipv4/ip_forward',
        '',
      ].join('\n'),
    );
  });

  it('quotes words for sh and refuses a body that would end its heredoc early', () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('/run/netns/x')).toBe('/run/netns/x');
    expect(() => renderLinkScript([{ kind: 'nft', script: 'TSC_NFT_EOF\n' }])).toThrow('heredoc delimiter');
  });
});
