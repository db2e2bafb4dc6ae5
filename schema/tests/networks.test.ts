import { describe, expect, it } from 'vitest';

import { loadError, loadModel } from './helpers.js';

describe('networks', () => {
  it('turns a service list into a map and names networks <project>_<key> (custom-bridge-ipam seed)', () => {
    const { tree } = loadModel(
      [
        'version: "3.8"',
        'services:',
        '  web:',
        '    image: nginx',
        '    networks:',
        '      - backend_net',
        '  db:',
        '    image: mysql',
        '    networks: [backend_net]',
        'networks:',
        '  backend_net:',
        '    driver: bridge',
        '    ipam:',
        '      config:',
        '        - subnet: 192.168.20.0/24',
        '',
      ].join('\n'),
      { projectName: 'custom-bridge-ipam' },
    );
    expect(tree.version).toBeUndefined();
    expect(tree.name).toBe('custom-bridge-ipam');
    expect((tree.services as Record<string, { networks: unknown }>).web?.networks).toEqual({ backend_net: null });
    expect(tree.networks).toEqual({
      backend_net: { name: 'custom-bridge-ipam_backend_net', driver: 'bridge', ipam: { config: [{ subnet: '192.168.20.0/24' }] } },
    });
  });

  it('puts services that name no network on an implicit default network (kraken-p2p seed)', () => {
    const { tree } = loadModel('version: "3"\nservices:\n  a:\n    image: x\n  b:\n    image: y\n', { projectName: 'kraken-p2p' });
    expect((tree.services as Record<string, { networks: unknown }>).a?.networks).toEqual({ default: null });
    expect(tree.networks).toEqual({ default: { name: 'kraken-p2p_default' } });
  });

  it('adds no default network when no service uses it, nor for network_mode', () => {
    const { tree } = loadModel('services:\n  a:\n    image: x\n    network_mode: host\n');
    expect(tree.networks).toBeUndefined();
    expect((tree.services as Record<string, Record<string, unknown>>).a?.networks).toBeUndefined();
  });

  it('keeps aliases, addresses and priority; a network key named internal is not the internal flag (internal-network seed)', () => {
    const { tree } = loadModel(
      [
        'services:',
        '  app:',
        '    image: x',
        '    networks:',
        '      internal:',
        '        aliases: [api]',
        '        ipv4_address: 10.5.0.5',
        '        priority: "100"',
        'networks:',
        '  internal:',
        '    internal: true',
        '',
      ].join('\n'),
      { projectName: 'internal-network' },
    );
    expect((tree.services as Record<string, { networks: unknown }>).app?.networks).toEqual({
      internal: { aliases: ['api'], ipv4_address: '10.5.0.5', priority: 100 },
    });
    expect(tree.networks).toEqual({ internal: { name: 'internal-network_internal', internal: true } });
  });

  it('keeps an external network\'s own name; the deprecated external.name becomes name', () => {
    const { tree } = loadModel(
      'services:\n  a:\n    image: x\n    networks: [ext, old, named]\nnetworks:\n  ext:\n    external: true\n  old:\n    external:\n      name: legacy\n  named:\n    name: my-net\n',
    );
    expect(tree.networks).toEqual({
      ext: { name: 'ext', external: true },
      old: { name: 'legacy', external: true },
      named: { name: 'my-net' },
    });
  });

  it('rejects a reference to an undefined network, at the reference', () => {
    expect(loadError('services:\n  web:\n    image: x\n    networks:\n      - front\n')).toBe(
      'compose.yaml:5:9 services.web.networks.front: service "web" refers to undefined network front: invalid compose project',
    );
  });

  it('rejects network_mode together with networks', () => {
    expect(loadError('services:\n  web:\n    image: x\n    network_mode: host\n    networks: [n]\nnetworks:\n  n:\n')).toBe(
      'compose.yaml:4:5 services.web.network_mode: service web declares mutually exclusive `network_mode` and `networks`: invalid compose project',
    );
  });
});
