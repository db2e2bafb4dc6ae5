import { describe, expect, it } from 'vitest';

import { PositionTable } from './positions.js';
import { last, matches, next, parent, steps } from './tree-path.js';

describe('tree paths', () => {
  it('joins keys and indexes the way users read them', () => {
    expect(next(next(next('', 'services'), 'web'), 'ports')).toBe('services.web.ports');
    expect(next('services.web.ports', 1)).toBe('services.web.ports[1]');
    expect(steps('services.web.ports[1].target')).toEqual(['services', 'web', 'ports', 1, 'target']);
    expect(parent('services.web.ports[1]')).toBe('services.web.ports');
    expect(parent('services')).toBe('');
    expect(last('services.web.ports[1]')).toBe(1);
  });

  it('matches patterns with * for a key and [] for an index', () => {
    expect(matches('services.web.ports[0]', 'services.*.ports[]')).toBe(true);
    expect(matches('services.web.ports', 'services.*.ports[]')).toBe(false);
    expect(matches('services.web.volumes[0]', 'services.*.ports[]')).toBe(false);
  });
});

describe('PositionTable', () => {
  it('locates an error at the nearest known ancestor', () => {
    const t = new PositionTable('compose.yaml');
    t.set('services.web', { file: 'compose.yaml', line: 3, col: 3 });
    const e = t.error('ERR_COMPOSE_SCHEMA', 'must be a string', 'services.web.image');
    expect(e.format()).toBe('compose.yaml:3:3 services.web.image: must be a string');
  });
});
