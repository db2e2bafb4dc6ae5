import { describe, expect, it } from 'vitest';

import { portKey } from '../canonical/ports.js';
import { volumeKey } from '../canonical/volumes.js';
import { loadError, service } from './helpers.js';

const ports = (...entries: string[]): unknown =>
  service(`services:\n  web:\n    image: nginx\n    ports:\n${entries.map((e) => `      - ${e}\n`).join('')}`, 'web').ports;

describe('ports', () => {
  it('expands short syntax as docker compose v2 prints it', () => {
    expect(ports('"80:80"')).toEqual([{ mode: 'ingress', target: 80, published: '80', protocol: 'tcp' }]);
    expect(ports('3000')).toEqual([{ mode: 'ingress', target: 3000, protocol: 'tcp' }]);
    expect(ports('"3000"')).toEqual([{ mode: 'ingress', target: 3000, protocol: 'tcp' }]);
    expect(ports('"127.0.0.1:8001:8001"')).toEqual([
      { mode: 'ingress', host_ip: '127.0.0.1', target: 8001, published: '8001', protocol: 'tcp' },
    ]);
    expect(ports('"6060:6060/udp"')).toEqual([{ mode: 'ingress', target: 6060, published: '6060', protocol: 'udp' }]);
    expect(ports('"[::1]:6001:6001"')).toEqual([
      { mode: 'ingress', host_ip: '::1', target: 6001, published: '6001', protocol: 'tcp' },
    ]);
    expect(ports('"127.0.0.1::5000"')).toEqual([{ mode: 'ingress', host_ip: '127.0.0.1', target: 5000, protocol: 'tcp' }]);
  });

  it('expands ranges into one entry per port, a host range for one target stays a range', () => {
    expect(ports('"3000-3002"')).toEqual([3000, 3001, 3002].map((target) => ({ mode: 'ingress', target, protocol: 'tcp' })));
    expect(ports('"9090-9091:8080-8081"')).toEqual([
      { mode: 'ingress', target: 8080, published: '9090', protocol: 'tcp' },
      { mode: 'ingress', target: 8081, published: '9091', protocol: 'tcp' },
    ]);
    expect(ports('"12400-12500:1240"')).toEqual([{ mode: 'ingress', target: 1240, published: '12400-12500', protocol: 'tcp' }]);
    // docker sorts the expanded ports as text, so 100 comes before 99
    expect((ports('"99-100"') as Array<{ target: number }>).map((p) => p.target)).toEqual([100, 99]);
  });

  it('fills long syntax defaults and prints published as a string', () => {
    expect(ports('{target: 80, published: 8080}', '{target: 53, protocol: udp, mode: host, host_ip: 0.0.0.0}')).toEqual([
      { mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' },
      { mode: 'host', host_ip: '0.0.0.0', target: 53, protocol: 'udp' },
    ]);
    expect(ports('{target: "8080", published: "${X:-80}"}')).toEqual([
      { mode: 'ingress', target: 8080, published: '${X:-80}', protocol: 'tcp' },
    ]);
  });

  it('reports a bad port with docker\'s wording, at its line', () => {
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - "80:80"\n      - "80:http"\n')).toBe(
      'compose.yaml:6:9 services.web.ports[1]: invalid containerPort: http',
    );
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - "80:80/xyz"\n')).toBe(
      'compose.yaml:5:9 services.web.ports[0]: invalid proto: xyz',
    );
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - "300.1.1.1:80:80"\n')).toBe(
      'compose.yaml:5:9 services.web.ports[0]: invalid IP address: 300.1.1.1',
    );
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - "8000-8002:80-81"\n')).toBe(
      'compose.yaml:5:9 services.web.ports[0]: invalid ranges specified for container and host Ports: 80-81 and 8000-8002',
    );
  });

  it('rejects ports that are not a list, with the schema\'s message', () => {
    expect(loadError('services:\n  web:\n    image: nginx\n    ports: "80:80"\n')).toBe(
      'compose.yaml:4:5 services.web.ports: must be a list',
    );
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - target: 80\n        foo: 1\n')).toBe(
      'compose.yaml:6:9 services.web.ports[0]: Additional property foo is not allowed',
    );
  });
});

describe('merge keys', () => {
  it('key ports by host_ip:published:target/protocol and mounts by target', () => {
    expect(portKey({ mode: 'ingress', target: 80, published: '8080', protocol: 'tcp' })).toBe('0.0.0.0:8080:80/tcp');
    expect(portKey({ target: 53, host_ip: '127.0.0.1', protocol: 'udp' })).toBe('127.0.0.1::53/udp');
    expect(volumeKey({ type: 'bind', source: '/a', target: '/data' })).toBe('/data');
  });
});

describe('unicity after canonicalization', () => {
  it('keeps one entry per port key and one mount per target', () => {
    expect(ports('"80:80"', '"0.0.0.0:80:80"', '"81:81"')).toEqual([
      { mode: 'ingress', host_ip: '0.0.0.0', target: 80, published: '80', protocol: 'tcp' },
      { mode: 'ingress', target: 81, published: '81', protocol: 'tcp' },
    ]);
    const v = service('services:\n  a:\n    image: x\n    volumes: ["./a:/data", "./b:/data:ro"]\n', 'a').volumes;
    expect(v).toEqual([{ type: 'bind', source: '/work/project/b', target: '/data', read_only: true, bind: { create_host_path: true } }]);
  });

  it('names a long port without a target', () => {
    expect(loadError('services:\n  web:\n    image: nginx\n    ports:\n      - published: 80\n')).toBe(
      'compose.yaml:5:9 services.web.ports[0]: port is missing a target port',
    );
  });
});
