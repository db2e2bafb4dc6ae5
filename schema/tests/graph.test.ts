import { describe, expect, it } from 'vitest';

import { dependencyGraph, findCycle, startLevels, startOrder, stopLevels, withDependencies } from '../graph.js';
import { loadError, loadModel } from './helpers.js';

describe('depends_on graph', () => {
  it('reports a cycle with its chain, at the first service of the chain', () => {
    expect(loadError('services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n')).toBe(
      'compose.yaml:4:5 services.a.depends_on: dependency cycle detected: a -> b -> a',
    );
    expect(
      loadError('services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [b]\n'),
    ).toBe('compose.yaml:7:5 services.b.depends_on: dependency cycle detected: b -> c -> b');
    expect(loadError('services:\n  a:\n    image: x\n    depends_on: [a]\n')).toBe(
      'compose.yaml:4:5 services.a.depends_on: dependency cycle detected: a -> a',
    );
  });

  it('orders the three-tier start as db, then app, then web', () => {
    const { project } = loadModel(
      'services:\n  web:\n    image: n\n    depends_on: [app]\n  app:\n    image: a\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: p\n  cache:\n    image: r\n',
    );
    expect(project.dependencies).toEqual({ app: ['db'], cache: [], db: [], web: ['app'] });
    expect(startLevels(project.dependencies)).toEqual([['cache', 'db'], ['app'], ['web']]);
    expect(startOrder(project.dependencies)).toEqual(['cache', 'db', 'app', 'web']);
    expect(stopLevels(project.dependencies)).toEqual([['web'], ['app'], ['cache', 'db']]);
    expect(withDependencies(project.dependencies, ['web'])).toEqual(['app', 'db', 'web']);
  });

  it('puts a diamond\'s join after both branches; ignores optional dependencies that are absent', () => {
    const g = dependencyGraph({
      top: { depends_on: { l: {}, r: {} } },
      l: { depends_on: { base: {} } },
      r: { depends_on: { base: {}, gone: { required: false } } },
      base: {},
    });
    expect(findCycle(g)).toBeUndefined();
    expect(startLevels(g)).toEqual([['base'], ['l', 'r'], ['top']]);
  });

  it('refuses to order a cyclic graph', () => {
    expect(() => startLevels({ a: ['b'], b: ['a'] })).toThrow('dependency cycle detected: a -> b -> a');
  });
});
