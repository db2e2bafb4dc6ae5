import { describe, expect, it } from 'vitest';

import { renderConfig, serviceNamesInDependencyOrder } from './config-output.js';

describe('renderConfig', () => {
  const tree = {
    'x-b': 1,
    volumes: { z: {}, a: {} },
    services: {
      web: { image: 'x', environment: { Z: '1', A: '2' }, build: { context: '.', args: { B: '1', A: '2' } }, command: ['b', 'a'] },
      api: { ports: [{ target: 80, published: '80' }], image: 'y', depends_on: { web: {}, db: {} } },
    },
    name: 'p',
    networks: { n: { driver_opts: { z: '1', a: '2' }, driver: 'bridge' } },
  };

  it('prints name, services, networks, volumes, then extensions; resources and map keys sorted', () => {
    expect(renderConfig(tree, 'yaml')).toBe(
      [
        'name: p',
        'services:',
        '  api:',
        '    depends_on:',
        '      db: {}',
        '      web: {}',
        '    image: y',
        '    ports:',
        '      - target: 80',
        '        published: "80"',
        '  web:',
        '    build:',
        '      context: .',
        '      args:',
        '        A: "2"',
        '        B: "1"',
        '    command:',
        '      - b',
        '      - a',
        '    environment:',
        '      A: "2"',
        '      Z: "1"',
        '    image: x',
        'networks:',
        '  n:',
        '    driver_opts:',
        '      a: "2"',
        '      z: "1"',
        '    driver: bridge',
        'volumes:',
        '  a: {}',
        '  z: {}',
        'x-b: 1',
        '',
      ].join('\n'),
    );
    expect(Object.keys(JSON.parse(renderConfig(tree, 'json')) as object)).toEqual(['name', 'services', 'networks', 'volumes', 'x-b']);
  });

  it('lists services with dependencies first', () => {
    const t = { services: { web: { depends_on: ['app'] }, app: { depends_on: { db: {} } }, db: {}, cache: {} } };
    expect(serviceNamesInDependencyOrder(t)).toEqual(['db', 'app', 'cache', 'web']);
  });
});
