import { describe, expect, it } from 'vitest';

import { isTscError } from '../lib/errors.js';
import type { PortPlanInput } from './published-ports.js';
import { parseProcNet, planPublishedPorts } from './published-ports.js';

const base: PortPlanInput = {
  request: { service: 'web', container: 'p-web-1', ports: [], ipv4: '172.18.0.2' },
  existing: [],
  bound: [],
  ephemeral: [32768, 60999],
  seed: 42,
};

function plan(ports: PortPlanInput['request']['ports'], more: Partial<PortPlanInput> = {}) {
  return planPublishedPorts({ ...base, ...more, request: { ...base.request, ports } });
}

describe('planPublishedPorts', () => {
  it('maps target, published, host_ip and protocol', () => {
    expect(plan([{ target: 80, published: '8080' }, { target: 53, published: 5353, protocol: 'udp', host_ip: '127.0.0.1' }])).toEqual([
      { family: 4, protocol: 'tcp', hostIp: undefined, hostPort: 8080, containerIp: '172.18.0.2', containerPort: 80, owner: 'p-web-1' },
      { family: 4, protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353, containerIp: '172.18.0.2', containerPort: 53, owner: 'p-web-1' },
    ]);
  });

  it('picks a random port from the ephemeral range when published is empty, the same for the same seed', () => {
    const a = plan([{ target: 80 }]);
    const b = plan([{ target: 80 }]);
    expect(a[0]?.hostPort).toBe(b[0]?.hostPort);
    expect(a[0]?.hostPort).toBeGreaterThanOrEqual(32768);
    expect(a[0]?.hostPort).toBeLessThanOrEqual(60999);
    const tiny = plan([{ target: 80 }, { target: 81 }], { ephemeral: [40000, 40001] });
    expect(tiny.map((p) => p.hostPort).sort()).toEqual([40000, 40001]);
  });

  it('takes the first free port of a published range', () => {
    const r = plan([{ target: 80, published: '8000-8002' }], { bound: [{ protocol: 'tcp', address: '0.0.0.0', port: 8000 }] });
    expect(r[0]?.hostPort).toBe(8001);
  });

  it('says which service and key when the host port is taken, and by what', () => {
    let e: unknown;
    try {
      plan([{ target: 80, published: '8080' }], { bound: [{ protocol: 'tcp', address: '::', port: 8080 }] });
    } catch (x) {
      e = x;
    }
    expect(isTscError(e, 'ERR_CONFLICT')).toBe(true);
    expect((e as Error).message).toBe('service web: ports[0]: host port 8080/tcp is already in use on the host (:::8080)');
    expect((e as { path?: string }).path).toBe('services.web.ports[0].published');
    expect(() =>
      plan([{ target: 80, published: '8080' }], {
        existing: [{ family: 4, protocol: 'tcp', hostPort: 8080, containerIp: '172.18.0.9', containerPort: 80, owner: 'p-api-1' }],
      }),
    ).toThrow('service web: ports[0]: host port 8080/tcp is already in use by p-api-1');
  });

  it('does not mix up protocols or distinct host addresses', () => {
    expect(plan([{ target: 80, published: '8080' }], { bound: [{ protocol: 'udp', address: '0.0.0.0', port: 8080 }] })).toHaveLength(1);
    expect(plan([{ target: 80, published: '8080', host_ip: '127.0.0.1' }], { bound: [{ protocol: 'tcp', address: '192.0.2.2', port: 8080 }] })).toHaveLength(1);
  });

  it('adds the IPv6 mapping when the container has an IPv6 address', () => {
    const r = planPublishedPorts({ ...base, request: { ...base.request, ipv6: 'fd00::2', ports: [{ target: 80, published: '80' }] } });
    expect(r.map((p) => `${p.family} ${p.containerIp}`)).toEqual(['4 172.18.0.2', '6 fd00::2']);
  });

  it('rejects a bad published value or protocol', () => {
    expect(() => plan([{ target: 80, published: '99999' }])).toThrow('service web: published port "99999" is not a port or range');
    expect(() => plan([{ target: 80, protocol: 'sctp' }])).toThrow('service web: protocol sctp is not supported (tcp or udp)');
  });
});

describe('parseProcNet', () => {
  it('reads listening TCP and bound UDP sockets, both families', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
      '   1: 0100007F:1F91 0200007F:0050 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNet(tcp, 'tcp')).toEqual([{ protocol: 'tcp', address: '127.0.0.1', port: 8080 }]);
    const udp6 = [
      '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  1: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0 0',
    ].join('\n');
    expect(parseProcNet(udp6, 'udp')).toEqual([{ protocol: 'udp', address: '::', port: 53 }]);
  });
});
