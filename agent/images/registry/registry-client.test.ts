import { describe, expect, it } from 'vitest';

import { isLoopbackHost, registryEndpoints } from './registry-client.js';

describe('registryEndpoints', () => {
  it.each([
    ['docker.io', {}, [{ host: 'registry-1.docker.io', insecure: false, mirror: false }]],
    ['localhost:5000', {}, [{ host: 'localhost:5000', insecure: true, mirror: false }]],
    ['127.0.0.1:5000', {}, [{ host: '127.0.0.1:5000', insecure: true, mirror: false }]],
    ['[::1]:5000', {}, [{ host: '[::1]:5000', insecure: true, mirror: false }]],
    ['registry.example.com:5000', {}, [{ host: 'registry.example.com:5000', insecure: false, mirror: false }]],
    ['registry.example.com:5000', { insecureRegistries: ['registry.example.com:5000'] }, [{ host: 'registry.example.com:5000', insecure: true, mirror: false }]],
    [
      'docker.io',
      { mirrors: { 'docker.io': ['https://mirror.example.com', 'http://127.0.0.1:5001/'] } },
      [
        { host: 'mirror.example.com', base: 'https://mirror.example.com', insecure: true, mirror: true },
        { host: '127.0.0.1:5001', base: 'http://127.0.0.1:5001', insecure: true, mirror: true },
        { host: 'registry-1.docker.io', insecure: false, mirror: false },
      ],
    ],
  ])('%s %j', (domain, opts, expected) => {
    expect(registryEndpoints(domain, opts).map(({ domain: _d, ...rest }) => rest)).toEqual(expected);
  });

  it('refuses a mirror that is not a URL', () => {
    expect(() => registryEndpoints('docker.io', { mirrors: { 'docker.io': ['not a url'] } })).toThrow(/invalid registry mirror "not a url"/);
  });

  it('knows loopback hosts', () => {
    expect(['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000', '::1'].every(isLoopbackHost)).toBe(true);
    expect(['10.0.0.1:5000', 'localhost.example.com', '128.0.0.1'].some(isLoopbackHost)).toBe(false);
  });
});
